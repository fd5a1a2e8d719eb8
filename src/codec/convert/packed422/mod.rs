//! Packed 4:2:2 (YUYV and UYVY, one kernel with a const generic for the byte order) to
//! packed BGR in one pass: our own fixed-point kernels, AVX2 and SSSE3 on x86-64 (in `x86`,
//! picked at run time), NEON on aarch64, and the scalar loop that finishes every row (and is
//! the whole kernel elsewhere). All paths compute bit-identical results; the float reference is
//! `super::reference`.
//!
//! Arithmetic, in 16-bit lanes, mirroring `pmulhrsw` / `vqrdmulh` (`mulhrs(a, b) =
//! (a * b + 2^14) >> 15`) and saturating adds:
//!
//! - luma: `yv = mulhrs((max(Y, off) - off) << 7, ys * 2^14)`, i.e. `Y' * 64` (off = 16 in
//!   limited range: footroom luma is black, as in the reference);
//! - chroma: `t = mulhrs((C - 128) << 8, k * 2^13)`, i.e. `C' * k * 64`, once per colour
//!   term (R: Cr; G: Cb and Cr; B: Cb), shared by both pixels of the pair;
//! - `out = clamp((yv +sat t + 32) >> 6, 0, 255)` (`pmulhrsw` by 512, `vqrshrun #6`).
//!
//! Every term is rounded to 1/64 of a level, so results are within 1 of the float reference
//! (exhaustively checked in the unit tests).

use super::isa::{Isa, Kind};
use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
use x86::{rows_avx2, rows_ssse3};

/// Fixed-point coefficients of one range/matrix combination (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Coeffs {
    /// Luma offset subtracted with saturation (16 limited, 0 full).
    y_off: i16,
    /// Luma scale, Q14.
    y: i16,
    /// Cr to R, Cb to G, Cr to G, Cb to B, Q13.
    rv: i16,
    gu: i16,
    gv: i16,
    bu: i16,
}

impl Coeffs {
    pub(crate) fn new(range: YuvRange, matrix: YuvMatrix) -> Coeffs {
        let (kr, kb) = match matrix {
            YuvMatrix::Bt601 => (0.299f64, 0.114f64),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
        };
        let kg = 1.0 - kr - kb;
        let (y_off, ys, cs) = match range {
            YuvRange::Limited => (16, 255.0 / 219.0, 255.0 / 224.0),
            YuvRange::Full => (0, 1.0, 1.0),
        };
        let q13 = |v: f64| (v * 8192.0).round() as i16;
        Coeffs {
            y_off,
            y: (ys * 16384.0f64).round() as i16,
            rv: q13(2.0 * (1.0 - kr) * cs),
            gu: q13(-kb * 2.0 * (1.0 - kb) / kg * cs),
            gv: q13(-kr * 2.0 * (1.0 - kr) / kg * cs),
            bu: q13(2.0 * (1.0 - kb) * cs),
        }
    }
}

/// Converts a YUYV or UYVY frame. The caller has checked `src.len() >=
/// layout.min_frame_len()` and `dst.len() == width * height * 3`.
pub(crate) fn to_bgr(isa: Isa, layout: &Layout, src: &[u8], dst: &mut [u8]) {
    let (w, stride) = (layout.width as usize, layout.stride);
    let c = Coeffs::new(layout.range, layout.matrix);
    if layout.format == PixelFormat::Uyvy {
        rows_to_bgr::<true>(isa, &c, src, stride, dst, w);
    } else {
        rows_to_bgr::<false>(isa, &c, src, stride, dst, w);
    }
}

