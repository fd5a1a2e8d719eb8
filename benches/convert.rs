//! Pixel conversion: every input format to BGR at 640x480 and 1920x1080, next to OpenCV
//! (`cvtColor`, `imdecode` for MJPEG) on the same bytes in the same run, at one thread and
//! at its default thread count, and a `memcpy` of the output bytes as the floor. After
//! criterion's groups a summary table (`| format | size | ours µs | ...`) goes to stdout
//! for `scripts/bench-convert`. Without the `opencv` feature only ours and memcpy run.
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use pistream::codec::convert::reference::random_frame;
use pistream::codec::convert::Converter;
use pistream::media::Geometry;
use pistream::media::{Layout, PixelFormat};

const SIZES: [(u32, u32); 2] = [(640, 480), (1920, 1080)];

#[derive(Default)]
struct Row {
    format: String,
    size: String,
    ours: f64,
    cv1: Option<f64>,
    cvn: Option<f64>,
    memcpy: f64,
    /// MJPEG only: zune-jpeg's time on the same frame.
    zune: Option<f64>,
}

/// Median time per iteration, timed by hand so the summary does not depend on criterion's
/// output files (criterion still prints its own statistics above).
fn median_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut samples: Vec<f64> = (0..31)
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..5 {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / 5.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A camera-like picture (smooth gradients and some blocks) for the JPEG input.
fn picture(w: usize, h: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let block = ((x / 64) + (y / 64)) % 3 == 0;
            out.extend_from_slice(&[(255 * x / w) as u8, (255 * y / h) as u8, if block { 40 } else { 200 }]);
        }
    }
    out
}

fn input_for(format: PixelFormat, w: u32, h: u32) -> Vec<u8> {
    if format == PixelFormat::Mjpeg {
        let mut out = Vec::new();
        let enc = jpeg_encoder::Encoder::new(&mut out, 85);
        enc.encode(&picture(w as usize, h as usize), w as u16, h as u16, jpeg_encoder::ColorType::Bgr)
            .unwrap();
        return out;
    }
    let mut frame = random_frame(&Layout::packed(format, w, h), 1);
    // Legal limited-range values, like a camera's.
    for v in &mut frame {
        *v = 16 + (*v as u16 * 220 / 256) as u8;
    }
    frame
}

#[cfg(feature = "opencv")]
mod cv {
    use super::*;
    use opencv::core::{self as cvc, Mat, Vector};
    use opencv::prelude::*;
    use opencv::{imgcodecs, imgproc};

    /// Returns a closure running OpenCV's equivalent of our conversion on `src`.
    pub fn job<'a>(format: PixelFormat, w: u32, h: u32, src: &'a mut [u8]) -> Box<dyn FnMut() + 'a> {
        let (w, h) = (w as i32, h as i32);
        if format == PixelFormat::Mjpeg {
            let buf = Vector::<u8>::from_slice(src);
            return Box::new(move || {
                black_box(imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR).unwrap());
            });
        }
        let (rows, cols, typ, code) = match format {
            PixelFormat::Yuyv => (h, w, cvc::CV_8UC2, imgproc::COLOR_YUV2BGR_YUYV),
            PixelFormat::Uyvy => (h, w, cvc::CV_8UC2, imgproc::COLOR_YUV2BGR_UYVY),
            PixelFormat::Nv12 => (h * 3 / 2, w, cvc::CV_8UC1, imgproc::COLOR_YUV2BGR_NV12),
            PixelFormat::Nv21 => (h * 3 / 2, w, cvc::CV_8UC1, imgproc::COLOR_YUV2BGR_NV21),
            PixelFormat::I420 => (h * 3 / 2, w, cvc::CV_8UC1, imgproc::COLOR_YUV2BGR_I420),
            PixelFormat::Rgb24 => (h, w, cvc::CV_8UC3, imgproc::COLOR_RGB2BGR),
            PixelFormat::Bgr24 => (h, w, cvc::CV_8UC3, -1),
            PixelFormat::Grey => (h, w, cvc::CV_8UC1, imgproc::COLOR_GRAY2BGR),
            PixelFormat::Xrgb32 => (h, w, cvc::CV_8UC4, imgproc::COLOR_BGRA2BGR),
            PixelFormat::Xbgr32 => (h, w, cvc::CV_8UC4, imgproc::COLOR_RGBA2BGR),
            PixelFormat::Mjpeg | PixelFormat::H264 => unreachable!("coded formats are not converted"),
        };
        let step = PixelFormat::min_stride(format, w as u32);
        // SAFETY: `src` holds at least `rows * step` bytes (a packed frame of this format)
        // and outlives the Mat, which is moved into the closure borrowing `src`.
        let mat =
            unsafe { Mat::new_rows_cols_with_data_unsafe(rows, cols, typ, src.as_mut_ptr().cast(), step) }
                .unwrap();
        let mut out = Mat::new_rows_cols_with_default(h, w, cvc::CV_8UC3, cvc::Scalar::all(0.0)).unwrap();
        Box::new(move || {
            if code < 0 {
                mat.copy_to(&mut out).unwrap();
            } else {
                imgproc::cvt_color(&mat, &mut out, code, 0).unwrap();
            }
            black_box(&out);
        })
    }

    pub fn set_threads(n: i32) {
        opencv::core::set_num_threads(n).unwrap();
    }
}

