//! The x86-64 packed 4:2:2 kernels: SSSE3 (16 pixels a step) and AVX2 (32), with the
//! `pshufb`/`pblendvb` masks they interleave planar B, G, R with. Arithmetic as in the
//! parent module's docs; the parent dispatches here on the caller's `Isa`.

use super::{rows_with, Coeffs};

/// `pshufb` masks (per 128-bit lane) that put 16 planar B, G, R bytes at their places in
/// 48 bytes of packed BGR: `[chunk][channel]`, 0x80 for "zero".
const INTERLEAVE3_MASKS: [[[i8; 16]; 3]; 3] = interleave3_masks();

const fn interleave3_masks() -> [[[i8; 16]; 3]; 3] {
    let mut m = [[[-128i8; 16]; 3]; 3];
    let mut j = 0;
    while j < 48 {
        m[j / 16][j % 3][j % 16] = (j / 3) as i8;
        j += 1;
    }
    m
}

/// `pshufb` masks (per 128-bit lane) moving 16 planar bytes of channel `c` so that each
/// lands at its byte position within whichever of the three 16-byte output chunks holds it:
/// since 16 = 1 (mod 3), each position belongs to channel `c` in exactly one chunk.
const SPREAD3_MASKS: [[i8; 16]; 3] = spread3_masks();

const fn spread3_masks() -> [[i8; 16]; 3] {
    let mut m = [[-128i8; 16]; 3];
    let mut j = 0;
    while j < 48 {
        m[j % 3][j % 16] = (j / 3) as i8;
        j += 1;
    }
    m
}

/// `pblendvb` masks choosing, for output chunk `k`, the G (`[k][0]`) and R (`[k][1]`)
/// spread registers over B.
const PICK3_MASKS: [[[i8; 16]; 2]; 3] = pick3_masks();

const fn pick3_masks() -> [[[i8; 16]; 2]; 3] {
    let mut m = [[[0i8; 16]; 2]; 3];
    let mut j = 0;
    while j < 48 {
        if j % 3 != 0 {
            m[j / 16][j % 3 - 1][j % 16] = -1;
        }
        j += 1;
    }
    m
}

/// Masks picking each pair's U (`[0]`) or V (`[1]`) into the high byte of both pixels'
/// 16-bit lanes (low byte zero), per 128-bit lane of 4 pairs.
const CHROMA_MASKS: [[[i8; 16]; 2]; 2] = [chroma_masks(false), chroma_masks(true)];

const fn chroma_masks(uyvy: bool) -> [[i8; 16]; 2] {
    let mut m = [[-128i8; 16]; 2];
    let (u, v) = if uyvy { (0, 2) } else { (1, 3) };
    let mut px = 0;
    while px < 8 {
        m[0][2 * px + 1] = (4 * (px / 2) + u) as i8;
        m[1][2 * px + 1] = (4 * (px / 2) + v) as i8;
        px += 1;
    }
    m
}

/// Whole blocks of 16 pixels per row with SSSE3: two loads of 8 pixels, 16-bit B, G, R,
/// packed and interleaved with 9 shuffles.
///
/// # Safety
/// The CPU must support SSSE3.
#[target_feature(enable = "ssse3")]
pub(super) unsafe fn rows_ssse3<const UYVY: bool>(
    c: &Coeffs,
    src: &[u8],
    stride: usize,
    dst: &mut [u8],
    width: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: (mask loads) each reads exactly the 16 bytes of one mask array.
    let load = |m: &[i8; 16]| unsafe { _mm_loadu_si128(m.as_ptr().cast()) };
    let [mu, mv] = CHROMA_MASKS[UYVY as usize].map(|m| load(&m));
    let im = INTERLEAVE3_MASKS.map(|chunk| chunk.map(|m| load(&m)));
    let (y_off, ys) = (_mm_set1_epi16(c.y_off), _mm_set1_epi16(c.y));
    let (rv, gu, gv, bu) =
        (_mm_set1_epi16(c.rv), _mm_set1_epi16(c.gu), _mm_set1_epi16(c.gv), _mm_set1_epi16(c.bu));
    let (flip, round, low) = (_mm_set1_epi16(i16::MIN), _mm_set1_epi16(512), _mm_set1_epi16(0xff));
    let bgr16 = |v: __m128i| {
        let luma = if UYVY { _mm_srli_epi16(v, 8) } else { _mm_and_si128(v, low) };
        let yv = _mm_mulhrs_epi16(_mm_slli_epi16(_mm_subs_epu16(luma, y_off), 7), ys);
        let u = _mm_xor_si128(_mm_shuffle_epi8(v, mu), flip);
        let v = _mm_xor_si128(_mm_shuffle_epi8(v, mv), flip);
        let r = _mm_adds_epi16(yv, _mm_mulhrs_epi16(v, rv));
        let g = _mm_adds_epi16(yv, _mm_adds_epi16(_mm_mulhrs_epi16(u, gu), _mm_mulhrs_epi16(v, gv)));
        let b = _mm_adds_epi16(yv, _mm_mulhrs_epi16(u, bu));
        // (x + 32) >> 6, exactly.
        [b, g, r].map(|x| _mm_mulhrs_epi16(x, round))
    };
    rows_with::<UYVY>(c, src, stride, dst, width, |src, dst| {
        let blocks = (src.len() / 32).min(dst.len() / 48);
        for i in 0..blocks {
            // SAFETY: i < blocks keeps the 32 bytes read at 32*i and the 48 written at
            // 48*i in bounds; loads and stores are unaligned.
            unsafe {
                let s = src.as_ptr().add(32 * i);
                let lo = bgr16(_mm_loadu_si128(s.cast()));
                let hi = bgr16(_mm_loadu_si128(s.add(16).cast()));
                let p = [0, 1, 2].map(|ch| _mm_packus_epi16(lo[ch], hi[ch]));
                let d = dst.as_mut_ptr().add(48 * i) as *mut __m128i;
                for (chunk, masks) in im.iter().enumerate() {
                    let o = _mm_or_si128(
                        _mm_or_si128(_mm_shuffle_epi8(p[0], masks[0]), _mm_shuffle_epi8(p[1], masks[1])),
                        _mm_shuffle_epi8(p[2], masks[2]),
                    );
                    _mm_storeu_si128(d.add(chunk), o);
                }
            }
        }
        blocks * 16
    });
}

