//! `--verify`: checks every shown frame against the test pattern, whatever way it came.
//!
//! The expected picture follows the frame's path: the pattern as the camera captured it
//! (BGR, or encoded into YUYV/UYVY/NV12/I420 by `convert::encode` when the camera emulated
//! that capture format, as its hello's capture fourcc says), then as it travelled (the
//! camera's own format, or 4:2:0 made from it), then back to BGR with the same converter the
//! receiver used. Those paths are lossless, so the frame must match bit for bit. A frame
//! that was a JPEG somewhere (a JPEG wire format, an MJPEG capture) is judged by the PSNR of
//! its luma against the pattern's, which must reach [`MIN_JPEG_PSNR_DB`]; one that came as
//! H.264, by the same measure against [`MIN_H264_PSNR_DB`].

use crate::codec::convert::{encode, Converter};
use crate::media::{Frame, Geometry, Layout, PixelFormat};
use crate::source::pattern::coded::CodedPattern;
use crate::source::pattern::Renderer;

/// The luma PSNR a JPEG-carried pattern frame must reach. Measured: 41.2 dB at the wire's
/// lowest step (quality 60) on 640x480, more at higher qualities; the pattern's red XOR
/// texture costs its chroma more (RGB PSNR 28.7 dB), which 4:2:0 cannot carry.
pub const MIN_JPEG_PSNR_DB: f64 = 30.0;

/// The luma PSNR an H.264-carried pattern frame must reach, at any bitrate `auto` picks.
/// Measured (the unit test below) on 640x480 and 320x240: at least 29.5 dB from twice the
/// default bitrate down to a sixteenth of it (where the encoder skips pictures rather than
/// blur them), 43 dB on keyframes; the synthetic pattern's moving wrap edges are a worst
/// case for H.264's motion search. The pattern's frames differ from each other only a
/// little (27 dB from one frame to the next, so H.264 cannot be checked frame for frame as
/// the stamp checks raw frames), but eight frames apart by more than this bound; a unit
/// decoded without its reference is garbage far below.
pub const MIN_H264_PSNR_DB: f64 = 26.0;

/// How a frame compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// A lossless path: equal bit for bit, or not.
    Exact(bool),
    /// A lossy path (JPEG, H.264): the luma PSNR against the pattern and the least it
    /// may be, dB.
    Psnr { db: f64, min: f64 },
}

impl Verdict {
    pub fn passed(self) -> bool {
        match self {
            Verdict::Exact(equal) => equal,
            Verdict::Psnr { db, min } => db >= min,
        }
    }
}

/// Checks frames of one geometry; rebuilt when the geometry or capture format changes.
pub struct FrameVerifier {
    geometry: Geometry,
    capture: [u8; 4],
    renderer: Renderer,
    coded: Option<CodedPattern>,
    native: Vec<u8>,
    planes: Vec<u8>,
    expected: Vec<u8>,
    converters: Vec<(PixelFormat, Converter)>,
}

impl FrameVerifier {
    fn new(geometry: Geometry, capture: [u8; 4]) -> FrameVerifier {
        let format = PixelFormat::from_fourcc(capture).filter(|f| CodedPattern::FORMATS.contains(f));
        FrameVerifier {
            geometry,
            capture,
            renderer: Renderer::new(geometry),
            coded: format.and_then(|f| CodedPattern::new(f, geometry).ok()),
            native: Vec::new(),
            planes: vec![0u8; geometry.frame_len()],
            expected: vec![0u8; geometry.frame_len()],
            converters: Vec::new(),
        }
    }

    /// A verifier for frames of `capture` (the sender's capture fourcc) and `frame`'s
    /// geometry, reusing `current` when it fits.
    pub fn for_frame(current: Option<FrameVerifier>, frame: &Frame, capture: [u8; 4]) -> FrameVerifier {
        match current {
            Some(v) if v.geometry == frame.geometry && v.capture == capture => v,
            _ => FrameVerifier::new(frame.geometry, capture),
        }
    }

