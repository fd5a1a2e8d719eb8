//! H.264 against JPEG, and pistream's encoder against other programs', on a camera-like
//! clip: a slow pan and zoom over a photograph from a Debian package (mate-backgrounds'
//! `TwoWings.jpg`, 2560x1600) with sensor-like noise (σ 2 per channel, new every frame),
//! made once per frame size and fed to everything below. (The test pattern flatters every
//! codec: it is synthetic and moves by whole values.)
//!
//! - **Bits at equal quality.** JPEG q80 (libjpeg-turbo, 4:2:0, what `/stream` sends) of
//!   every frame, and H.264 (pistream's encoder, Constrained Baseline, a keyframe a second)
//!   at a sweep of bitrates; quality is the mean per-frame PSNR of the decoded picture's
//!   BT.601 luma against the source frame's. The bitrate that reaches JPEG's PSNR is
//!   interpolated on the sweep (log bitrate, linear in dB), and its bytes per frame are set
//!   against JPEG's. Also where the default bitrate (0.1 bit per pixel per frame) lands.
//!   At 640x480, 1280x720 and 1920x1080.
//! - **Encode cost, same frames.** CPU time per encoded frame at the default bitrate:
//!   pistream's encoder (this thread's CPU time), against GStreamer's `openh264enc` (the
//!   same library, Debian's build of it) and ffmpeg's `libx264 -preset ultrafast -tune
//!   zerolatency`, each single-threaded, reading the same frames from a file, less the same
//!   pipeline without the encoder. At 640x480 and 1280x720.
//!
//! Run with `scripts/bench-h264` (writes BENCHMARKS.md); `cargo test --benches` runs a
//! short clip at 640x480 only. `PISTREAM_H264_FRAMES` sets the clip's length (default 90).
#![allow(unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pistream::codec::convert::{encode, Converter};
use pistream::codec::h264::{Decoder as H264Decoder, H264Encoder, H264Settings, Planes, SoftwareEncoder};
use pistream::codec::jpeg::{Decoder as JpegDecoder, Encoder as JpegEncoder};
use pistream::media::{Geometry, Layout, PixelFormat};

const PHOTO: &str = "/usr/share/backgrounds/mate/nature/TwoWings.jpg";
const FPS: u32 = 30;
const JPEG_QUALITY: u8 = 80;
/// Multiples of the default bitrate swept.
const SWEEP: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// CPU time (user + system) this thread has used.
fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// The photograph, decoded to BGR.
fn photo() -> (Geometry, Vec<u8>) {
    let jpeg = std::fs::read(PHOTO)
        .unwrap_or_else(|e| panic!("{PHOTO}: {e} (install mate-backgrounds: scripts/install-deps test)"));
    let mut decoder = JpegDecoder::new().unwrap();
    let header = decoder.header(&jpeg).unwrap();
    let g = Geometry::new(header.width, header.height);
    let mut bgr = vec![0u8; g.frame_len()];
    decoder.decode(&jpeg, g, &mut bgr).unwrap();
    (g, bgr)
}

/// A small, fast, fixed random source (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// About N(0, 2²): the sum of four uniform values in -1.5..1.5, scaled.
    fn sample(&mut self) -> f32 {
        let r = self.next();
        let u = |k: u32| ((r >> (16 * k)) & 0xffff) as f32 / 65535.0 - 0.5;
        (u(0) + u(1) + u(2) + u(3)) * 2.0 * 3f32.sqrt()
    }
}

