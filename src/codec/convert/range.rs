//! Moving tight Y'CbCr planes between the limited range (luma 16..235, chroma 16..240:
//! webcams, V4L2's default, what pistream's receivers assume) and the full range (0..255:
//! JPEG, rpicam-vid's sYCC), in place, through one 256-entry table per plane kind.

use crate::media::YuvRange;

/// Limited to full: luma, chroma.
static LIMITED_TO_FULL: [[u8; 256]; 2] = [table(16, 219, 0, 255), table(128, 224, 128, 255)];
/// Full to limited: luma, chroma.
static FULL_TO_LIMITED: [[u8; 256]; 2] = [table(0, 255, 16, 219), table(128, 255, 128, 224)];

/// `out = clamp(round((in - from) * to_span / from_span) + to)` for every byte value.
const fn table(from: i32, from_span: i32, to: i32, to_span: i32) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let scaled = (i as i32 - from) * to_span;
        let rounded = if scaled >= 0 {
            (scaled + from_span / 2) / from_span
        } else {
            (scaled - from_span / 2) / from_span
        };
        let v = rounded + to;
        table[i] = if v < 0 {
            0
        } else if v > 255 {
            255
        } else {
            v as u8
        };
        i += 1;
    }
    table
}

/// Moves tight planes (luma first, `luma_len` bytes, then chroma) from range `from` to
/// `to`; nothing to do when they are the same.
pub fn convert_range(planes: &mut [u8], luma_len: usize, from: YuvRange, to: YuvRange) {
    let tables = match (from, to) {
        (YuvRange::Limited, YuvRange::Full) => &LIMITED_TO_FULL,
        (YuvRange::Full, YuvRange::Limited) => &FULL_TO_LIMITED,
        _ => return,
    };
    let (luma, chroma) = planes.split_at_mut(luma_len.min(planes.len()));
    luma.iter_mut().for_each(|v| *v = tables[0][usize::from(*v)]);
    chroma.iter_mut().for_each(|v| *v = tables[1][usize::from(*v)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ranges_map_end_to_end_and_back() {
        assert_eq!((LIMITED_TO_FULL[0][16], LIMITED_TO_FULL[0][235], LIMITED_TO_FULL[1][128]), (0, 255, 128));
        assert_eq!((LIMITED_TO_FULL[1][16], LIMITED_TO_FULL[1][240]), (0, 255));
        assert_eq!((FULL_TO_LIMITED[0][0], FULL_TO_LIMITED[0][255], FULL_TO_LIMITED[1][128]), (16, 235, 128));
        assert_eq!((FULL_TO_LIMITED[1][0], FULL_TO_LIMITED[1][255]), (16, 240));
        for v in 0..=255u8 {
            let there = LIMITED_TO_FULL[0][usize::from(FULL_TO_LIMITED[0][usize::from(v)])];
            assert!(there.abs_diff(v) <= 1, "luma {v} -> {there}");
        }
        let mut planes = vec![0, 255, 0, 255];
        convert_range(&mut planes, 2, YuvRange::Full, YuvRange::Limited);
        assert_eq!(planes, [16, 235, 16, 240]);
        convert_range(&mut planes, 2, YuvRange::Limited, YuvRange::Limited);
        assert_eq!(planes, [16, 235, 16, 240]);
    }
}
