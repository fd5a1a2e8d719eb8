//! Plain scalar float versions of every raw conversion and of the bilinear resize: slow,
//! obvious, and what the fast kernels are tested against (`tests/library/convert.rs`,
//! [`super::selftest_cases`]). Formulas straight from the standards, no fixed point:
//!
//! - limited range: `Y' = (max(Y, 16) - 16) / 219`, `Cb' = (Cb - 128) / 224` (likewise Cr):
//!   footroom luma (Y < 16) is black, as OpenCV's `cvtColor` and the `yuv` crate's SIMD
//!   kernels have it;
//!   full range: `Y' = Y / 255`, `Cb' = (Cb - 128) / 255`;
//! - `R = Y' + 2 (1 - Kr) Cr'`, `B = Y' + 2 (1 - Kb) Cb'`,
//!   `G = (Y' - Kr R - Kb B) / (1 - Kr - Kb)`, with (Kr, Kb) = (0.299, 0.114) for BT.601
//!   and (0.2126, 0.0722) for BT.709; results scaled by 255, rounded, clamped.
//!
//! Chroma is taken from the sample covering the pixel (4:2:2 and 4:2:0 chroma is not
//! interpolated), as the `yuv` crate's default path and OpenCV's `cvtColor` do.

use crate::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

/// One Y'CbCr sample to B, G, R.
pub fn ycbcr_to_bgr(y: u8, cb: u8, cr: u8, range: YuvRange, matrix: YuvMatrix) -> [u8; 3] {
    let (kr, kb) = match matrix {
        YuvMatrix::Bt601 => (0.299f64, 0.114f64),
        YuvMatrix::Bt709 => (0.2126, 0.0722),
    };
    let (y, cb, cr) = match range {
        YuvRange::Limited => {
            ((y.max(16) as f64 - 16.0) / 219.0, (cb as f64 - 128.0) / 224.0, (cr as f64 - 128.0) / 224.0)
        }
        YuvRange::Full => (y as f64 / 255.0, (cb as f64 - 128.0) / 255.0, (cr as f64 - 128.0) / 255.0),
    };
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
    let q = |v: f64| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    [q(b), q(g), q(r)]
}

/// Converts a raw frame (any format but MJPEG) to packed BGR of the same size.
pub fn to_bgr(layout: &Layout, src: &[u8]) -> Vec<u8> {
    let (w, h, s) = (layout.width as usize, layout.height as usize, layout.stride);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let row = &src[y * s..];
            let px = match layout.format {
                PixelFormat::Yuyv | PixelFormat::Uyvy => {
                    let pair = &row[(x / 2) * 4..][..4];
                    let (luma, cb, cr) = if layout.format == PixelFormat::Yuyv {
                        (pair[(x % 2) * 2], pair[1], pair[3])
                    } else {
                        (pair[1 + (x % 2) * 2], pair[0], pair[2])
                    };
                    ycbcr_to_bgr(luma, cb, cr, layout.range, layout.matrix)
                }
                PixelFormat::Nv12 | PixelFormat::Nv21 => {
                    let uv = &src[layout.chroma_offset() + (y / 2) * s + (x / 2) * 2..][..2];
                    let (cb, cr) =
                        if layout.format == PixelFormat::Nv12 { (uv[0], uv[1]) } else { (uv[1], uv[0]) };
                    ycbcr_to_bgr(row[x], cb, cr, layout.range, layout.matrix)
                }
                PixelFormat::I420 => {
                    let c = (y / 2) * layout.chroma_stride() + x / 2;
                    let cb = src[layout.chroma_offset() + c];
                    let cr = src[layout.v_offset() + c];
                    ycbcr_to_bgr(row[x], cb, cr, layout.range, layout.matrix)
                }
                PixelFormat::Rgb24 => [row[3 * x + 2], row[3 * x + 1], row[3 * x]],
                PixelFormat::Bgr24 => [row[3 * x], row[3 * x + 1], row[3 * x + 2]],
                PixelFormat::Grey => [row[x]; 3],
                PixelFormat::Xrgb32 => [row[4 * x], row[4 * x + 1], row[4 * x + 2]],
                PixelFormat::Xbgr32 => [row[4 * x + 2], row[4 * x + 1], row[4 * x]],
                PixelFormat::Mjpeg | PixelFormat::H264 => panic!("the reference decodes no coded format"),
            };
            out.extend_from_slice(&px);
        }
    }
    out
}

/// Bilinear resize of packed BGR, `src = (dst + 0.5) * src_size / dst_size - 0.5` clamped
/// to the edge (OpenCV's `INTER_LINEAR` mapping), in floats.
pub fn resize_bilinear(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    let tap = |d: usize, s: usize, dn: usize| {
        let p = ((d as f64 + 0.5) * s as f64 / dn as f64 - 0.5).clamp(0.0, (s - 1) as f64);
        let i = p.floor() as usize;
        (i, (i + 1).min(s - 1), p - i as f64)
    };
    let mut out = Vec::with_capacity(dw * dh * 3);
    for dy in 0..dh {
        let (y0, y1, fy) = tap(dy, sh, dh);
        for dx in 0..dw {
            let (x0, x1, fx) = tap(dx, sw, dw);
            for c in 0..3 {
                let at = |x: usize, y: usize| src[(y * sw + x) * 3 + c] as f64;
                let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
                let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
                out.push((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// A small deterministic generator (xorshift64*) for test frames: a seed replays a frame.
#[derive(Debug, Clone)]
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// A random frame of `layout` (padding included), `layout.min_frame_len()` bytes rounded up
/// to whole padded rows and planes.
pub fn random_frame(layout: &Layout, seed: u64) -> Vec<u8> {
    let len = match layout.format {
        PixelFormat::Nv12 | PixelFormat::Nv21 => {
            layout.chroma_offset() + layout.stride * layout.chroma_rows()
        }
        PixelFormat::I420 => layout.v_offset() + layout.chroma_stride() * layout.chroma_rows(),
        _ => layout.stride * layout.height as usize,
    };
    let mut buf = vec![0u8; len.max(layout.min_frame_len())];
    TestRng::new(seed).fill(&mut buf);
    buf
}

/// Largest per-channel difference between two equally long byte frames.
pub fn max_abs_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len(), "frames differ in length");
    a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).max().unwrap_or(0)
}