/// Frame `i` of `n` of the clip at `g`: the photo's crop window pans from its left to its
/// right and zooms in by 15 %, resampled bilinearly, with noise.
fn clip_frame(
    photo: &(Geometry, Vec<u8>),
    g: Geometry,
    i: usize,
    n: usize,
    noise: &mut Noise,
    out: &mut [u8],
) {
    let (pg, pixels) = photo;
    let (pw, ph) = (f64::from(pg.width), f64::from(pg.height));
    let t = i as f64 / n.max(2) as f64;
    let aspect = f64::from(g.width) / f64::from(g.height);
    let base_w = (pw * 0.8).min(ph * 0.8 * aspect);
    let crop_w = base_w / (1.0 + 0.15 * t);
    let crop_h = crop_w / aspect;
    let cx = pw * (0.4 + 0.2 * t);
    let cy = ph * 0.5;
    let (x0, y0) = (cx - crop_w / 2.0, cy - crop_h / 2.0);
    let (sx, sy) = (crop_w / f64::from(g.width), crop_h / f64::from(g.height));
    let stride = pg.width as usize * 3;
    for y in 0..g.height as usize {
        let fy = y0 + (y as f64 + 0.5) * sy - 0.5;
        let (py, wy) = (fy.floor() as usize, (fy - fy.floor()) as f32);
        let (r0, r1) = (&pixels[py * stride..], &pixels[(py + 1) * stride..]);
        for x in 0..g.width as usize {
            let fx = x0 + (x as f64 + 0.5) * sx - 0.5;
            let (px, wx) = (fx.floor() as usize, (fx - fx.floor()) as f32);
            for c in 0..3 {
                let at = |row: &[u8], k: usize| f32::from(row[k * 3 + c]);
                let top = at(r0, px) * (1.0 - wx) + at(r0, px + 1) * wx;
                let bottom = at(r1, px) * (1.0 - wx) + at(r1, px + 1) * wx;
                let v = top * (1.0 - wy) + bottom * wy + noise.sample();
                out[(y * g.width as usize + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// The clip at `g`: BGR frames and the same as tight I420.
struct Clip {
    g: Geometry,
    bgr: Vec<Vec<u8>>,
    i420: Vec<Vec<u8>>,
}

fn clip(photo: &(Geometry, Vec<u8>), g: Geometry, n: usize) -> Clip {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let len = PixelFormat::I420.tight_len(g.width, g.height).unwrap();
    let mut clip = Clip { g, bgr: Vec::new(), i420: Vec::new() };
    for i in 0..n {
        let mut bgr = vec![0u8; g.frame_len()];
        clip_frame(photo, g, i, n, &mut noise, &mut bgr);
        let mut i420 = vec![0u8; len];
        encode::bgr_to(PixelFormat::I420, g.width, g.height, &bgr, &mut i420);
        clip.bgr.push(bgr);
        clip.i420.push(i420);
    }
    clip
}

/// PSNR of the BT.601 luma of two BGR pictures.
fn luma_psnr(a: &[u8], b: &[u8]) -> f64 {
    let luma = |p: &[u8]| 0.299 * f64::from(p[2]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[0]);
    let (sum, n) = a
        .chunks_exact(3)
        .zip(b.chunks_exact(3))
        .fold((0.0, 0usize), |(sum, n), (x, y)| (sum + (luma(x) - luma(y)).powi(2), n + 1));
    10.0 * (255.0f64 * 255.0 / (sum / n.max(1) as f64).max(1e-9)).log10()
}

/// Mean bytes per frame and mean PSNR of JPEG at `quality`.
fn jpeg_point(clip: &Clip, quality: u8) -> (f64, f64) {
    let mut encoder = JpegEncoder::new().unwrap();
    let mut decoder = JpegDecoder::new().unwrap();
    let mut out = vec![0u8; JpegEncoder::max_len(clip.g)];
    let mut back = vec![0u8; clip.g.frame_len()];
    let (mut bytes, mut psnr) = (0usize, 0.0);
    for bgr in &clip.bgr {
        let len = encoder.encode(bgr, clip.g, quality, &mut out).unwrap();
        decoder.decode(&out[..len], clip.g, &mut back).unwrap();
        bytes += len;
        psnr += luma_psnr(bgr, &back);
    }
    let n = clip.bgr.len() as f64;
    (bytes as f64 / n, psnr / n)
}

/// One H.264 run at `bitrate`: mean bytes per frame, mean PSNR (over the frames that were
/// encoded; a skipped picture shows the one before, and is scored so), and the encoder's
/// CPU time per frame.
fn h264_point(clip: &Clip, bitrate: u32) -> (f64, f64, Duration) {
    let g = clip.g;
    let settings = H264Settings { bitrate, ..H264Settings::new(g, f64::from(FPS)) };
    let mut encoder = SoftwareEncoder::new(settings).unwrap();
    let mut decoder = H264Decoder::new().unwrap();
    let layout = Layout::tight(PixelFormat::I420, g.width, g.height);
    let mut to_bgr = Converter::new(layout, g).unwrap();
    let (mut unit, mut decoded) = (Vec::new(), Vec::new());
    let mut shown = vec![0u8; g.frame_len()];
    let (mut bytes, mut psnr, mut cpu) = (0usize, 0.0, Duration::ZERO);
    for (i, (bgr, i420)) in clip.bgr.iter().zip(&clip.i420).enumerate() {
        let planes = Planes::of(&layout, i420).unwrap();
        let started = thread_cpu();
        let encoded =
            encoder.encode(&planes, false, i as u64 * 1_000_000 / u64::from(FPS), &mut unit).unwrap();
        cpu += thread_cpu() - started;
        if encoded.is_some() {
            bytes += unit.len();
            if decoder.decode(&unit, &mut decoded).unwrap().is_some() {
                to_bgr.convert(&decoded, &mut shown).unwrap();
            }
        }
        psnr += luma_psnr(bgr, &shown);
    }
    let n = clip.bgr.len() as f64;
    (bytes as f64 / n, psnr / n, cpu / clip.bgr.len() as u32)
}

/// The bitrate (and bytes per frame) at which the sweep reaches `target` dB, interpolated.
fn at_psnr(sweep: &[(u32, f64, f64)], target: f64) -> Option<(f64, f64)> {
    sweep.windows(2).find(|w| w[0].2 <= target && target <= w[1].2).map(|w| {
        let t = (target - w[0].2) / (w[1].2 - w[0].2).max(1e-9);
        let rate = (f64::from(w[0].0).ln() * (1.0 - t) + f64::from(w[1].0).ln() * t).exp();
        let bytes = (w[0].1.ln() * (1.0 - t) + w[1].1.ln() * t).exp();
        (rate, bytes)
    })
}

/// CPU seconds of a command reading `frames` of the clip, from its rusage.
fn command_cpu(program: &str, args: &[String]) -> Option<f64> {
    let child = Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().ok()?;
    let pid = child.id() as nix::libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to a status and a rusage for the call; the child is ours.
    let waited = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
    let ok = waited == pid && nix::libc::WIFEXITED(status) && nix::libc::WEXITSTATUS(status) == 0;
    if !ok {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.unwrap(), &mut err);
        eprintln!("{program} failed: {}", err.lines().last().unwrap_or(""));
        return None;
    }
    let tv = |t: nix::libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// The clip's I420 frames in a file, for the other programs.
fn write_raw(clip: &Clip, dir: &Path) -> PathBuf {
    let path = dir.join(format!("clip-{}x{}.i420", clip.g.width, clip.g.height));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for frame in &clip.i420 {
        file.write_all(frame).unwrap();
    }
    file.flush().unwrap();
    path
}

/// GStreamer's openh264enc and ffmpeg's libx264 on the file: CPU ms per frame, less the
/// same pipeline without the encoder (best of 3 each).
fn others(clip: &Clip, raw: &Path, bitrate: u32) -> (Option<f64>, Option<f64>) {
    let (w, h, n) = (clip.g.width, clip.g.height, clip.bgr.len());
    let file = raw.to_string_lossy().to_string();
    let gst = |encoder: &str| -> Vec<String> {
        let pipeline = format!(
            "filesrc location={file} ! rawvideoparse format=i420 width={w} height={h} framerate={FPS}/1 ! {encoder}fakesink sync=false"
        );
        std::iter::once("-q".to_string()).chain(pipeline.split(' ').map(String::from)).collect()
    };
    let openh264 = format!(
        "openh264enc bitrate={bitrate} rate-control=bitrate complexity=low usage-type=camera multi-thread=1 gop-size={FPS} ! "
    );
    let ffmpeg = |codec: &[&str]| -> Vec<String> {
        let size = format!("{w}x{h}");
        let fps = FPS.to_string();
        let mut args: Vec<&str> = vec![
            "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", &size, "-r", &fps, "-i", &file,
        ];
        args.extend_from_slice(codec);
        args.extend_from_slice(&["-f", "null", "-"]);
        args.into_iter().map(String::from).collect()
    };
    let rate = bitrate.to_string();
    let x264 =
        ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-threads", "1", "-b:v", &rate];
    let best = |program: &str, args: &[String]| -> Option<f64> {
        (0..3).filter_map(|_| command_cpu(program, args)).min_by(f64::total_cmp)
    };
    let per_frame =
        |with: Option<f64>, without: Option<f64>| Some((with? - without?).max(0.0) * 1000.0 / n as f64);
    let gst_ms = per_frame(best("gst-launch-1.0", &gst(&openh264)), best("gst-launch-1.0", &gst("")));
    let x264_ms = per_frame(best("ffmpeg", &ffmpeg(&x264)), best("ffmpeg", &ffmpeg(&["-c:v", "rawvideo"])));
    (gst_ms, x264_ms)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames: usize = std::env::var("PISTREAM_H264_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 20 } else { 90 });
    let sizes: &[(u32, u32)] = if quick { &[(640, 480)] } else { &[(640, 480), (1280, 720), (1920, 1080)] };
    let photo = photo();
    let dir = std::env::temp_dir().join(format!("pistream-h264-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "clip: {frames} frames of a slow pan and 15 % zoom over {PHOTO} ({}x{}) with noise σ 2, at {FPS} fps; JPEG q{JPEG_QUALITY}; H.264 a keyframe a second",
        photo.0.width, photo.0.height
    );
    println!();
    println!("| frame | JPEG q{JPEG_QUALITY}: bytes/frame, PSNR | H.264 sweep (× default: kbit/s, bytes/frame, PSNR) | H.264 at JPEG's PSNR: kbit/s, bytes/frame | H.264 / JPEG bytes | default bitrate: kbit/s, PSNR |");
    println!("| --- | --- | --- | --- | ---: | --- |");
    let mut ratios = Vec::new();
    let mut costs = Vec::new();
    for &(w, h) in sizes {
        let g = Geometry::new(w, h);
        let clip = clip(&photo, g, frames);
        let (jpeg_bytes, jpeg_psnr) = jpeg_point(&clip, JPEG_QUALITY);
        let default = H264Settings::new(g, f64::from(FPS)).bitrate;
        let sweep: Vec<(u32, f64, f64)> = SWEEP
            .iter()
            .map(|m| {
                let bitrate = (f64::from(default) * m) as u32;
                let (bytes, psnr, _) = h264_point(&clip, bitrate);
                (bitrate, bytes, psnr)
            })
            .collect();
        let shown: Vec<String> = SWEEP
            .iter()
            .zip(&sweep)
            .map(|(m, (rate, bytes, psnr))| {
                format!("{m}×: {} kbit/s, {bytes:.0} B, {psnr:.2} dB", rate / 1000)
            })
            .collect();
        let equal = at_psnr(&sweep, jpeg_psnr);
        let (equal_text, ratio) = match equal {
            Some((rate, bytes)) => {
                (format!("{:.0} kbit/s, {bytes:.0} B", rate / 1000.0), Some(bytes / jpeg_bytes))
            }
            None => ("beyond the sweep".to_string(), None),
        };
        let at_default = sweep[SWEEP.iter().position(|m| *m == 1.0).unwrap()];
        println!(
            "| {w}x{h} | {jpeg_bytes:.0} B, {jpeg_psnr:.2} dB | {} | {equal_text} | {} | {} kbit/s, {:.2} dB |",
            shown.join("; "),
            ratio.map_or("-".to_string(), |r| format!("{r:.3}")),
            default / 1000,
            at_default.2
        );
        ratios.push((format!("{w}x{h}"), ratio));
        if h <= 720 {
            let (_, _, ours) = h264_point(&clip, default);
            let raw = write_raw(&clip, &dir);
            let (gst, x264) = others(&clip, &raw, default);
            let _ = std::fs::remove_file(raw);
            costs.push((format!("{w}x{h}"), default, ours.as_secs_f64() * 1000.0, gst, x264));
        }
    }
    println!();
    println!("| frame | bitrate | pistream (OpenH264 2.7, bundled) ms/frame | GStreamer openh264enc (Debian's OpenH264) ms/frame | pistream / GStreamer | ffmpeg libx264 ultrafast zerolatency ms/frame | pistream / x264 |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    let ratio =
        |a: f64, b: Option<f64>| b.filter(|b| *b > 0.0).map_or("-".to_string(), |b| format!("{:.2}", a / b));
    for (size, rate, ours, gst, x264) in &costs {
        println!(
            "| {size} | {} kbit/s | {ours:.2} | {} | {} | {} | {} |",
            rate / 1000,
            ms(*gst),
            ratio(*ours, *gst),
            ms(*x264),
            ratio(*ours, *x264)
        );
    }
    println!();
    let worst = ratios.iter().filter_map(|(_, r)| *r).fold(0.0, f64::max);
    let overhead = costs.iter().filter_map(|(_, _, ours, gst, _)| gst.map(|g| ours / g)).fold(0.0, f64::max);
    println!(
        "targets: H.264 bytes at JPEG q{JPEG_QUALITY}'s PSNR at most 0.25 of JPEG's: {} (worst {worst:.3}); pistream's encode CPU at most 1.1 x GStreamer openh264enc's: {} (worst {overhead:.2})",
        if ratios.iter().all(|(_, r)| r.is_some_and(|r| r <= 0.25)) { "met" } else { "MISSED" },
        if overhead > 0.0 && overhead <= 1.1 { "met" } else { "MISSED" },
    );
    let _ = std::fs::remove_dir_all(&dir);
}
