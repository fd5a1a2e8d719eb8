//! The test pattern: a moving picture whose every byte follows from the frame's sequence
//! number, so a receiver can check each frame bit for bit ([`PatternVerifier`]).
//!
//! For frame `n`, pixel `(x, y)` is `B = x + 4n`, `G = y + 2n`, `R = (x XOR y) + n`
//! (all mod 256): gradients that scroll right and down with an XOR texture. The first
//! 8 bytes of the frame then carry `n` as a big-endian u64, so frames 256 apart, whose
//! gradients coincide, still differ.

use std::time::{Duration, Instant};

use super::{Source, SourceError};
use crate::frame::{now_us, Frame, Geometry};

/// Longest single sleep while pacing, so the caller can check for shutdown.
const MAX_WAIT: Duration = Duration::from_millis(100);

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

/// Checks received frames against the pattern, one row at a time, with one scratch row
/// allocated per geometry (not per frame).
#[derive(Default)]
pub struct PatternVerifier {
    scratch: Vec<u8>,
}

impl PatternVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `frame` is exactly pattern frame `frame.seq`.
    pub fn check(&mut self, frame: &Frame) -> bool {
        let stride = frame.geometry.stride();
        if frame.data.len() != frame.geometry.frame_len() {
            return false;
        }
        if self.scratch.len() != stride {
            self.scratch = vec![0; stride];
        }
        let n = frame.data.len().min(8);
        if frame.data[..n] != stamp(frame.seq)[..n] {
            return false;
        }
        for (y, row) in frame.data.chunks_exact(stride).enumerate() {
            fill_row(&mut self.scratch, y as u32, frame.seq);
            let skip = if y == 0 { n } else { 0 };
            if row[skip..] != self.scratch[skip..] {
                return false;
            }
        }
        true
    }
}

/// The pattern as a paced [`Source`].
pub struct PatternSource {
    geometry: Geometry,
    period: Option<Duration>,
    next_due: Option<Instant>,
    seq: u64,
}

impl PatternSource {
    /// A pattern of `geometry` at `fps` frames per second (0 = as fast as possible).
    pub fn new(geometry: Geometry, fps: f64) -> Self {
        let period = (fps > 0.0).then(|| Duration::from_secs_f64(1.0 / fps));
        PatternSource { geometry, period, next_due: None, seq: 0 }
    }
}

impl Source for PatternSource {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        if let Some(period) = self.period {
            let now = Instant::now();
            let due = *self.next_due.get_or_insert(now);
            if due > now {
                std::thread::sleep((due - now).min(MAX_WAIT));
                if Instant::now() < due {
                    return Ok(false);
                }
            }
            // Keep a steady cadence, but never try to catch up on a backlog.
            let next = due + period;
            self.next_due = Some(if next < now { now + period } else { next });
        }
        frame.ensure_geometry(self.geometry);
        fill(&mut frame.data, self.geometry, self.seq);
        frame.seq = self.seq;
        frame.captured_us = now_us();
        self.seq += 1;
        Ok(true)
    }

    fn describe(&self) -> String {
        match self.period {
            Some(p) => format!("test pattern {} at {:.1} fps", self.geometry, 1.0 / p.as_secs_f64()),
            None => format!("test pattern {} unpaced", self.geometry),
        }
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
        let g = Geometry::bgr(300, 20);
        let f = pattern_frame(g, 5);
        let px = |x: usize, y: usize| &f.data[y * g.stride() + x * 3..][..3];
        assert_eq!(px(10, 3), &[10 + 20, 3 + 10, (10 ^ 3) + 5]);
        assert_eq!(px(299, 19), &[(299u32 + 20) as u8, 19 + 10, ((299u32 ^ 19) as u8).wrapping_add(5)]);
        assert_eq!(&f.data[..8], &5u64.to_be_bytes());
    }

    #[test]
    fn verifier_accepts_the_pattern_and_catches_one_flipped_bit_anywhere() {
        let g = Geometry::bgr(33, 7);
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
    fn tiny_frames_smaller_than_the_stamp_work() {
        let g = Geometry::bgr(1, 1);
        let f = pattern_frame(g, 3);
        assert!(PatternVerifier::new().check(&f));
    }

    #[test]
    fn unpaced_source_numbers_frames_consecutively() {
        let g = Geometry::bgr(8, 8);
        let mut source = PatternSource::new(g, 0.0);
        let mut f = Frame::new(g);
        let mut verifier = PatternVerifier::new();
        for expected in 0..3 {
            assert!(source.next_frame(&mut f).unwrap());
            assert_eq!(f.seq, expected);
            assert!(verifier.check(&f));
        }
    }
}