/// `CONVERT_FORMATS=YUYV,RGB3` limits a run to those fourccs (for quick checks); all by
/// default.
fn wanted(format: PixelFormat) -> bool {
    // H.264 is decoded, not converted: its cost is in benches/h264.rs.
    format != PixelFormat::H264
        && std::env::var("CONVERT_FORMATS")
            .map_or(true, |list| list.split(',').any(|f| f == format.to_string()))
}

fn bench(c: &mut Criterion) {
    let mut rows = Vec::new();
    for (w, h) in SIZES {
        let mut group = c.benchmark_group(format!("convert {w}x{h}"));
        let out_len = Geometry::new(w, h).frame_len();
        let copy_src = vec![7u8; out_len];
        let mut copy_dst = vec![0u8; out_len];
        group.bench_function("memcpy", |b| b.iter(|| copy_dst.copy_from_slice(black_box(&copy_src))));
        let memcpy = median_us(|| copy_dst.copy_from_slice(black_box(&copy_src)));
        for format in PixelFormat::ALL.into_iter().filter(|f| wanted(*f)) {
            #[allow(unused_mut)]
            let mut src = input_for(format, w, h);
            let mut conv = Converter::new(Layout::packed(format, w, h), Geometry::new(w, h)).unwrap();
            let mut dst = vec![0u8; out_len];
            group.bench_function(format!("{format} ours"), |b| {
                b.iter(|| conv.convert(black_box(&src), &mut dst).unwrap())
            });
            let ours = median_us(|| conv.convert(black_box(&src), &mut dst).unwrap());
            #[allow(unused_mut)] // filled in further only with OpenCV
            let mut row =
                Row { format: format.to_string(), size: format!("{w}x{h}"), ours, memcpy, ..Row::default() };
            #[cfg(feature = "opencv")]
            {
                let mut job = cv::job(format, w, h, &mut src);
                cv::set_threads(1);
                group.bench_function(format!("{format} opencv-1t"), |b| b.iter(&mut job));
                row.cv1 = Some(median_us(&mut job));
                cv::set_threads(-1);
                group.bench_function(format!("{format} opencv-default"), |b| b.iter(&mut job));
                row.cvn = Some(median_us(&mut job));
            }
            if format == PixelFormat::Mjpeg {
                // zune-jpeg (pure Rust, pistream's MJPEG decoder before libjpeg-turbo) on the
                // same frame into the same buffer.
                use zune_jpeg::zune_core::{
                    bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
                };
                let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::BGR);
                row.zune = Some(median_us(|| {
                    let mut decoder =
                        zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(black_box(&src[..])), options);
                    decoder.decode_into(&mut dst).unwrap();
                }));
            }
            rows.push(row);
        }
        group.finish();
    }
    print_summary(&rows);
}

fn print_summary(rows: &[Row]) {
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    println!();
    println!(
        "| format | size | ours µs | OpenCV-1t µs | OpenCV-default µs | OpenCV-1t / ours | ours / memcpy |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        let speedup = r.cv1.map_or("-".to_string(), |c| format!("{:.2}", c / r.ours));
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {:.2} |",
            r.format,
            r.size,
            r.ours,
            opt(r.cv1),
            opt(r.cvn),
            speedup,
            r.ours / r.memcpy
        );
    }
    let memcpy: Vec<String> = rows
        .iter()
        .filter(|r| r.format == "YUYV")
        .map(|r| format!("{} {:.0} µs", r.size, r.memcpy))
        .collect();
    println!();
    println!("memcpy of the output bytes: {}", memcpy.join(", "));
    for r in rows.iter().filter(|r| r.zune.is_some()) {
        let zune = r.zune.unwrap_or_default();
        println!(
            "MJPG {}: ours (libjpeg-turbo) {:.0} µs, zune-jpeg {zune:.0} µs (zune-jpeg / ours {:.2})",
            r.size,
            r.ours,
            zune / r.ours
        );
    }
    println!("targets: OpenCV-1t / ours >= 1.5 for every format; YUYV 640x480 ours / memcpy <= 3");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .sample_size(20);
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
