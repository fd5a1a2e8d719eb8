//! A quick on-device check (for `pistream selftest` on the Pi): every fast kernel, the
//! SIMD paths this CPU takes included, against the scalar float reference on generated
//! frames, single-threaded. Returns one named pass/fail per check; prints nothing.

use super::reference::{self, max_abs_diff, random_frame};
use super::{packed, Converter, InputFormat, InputLayout, YuvMatrix, YuvRange};
use crate::frame::Geometry;

/// Largest per-channel difference we accept between a fast kernel and the float reference.
pub const TOLERANCE: u8 = 2;

/// Runs the checks; each entry is (what was checked, whether it passed).
pub fn selftest_cases() -> Vec<(String, bool)> {
    let mut cases = Vec::new();
    let sizes = [(64u32, 48u32, 0usize), (37, 21, 0), (33, 17, 40)];
    for format in InputFormat::ALL {
        if format == InputFormat::Mjpeg {
            continue;
        }
        for (w, h, pad) in sizes {
            let matrices: &[(YuvRange, YuvMatrix)] = if format.is_yuv() {
                &[(YuvRange::Limited, YuvMatrix::Bt601), (YuvRange::Full, YuvMatrix::Bt709)]
            } else {
                &[(YuvRange::Limited, YuvMatrix::Bt601)]
            };
            for &(range, matrix) in matrices {
                let mut layout = InputLayout::packed(format, w, h);
                layout.stride += pad;
                layout.range = range;
                layout.matrix = matrix;
                let name = format!("{format} {w}x{h} stride {} {range:?} {matrix:?}", layout.stride);
                cases.push((name, check(&layout, w, h)));
            }
        }
    }
    // Scaling: the fixed-point resizer against the float one.
    let layout = InputLayout::packed(InputFormat::Bgr24, 50, 30);
    cases.push(("scale BGR3 50x30 -> 31x47".into(), check(&layout, 31, 47)));
    // GREY's own SIMD path against its scalar kernel, with a tail.
    let src = random_frame(&InputLayout::packed(InputFormat::Grey, 61, 1), 7);
    let (mut fast, mut slow) = (vec![0u8; 61 * 3], vec![0u8; 61 * 3]);
    packed::grey_row(&src, &mut fast);
    packed::grey_row_scalar(&src, &mut slow);
    cases.push(("GREY row SIMD vs scalar".into(), fast == slow));
    cases
}

fn check(layout: &InputLayout, out_w: u32, out_h: u32) -> bool {
    let src = random_frame(layout, 0x5eed ^ layout.width as u64);
    let Ok(mut converter) = Converter::new(*layout, Geometry::bgr(out_w, out_h)) else {
        return false;
    };
    let mut out = vec![0u8; Geometry::bgr(out_w, out_h).frame_len()];
    if converter.convert(&src, &mut out).is_err() {
        return false;
    }
    let (w, h) = (layout.width as usize, layout.height as usize);
    let mut expected = reference::to_bgr(layout, &src);
    if (out_w, out_h) != (layout.width, layout.height) {
        expected = reference::resize_bilinear(&expected, w, h, out_w as usize, out_h as usize);
    }
    max_abs_diff(&out, &expected) <= TOLERANCE
}