/// `dst.len() / (3 * width)` rows; row `y` starts at `src[y * stride]` and holds
/// `ceil(width / 2)` whole pairs. The SIMD path sets its constants up once, does whole
/// blocks of each row and says how many pixels; the scalar loop finishes the row.
pub(crate) fn rows_to_bgr<const UYVY: bool>(
    isa: Isa,
    c: &Coeffs,
    src: &[u8],
    stride: usize,
    dst: &mut [u8],
    width: usize,
) {
    match isa.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` of kind Avx2 comes only from CPU detection (`Isa::available`),
        // which lists it only when the CPU has AVX2.
        Kind::Avx2 => unsafe { rows_avx2::<UYVY>(c, src, stride, dst, width) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for SSSE3.
        Kind::Ssse3 => unsafe { rows_ssse3::<UYVY>(c, src, stride, dst, width) },
        #[cfg(target_arch = "aarch64")]
        Kind::Neon => rows_neon::<UYVY>(c, src, stride, dst, width),
        _ => rows_with::<UYVY>(c, src, stride, dst, width, |_, _| 0),
    }
}

/// The row loop shared by every path: `simd` converts whole blocks of a row (returning the
/// pixels done), [`row_scalar`] the rest.
#[inline(always)]
fn rows_with<const UYVY: bool>(
    c: &Coeffs,
    src: &[u8],
    stride: usize,
    dst: &mut [u8],
    width: usize,
    mut simd: impl FnMut(&[u8], &mut [u8]) -> usize,
) {
    let row_in = width.div_ceil(2) * 4;
    for (y, out) in dst.chunks_exact_mut(width * 3).enumerate() {
        let row = &src[y * stride..][..row_in];
        let done = simd(row, out);
        row_scalar::<UYVY>(c, &row[done * 2..], &mut out[done * 3..]);
    }
}

#[inline(always)]
fn mulhrs(a: i16, b: i16) -> i16 {
    ((a as i32 * b as i32 + 0x4000) >> 15) as i16
}

/// The scalar kernel, bit-identical to the SIMD ones: `dst.len() / 3` pixels from `src`
/// (pairs; an odd last pixel uses the first luma of its pair and the pair's chroma).
pub(crate) fn row_scalar<const UYVY: bool>(c: &Coeffs, src: &[u8], dst: &mut [u8]) {
    for (pair, out) in src.chunks_exact(4).zip(dst.chunks_mut(6)) {
        let (y0, u, y1, v) =
            if UYVY { (pair[1], pair[0], pair[3], pair[2]) } else { (pair[0], pair[1], pair[2], pair[3]) };
        let cq = |ch: u8| (ch as i16 - 128) << 8;
        let (u, v) = (cq(u), cq(v));
        let r = mulhrs(v, c.rv);
        let g = mulhrs(u, c.gu).saturating_add(mulhrs(v, c.gv));
        let b = mulhrs(u, c.bu);
        for (luma, px) in [y0, y1].into_iter().zip(out.chunks_exact_mut(3)) {
            let yv = mulhrs((luma as i16 - c.y_off).max(0) << 7, c.y);
            let q = |t: i16| ((yv.saturating_add(t) as i32 + 32) >> 6).clamp(0, 255) as u8;
            px.copy_from_slice(&[q(b), q(g), q(r)]);
        }
    }
}

/// Whole blocks of 32 pixels (16 pairs) with NEON; returns the pixels done. `vld4q_u8`
/// splits the pairs into Y0, U, Y1, V (UYVY: U, Y0, V, Y1); chroma terms are computed once
/// per pair, and `vst3q_u8` writes the interleaved BGR.
#[cfg(target_arch = "aarch64")]
fn rows_neon<const UYVY: bool>(c: &Coeffs, src: &[u8], stride: usize, dst: &mut [u8], width: usize) {
    use std::arch::aarch64::*;
    // SAFETY: NEON is part of the aarch64 baseline; every pointer access below is inside
    // the bounds that `i < blocks` guarantees (64 bytes read at 64*i, 96 written at 96*i).
    unsafe {
        let (y_off, ys) = (vdupq_n_u16(c.y_off as u16), vdupq_n_s16(c.y));
        let (rv, gu, gv, bu) = (vdupq_n_s16(c.rv), vdupq_n_s16(c.gu), vdupq_n_s16(c.gv), vdupq_n_s16(c.bu));
        let flip = vdupq_n_u16(0x8000);
        let chroma = |ch: uint8x8_t| vreinterpretq_s16_u16(veorq_u16(vshll_n_u8::<8>(ch), flip));
        let luma = |y: uint8x8_t| {
            let y = vreinterpretq_s16_u16(vshlq_n_u16::<7>(vqsubq_u16(vmovl_u8(y), y_off)));
            vqrdmulhq_s16(y, ys)
        };
        // 8 pairs: B, G, R of the first and of the second pixel of each pair.
        let pairs = |y0: uint8x8_t, u: uint8x8_t, y1: uint8x8_t, v: uint8x8_t| {
            let (u, v) = (chroma(u), chroma(v));
            let r = vqrdmulhq_s16(v, rv);
            let g = vqaddq_s16(vqrdmulhq_s16(u, gu), vqrdmulhq_s16(v, gv));
            let b = vqrdmulhq_s16(u, bu);
            let out = |yv: int16x8_t| [b, g, r].map(|t| vqrshrun_n_s16::<6>(vqaddq_s16(yv, t)));
            (out(luma(y0)), out(luma(y1)))
        };
        rows_with::<UYVY>(c, src, stride, dst, width, |src, dst| {
            let blocks = (src.len() / 64).min(dst.len() / 96);
            for i in 0..blocks {
                let q = vld4q_u8(src.as_ptr().add(64 * i));
                let (y0, u, y1, v) = if UYVY { (q.1, q.0, q.3, q.2) } else { (q.0, q.1, q.2, q.3) };
                let (e_lo, o_lo) = pairs(vget_low_u8(y0), vget_low_u8(u), vget_low_u8(y1), vget_low_u8(v));
                let (e_hi, o_hi) =
                    pairs(vget_high_u8(y0), vget_high_u8(u), vget_high_u8(y1), vget_high_u8(v));
                let even = [0, 1, 2].map(|ch| vcombine_u8(e_lo[ch], e_hi[ch]));
                let odd = [0, 1, 2].map(|ch| vcombine_u8(o_lo[ch], o_hi[ch]));
                let first = [0, 1, 2].map(|ch| vzip1q_u8(even[ch], odd[ch]));
                let second = [0, 1, 2].map(|ch| vzip2q_u8(even[ch], odd[ch]));
                let d = dst.as_mut_ptr().add(96 * i);
                vst3q_u8(d, uint8x16x3_t(first[0], first[1], first[2]));
                vst3q_u8(d.add(48), uint8x16x3_t(second[0], second[1], second[2]));
            }
            blocks * 32
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::convert::reference::{self, TestRng};

    const COMBOS: [(YuvRange, YuvMatrix); 4] = [
        (YuvRange::Limited, YuvMatrix::Bt601),
        (YuvRange::Full, YuvMatrix::Bt601),
        (YuvRange::Limited, YuvMatrix::Bt709),
        (YuvRange::Full, YuvMatrix::Bt709),
    ];

    /// The fixed-point formula against the float reference over every Y and a dense grid of
    /// Cb, Cr (every value in steps of 3, plus the extremes): within 1.
    #[test]
    fn fixed_point_is_within_one_of_the_float_reference() {
        let chroma: Vec<u8> = (0..=255u8).step_by(3).chain([254, 255]).collect();
        for (range, matrix) in COMBOS {
            let c = Coeffs::new(range, matrix);
            let mut worst = 0;
            for &u in &chroma {
                for &v in &chroma {
                    for y in 0..=255u8 {
                        let mut out = [0u8; 3];
                        row_scalar::<false>(&c, &[y, u, y, v], &mut out);
                        let want = reference::ycbcr_to_bgr(y, u, v, range, matrix);
                        worst = worst.max(reference::max_abs_diff(&out, &want));
                    }
                }
            }
            assert!(worst <= 1, "{range:?} {matrix:?}: max diff {worst}");
        }
    }

    /// Every SIMD path this CPU has gives the scalar kernel's bytes exactly, for both byte
    /// orders, every width 1..=70 and a few long rows, on seeded random data.
    #[test]
    fn every_path_matches_the_scalar_kernel_bit_for_bit() {
        let mut rng = TestRng::new(0x422);
        for (range, matrix) in COMBOS {
            let c = Coeffs::new(range, matrix);
            for w in (1..=70usize).chain([127, 128, 640, 641]) {
                let mut src = vec![0u8; w.div_ceil(2) * 4];
                rng.fill(&mut src);
                let mut want = vec![0u8; w * 3];
                row_scalar::<false>(&c, &src, &mut want);
                let mut want_uyvy = vec![0u8; w * 3];
                row_scalar::<true>(&c, &src, &mut want_uyvy);
                for isa in Isa::available() {
                    let mut got = vec![0u8; w * 3];
                    rows_to_bgr::<false>(isa, &c, &src, src.len(), &mut got, w);
                    assert_eq!(got, want, "YUYV {isa:?} width {w} {range:?} {matrix:?}");
                    rows_to_bgr::<true>(isa, &c, &src, src.len(), &mut got, w);
                    assert_eq!(got, want_uyvy, "UYVY {isa:?} width {w} {range:?} {matrix:?}");
                }
            }
        }
    }
}