/// Whole blocks of 32 pixels per row with AVX2. Each 128-bit lane does the SSSE3 job on 16
/// pixels: the loads put pixels 0-7 and 16-23 in one register, 8-15 and 24-31 in the
/// other, so packing keeps each lane's pixels in order; the interleave is one shuffle per
/// channel and two blends per output register.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn rows_avx2<const UYVY: bool>(
    c: &Coeffs,
    src: &[u8],
    stride: usize,
    dst: &mut [u8],
    width: usize,
) {
    use std::arch::x86_64::*;
    // SAFETY: (mask loads) each reads exactly the 16 bytes of one mask array.
    let b2 = |m: &[i8; 16]| _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(m.as_ptr().cast()) });
    let [mu, mv] = CHROMA_MASKS[UYVY as usize].map(|m| b2(&m));
    let spread = SPREAD3_MASKS.map(|m| b2(&m));
    let pick = PICK3_MASKS.map(|chunk| chunk.map(|m| b2(&m)));
    let (y_off, ys) = (_mm256_set1_epi16(c.y_off), _mm256_set1_epi16(c.y));
    let (rv, gu, gv, bu) =
        (_mm256_set1_epi16(c.rv), _mm256_set1_epi16(c.gu), _mm256_set1_epi16(c.gv), _mm256_set1_epi16(c.bu));
    let (flip, round, low) = (_mm256_set1_epi16(i16::MIN), _mm256_set1_epi16(512), _mm256_set1_epi16(0xff));
    let bgr16 = |v: __m256i| {
        let luma = if UYVY { _mm256_srli_epi16(v, 8) } else { _mm256_and_si256(v, low) };
        let yv = _mm256_mulhrs_epi16(_mm256_slli_epi16(_mm256_subs_epu16(luma, y_off), 7), ys);
        let u = _mm256_xor_si256(_mm256_shuffle_epi8(v, mu), flip);
        let v = _mm256_xor_si256(_mm256_shuffle_epi8(v, mv), flip);
        let r = _mm256_adds_epi16(yv, _mm256_mulhrs_epi16(v, rv));
        let g =
            _mm256_adds_epi16(yv, _mm256_adds_epi16(_mm256_mulhrs_epi16(u, gu), _mm256_mulhrs_epi16(v, gv)));
        let b = _mm256_adds_epi16(yv, _mm256_mulhrs_epi16(u, bu));
        // (x + 32) >> 6, exactly.
        [b, g, r].map(|x| _mm256_mulhrs_epi16(x, round))
    };
    rows_with::<UYVY>(c, src, stride, dst, width, |src, dst| {
        let blocks = (src.len() / 64).min(dst.len() / 96);
        for i in 0..blocks {
            // SAFETY: i < blocks keeps the 64 bytes read at 64*i and the 96 written at
            // 96*i in bounds; loads and stores are unaligned.
            unsafe {
                let s = src.as_ptr().add(64 * i);
                let load2 = |a: usize, b: usize| {
                    _mm256_inserti128_si256(
                        _mm256_castsi128_si256(_mm_loadu_si128(s.add(a).cast())),
                        _mm_loadu_si128(s.add(b).cast()),
                        1,
                    )
                };
                let first = bgr16(load2(0, 32));
                let second = bgr16(load2(16, 48));
                let p = [0, 1, 2].map(|ch| _mm256_packus_epi16(first[ch], second[ch]));
                // One shuffle per channel puts every byte where one of the three output
                // registers wants it; blends pick the channel per byte.
                let [sb, sg, sr] = [0, 1, 2].map(|ch| _mm256_shuffle_epi8(p[ch], spread[ch]));
                let o = pick.map(|[g, r]| _mm256_blendv_epi8(_mm256_blendv_epi8(sb, sg, g), sr, r));
                // Lane 0 holds bytes 0..48 of the block as (o0, o1, o2) low halves, lane 1
                // bytes 48..96 as their high halves.
                let d = dst.as_mut_ptr().add(96 * i) as *mut __m256i;
                _mm256_storeu_si256(d, _mm256_permute2x128_si256(o[0], o[1], 0x20));
                _mm256_storeu_si256(d.add(1), _mm256_permute2x128_si256(o[2], o[0], 0x30));
                _mm256_storeu_si256(d.add(2), _mm256_permute2x128_si256(o[1], o[2], 0x31));
            }
        }
        blocks * 32
    });
}
