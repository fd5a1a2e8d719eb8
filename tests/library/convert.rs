//! Pixel conversion (`pistream::codec::convert`): every format against the float reference at odd
//! and even sizes and padded strides, against OpenCV's `cvtColor` where it has the format,
//! MJPEG against OpenCV's `imdecode`, bilinear scaling, and the error paths.
//!
//! Frames are random from a fixed seed; every failure message names the seed, the layout
//! and the first differing pixel, so `reference::random_frame(&layout, seed)` replays it.

use pistream::codec::convert::reference::{self, max_abs_diff, random_frame, TestRng};
use pistream::codec::convert::{convert_with_isa, ConvertError, Converter, Isa};
use pistream::media::Geometry;
use pistream::media::{Layout, PixelFormat, YuvMatrix, YuvRange};

/// Largest per-channel difference from the float reference: the `yuv` crate (NV12, NV21,
/// YU12) and our packed 4:2:2 kernels work in fixed point, within 1-2 levels.
const REFERENCE_TOLERANCE: u8 = 2;

/// Every format but the coded ones (JPEG, H.264).
fn raw_formats() -> impl Iterator<Item = PixelFormat> {
    PixelFormat::ALL.into_iter().filter(|&f| !f.is_coded())
}

/// Width, height, extra bytes of row padding.
const SIZES: [(u32, u32, usize); 9] = [
    (1, 1, 0),
    (2, 2, 0),
    (3, 5, 0),
    (17, 9, 0),
    (64, 48, 0),
    (65, 49, 0),
    (64, 48, 32),
    (37, 21, 13),
    (99, 3, 2),
];

fn convert(layout: &Layout, out: Geometry, src: &[u8]) -> Result<Vec<u8>, ConvertError> {
    let mut converter = Converter::new(*layout, out)?;
    let mut dst = vec![0u8; out.frame_len()];
    converter.convert(src, &mut dst)?;
    Ok(dst)
}

/// Panics with the first pixel that differs by more than `tolerance`.
fn assert_close(got: &[u8], want: &[u8], width: usize, tolerance: u8, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    if let Some(i) = got.iter().zip(want).position(|(&a, &b)| a.abs_diff(b) > tolerance) {
        let px = i / 3;
        panic!(
            "{what}: pixel ({}, {}) channel {}: got {:?}, want {:?} (max diff {}, tolerance {tolerance})",
            px % width,
            px / width,
            i % 3,
            &got[px * 3..px * 3 + 3],
            &want[px * 3..px * 3 + 3],
            max_abs_diff(got, want)
        );
    }
}

#[test]
fn every_raw_format_matches_the_float_reference() {
    let ranges = [
        (YuvRange::Limited, YuvMatrix::Bt601),
        (YuvRange::Full, YuvMatrix::Bt601),
        (YuvRange::Limited, YuvMatrix::Bt709),
        (YuvRange::Full, YuvMatrix::Bt709),
    ];
    for format in raw_formats() {
        for (i, &(w, h, pad)) in SIZES.iter().enumerate() {
            for &(range, matrix) in &ranges {
                let layout = Layout::packed(format, w, h).padded(pad).with_yuv(range, matrix);
                let seed = 1000 + i as u64;
                let src = random_frame(&layout, seed);
                let got = convert(&layout, Geometry::new(w, h), &src).unwrap();
                let want = reference::to_bgr(&layout, &src);
                assert_close(
                    &got,
                    &want,
                    w as usize,
                    REFERENCE_TOLERANCE,
                    &format!("{layout:?} seed {seed}"),
                );
            }
        }
    }
}

