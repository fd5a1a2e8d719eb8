//! Decoded H.264 pictures of the test pattern: how close they must be, and how close they
//! are (the pattern frame they show, found, then compared whole).

use super::http::psnr;
use pistream::media::Geometry;
use pistream::source::pattern;

/// PSNR of decoded H.264 pictures of the pattern at the default bitrate (0.1 bit per pixel,
/// 640x480): measured 26-32 dB, 31.8 on keyframes, down to 21 dB on a picture just after
/// a keyframe made on request (the IDR takes the bits the next pictures needed). A
/// picture with lost references, or gray, is far under 18 dB; the mean over the run must
/// stay where the encoder puts it.
pub const MIN_H264_PSNR_DB: f64 = 18.0;
pub const MIN_MEAN_H264_PSNR_DB: f64 = 25.0;

/// The PSNR of a decoded pattern picture against the pattern frame it shows: the frame
/// (its number mod 256) is found on every 8th pixel, then compared whole.
pub fn pattern_match(bgr: &[u8], width: usize, height: usize) -> f64 {
    let g = Geometry::new(width as u32, height as u32);
    let mut expected = vec![0u8; g.frame_len()];
    let mut row = vec![0u8; width * 3];
    let n = (0..256u64)
        .min_by_key(|&n| {
            let mut error = 0u64;
            for y in (2..height).step_by(8) {
                pattern::fill_row(&mut row, y as u32, n);
                for x in (0..width).step_by(8) {
                    for c in 0..3 {
                        let d = i64::from(bgr[(y * width + x) * 3 + c]) - i64::from(row[x * 3 + c]);
                        error += (d * d) as u64;
                    }
                }
            }
            error
        })
        .unwrap();
    pattern::fill(&mut expected, g, n);
    psnr(&bgr[width * 3 * 2..], &expected[width * 3 * 2..])
}
