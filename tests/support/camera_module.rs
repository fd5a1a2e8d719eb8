//! The pictures the fake `rpicam-vid` (`tests/fakes/rpicam_vid.rs`) sends, shared with the
//! tests that check what pistream made of them: frame `i` is the test pattern of frame `i`
//! as a camera module's ISP would send it (I420, full range: rpicam-vid's sYCC), with `i`
//! itself stamped across its top as 32 black or white 8x8 blocks, so a shown frame says
//! which one it was however frames were dropped, skipped or restarted; then the rows padded
//! as the Pi 4's or the Pi 5's ISP pads them.

// Shared by the fake (which writes frames) and the tests (which read them back): each uses
// only part of it.
#![allow(dead_code)]

use pistream::codec::convert::{convert_range, encode};
use pistream::media::{Geometry, PixelFormat, YuvRange};
use pistream::source::pattern;

/// Bits of the stamp, each an 8x8 block in rows 8..16 (frames at least 256 wide).
pub const STAMP_BITS: usize = 32;
/// The picture under the stamp repeats every this many frames (so the fake makes only these).
pub const CYCLE: u64 = 4;

/// Tight full-range I420 of frame `index`: the pattern of frame `index % CYCLE`, stamped
/// with `index`.
pub fn tight_frame(width: u32, height: u32, index: u64) -> Vec<u8> {
    let g = Geometry::new(width, height);
    let mut bgr = vec![0u8; g.frame_len()];
    pattern::fill(&mut bgr, g, index % CYCLE);
    let mut i420 = vec![0u8; PixelFormat::I420.tight_len(width, height).unwrap()];
    encode::bgr_to(PixelFormat::I420, width, height, &bgr, &mut i420);
    let luma = (width * height) as usize;
    convert_range(&mut i420, luma, YuvRange::Limited, YuvRange::Full);
    stamp(&mut i420, width as usize, height, index);
    i420
}

/// Writes `index` into I420 with `stride` bytes per luma row (half per chroma row): luma 0
/// or 255, grey chroma under the blocks.
pub fn stamp(i420: &mut [u8], stride: usize, height: u32, index: u64) {
    let h = height as usize;
    let c = stride / 2;
    for bit in 0..STAMP_BITS {
        let value = if index >> bit & 1 == 1 { 255 } else { 0 };
        for y in 8..16 {
            i420[y * stride + bit * 8..][..8].fill(value);
        }
        for cy in 4..8 {
            i420[stride * h + cy * c + bit * 4..][..4].fill(128);
            i420[stride * h + c * h / 2 + cy * c + bit * 4..][..4].fill(128);
        }
    }
}

/// The stamp read back from a shown BGR frame.
pub fn stamp_of(bgr: &[u8], width: u32) -> u64 {
    let row = width as usize * 3;
    (0..STAMP_BITS).fold(0, |index, bit| {
        let green = bgr[12 * row + (bit * 8 + 4) * 3 + 1];
        index | u64::from(green > 128) << bit
    })
}

/// Bytes per luma row on `isp` ("pi4" or "pi5"), unless `align` overrides the alignment.
pub fn stride(isp: &str, width: u32, align: Option<usize>) -> usize {
    let align = align.unwrap_or(if isp == "pi5" { 128 } else { 64 });
    (width as usize).next_multiple_of(align)
}

/// Tight I420 laid out with `stride` bytes per luma row (and half that per chroma row),
/// padding filled with 0xee.
pub fn padded(tight: &[u8], width: u32, height: u32, stride: usize) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(stride * h * 3 / 2);
    let mut at = 0;
    for (rows, row, pitch) in [(h, w, stride), (h / 2, w / 2, stride / 2), (h / 2, w / 2, stride / 2)] {
        for _ in 0..rows {
            out.extend_from_slice(&tight[at..at + row]);
            out.resize(out.len() + pitch - row, 0xee);
            at += row;
        }
    }
    out
}
