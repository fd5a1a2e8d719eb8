//! Packed RGB formats to BGR: RGB24 (channel swap: SSSE3 `pshufb` on x86-64, NEON
//! `vld3q_u8`/`vst3q_u8` on aarch64, scalar tail), BGR24 (row copy, dropping the padding)
//! and GREY (each luma byte replicated to B, G and R, as OpenCV's `GRAY2BGR` does: no range
//! expansion). RGB24 and GREY dispatch on the [`Isa`] token the caller holds (SSSE3 serves
//! AVX2 CPUs too); their scalar kernels finish every row and are what the SIMD ones are
//! tested against.

use super::isa::{Isa, Kind};
use crate::media::Layout;

/// RGB24 to BGR24; the caller has checked the frame and output sizes.
pub(super) fn rgb_to_bgr(isa: Isa, layout: &Layout, src: &[u8], dst: &mut [u8]) {
    rgb_rows(isa, src, layout.stride, dst, layout.width as usize);
}

/// `dst.len() / (3 * width)` rows, row `y` at `src[y * stride..][..3 * width]`: SIMD blocks,
/// then the scalar loop, per row.
pub(crate) fn rgb_rows(isa: Isa, src: &[u8], stride: usize, dst: &mut [u8], width: usize) {
    let row = width * 3;
    for (y, out) in dst.chunks_exact_mut(row).enumerate() {
        let src = &src[y * stride..][..row];
        let done = match isa.kind() {
            // The SSSE3 kernel serves AVX2 CPUs too: an AVX2 version without shuffles was
            // slower (BENCHMARKS.md, "Measurements behind choices in the code").
            #[cfg(target_arch = "x86_64")]
            // SAFETY: an `Isa` of kind Ssse3 or Avx2 comes only from CPU detection
            // (`Isa::available`), which lists either only when the CPU has SSSE3.
            Kind::Ssse3 | Kind::Avx2 => unsafe { rgb_row_ssse3(src, out) },
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => rgb_row_neon(src, out),
            _ => 0,
        };
        rgb_row_scalar(&src[done * 3..], &mut out[done * 3..]);
    }
}

/// The scalar kernel (also the tail of the SIMD ones).
pub(crate) fn rgb_row_scalar(src: &[u8], dst: &mut [u8]) {
    for (p, out) in src.chunks_exact(3).zip(dst.chunks_exact_mut(3)) {
        out.copy_from_slice(&[p[2], p[1], p[0]]);
    }
}

/// `pshufb` masks swapping R and B across 48 bytes held in three registers:
/// `[output register][input register]`, 0x80 for "zero".
#[cfg(target_arch = "x86_64")]
const RGB_SWAP_MASKS: [[[i8; 16]; 3]; 3] = rgb_swap_masks();

#[cfg(target_arch = "x86_64")]
const fn rgb_swap_masks() -> [[[i8; 16]; 3]; 3] {
    let mut m = [[[-128i8; 16]; 3]; 3];
    let mut j = 0;
    while j < 48 {
        let s = 3 * (j / 3) + 2 - j % 3;
        m[j / 16][s / 16][j % 16] = (s % 16) as i8;
        j += 1;
    }
    m
}

