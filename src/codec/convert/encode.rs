//! The other direction, and between Y'CbCr layouts: packed BGR to the raw wire formats
//! (YUYV, UYVY, NV12, I420; BT.601 limited range, integer arithmetic), which makes the test
//! pattern a YUYV/NV12/... camera and gives a BGR camera its 4:2:0 wire step; 4:2:2 and
//! semi-planar frames to I420 (a YUYV/UYVY/NV12 camera's 4:2:0 step); and the tight copy of
//! a strided capture (the one copy out of a V4L2 buffer, dropping the driver's row padding).
//!
//! Output is always tightly packed (stride = width for luma); chroma of odd sizes covers
//! the last column and row (sizes rounded up), like `protocol::PixelFormat::exact_len`.
//! Semi-planar (NV12, NV21) frames of odd width are not made: V4L2 gives both of their
//! planes one stride, which a tight odd-width frame does not have.

use crate::media::{Layout, Orientation, PixelFormat};

/// BT.601 limited-range Y'CbCr of one BGR pixel (8-bit fixed point, rounded).
fn ycbcr(b: u8, g: u8, r: u8) -> (u8, i32, i32) {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let cb = (-38 * r - 74 * g + 112 * b + 128) >> 8;
    let cr = (112 * r - 94 * g - 18 * b + 128) >> 8;
    (y as u8, cb, cr)
}

/// Chroma from the sum of `n` samples' offsets (centred on 0), rounded, back to 0..=255.
fn chroma(sum: i32, n: i32) -> u8 {
    ((sum + n / 2).div_euclid(n) + 128).clamp(0, 255) as u8
}

/// Converts a packed BGR frame of `width` x `height` into `format` (YUYV, UYVY, NV12 or
/// YU12/I420), tightly packed into `out` ([`PixelFormat::tight_len`] bytes). Chroma is the mean of the
/// pixels it covers.
pub fn bgr_to(format: PixelFormat, width: u32, height: u32, bgr: &[u8], out: &mut [u8]) {
    let (w, h) = (width as usize, height as usize);
    let cw = w.div_ceil(2);
    let px = |x: usize, y: usize| {
        let p = &bgr[(y * w + x) * 3..][..3];
        ycbcr(p[0], p[1], p[2])
    };
    match format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            for y in 0..h {
                for cx in 0..cw {
                    let (y0, cb0, cr0) = px(2 * cx, y);
                    let (y1, cb1, cr1) = if 2 * cx + 1 < w { px(2 * cx + 1, y) } else { (y0, cb0, cr0) };
                    let (cb, cr) = (chroma(cb0 + cb1, 2), chroma(cr0 + cr1, 2));
                    let quad = &mut out[(y * cw + cx) * 4..][..4];
                    quad.copy_from_slice(&if format == PixelFormat::Yuyv {
                        [y0, cb, y1, cr]
                    } else {
                        [cb, y0, cr, y1]
                    });
                }
            }
        }
        PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420 => bgr_to_420(format, w, h, bgr, out),
        PixelFormat::Bgr24 => out[..w * h * 3].copy_from_slice(&bgr[..w * h * 3]),
        PixelFormat::Rgb24
        | PixelFormat::Grey
        | PixelFormat::Mjpeg
        | PixelFormat::Xrgb32
        | PixelFormat::Xbgr32
        | PixelFormat::H264 => {
            unreachable!("bgr_to is asked only for YUYV, UYVY, NV12, NV21, YU12 and BGR3")
        }
    }
}

