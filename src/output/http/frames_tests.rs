//! Tests of `frames.rs`: what `web_jpeg` (and the wire's `wire_bytes`) give for camera JPEGs
//! and BGR frames.

use super::*;
use crate::media::Geometry;
use crate::output::pistream::adapt::plan::wire_bytes;

fn picture(g: Geometry) -> Vec<u8> {
    (0..g.frame_len()).map(|i| ((i / 3) % 200 + (i % 3) * 20) as u8).collect()
}

/// A frame captured as MJPEG: `jpeg` kept as its native bytes.
fn mjpeg_frame(g: Geometry, jpeg: &[u8]) -> SharedFrame {
    let mut frame = SharedFrame::new(g);
    frame.native = jpeg.to_vec();
    frame.native_len = jpeg.len();
    frame.native_format = Some(PixelFormat::Mjpeg);
    frame.source_native = Some(PixelFormat::Mjpeg);
    frame
}

/// The JPEG without its DHT segments, as many webcams send MJPEG.
fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut at = 2;
    while jpeg[at + 1] != 0xda {
        let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if jpeg[at + 1] != 0xc4 {
            out.extend_from_slice(&jpeg[at..end]);
        }
        at = end;
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

fn decode(jpeg: &[u8], g: Geometry) -> Vec<u8> {
    let mut bgr = vec![0u8; g.frame_len()];
    jpeg::Decoder::new().unwrap().decode(jpeg, g, &mut bgr).unwrap();
    bgr
}

#[test]
fn web_jpeg_passes_a_camera_jpeg_through_and_gives_a_tableless_one_its_tables_once() {
    let g = Geometry::new(64, 48);
    let mut encoder = Encoder::new().unwrap();
    let mut jpeg = vec![0u8; Encoder::max_len(g)];
    let len = encoder.encode(&picture(g), g, 85, &mut jpeg).unwrap();
    jpeg.truncate(len);

    // With tables: the camera's own bytes, not a copy.
    let frame = mjpeg_frame(g, &jpeg);
    let web = web_jpeg(&frame, 80, &mut encoder).unwrap();
    assert_eq!(web.as_ptr(), frame.native.as_ptr());
    assert_eq!(web, &jpeg[..]);

    // Without: the same scan with the standard tables inserted, made once and shared.
    let bare = without_huffman_tables(&jpeg);
    assert!(!jpeg::has_huffman_tables(&bare) && bare.len() < jpeg.len());
    let frame = mjpeg_frame(g, &bare);
    let web = web_jpeg(&frame, 80, &mut encoder).unwrap();
    assert!(jpeg::has_huffman_tables(web));
    assert!(web.ends_with(&bare[bare.windows(2).position(|w| w == [0xff, 0xda]).unwrap()..]));
    assert_eq!(decode(web, g), decode(&jpeg, g), "the same picture as the camera's");
    let again = web_jpeg(&frame, 80, &mut encoder).unwrap();
    assert_eq!(again.as_ptr(), web.as_ptr(), "made once per frame");
}

#[test]
fn web_jpeg_encodes_a_bgr_frame_once_per_quality() {
    let g = Geometry::new(64, 48);
    let mut encoder = Encoder::new().unwrap();
    let mut frame = SharedFrame::new(g);
    frame.bgr.copy_from_slice(&picture(g));
    frame.has_bgr = true;
    let first = web_jpeg(&frame, 80, &mut encoder).unwrap();
    let (ptr, bytes) = (first.as_ptr(), first.to_vec());
    assert_eq!(web_jpeg(&frame, 80, &mut encoder).unwrap().as_ptr(), ptr);
    assert_eq!(
        wire_bytes(&frame, PixelFormat::Mjpeg, 80, &mut encoder).unwrap(),
        &bytes[..],
        "shared with the wire"
    );
    assert_ne!(web_jpeg(&frame, 40, &mut encoder).unwrap().as_ptr(), ptr, "another quality, another JPEG");
    let pixels = decode(&bytes, g);
    let worst = pixels.iter().zip(picture(g)).map(|(a, b)| a.abs_diff(b)).max().unwrap();
    assert!(worst < 40, "a JPEG of the frame: worst channel off by {worst}");
}