/// Our own kernels (YUYV, UYVY, RGB24, GREY) on every instruction set this CPU has, scalar
/// included, against the float reference: every width 1..=70 (odd ones end in half a
/// pair), three rows, padded and unpadded strides, all range/matrix combinations.
#[test]
fn every_instruction_set_matches_the_float_reference() {
    let combos = [
        (YuvRange::Limited, YuvMatrix::Bt601),
        (YuvRange::Full, YuvMatrix::Bt601),
        (YuvRange::Limited, YuvMatrix::Bt709),
        (YuvRange::Full, YuvMatrix::Bt709),
    ];
    for isa in Isa::available() {
        for format in PixelFormat::PER_ISA {
            let combos = if format.is_yuv() { &combos[..] } else { &combos[..1] };
            for w in 1..=70u32 {
                for pad in [0, 5] {
                    for &(range, matrix) in combos {
                        let layout = Layout::packed(format, w, 3).padded(pad).with_yuv(range, matrix);
                        let seed = 2000 + w as u64 * 7 + pad as u64;
                        let src = random_frame(&layout, seed);
                        let mut got = vec![0u8; w as usize * 9];
                        convert_with_isa(isa, &layout, &src, &mut got).unwrap();
                        let want = reference::to_bgr(&layout, &src);
                        let tol = if format.is_yuv() { REFERENCE_TOLERANCE } else { 0 };
                        assert_close(
                            &got,
                            &want,
                            w as usize,
                            tol,
                            &format!("{isa:?} {layout:?} seed {seed}"),
                        );
                    }
                }
            }
        }
    }
}

/// The per-instruction-set entry point checks what it is given. (Which instruction set is
/// not among it: an `Isa` comes only from CPU detection, see the `convert::Isa` docs.)
#[test]
fn convert_with_isa_rejects_bad_buffers() {
    let layout = Layout::packed(PixelFormat::Yuyv, 8, 2);
    let mut dst = vec![0u8; 8 * 2 * 3];
    for isa in Isa::available() {
        let e = convert_with_isa(isa, &layout, &[0u8; 10], &mut dst).unwrap_err();
        assert!(matches!(e, ConvertError::ShortInput { needed: 32, .. }), "{isa:?}: {e}");
        let e = convert_with_isa(isa, &layout, &[0u8; 32], &mut dst[1..]).unwrap_err();
        assert!(matches!(e, ConvertError::OutputSize { .. }), "{isa:?}: {e}");
    }
    let nv12 = Layout::packed(PixelFormat::Nv12, 8, 2);
    let e = convert_with_isa(Isa::best(), &nv12, &[0u8; 24], &mut dst).unwrap_err();
    assert!(matches!(e, ConvertError::Unsupported { .. }), "{e}");
}

#[test]
fn exact_formats_are_exact() {
    for format in [PixelFormat::Rgb24, PixelFormat::Bgr24, PixelFormat::Grey] {
        for &(w, h, pad) in &SIZES {
            let layout = Layout::packed(format, w, h).padded(pad);
            let src = random_frame(&layout, 7);
            let got = convert(&layout, Geometry::new(w, h), &src).unwrap();
            assert_eq!(got, reference::to_bgr(&layout, &src), "{layout:?} seed 7");
        }
    }
}

#[test]
fn the_last_byte_of_a_minimal_frame_is_enough() {
    // A frame that ends right after its last pixel (no trailing padding) converts.
    for format in raw_formats() {
        let layout = Layout::packed(format, 37, 21).padded(13);
        let src = random_frame(&layout, 3);
        let min = layout.min_frame_len();
        let got = convert(&layout, Geometry::new(37, 21), &src[..min]).unwrap();
        assert_close(&got, &reference::to_bgr(&layout, &src), 37, REFERENCE_TOLERANCE, &format!("{format}"));
    }
}