/// Whole blocks of 16 pixels with SSSE3 byte shuffles; returns the pixels done.
///
/// # Safety
/// The CPU must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
pub(crate) unsafe fn rgb_row_ssse3(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let blocks = src.len().min(dst.len()) / 48;
    // SAFETY: (all loads of masks) each reads exactly one 16-byte array.
    let m = RGB_SWAP_MASKS.map(|out| out.map(|mm| unsafe { _mm_loadu_si128(mm.as_ptr().cast()) }));
    for i in 0..blocks {
        // SAFETY: i < blocks keeps bytes 48*i..48*i+48 of src and dst in bounds; unaligned
        // loads and stores are used.
        unsafe {
            let s = src.as_ptr().add(48 * i) as *const __m128i;
            let (a, b, c) = (_mm_loadu_si128(s), _mm_loadu_si128(s.add(1)), _mm_loadu_si128(s.add(2)));
            let d = dst.as_mut_ptr().add(48 * i) as *mut __m128i;
            // Output register 0 draws on inputs 0 and 1, 1 on all three, 2 on 1 and 2.
            let o0 = _mm_or_si128(_mm_shuffle_epi8(a, m[0][0]), _mm_shuffle_epi8(b, m[0][1]));
            let o1 = _mm_or_si128(
                _mm_or_si128(_mm_shuffle_epi8(a, m[1][0]), _mm_shuffle_epi8(b, m[1][1])),
                _mm_shuffle_epi8(c, m[1][2]),
            );
            let o2 = _mm_or_si128(_mm_shuffle_epi8(b, m[2][1]), _mm_shuffle_epi8(c, m[2][2]));
            _mm_storeu_si128(d, o0);
            _mm_storeu_si128(d.add(1), o1);
            _mm_storeu_si128(d.add(2), o2);
        }
    }
    blocks * 16
}

/// Whole blocks of 16 pixels with NEON 3-way loads and stores; returns the pixels done.
#[cfg(target_arch = "aarch64")]
pub(crate) fn rgb_row_neon(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::aarch64::*;
    let blocks = src.len().min(dst.len()) / 48;
    for i in 0..blocks {
        // SAFETY: NEON is part of the aarch64 baseline; i < blocks keeps the 48-byte load
        // and store in bounds.
        unsafe {
            let p = vld3q_u8(src.as_ptr().add(48 * i));
            vst3q_u8(dst.as_mut_ptr().add(48 * i), uint8x16x3_t(p.2, p.1, p.0));
        }
    }
    blocks * 16
}

pub(super) fn bgr_copy(layout: &Layout, src: &[u8], dst: &mut [u8]) {
    let row = layout.width as usize * 3;
    if layout.stride == row {
        dst.copy_from_slice(&src[..dst.len()]);
        return;
    }
    for (y, out) in dst.chunks_exact_mut(row).enumerate() {
        out.copy_from_slice(&src[y * layout.stride..][..row]);
    }
}

/// 32-bit XR24 (B G R X in memory) or XB24 (R G B X) to BGR24, dropping the fourth byte;
/// the caller has checked the sizes. Plain Rust: LLVM vectorises the fixed-size chunks, and
/// these formats come only through libcamera's V4L2 adapter, whose own copy dominates.
pub(super) fn rgb32_to_bgr(layout: &Layout, src: &[u8], dst: &mut [u8]) {
    let (w, swap) = (layout.width as usize, layout.format == crate::media::PixelFormat::Xbgr32);
    for (y, out) in dst.chunks_exact_mut(w * 3).enumerate() {
        let row = &src[y * layout.stride..][..w * 4];
        for (o, p) in out.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
            o.copy_from_slice(&if swap { [p[2], p[1], p[0]] } else { [p[0], p[1], p[2]] });
        }
    }
}

/// GREY to BGR24; the caller has checked the frame and output sizes.
pub(super) fn grey_to_bgr(isa: Isa, layout: &Layout, src: &[u8], dst: &mut [u8]) {
    let w = layout.width as usize;
    for (y, out) in dst.chunks_exact_mut(w * 3).enumerate() {
        grey_row(isa, &src[y * layout.stride..][..w], out);
    }
}

/// One row on `isa`: SIMD blocks, then the scalar loop.
pub(crate) fn grey_row(isa: Isa, src: &[u8], dst: &mut [u8]) {
    let done = match isa.kind() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: an `Isa` of kind Ssse3 or Avx2 comes only from CPU detection
        // (`Isa::available`), which lists either only when the CPU has SSSE3.
        Kind::Ssse3 | Kind::Avx2 => unsafe { grey_row_ssse3(src, dst) },
        #[cfg(target_arch = "aarch64")]
        Kind::Neon => grey_row_neon(src, dst),
        _ => 0,
    };
    grey_row_scalar(&src[done..], &mut dst[done * 3..]);
}

