//! The test pattern's picture: a moving picture whose every byte follows from the frame's
//! sequence number, so a receiver can check each frame bit for bit ([`PatternVerifier`]).
//!
//! For frame `n`, pixel `(x, y)` is `B = x + 4n`, `G = y + 2n`, `R = (x XOR y) + n`
//! (all mod 256): gradients that scroll right and down with an XOR texture. The first
//! 8 bytes of the frame then carry `n` as a big-endian u64, so frames 256 apart, whose
//! gradients coincide, still differ.

use crate::media::{Frame, Geometry};

/// Writes row `y` of pattern frame `seq` into `row` (`width * 3` bytes).
pub fn fill_row(row: &mut [u8], y: u32, seq: u64) {
    let n = seq as u8;
    let g = (y as u8).wrapping_add(n.wrapping_mul(2));
    let b0 = n.wrapping_mul(4);
    let r0 = n;
    for (x, px) in row.chunks_exact_mut(3).enumerate() {
        let x8 = x as u8;
        px[0] = x8.wrapping_add(b0);
        px[1] = g;
        px[2] = (x8 ^ y as u8).wrapping_add(r0);
    }
}

/// The 8-byte stamp at the start of pattern frame `seq`, clipped to the frame's size.
fn stamp(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Fills a whole frame's pixels with pattern frame `seq`.
pub fn fill(data: &mut [u8], geometry: Geometry, seq: u64) {
    let stride = geometry.stride();
    for (y, row) in data.chunks_exact_mut(stride).enumerate() {
        fill_row(row, y as u32, seq);
    }
    let n = data.len().min(8);
    data[..n].copy_from_slice(&stamp(seq)[..n]);
}

/// Renders and checks pattern frames of one geometry at memory speed. Frame `n` is the
/// base picture (frame 0) plus the per-channel offsets (4n, 2n, n) in B, G, R, which is
/// exactly what the formula gives since everything wraps mod 256; the base is computed once
/// per geometry. Our own code because evaluating the formula per pixel cost about 30
/// memcpys a frame and bottlenecked unpaced streams (BENCHMARKS.md, "Measurements behind
/// choices in the code").
pub struct Renderer {
    geometry: Geometry,
    base: Vec<u8>,
}

/// 48 bytes = 16 pixels: a whole number of both pixels and SIMD vectors.
const CHUNK: usize = 48;

/// `out = base + d` bytewise (wrapping), `d` repeating every 48 bytes. A separate function
/// that is not inlined, on purpose: inlined into `render`, LLVM saw the offsets' values
/// and turned the loop into unrolled scalar code; as it is, it compiles to vector adds, at
/// memcpy speed.
#[inline(never)]
fn add_offsets(out: &mut [u8], base: &[u8], d: &[u8; CHUNK]) {
    for (o, b) in out.chunks_exact_mut(CHUNK).zip(base.chunks_exact(CHUNK)) {
        for k in 0..CHUNK {
            o[k] = b[k].wrapping_add(d[k]);
        }
    }
}

impl Renderer {
    pub fn new(geometry: Geometry) -> Self {
        let mut base = vec![0u8; geometry.frame_len()];
        for (y, row) in base.chunks_exact_mut(geometry.stride()).enumerate() {
            fill_row(row, y as u32, 0);
        }
        Renderer { geometry, base }
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn offsets(seq: u64) -> [u8; CHUNK] {
        let n = seq as u8;
        let mut d = [0u8; CHUNK];
        for px in d.chunks_exact_mut(3) {
            px.copy_from_slice(&[n.wrapping_mul(4), n.wrapping_mul(2), n]);
        }
        d
    }

    /// Writes pattern frame `seq` into `out` (`geometry.frame_len()` bytes).
    pub fn render(&self, out: &mut [u8], seq: u64) {
        let d = Self::offsets(seq);
        let whole = out.len().min(self.base.len()) / CHUNK * CHUNK;
        let (out_main, out_tail) = out.split_at_mut(whole);
        let (base_main, base_tail) = self.base.split_at(whole);
        add_offsets(out_main, base_main, &d);
        for ((o, b), d) in out_tail.iter_mut().zip(base_tail).zip(d) {
            *o = b.wrapping_add(d);
        }
        let n = out.len().min(8);
        out[..n].copy_from_slice(&stamp(seq)[..n]);
    }

    /// Whether `data` is exactly pattern frame `seq`.
    pub fn matches(&self, data: &[u8], seq: u64) -> bool {
        if data.len() != self.base.len() {
            return false;
        }
        let n = data.len().min(8);
        if data[..n] != stamp(seq)[..n] {
            return false;
        }
        let d = Self::offsets(seq);
        let expected = |i: usize| self.base[i].wrapping_add(d[i % 3]);
        // The stamp's bytes were checked above; the rest of the first chunk byte by byte.
        let head = data.len().min(CHUNK);
        if (n..head).any(|i| data[i] != expected(i)) {
            return false;
        }
        let whole = head + (data.len() - head) / CHUNK * CHUNK;
        let differ = data[head..whole]
            .chunks_exact(CHUNK)
            .zip(self.base[head..whole].chunks_exact(CHUNK))
            .any(|(x, b)| {
                let mut differ = 0u8;
                for k in 0..CHUNK {
                    differ |= x[k] ^ b[k].wrapping_add(d[k]);
                }
                differ != 0
            });
        !differ
            && data[whole..].iter().zip(&self.base[whole..]).zip(d).all(|((x, b), d)| *x == b.wrapping_add(d))
    }
}

/// Checks received frames against the pattern, bit for bit; the renderer is rebuilt only
/// when the geometry changes (not per frame).
#[derive(Default)]
pub struct PatternVerifier {
    renderer: Option<Renderer>,
}

impl PatternVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `frame` is exactly pattern frame `frame.seq`.
    pub fn check(&mut self, frame: &Frame) -> bool {
        if frame.data.len() != frame.geometry.frame_len() {
            return false;
        }
        if self.renderer.as_ref().is_none_or(|r| r.geometry() != frame.geometry) {
            self.renderer = Some(Renderer::new(frame.geometry));
        }
        self.renderer.as_ref().is_some_and(|r| r.matches(&frame.data, frame.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_frame(g: Geometry, seq: u64) -> Frame {
        let mut f = Frame::new(g);
        fill(&mut f.data, g, seq);
        f.seq = seq;
        f
    }

    #[test]
    fn pixels_follow_the_formula() {
        let g = Geometry::new(300, 20);
        let f = pattern_frame(g, 5);
        let px = |x: usize, y: usize| &f.data[y * g.stride() + x * 3..][..3];
        assert_eq!(px(10, 3), &[10 + 20, 3 + 10, (10 ^ 3) + 5]);
        assert_eq!(px(299, 19), &[(299u32 + 20) as u8, 19 + 10, ((299u32 ^ 19) as u8).wrapping_add(5)]);
        assert_eq!(&f.data[..8], &5u64.to_be_bytes());
    }

    #[test]
    fn verifier_accepts_the_pattern_and_catches_one_flipped_bit_anywhere() {
        let g = Geometry::new(33, 7);
        let mut verifier = PatternVerifier::new();
        for seq in [0, 1, 255, 256, 1 << 40] {
            let mut f = pattern_frame(g, seq);
            assert!(verifier.check(&f), "seq {seq}");
            for at in [0, 7, 8, 500, f.data.len() - 1] {
                f.data[at] ^= 1;
                assert!(!verifier.check(&f), "flip at {at} seq {seq}");
                f.data[at] ^= 1;
            }
            f.seq += 256; // same gradients, different stamp
            assert!(!verifier.check(&f));
        }
    }

    #[test]
    fn the_renderer_gives_exactly_what_the_formula_gives() {
        for (w, h) in [(1, 1), (2, 3), (17, 5), (64, 48), (641, 3)] {
            let g = Geometry::new(w, h);
            let renderer = Renderer::new(g);
            let mut fast = vec![0u8; g.frame_len()];
            for seq in [0, 1, 7, 255, 256, 12345] {
                renderer.render(&mut fast, seq);
                assert_eq!(fast, pattern_frame(g, seq).data.to_vec(), "{w}x{h} seq {seq}");
                assert!(renderer.matches(&fast, seq));
                if fast.len() > 8 {
                    assert!(!renderer.matches(&fast, seq + 1));
                    let last = fast.len() - 1;
                    fast[last] ^= 0x80;
                    assert!(!renderer.matches(&fast, seq), "{w}x{h}: last byte");
                }
            }
        }
    }

    #[test]
    fn tiny_frames_smaller_than_the_stamp_work() {
        let g = Geometry::new(1, 1);
        let f = pattern_frame(g, 3);
        assert!(PatternVerifier::new().check(&f));
    }
}