#[test]
fn errors_name_what_is_wrong() {
    let layout = Layout::packed(PixelFormat::Yuyv, 64, 48);
    let mut c = Converter::new(layout, Geometry::new(64, 48)).unwrap();
    let mut dst = vec![0u8; Geometry::new(64, 48).frame_len()];
    let e = c.convert(&[0u8; 100], &mut dst).unwrap_err();
    assert_eq!(e, ConvertError::ShortInput { format: PixelFormat::Yuyv, got: 100, needed: 64 * 2 * 48 });
    let e = c.convert(&vec![0u8; 64 * 2 * 48], &mut dst[1..]).unwrap_err();
    assert!(matches!(e, ConvertError::OutputSize { .. }), "{e}");

    let mut narrow = layout;
    narrow.stride = 100;
    let e = Converter::new(narrow, Geometry::new(64, 48)).unwrap_err();
    assert!(e.to_string().contains("stride (bytesperline) 100"), "{e}");
    let e = Converter::new(Layout::packed(PixelFormat::Nv12, 0, 48), Geometry::new(64, 48)).unwrap_err();
    assert!(e.to_string().contains("width 0"), "{e}");
    let e = Converter::new(layout, Geometry::new(64, 0)).unwrap_err();
    assert!(e.to_string().contains("output size"), "{e}");
}

// ---- scaling ----

fn bgr_layout(w: u32, h: u32) -> Layout {
    Layout::packed(PixelFormat::Bgr24, w, h)
}

#[test]
fn scaling_a_solid_colour_keeps_it() {
    let src: Vec<u8> = [12u8, 200, 77].repeat(40 * 30);
    for (w, h) in [(80, 60), (20, 15), (33, 47), (1, 1)] {
        let got = convert(&bgr_layout(40, 30), Geometry::new(w, h), &src).unwrap();
        assert!(got.chunks_exact(3).all(|p| p == [12, 200, 77]), "{w}x{h}");
    }
}

#[test]
fn scaling_a_gradient_interpolates_linearly() {
    // B = 10 * x: upscaled 2x, the output at x' samples source (x' + 0.5) / 2 - 0.5.
    let (sw, sh) = (20usize, 4usize);
    let src: Vec<u8> = (0..sw * sh).flat_map(|i| [(10 * (i % sw)) as u8, 0, 0]).collect();
    let got = convert(&bgr_layout(20, 4), Geometry::new(40, 8), &src).unwrap();
    for x in 0..40 {
        let s = ((x as f64 + 0.5) / 2.0 - 0.5).clamp(0.0, 19.0);
        let want = (10.0 * s).round() as u8;
        assert!(got[3 * x].abs_diff(want) <= 1, "x {x}: got {}, want {want}", got[3 * x]);
    }
}

#[test]
fn halving_a_checkerboard_averages_each_block() {
    let (w, h) = (64usize, 32usize);
    let src: Vec<u8> =
        (0..w * h).flat_map(|i| [if (i % w + i / w) % 2 == 0 { 0u8 } else { 200 }; 3]).collect();
    let got = convert(&bgr_layout(64, 32), Geometry::new(32, 16), &src).unwrap();
    assert!(got.iter().all(|&v| v == 100), "values {:?}", &got[..12]);
}

#[test]
fn scaling_matches_the_float_reference_for_every_format() {
    for format in raw_formats() {
        for (sw, sh, dw, dh) in [(64, 48, 32, 24), (37, 21, 80, 45), (65, 49, 64, 48), (10, 10, 3, 17)] {
            let layout = Layout::packed(format, sw, sh).padded(5);
            let seed = 77;
            let src = random_frame(&layout, seed);
            let got = convert(&layout, Geometry::new(dw, dh), &src).unwrap();
            let same = reference::to_bgr(&layout, &src);
            let want = reference::resize_bilinear(&same, sw as usize, sh as usize, dw as usize, dh as usize);
            // Conversion (<= 2) then the fixed-point resize (<= 1) of it.
            assert_close(&got, &want, dw as usize, 3, &format!("{layout:?} -> {dw}x{dh} seed {seed}"));
        }
    }
}

// ---- MJPEG ----