/// The scalar kernel (also the tail of the SIMD ones).
pub(crate) fn grey_row_scalar(src: &[u8], dst: &mut [u8]) {
    for (&g, out) in src.iter().zip(dst.chunks_exact_mut(3)) {
        out.copy_from_slice(&[g, g, g]);
    }
}

/// Whole blocks of 16 pixels with SSSE3 byte shuffles; returns the pixels done.
///
/// # Safety
/// The CPU must support SSSE3.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
pub(crate) unsafe fn grey_row_ssse3(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::*;
    let blocks = src.len().min(dst.len() / 3) / 16;
    let m0 = _mm_setr_epi8(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5);
    let m1 = _mm_setr_epi8(5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8, 9, 9, 9, 10, 10);
    let m2 = _mm_setr_epi8(10, 11, 11, 11, 12, 12, 12, 13, 13, 13, 14, 14, 14, 15, 15, 15);
    for i in 0..blocks {
        // SAFETY: i < blocks, so bytes 16*i..16*i+16 of src and 48*i..48*i+48 of dst are in
        // bounds; unaligned loads and stores are used.
        unsafe {
            let g = _mm_loadu_si128(src.as_ptr().add(16 * i) as *const __m128i);
            let out = dst.as_mut_ptr().add(48 * i) as *mut __m128i;
            _mm_storeu_si128(out, _mm_shuffle_epi8(g, m0));
            _mm_storeu_si128(out.add(1), _mm_shuffle_epi8(g, m1));
            _mm_storeu_si128(out.add(2), _mm_shuffle_epi8(g, m2));
        }
    }
    blocks * 16
}

/// Whole blocks of 16 pixels with NEON 3-way interleaved stores; returns the pixels done.
#[cfg(target_arch = "aarch64")]
pub(crate) fn grey_row_neon(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::aarch64::*;
    let blocks = src.len().min(dst.len() / 3) / 16;
    for i in 0..blocks {
        // SAFETY: NEON is part of the aarch64 baseline; i < blocks keeps the 16-byte load
        // and the 48-byte store in bounds.
        unsafe {
            let g = vld1q_u8(src.as_ptr().add(16 * i));
            vst3q_u8(dst.as_mut_ptr().add(48 * i), uint8x16x3_t(g, g, g));
        }
    }
    blocks * 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::convert::reference::TestRng;

    /// Every RGB24 path this CPU has against the scalar swap: widths 1..=70 and a few long
    /// rows, two rows with a padded stride, seeded random data.
    #[test]
    fn every_rgb_path_matches_the_scalar_swap() {
        let mut rng = TestRng::new(0x3b9);
        for w in (1..=70usize).chain([105, 106, 640, 641]) {
            let stride = w * 3 + 7;
            let mut src = vec![0u8; stride * 2];
            rng.fill(&mut src);
            let mut want = vec![0u8; w * 6];
            for y in 0..2 {
                rgb_row_scalar(&src[y * stride..][..w * 3], &mut want[y * w * 3..][..w * 3]);
            }
            for isa in Isa::available() {
                let mut got = vec![0u8; w * 6];
                rgb_rows(isa, &src, stride, &mut got, w);
                assert_eq!(got, want, "{isa:?} width {w}");
            }
        }
    }

    /// Every GREY path this CPU has against the scalar expansion, widths 1..=70 and a few
    /// long rows (16-pixel blocks plus every tail), seeded random data.
    #[test]
    fn every_grey_path_matches_the_scalar_expansion() {
        let mut rng = TestRng::new(0x6e7);
        for w in (1..=70usize).chain([640, 641]) {
            let mut src = vec![0u8; w];
            rng.fill(&mut src);
            let mut want = vec![0u8; w * 3];
            grey_row_scalar(&src, &mut want);
            for isa in Isa::available() {
                let mut got = vec![1u8; w * 3];
                grey_row(isa, &src, &mut got);
                assert_eq!(got, want, "{isa:?} width {w}");
            }
        }
    }
}
