//! Packed RGB formats to BGR: RGB24 (channel swap through the `yuv` crate's SIMD shuffle),
//! BGR24 (row copy, dropping the padding) and GREY (each luma byte replicated to B, G and R,
//! as OpenCV's `GRAY2BGR` does: no range expansion). GREY has its own SIMD kernels
//! (SSSE3 on x86-64, NEON on aarch64) beside the scalar one they are tested against.

use super::{ConvertError, InputLayout};

pub(super) fn rgb_to_bgr(layout: &InputLayout, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
    let (w, h) = (layout.width, layout.height);
    let err = |e: ::yuv::YuvError| ConvertError::Kernel { format: layout.format, message: e.to_string() };
    // The crate walks whole strides, so it would skip a last row that ends right after its
    // last pixel: give it all rows but the last, then the last one on its own.
    let (row, last) = (w as usize * 3, (h - 1) as usize);
    if h > 1 {
        ::yuv::rgb_to_bgr(src, layout.stride as u32, dst, w * 3, w, h - 1).map_err(err)?;
    }
    let tail = &src[last * layout.stride..][..row];
    ::yuv::rgb_to_bgr(tail, w * 3, &mut dst[last * row..], w * 3, w, 1).map_err(err)
}

pub(super) fn bgr_copy(layout: &InputLayout, src: &[u8], dst: &mut [u8]) {
    let row = layout.width as usize * 3;
    if layout.stride == row {
        dst.copy_from_slice(&src[..dst.len()]);
        return;
    }
    for (y, out) in dst.chunks_exact_mut(row).enumerate() {
        out.copy_from_slice(&src[y * layout.stride..][..row]);
    }
}

pub(super) fn grey_to_bgr(layout: &InputLayout, src: &[u8], dst: &mut [u8]) {
    let w = layout.width as usize;
    for (y, out) in dst.chunks_exact_mut(w * 3).enumerate() {
        grey_row(&src[y * layout.stride..][..w], out);
    }
}

/// One row, fastest kernel this CPU has.
pub(crate) fn grey_row(src: &[u8], dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3 (checked just above).
        let done = unsafe { grey_row_ssse3(src, dst) };
        grey_row_scalar(&src[done..], &mut dst[done * 3..]);
        return;
    }
    #[cfg(target_arch = "aarch64")]
    {
        let done = grey_row_neon(src, dst);
        grey_row_scalar(&src[done..], &mut dst[done * 3..]);
        return;
    }
    #[allow(unreachable_code)]
    grey_row_scalar(src, dst)
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
