//! H.264 as a display reads it from a hostile camera: arbitrary bytes cut into access units
//! (Annex B) and decoded, each picture converted into the shown BGR frame, as the receive
//! loop does. Must never panic (OpenH264 is C++: a crash in it would show here too), and
//! every picture it returns must have the size it says.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::codec::convert::Converter;
use pistream::codec::h264::{AccessUnits, Decoder};
use pistream::media::{Geometry, Layout, PixelFormat};

fuzz_target!(|data: &[u8]| {
    let Ok(mut decoder) = Decoder::new() else { return };
    let mut units = AccessUnits::new();
    let mut i420 = Vec::new();
    let mut units_seen = Vec::new();
    units.push(data, |unit| units_seen.push(unit.to_vec()));
    for unit in &units_seen {
        let Ok(Some((w, h))) = decoder.decode(unit, &mut i420) else { continue };
        assert!(w > 0 && h > 0 && w <= 8192 && h <= 8192, "a {w}x{h} picture");
        let len = PixelFormat::I420.tight_len(w, h).expect("raw");
        assert!(i420.len() >= len, "{} bytes for a {w}x{h} picture", i420.len());
        let g = Geometry::new(w, h);
        if w * h > 1 << 20 {
            continue; // converting a huge picture only costs time
        }
        let mut bgr = vec![0u8; g.frame_len()];
        let mut converter = Converter::new(Layout::tight(PixelFormat::I420, w, h), g).expect("a valid size");
        converter.convert(&i420[..len], &mut bgr).expect("tight I420 of its size");
    }
});