/// A smooth test picture with a few hard edges (what a camera sees, more or less).
fn picture(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = TestRng::new(seed);
    let spots: Vec<(usize, usize, [u8; 3])> = (0..6)
        .map(|_| {
            let v = rng.next_u64();
            (
                (v % w as u64) as usize,
                ((v >> 20) % h as u64) as usize,
                [(v >> 40) as u8, (v >> 48) as u8, (v >> 56) as u8],
            )
        })
        .collect();
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let mut px = [(255 * x / w) as u8, (255 * y / h) as u8, (128 + (x + y) % 64) as u8];
            for &(sx, sy, c) in &spots {
                if x.abs_diff(sx) < w / 8 && y.abs_diff(sy) < h / 8 {
                    px = c;
                }
            }
            out.extend_from_slice(&px);
        }
    }
    out
}

fn encode_jpeg(
    bgr: &[u8],
    w: usize,
    h: usize,
    quality: u8,
    sampling: jpeg_encoder::SamplingFactor,
    grey: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(sampling);
    if grey {
        let luma: Vec<u8> = bgr.chunks_exact(3).map(|p| p[1]).collect();
        encoder.encode(&luma, w as u16, h as u16, jpeg_encoder::ColorType::Luma).unwrap();
    } else {
        encoder.encode(bgr, w as u16, h as u16, jpeg_encoder::ColorType::Bgr).unwrap();
    }
    out
}

#[test]
fn mjpeg_of_another_size_is_scaled_and_grey_is_expanded() {
    let pic = picture(64, 48, 5);
    let jpeg = encode_jpeg(&pic, 64, 48, 95, jpeg_encoder::SamplingFactor::R_4_4_4, false);
    let layout = Layout::packed(PixelFormat::Mjpeg, 64, 48);
    let full = convert(&layout, Geometry::new(64, 48), &jpeg).unwrap();
    let half = convert(&layout, Geometry::new(32, 24), &jpeg).unwrap();
    assert_close(&half, &reference::resize_bilinear(&full, 64, 48, 32, 24), 32, 1, "halved MJPEG");
    // The layout says 64x48 but the camera sent 32x24: scaled up to the output anyway.
    let small = encode_jpeg(&picture(32, 24, 5), 32, 24, 95, jpeg_encoder::SamplingFactor::R_4_4_4, false);
    let up = convert(&layout, Geometry::new(64, 48), &small).unwrap();
    assert_eq!(up.len(), 64 * 48 * 3);

    let grey = encode_jpeg(&pic, 64, 48, 90, jpeg_encoder::SamplingFactor::R_4_4_4, true);
    for out in [Geometry::new(64, 48), Geometry::new(40, 30)] {
        let got = convert(&layout, out, &grey).unwrap();
        assert!(got.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]), "grey JPEG at {out} is not grey");
    }
}

