//! A quick on-device check (for `pistream selftest` on the Pi): every fast kernel, the
//! SIMD paths this CPU takes included, against the scalar float reference on generated
//! frames, single-threaded. Returns one named pass/fail per check; prints nothing.

use super::converter::{convert_with_isa, Converter};
use super::isa::Isa;
use super::reference::{self, max_abs_diff, random_frame};
use crate::media::Geometry;
use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

/// Largest per-channel difference we accept between a fast kernel and the float reference.
pub(super) const TOLERANCE: u8 = 2;

/// Runs the checks; each entry is (what was checked, whether it passed).
pub fn selftest_cases() -> Vec<(String, bool)> {
    let mut cases = Vec::new();
    let sizes = [(64u32, 48u32, 0usize), (37, 21, 0), (33, 17, 40)];
    for format in PixelFormat::ALL {
        if format.is_coded() {
            continue;
        }
        for (w, h, pad) in sizes {
            let matrices: &[(YuvRange, YuvMatrix)] = if format.is_yuv() {
                &[(YuvRange::Limited, YuvMatrix::Bt601), (YuvRange::Full, YuvMatrix::Bt709)]
            } else {
                &[(YuvRange::Limited, YuvMatrix::Bt601)]
            };
            for &(range, matrix) in matrices {
                let layout = Layout::packed(format, w, h).padded(pad).with_yuv(range, matrix);
                let name = format!("{format} {w}x{h} stride {} {range:?} {matrix:?}", layout.stride);
                cases.push((name, check(&layout, w, h)));
            }
        }
    }
    // Our own kernels on every instruction set this CPU has (scalar included), each against
    // the reference: odd widths end in half a pair, widths past 32 reach the SIMD blocks.
    for isa in Isa::available() {
        for format in PixelFormat::PER_ISA {
            for (w, h, pad) in [(67u32, 5u32, 0usize), (96, 3, 12)] {
                let combos: &[(YuvRange, YuvMatrix)] = if format.is_yuv() {
                    &[(YuvRange::Limited, YuvMatrix::Bt709), (YuvRange::Full, YuvMatrix::Bt601)]
                } else {
                    &[(YuvRange::Limited, YuvMatrix::Bt601)]
                };
                for &(range, matrix) in combos {
                    let layout = Layout::packed(format, w, h).padded(pad).with_yuv(range, matrix);
                    let name =
                        format!("{format} {isa:?} {w}x{h} stride {} {range:?} {matrix:?}", layout.stride);
                    let ok = check_with(&layout, w, h, |src, out| {
                        convert_with_isa(isa, &layout, src, out).is_ok()
                    });
                    cases.push((name, ok));
                    // Bit for bit against the scalar kernel, which the tolerance above
                    // would not catch if a SIMD path were off by one somewhere.
                    let src = random_frame(&layout, 0x15a ^ w as u64);
                    let len = Geometry::new(w, h).frame_len();
                    let (mut fast, mut slow) = (vec![0u8; len], vec![1u8; len]);
                    let same = convert_with_isa(isa, &layout, &src, &mut fast).is_ok()
                        && convert_with_isa(Isa::scalar(), &layout, &src, &mut slow).is_ok()
                        && fast == slow;
                    cases.push((format!("{format} {isa:?} {w}x{h} {range:?} {matrix:?} = scalar"), same));
                }
            }
        }
    }
    // Scaling: the fixed-point resizer against the float one.
    let layout = Layout::packed(PixelFormat::Bgr24, 50, 30);
    cases.push(("scale BGR3 50x30 -> 31x47".into(), check(&layout, 31, 47)));
    cases
}

/// The fast path (whatever kernel this CPU takes) against the float reference.
fn check(layout: &Layout, out_w: u32, out_h: u32) -> bool {
    let Ok(mut converter) = Converter::new(*layout, Geometry::new(out_w, out_h)) else {
        return false;
    };
    check_with(layout, out_w, out_h, |src, out| converter.convert(src, out).is_ok())
}

/// Runs `kernel` on a seeded random frame and compares its output with the float
/// reference (never with another fast kernel), within [`TOLERANCE`].
pub(super) fn check_with(
    layout: &Layout,
    out_w: u32,
    out_h: u32,
    mut kernel: impl FnMut(&[u8], &mut [u8]) -> bool,
) -> bool {
    let src = random_frame(layout, 0x5eed ^ layout.width as u64);
    let mut out = vec![0u8; Geometry::new(out_w, out_h).frame_len()];
    if !kernel(&src, &mut out) {
        return false;
    }
    let (w, h) = (layout.width as usize, layout.height as usize);
    let mut expected = reference::to_bgr(layout, &src);
    if (out_w, out_h) != (layout.width, layout.height) {
        expected = reference::resize_bilinear(&expected, w, h, out_w as usize, out_h as usize);
    }
    max_abs_diff(&out, &expected) <= TOLERANCE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_passes_on_this_machine() {
        let failed: Vec<String> =
            selftest_cases().into_iter().filter(|(_, ok)| !ok).map(|(name, _)| name).collect();
        assert!(failed.is_empty(), "failed: {failed:?}");
    }

    /// The selftest compares against the reference, so a kernel that is wrong the way a
    /// broken NEON shuffle would be (U and V swapped, one channel off) fails it.
    #[test]
    fn a_deliberately_broken_kernel_fails_the_check() {
        let layout = Layout::packed(PixelFormat::Yuyv, 64, 48);
        let g = Geometry::new(64, 48);
        let mut good = Converter::new(layout, g).unwrap();
        assert!(check_with(&layout, 64, 48, |src, out| good.convert(src, out).is_ok()));
        let mut swapped_uv = Converter::new(layout, g).unwrap();
        assert!(!check_with(&layout, 64, 48, |src, out| {
            let mut src = src.to_vec();
            src.chunks_exact_mut(4).for_each(|px| px.swap(1, 3));
            swapped_uv.convert(&src, out).is_ok()
        }));
        let mut off_by_three = Converter::new(layout, g).unwrap();
        assert!(!check_with(&layout, 64, 48, |src, out| {
            let ok = off_by_three.convert(src, out).is_ok();
            out[3 * 100 + 1] = out[3 * 100 + 1].wrapping_add(3);
            ok
        }));
    }
}