/// BGR to 4:2:0 (NV12, NV21, I420), two rows at a time: each pixel's Y'CbCr computed once,
/// its luma written and its chroma summed into its 2x2 block's mean. (This is the BGR
/// camera's path into H.264 and 4:2:0, once per frame; computing each pixel once instead of
/// twice, from row slices, measured 2.5x faster.)
fn bgr_to_420(format: PixelFormat, w: usize, h: usize, bgr: &[u8], out: &mut [u8]) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (luma, chroma_planes) = out.split_at_mut(w * h);
    let pixel = |row: &[u8], x: usize| ycbcr(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
    for cy in 0..ch {
        let y0 = 2 * cy;
        let two_rows = y0 + 1 < h;
        let rows = &bgr[y0 * w * 3..];
        let (row0, row1) = (&rows[..w * 3], if two_rows { &rows[w * 3..][..w * 3] } else { &rows[..w * 3] });
        let (luma0, luma1) = luma[y0 * w..].split_at_mut(w);
        for cx in 0..cw {
            let x0 = 2 * cx;
            let two_columns = x0 + 1 < w;
            let (mut cb, mut cr, mut n) = (0, 0, 0);
            for x in [x0, x0 + 1].into_iter().take(if two_columns { 2 } else { 1 }) {
                let (y, b, r) = pixel(row0, x);
                luma0[x] = y;
                (cb, cr, n) = (cb + b, cr + r, n + 1);
                if two_rows {
                    let (y, b, r) = pixel(row1, x);
                    luma1[x] = y;
                    (cb, cr, n) = (cb + b, cr + r, n + 1);
                }
            }
            let (cb, cr) = (chroma(cb, n), chroma(cr, n));
            match format {
                PixelFormat::Nv12 => chroma_planes[(cy * cw + cx) * 2..][..2].copy_from_slice(&[cb, cr]),
                PixelFormat::Nv21 => chroma_planes[(cy * cw + cx) * 2..][..2].copy_from_slice(&[cr, cb]),
                _ => {
                    chroma_planes[cy * cw + cx] = cb;
                    chroma_planes[cw * ch + cy * cw + cx] = cr;
                }
            }
        }
    }
}

/// Converts a raw Y'CbCr frame (YUYV, UYVY, NV12, NV21 or YU12, any stride) to tightly
/// packed I420 in `out`: 4:2:2 chroma averaged over each pair of rows, semi-planar chroma
/// split into planes.
pub fn to_i420(layout: &Layout, src: &[u8], out: &mut [u8]) {
    let (w, h, s) = (layout.width as usize, layout.height as usize, layout.stride);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (luma, planes) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = planes.split_at_mut(cw * ch);
    match layout.format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            let (y_at, u_at, v_at) = if layout.format == PixelFormat::Yuyv { (0, 1, 3) } else { (1, 0, 2) };
            for y in 0..h {
                let row = &src[y * s..];
                for x in 0..w {
                    luma[y * w + x] = row[(x / 2) * 4 + y_at + (x % 2) * 2];
                }
            }
            for cy in 0..ch {
                let (top, bottom) = (&src[2 * cy * s..], &src[(2 * cy + 1).min(h - 1) * s..]);
                for cx in 0..cw {
                    let avg = |at: usize| {
                        (u16::from(top[cx * 4 + at]) + u16::from(bottom[cx * 4 + at])).div_ceil(2) as u8
                    };
                    u_plane[cy * cw + cx] = avg(u_at);
                    v_plane[cy * cw + cx] = avg(v_at);
                }
            }
        }
        PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420 => {
            for y in 0..h {
                luma[y * w..][..w].copy_from_slice(&src[y * s..][..w]);
            }
            for cy in 0..ch {
                for cx in 0..cw {
                    let (u, v) = match layout.format {
                        PixelFormat::I420 => (
                            src[layout.chroma_offset() + cy * layout.chroma_stride() + cx],
                            src[layout.v_offset() + cy * layout.chroma_stride() + cx],
                        ),
                        _ => {
                            let pair = &src[layout.chroma_offset() + cy * s + cx * 2..][..2];
                            if layout.format == PixelFormat::Nv12 {
                                (pair[0], pair[1])
                            } else {
                                (pair[1], pair[0])
                            }
                        }
                    };
                    u_plane[cy * cw + cx] = u;
                    v_plane[cy * cw + cx] = v;
                }
            }
        }
        other => unreachable!("to_i420 is asked only for Y'CbCr formats, not {other}"),
    }
}

/// Copies a captured raw frame into `out` tightly packed (no row padding); returns the
/// length ([`PixelFormat::tight_len`]). The one copy a camera makes of what it sends as it is.
pub fn pack_tight(layout: &Layout, src: &[u8], out: &mut [u8]) -> usize {
    let len = layout.format.tight_len(layout.width, layout.height).expect("a raw format");
    let (w, h, s) = (layout.width as usize, layout.height as usize, layout.stride);
    let row = layout.format.min_stride(layout.width);
    if s == row {
        out[..len].copy_from_slice(&src[..len]);
        return len;
    }
    let mut at = 0;
    let mut copy_rows = |from: usize, rows: usize, src_stride: usize, row_len: usize| {
        for r in 0..rows {
            out[at..at + row_len].copy_from_slice(&src[from + r * src_stride..][..row_len]);
            at += row_len;
        }
    };
    match layout.format {
        PixelFormat::Nv12 | PixelFormat::Nv21 => {
            copy_rows(0, h, s, w);
            copy_rows(layout.chroma_offset(), h.div_ceil(2), s, w.div_ceil(2) * 2);
        }
        PixelFormat::I420 => {
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            copy_rows(0, h, s, w);
            copy_rows(layout.chroma_offset(), ch, layout.chroma_stride(), cw);
            copy_rows(layout.v_offset(), ch, layout.chroma_stride(), cw);
        }
        _ => copy_rows(0, h, s, row),
    }
    at
}