/// `jpeg` without its DHT segments, as many UVC cameras send MJPEG (the standard tables of
/// T.81 Annex K.3 implied; jpeg-encoder writes exactly those).
fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut at = 2;
    while jpeg[at + 1] != 0xda {
        let end = at + 2 + u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
        if jpeg[at + 1] != 0xc4 {
            out.extend_from_slice(&jpeg[at..end]);
        }
        at = end;
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

#[test]
fn mjpeg_without_huffman_tables_decodes_as_with_them() {
    use jpeg_encoder::SamplingFactor as S;
    let pic = picture(64, 48, 3);
    for (sampling, grey) in
        [(S::R_4_2_2, false), (S::R_4_2_0, false), (S::R_4_4_4, false), (S::R_4_4_4, true)]
    {
        let jpeg = encode_jpeg(&pic, 64, 48, 85, sampling, grey);
        let stripped = strip_huffman_tables(&jpeg);
        assert!(stripped.len() + 200 < jpeg.len(), "{sampling:?}: no DHT stripped");
        let layout = Layout::packed(PixelFormat::Mjpeg, 64, 48);
        let mut c = Converter::new(layout, Geometry::new(64, 48)).unwrap();
        let (mut want, mut got) = (vec![0u8; 64 * 48 * 3], vec![0u8; 64 * 48 * 3]);
        c.convert(&jpeg, &mut want).unwrap();
        c.convert(&stripped, &mut got).unwrap_or_else(|e| panic!("{sampling:?} grey={grey}: {e}"));
        assert!(want == got, "{sampling:?} grey={grey}: pixels differ without the tables");
        // And again, the other way round, and scaled: the copy with tables is reused.
        c.convert(&jpeg, &mut got).unwrap();
        assert!(want == got);
        let half = convert(&layout, Geometry::new(32, 24), &stripped).unwrap();
        assert_eq!(half, convert(&layout, Geometry::new(32, 24), &jpeg).unwrap());
    }
}

#[test]
fn corrupt_mjpeg_is_an_error_not_a_panic() {
    let layout = Layout::packed(PixelFormat::Mjpeg, 64, 48);
    let mut c = Converter::new(layout, Geometry::new(64, 48)).unwrap();
    let mut dst = vec![0u8; 64 * 48 * 3];
    let good = encode_jpeg(&picture(64, 48, 1), 64, 48, 80, jpeg_encoder::SamplingFactor::R_4_2_0, false);
    for bad in [Vec::new(), vec![0u8; 1000], good[..20].to_vec(), b"\xff\xd8\xff\xd9".to_vec()] {
        assert!(
            matches!(c.convert(&bad, &mut dst), Err(ConvertError::Jpeg(_))),
            "{} bytes accepted",
            bad.len()
        );
    }
    // Damage in the headers or entropy-coded data: any outcome but a panic; the converter
    // keeps working afterwards.
    let mut rng = TestRng::new(99);
    for _ in 0..300 {
        let mut frame = good.clone();
        for _ in 0..1 + rng.next_u64() % 8 {
            let at = (rng.next_u64() % frame.len() as u64) as usize;
            frame[at] = rng.next_u64() as u8;
        }
        let cut = frame.len() - (rng.next_u64() % (frame.len() as u64 / 2)) as usize;
        let _ = c.convert(&frame[..cut], &mut dst);
    }
    c.convert(&good, &mut dst).unwrap();
}

#[cfg(feature = "opencv")]
mod opencv_compare {
    //! Against OpenCV 4 on the same bytes.
    //!
    //! OpenCV's `cvtColor` YUV->BGR codes use BT.601 limited range in Q20 fixed point
    //! (`color_yuv.simd.hpp`): `Y' = max(Y - 16, 0) * 1.164` (1220542), `R = Y' + 1.596 Cr'`
    //! (1673527), `G = Y' - 0.391 Cb' - 0.813 Cr'` (-409993, -852492), `B = Y' + 2.018 Cb'`
    //! (2116026), with `Cb' = Cb - 128`. These are the rounded BT.601 limited-range
    //! coefficients ours use too, so we compare within 2. OpenCV clamps `Y - 16` at 0, which
    //! the standard does not: test frames keep Y in 16..=235 and chroma in 16..=240, the
    //! legal limited range, where both agree.

    use super::*;
    use opencv::core::{self as cv, Mat, Vector};
    use opencv::prelude::*;
    use opencv::{imgcodecs, imgproc};

    /// Wraps `data` (rows x cols of `typ`, `step` bytes per row) in a Mat without copying.
    fn mat_over(data: &mut [u8], rows: usize, cols: usize, typ: i32, step: usize) -> Mat {
        assert!(data.len() >= step * (rows - 1) + cols);
        // SAFETY: the Mat only reads `data` through `step * rows` bytes (checked above up to
        // the last used byte) and is dropped before `data` in every caller.
        unsafe {
            Mat::new_rows_cols_with_data_unsafe(rows as i32, cols as i32, typ, data.as_mut_ptr().cast(), step)
                .unwrap()
        }
    }

    /// A random frame with Y in 16..=235 and chroma in 16..=240 (legal limited range).
    fn legal_frame(layout: &Layout, seed: u64) -> Vec<u8> {
        let mut f = random_frame(layout, seed);
        for v in &mut f {
            *v = 16 + (*v as u16 * 220 / 256) as u8;
        }
        f
    }

    fn opencv_cvt(layout: &Layout, src: &mut [u8]) -> Vec<u8> {
        let (w, h, s) = (layout.width as usize, layout.height as usize, layout.stride);
        let (mat, code) = match layout.format {
            PixelFormat::Yuyv => (mat_over(src, h, w, cv::CV_8UC2, s), imgproc::COLOR_YUV2BGR_YUYV),
            PixelFormat::Uyvy => (mat_over(src, h, w, cv::CV_8UC2, s), imgproc::COLOR_YUV2BGR_UYVY),
            PixelFormat::Nv12 => (mat_over(src, h * 3 / 2, w, cv::CV_8UC1, s), imgproc::COLOR_YUV2BGR_NV12),
            PixelFormat::Nv21 => (mat_over(src, h * 3 / 2, w, cv::CV_8UC1, s), imgproc::COLOR_YUV2BGR_NV21),
            PixelFormat::I420 => (mat_over(src, h * 3 / 2, w, cv::CV_8UC1, s), imgproc::COLOR_YUV2BGR_I420),
            PixelFormat::Rgb24 => (mat_over(src, h, w, cv::CV_8UC3, s), imgproc::COLOR_RGB2BGR),
            PixelFormat::Grey => (mat_over(src, h, w, cv::CV_8UC1, s), imgproc::COLOR_GRAY2BGR),
            PixelFormat::Xrgb32 => (mat_over(src, h, w, cv::CV_8UC4, s), imgproc::COLOR_BGRA2BGR),
            PixelFormat::Xbgr32 => (mat_over(src, h, w, cv::CV_8UC4, s), imgproc::COLOR_RGBA2BGR),
            _ => unreachable!(),
        };
        let mut out = Mat::default();
        imgproc::cvt_color(&mat, &mut out, code, 0).unwrap();
        out.data_bytes().unwrap().to_vec()
    }

    #[test]
    fn every_format_matches_opencv_cvt_color() {
        for format in raw_formats().filter(|&f| f != PixelFormat::Bgr24) {
            // OpenCV wants even sizes for 4:2:x; its I420 has no separate chroma stride, so
            // I420 is compared unpadded.
            let pads: &[usize] = if format == PixelFormat::I420 { &[0] } else { &[0, 24] };
            for (w, h) in [(64u32, 48u32), (322, 242), (640, 480)] {
                for &pad in pads {
                    let layout = Layout::packed(format, w, h).padded(pad);
                    let seed = 4242 + w as u64 + pad as u64;
                    let mut src = legal_frame(&layout, seed);
                    let ours = convert(&layout, Geometry::new(w, h), &src).unwrap();
                    let theirs = opencv_cvt(&layout, &mut src);
                    let tol = if format.is_yuv() { 2 } else { 0 };
                    assert_close(
                        &ours,
                        &theirs,
                        w as usize,
                        tol,
                        &format!("{layout:?} vs OpenCV, seed {seed}"),
                    );
                }
            }
        }
    }

    fn opencv_imdecode(jpeg: &[u8]) -> (Vec<u8>, usize, usize) {
        let buf = Vector::<u8>::from_slice(jpeg);
        let m = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR).unwrap();
        (m.data_bytes().unwrap().to_vec(), m.cols() as usize, m.rows() as usize)
    }

    fn opencv_imencode(bgr: &mut [u8], w: usize, h: usize, quality: i32) -> Vec<u8> {
        let mat = mat_over(bgr, h, w, cv::CV_8UC3, w * 3);
        let mut buf = Vector::<u8>::new();
        let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
        assert!(imgcodecs::imencode(".jpg", &mat, &mut buf, &params).unwrap());
        buf.to_vec()
    }

    /// Mean and max absolute difference.
    fn diff_stats(a: &[u8], b: &[u8]) -> (f64, u8) {
        let sum: u64 = a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y) as u64).sum();
        (sum as f64 / a.len() as f64, max_abs_diff(a, b))
    }

    /// Both decoders implement the same IDCT-based standard but differ in IDCT rounding
    /// (libjpeg-turbo's islow vs zune's integer AVX2/NEON IDCT) and in chroma upsampling
    /// (both interpolate, with different filters at block edges): across the picture that is
    /// a level or so on average (mean < 2), and at hard colour edges in subsampled chroma
    /// the upsampling filters may differ by a few tens of levels for single pixels (max < 40).
    fn assert_decodes_like_opencv(jpeg: &[u8], w: usize, h: usize, what: &str) {
        let (theirs, tw, th) = opencv_imdecode(jpeg);
        assert_eq!((tw, th), (w, h), "{what}");
        let layout = Layout::packed(PixelFormat::Mjpeg, w as u32, h as u32);
        let ours = convert(&layout, Geometry::new(w as u32, h as u32), jpeg).unwrap();
        let (mean, max) = diff_stats(&ours, &theirs);
        assert!(mean < 2.0 && max < 40, "{what}: mean abs diff {mean:.3}, max {max}");
    }

    #[test]
    fn mjpeg_from_opencv_imencode_decodes_like_imdecode() {
        // OpenCV 4.6 (Debian 12) encodes colour as 4:2:0 and has no IMWRITE_JPEG_SAMPLING_FACTOR
        // (that came in 4.7); the other subsamplings come from jpeg-encoder below.
        for (w, h) in [(640, 480), (321, 239)] {
            for quality in [30, 75, 95] {
                let mut pic = picture(w, h, quality as u64);
                let jpeg = opencv_imencode(&mut pic, w, h, quality);
                assert_decodes_like_opencv(&jpeg, w, h, &format!("OpenCV 4:2:0 {w}x{h} q{quality}"));
            }
        }
    }

    #[test]
    fn mjpeg_of_every_subsampling_decodes_like_imdecode() {
        use jpeg_encoder::SamplingFactor as S;
        for (w, h) in [(320, 240), (161, 97)] {
            for (sampling, name) in [(S::R_4_2_0, "4:2:0"), (S::R_4_2_2, "4:2:2"), (S::R_4_4_4, "4:4:4")] {
                for quality in [50, 90] {
                    let jpeg = encode_jpeg(&picture(w, h, 3), w, h, quality, sampling, false);
                    assert_decodes_like_opencv(&jpeg, w, h, &format!("{name} {w}x{h} q{quality}"));
                }
            }
            let jpeg = encode_jpeg(&picture(w, h, 3), w, h, 80, S::R_4_4_4, true);
            assert_decodes_like_opencv(&jpeg, w, h, &format!("grey {w}x{h}"));
        }
    }

    #[test]
    fn scaling_matches_opencv_resize_linear() {
        let (sw, sh) = (64usize, 48usize);
        let mut src = random_frame(&bgr_layout(64, 48), 11);
        for (dw, dh) in [(32usize, 24usize), (100, 75), (47, 31)] {
            let ours = convert(&bgr_layout(64, 48), Geometry::new(dw as u32, dh as u32), &src).unwrap();
            let mat = mat_over(&mut src, sh, sw, cv::CV_8UC3, sw * 3);
            let mut out = Mat::default();
            let size = cv::Size::new(dw as i32, dh as i32);
            imgproc::resize(&mat, &mut out, size, 0.0, 0.0, imgproc::INTER_LINEAR).unwrap();
            // OpenCV's INTER_LINEAR uses 11-bit weights too; both round once.
            assert_close(&ours, out.data_bytes().unwrap(), dw, 1, &format!("resize to {dw}x{dh} seed 11"));
        }
    }
}

#[test]
fn selftest_passes_on_this_cpu() {
    let failed: Vec<String> = pistream::codec::convert::selftest_cases()
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| name)
        .collect();
    assert!(failed.is_empty(), "selftest failures: {failed:?}");
}