    /// Compares `frame` with pattern frame `frame.seq` as it reached this side.
    pub fn check(&mut self, frame: &Frame) -> Verdict {
        let g = self.geometry;
        if frame.data.len() != g.frame_len() {
            return Verdict::Exact(false);
        }
        let captured_as_jpeg = self.coded.as_ref().is_some_and(|c| c.format() == PixelFormat::Mjpeg);
        if frame.arrived_as == PixelFormat::H264 {
            self.renderer.render(&mut self.expected, frame.seq);
            return Verdict::Psnr { db: luma_psnr(&self.expected, &frame.data, g), min: MIN_H264_PSNR_DB };
        }
        if frame.arrived_as == PixelFormat::Mjpeg || captured_as_jpeg {
            self.renderer.render(&mut self.expected, frame.seq);
            return Verdict::Psnr { db: luma_psnr(&self.expected, &frame.data, g), min: MIN_JPEG_PSNR_DB };
        }
        let Some(coded) = self.coded.as_mut() else {
            // A BGR capture: raw BGR must be the pattern itself; 4:2:0 is the pattern through
            // the camera's BGR-to-I420 and this side's I420-to-BGR.
            if frame.arrived_as == PixelFormat::Bgr24 {
                return Verdict::Exact(self.renderer.matches(&frame.data, frame.seq));
            }
            self.renderer.render(&mut self.expected, frame.seq);
            let len = PixelFormat::I420.tight_len(g.width, g.height).unwrap_or(0);
            encode::bgr_to(PixelFormat::I420, g.width, g.height, &self.expected, &mut self.planes[..len]);
            return self.converted(frame, len);
        };
        let len = coded.native(frame.seq, &mut self.native);
        let format = coded.format();
        match frame.arrived_as {
            // The camera converted its capture with the same converter this side has.
            PixelFormat::Bgr24 => {
                if coded.to_bgr(&self.native[..len], &mut self.expected).is_err() {
                    return Verdict::Exact(false);
                }
                Verdict::Exact(self.expected[..] == frame.data[..])
            }
            PixelFormat::I420 if format != PixelFormat::I420 => {
                let layout = Layout::tight_yuv(own_wire(format), g.width, g.height).expect("a raw format");
                let planes = PixelFormat::I420.tight_len(g.width, g.height).unwrap_or(0);
                encode::to_i420(&layout, &self.native[..len], &mut self.planes[..planes]);
                self.converted(frame, planes)
            }
            _ => {
                self.planes[..len].copy_from_slice(&self.native[..len]);
                self.converted(frame, len)
            }
        }
    }

    /// Compares `frame` with the `len` bytes in `planes`, in the frame's wire format,
    /// converted to BGR as the receiver converts them.
    fn converted(&mut self, frame: &Frame, len: usize) -> Verdict {
        let g = self.geometry;
        if !self.converters.iter().any(|(f, _)| *f == frame.arrived_as) {
            let Some(converter) = Layout::tight_yuv(frame.arrived_as, g.width, g.height)
                .and_then(|l| Converter::new(l, g).ok())
            else {
                return Verdict::Exact(false);
            };
            self.converters.push((frame.arrived_as, converter));
        }
        let (_, converter) =
            self.converters.iter_mut().find(|(f, _)| *f == frame.arrived_as).expect("just added");
        if converter.convert(&self.planes[..len], &mut self.expected).is_err() {
            return Verdict::Exact(false);
        }
        Verdict::Exact(self.expected[..] == frame.data[..])
    }
}

/// The wire format that carries a raw capture format as it is.
fn own_wire(format: PixelFormat) -> PixelFormat {
    match format {
        PixelFormat::Yuyv => PixelFormat::Yuyv,
        PixelFormat::Uyvy => PixelFormat::Uyvy,
        PixelFormat::Nv12 => PixelFormat::Nv12,
        _ => PixelFormat::I420,
    }
}