/// [`pack_tight`], mirrored as `orientation` says, in the same one copy: rows land in their
/// mirrored place, and each row's samples in reverse order (4:2:2 pairs as whole
/// macropixels with their two lumas swapped, NV12/NV21 chroma as U V pairs). For a camera
/// whose driver cannot mirror; the native formats it can keep (YUYV, UYVY, NV12, YU12).
pub fn pack_tight_oriented(layout: &Layout, src: &[u8], out: &mut [u8], orientation: Orientation) -> usize {
    if orientation.is_upright() {
        return pack_tight(layout, src, out);
    }
    let len = layout.format.tight_len(layout.width, layout.height).expect("a raw format");
    let (w, h, s) = (layout.width as usize, layout.height as usize, layout.stride);
    // Copies `rows` rows of `row_len` bytes from `from` (stride `stride`) into `out` at
    // `at`, mirrored, `unit` bytes a sample.
    let mut copy_plane = |at: usize, from: usize, rows: usize, stride: usize, row_len: usize, unit: usize| {
        for r in 0..rows {
            let target = if orientation.vflip { rows - 1 - r } else { r };
            let dst = &mut out[at + target * row_len..][..row_len];
            let src = &src[from + r * stride..][..row_len];
            if !orientation.hflip {
                dst.copy_from_slice(src);
                continue;
            }
            for (d, s) in dst.chunks_exact_mut(unit).zip(src.chunks_exact(unit).rev()) {
                d.copy_from_slice(s);
                match (layout.format, unit) {
                    (PixelFormat::Yuyv, 4) => d.swap(0, 2),
                    (PixelFormat::Uyvy, 4) => d.swap(1, 3),
                    _ => {}
                }
            }
        }
    };
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    match layout.format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => copy_plane(0, 0, h, s, cw * 4, 4),
        PixelFormat::Nv12 | PixelFormat::Nv21 => {
            copy_plane(0, 0, h, s, w, 1);
            copy_plane(w * h, layout.chroma_offset(), ch, s, cw * 2, 2);
        }
        PixelFormat::I420 => {
            copy_plane(0, 0, h, s, w, 1);
            copy_plane(w * h, layout.chroma_offset(), ch, layout.chroma_stride(), cw, 1);
            copy_plane(w * h + cw * ch, layout.v_offset(), ch, layout.chroma_stride(), cw, 1);
        }
        other => unreachable!("pack_tight_oriented is asked only for camera Y'CbCr formats, not {other}"),
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::convert::reference;
    use crate::media::{YuvMatrix, YuvRange};

    fn bars(w: usize, h: usize) -> Vec<u8> {
        (0..w * h).flat_map(|i| [(i * 7) as u8, (i * 13 / w) as u8, ((i % w) * 5) as u8]).collect()
    }

    #[test]
    fn bgr_through_each_format_and_back_stays_close_at_odd_sizes() {
        for (w, h) in [(16, 8), (7, 5), (1, 1)] {
            let bgr = bars(w, h);
            for format in [
                PixelFormat::Yuyv,
                PixelFormat::Uyvy,
                PixelFormat::Nv12,
                PixelFormat::Nv21,
                PixelFormat::I420,
            ] {
                if w % 2 == 1 && matches!(format, PixelFormat::Nv12 | PixelFormat::Nv21) {
                    continue;
                }
                let mut coded = vec![0u8; format.tight_len(w as u32, h as u32).unwrap()];
                bgr_to(format, w as u32, h as u32, &bgr, &mut coded);
                let layout = Layout::packed(format, w as u32, h as u32);
                let back = reference::to_bgr(&layout, &coded);
                // Luma is exact to rounding; chroma is shared by neighbours, so smooth
                // pictures come back close and steep ones further.
                let worst = bgr.iter().zip(&back).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
                assert!(worst <= 160, "{format} {w}x{h}: {worst}");
                let grey: Vec<u8> = (0..w * h).flat_map(|i| [(i * 3) as u8; 3]).collect();
                bgr_to(format, w as u32, h as u32, &grey, &mut coded);
                let back = reference::to_bgr(&layout, &coded);
                let worst = grey.iter().zip(&back).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
                assert!(worst <= 2, "{format} {w}x{h} grey: {worst}");
            }
        }
        let _ = (YuvRange::Limited, YuvMatrix::Bt601);
    }

    #[test]
    fn every_layout_goes_to_the_same_i420_and_padding_is_dropped() {
        let (w, h) = (10u32, 5u32);
        let bgr = bars(w as usize, h as usize);
        let mut i420 = vec![0u8; PixelFormat::I420.tight_len(w, h).unwrap()];
        bgr_to(PixelFormat::I420, w, h, &bgr, &mut i420);
        let mut nv12 = vec![0u8; PixelFormat::Nv12.tight_len(w, h).unwrap()];
        bgr_to(PixelFormat::Nv12, w, h, &bgr, &mut nv12);
        let mut from_nv12 = vec![0u8; i420.len()];
        to_i420(&Layout::packed(PixelFormat::Nv12, w, h), &nv12, &mut from_nv12);
        assert_eq!(from_nv12, i420, "NV12 -> I420 only moves chroma");
        // A padded YUYV capture packs tight, and its I420 has the same luma.
        let mut yuyv = vec![0u8; PixelFormat::Yuyv.tight_len(w, h).unwrap()];
        bgr_to(PixelFormat::Yuyv, w, h, &bgr, &mut yuyv);
        let row = PixelFormat::Yuyv.min_stride(w);
        let padded: Vec<u8> = yuyv.chunks(row).flat_map(|r| [r, &[0xee; 12][..]].concat()).collect();
        let layout = Layout { stride: row + 12, ..Layout::packed(PixelFormat::Yuyv, w, h) };
        let mut tight = vec![0u8; yuyv.len()];
        assert_eq!(pack_tight(&layout, &padded, &mut tight), yuyv.len());
        assert_eq!(tight, yuyv);
        let mut from_yuyv = vec![0u8; i420.len()];
        to_i420(&layout, &padded, &mut from_yuyv);
        assert_eq!(from_yuyv[..(w * h) as usize], i420[..(w * h) as usize]);
    }

    #[test]
    fn mirrored_planes_are_the_planes_of_the_mirrored_picture() {
        let (w, h) = (12u32, 6u32);
        let bgr = bars(w as usize, h as usize);
        for orientation in [
            Orientation::new(true, false, false),
            Orientation::new(false, true, false),
            Orientation::new(false, false, true),
        ] {
            let mut turned = vec![0u8; bgr.len()];
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let (sx, sy) = orientation.source_of(x, y, w as usize, h as usize);
                    turned[(y * w as usize + x) * 3..][..3]
                        .copy_from_slice(&bgr[(sy * w as usize + sx) * 3..][..3]);
                }
            }
            for format in [
                PixelFormat::Yuyv,
                PixelFormat::Uyvy,
                PixelFormat::Nv12,
                PixelFormat::Nv21,
                PixelFormat::I420,
            ] {
                let len = format.tight_len(w, h).unwrap();
                let (mut planes, mut expected) = (vec![0u8; len], vec![0u8; len]);
                bgr_to(format, w, h, &bgr, &mut planes);
                bgr_to(format, w, h, &turned, &mut expected);
                // As a driver would hand them over: rows padded (4:2:0's chroma rows by half).
                let layout = Layout::tight(format, w, h).padded(8);
                let mut captured = vec![0xee; layout.min_frame_len()];
                let tight = Layout::tight(format, w, h);
                for (at, from, rows, row, pitch) in match format {
                    PixelFormat::I420 => vec![
                        (0, 0, h as usize, w as usize, layout.stride),
                        (layout.chroma_offset(), tight.chroma_offset(), 3, 6, layout.chroma_stride()),
                        (layout.v_offset(), tight.v_offset(), 3, 6, layout.chroma_stride()),
                    ],
                    PixelFormat::Nv12 | PixelFormat::Nv21 => vec![
                        (0, 0, h as usize, w as usize, layout.stride),
                        (layout.chroma_offset(), tight.chroma_offset(), 3, 12, layout.stride),
                    ],
                    _ => vec![(0, 0, h as usize, tight.stride, layout.stride)],
                } {
                    for r in 0..rows {
                        captured[at + r * pitch..][..row].copy_from_slice(&planes[from + r * row..][..row]);
                    }
                }
                let mut out = vec![0u8; len];
                assert_eq!(pack_tight_oriented(&layout, &captured, &mut out, orientation), len);
                assert_eq!(out, expected, "{format} {orientation}");
            }
        }
    }
}