/// PSNR of the BT.601 luma of two BGR pictures, leaving out the first row (the pattern's
/// 8-byte frame stamp is not picture).
fn luma_psnr(a: &[u8], b: &[u8], g: Geometry) -> f64 {
    let luma = |p: &[u8]| 0.299 * f64::from(p[2]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[0]);
    let skip = g.stride();
    let (sum, n) = a[skip..]
        .chunks_exact(3)
        .zip(b[skip..].chunks_exact(3))
        .fold((0.0, 0usize), |(sum, n), (x, y)| (sum + (luma(x) - luma(y)).powi(2), n + 1));
    let mse = sum / n.max(1) as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::jpeg::{Decoder, Encoder};
    use crate::source::pattern;

    fn frame(g: Geometry, seq: u64, wire: PixelFormat) -> Frame {
        let mut f = Frame::new(g);
        f.seq = seq;
        f.arrived_as = wire;
        f
    }

    #[test]
    fn a_bgr_pattern_frame_passes_and_one_flipped_bit_fails() {
        let g = Geometry::new(64, 48);
        let mut f = frame(g, 7, PixelFormat::Bgr24);
        pattern::fill(&mut f.data, g, 7);
        let mut v = FrameVerifier::for_frame(None, &f, *b"BGR3");
        assert_eq!(v.check(&f), Verdict::Exact(true));
        f.data[1000] ^= 1;
        assert_eq!(v.check(&f), Verdict::Exact(false));
    }

    #[test]
    fn each_lossless_path_of_a_coded_capture_is_checked_bit_for_bit() {
        let g = Geometry::new(64, 48);
        for capture in [PixelFormat::Yuyv, PixelFormat::Uyvy, PixelFormat::Nv12, PixelFormat::I420] {
            let mut coded = CodedPattern::new(capture, g).unwrap();
            let mut native = Vec::new();
            let len = coded.native(3, &mut native);
            // As sent natively and converted here.
            let wire = own_wire(capture);
            let mut f = frame(g, 3, wire);
            let mut conv = Converter::new(Layout::tight_yuv(wire, g.width, g.height).unwrap(), g).unwrap();
            conv.convert(&native[..len], &mut f.data).unwrap();
            let mut v = FrameVerifier::for_frame(None, &f, capture.fourcc());
            assert_eq!(v.check(&f), Verdict::Exact(true), "{capture} as {wire}");
            f.data[500] ^= 4;
            assert_eq!(v.check(&f), Verdict::Exact(false), "{capture}: a flipped bit");
        }
    }

    #[test]
    fn jpeg_frames_are_judged_by_luma_psnr_at_the_lowest_wire_quality() {
        let g = Geometry::new(640, 480);
        let mut original = vec![0u8; g.frame_len()];
        pattern::fill(&mut original, g, 11);
        let mut jpeg = vec![0u8; Encoder::max_len(g)];
        let len = Encoder::new().unwrap().encode(&original, g, 60, &mut jpeg).unwrap();
        let mut f = frame(g, 11, PixelFormat::Mjpeg);
        Decoder::new().unwrap().decode(&jpeg[..len], g, &mut f.data).unwrap();
        let mut v = FrameVerifier::for_frame(None, &f, *b"BGR3");
        let verdict = v.check(&f);
        assert!(verdict.passed(), "{verdict:?}");
        f.seq = 12;
        assert!(!v.check(&f).passed(), "another frame of the pattern");
    }

    #[test]
    fn h264_frames_are_judged_by_luma_psnr_from_twice_the_default_bitrate_to_a_sixteenth() {
        use crate::codec::h264::{
            Decoder as H264Decoder, H264Encoder, H264Settings, Planes, SoftwareEncoder,
        };
        for (w, h) in [(640, 480), (320, 240)] {
            let g = Geometry::new(w, h);
            let layout = Layout::tight(PixelFormat::I420, g.width, g.height);
            let mut to_bgr = Converter::new(layout, g).unwrap();
            let len = PixelFormat::I420.tight_len(g.width, g.height).unwrap();
            let default = H264Settings::new(g, 30.0);
            for bitrate in [default.bitrate * 2, default.bitrate, default.bitrate / 16] {
                let settings = H264Settings { bitrate, ..default };
                let mut encoder = SoftwareEncoder::new(settings).unwrap();
                let mut decoder = H264Decoder::new().unwrap();
                let (mut bgr, mut planes) = (vec![0u8; g.frame_len()], vec![0u8; len]);
                let (mut unit, mut decoded) = (Vec::new(), Vec::new());
                let mut worst = f64::INFINITY;
                let mut verifier: Option<FrameVerifier> = None;
                let mut shown = 0;
                for seq in 0..60u64 {
                    pattern::fill(&mut bgr, g, seq);
                    encode::bgr_to(PixelFormat::I420, g.width, g.height, &bgr, &mut planes);
                    let planes_in = Planes::of(&layout, &planes).unwrap();
                    if encoder.encode(&planes_in, seq == 0, seq * 33_333, &mut unit).unwrap().is_none()
                        || decoder.decode(&unit, &mut decoded).unwrap().is_none()
                    {
                        continue;
                    }
                    let mut f = frame(g, seq, PixelFormat::H264);
                    to_bgr.convert(&decoded[..len], &mut f.data).unwrap();
                    let previous = verifier.take();
                    let v = verifier.insert(FrameVerifier::for_frame(previous, &f, *b"BGR3"));
                    let verdict = v.check(&f);
                    assert!(verdict.passed(), "{w}x{h} at {bitrate} bit/s, frame {seq}: {verdict:?}");
                    let Verdict::Psnr { db, .. } = verdict else { unreachable!() };
                    worst = worst.min(db);
                    shown += 1;
                    for other in [seq + 8, seq + 200] {
                        f.seq = other;
                        assert!(!v.check(&f).passed(), "{w}x{h}, frame {seq} passed as frame {other}");
                    }
                }
                eprintln!(
                    "H.264 {w}x{h} at {bitrate} bit/s: {shown} frames shown, worst luma PSNR {worst:.1} dB"
                );
                // At a sixteenth the encoder skips most pictures (2 fps) rather than blur them.
                assert!(shown >= 3, "{shown} frames");
            }
        }
        // A frame decoded from the wrong reference is not the pattern: grey is not frame 5.
        let g = Geometry::new(64, 48);
        let mut f = frame(g, 5, PixelFormat::H264);
        f.data.fill(128);
        assert!(!FrameVerifier::for_frame(None, &f, *b"BGR3").check(&f).passed());
    }
}
