//! `pistream encoders`: the machine's hardware codecs (V4L2 memory-to-memory nodes), and
//! with `--check`, each encoder driven through a stream the way the camera drives it (one
//! picture in, one unit out, polled), with a keyframe asked for a third of the way and a
//! drain and restart two thirds of the way, every unit decoded back by the matching
//! hardware decoder and its luma compared with the picture that went in. On a Pi 4 that is
//! H.264 on the bcm2835-codec; in the VM rig, FWHT on the kernel's vicodec.

use std::path::Path;

use crate::codec::h264::{default_bitrate, Planes};
use crate::codec::m2m::{
    self, sys, Coded, Direction, EncoderSettings, Found, Kernel, M2mDecoder, M2mEncoder,
};
use crate::media::{Geometry, Layout, PixelFormat};

/// The luma PSNR every decoded picture must reach. vicodec's FWHT at its default
/// quantiser gives 44.9 to 45.1 dB on these pictures (the VM rig, both architectures); a
/// picture decoded against a wrong reference falls far below. H.264 at the default bitrate
/// is held to the bound `--verify` holds H.264 pictures to (not measured on a Pi's encoder
/// here: no Pi was at hand).
fn min_psnr_db(coded: Coded) -> f64 {
    match coded {
        Coded::Fwht => 38.0,
        Coded::H264 => crate::sink::verify::MIN_H264_PSNR_DB,
    }
}

/// Lists the codecs; with `check`, checks every encoder. Whether all went well.
pub fn run(check: bool, geometry: Geometry, frames: u32) -> bool {
    let nodes = m2m::video_nodes();
    let mut listed = 0;
    for path in &nodes {
        if let Some(line) = describe(path) {
            println!("{line}");
            listed += 1;
        }
    }
    if listed == 0 {
        println!("no hardware codecs (V4L2 memory-to-memory devices) on this machine: H.264 is encoded in software");
    }
    if !check {
        return true;
    }
    let mut checked = 0;
    let mut passed = true;
    for coded in [Coded::H264, Coded::Fwht] {
        for path in &nodes {
            let Some(encoder) = m2m::probe(path, coded, Direction::Encoder) else { continue };
            checked += 1;
            match check_encoder(&encoder, coded, geometry, frames) {
                Ok(summary) => println!("check ok: {summary}"),
                Err(why) => {
                    println!(
                        "check failed: {} {} {}x{}: {why}",
                        encoder.describe(),
                        coded.name(),
                        geometry.width,
                        geometry.height
                    );
                    passed = false;
                }
            }
        }
    }
    if checked == 0 {
        println!("error: --check found no hardware encoder to check");
        return false;
    }
    passed
}

/// One line for a memory-to-memory node, `None` for any other.
fn describe(path: &Path) -> Option<String> {
    let mut node = Kernel::open(path).ok()?;
    let (driver, card, caps) = sys::capabilities(&mut node).ok()?;
    if caps & sys::CAP_VIDEO_M2M_MPLANE == 0 {
        return None;
    }
    let list = |formats: Vec<u32>| formats.into_iter().map(sys::fourcc_text).collect::<Vec<_>>().join(" ");
    let takes = list(sys::formats(&mut node, sys::OUTPUT_MPLANE));
    let makes = list(sys::formats(&mut node, sys::CAPTURE_MPLANE));
    Some(format!("{}: {card} (driver {driver}): takes {takes}; makes {makes}", path.display()))
}

/// Picture `n` of the check: smooth ramps that move, in tight I420.
fn picture(geometry: Geometry, n: u32, out: &mut [u8]) {
    let (w, h) = (geometry.width as usize, geometry.height as usize);
    let ramp = |t: usize| {
        let v = t % 256;
        (16 + (if v < 128 { v } else { 255 - v }) * 219 / 128) as u8
    };
    let n = n as usize;
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = ramp(x + 3 * n + y / 2);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (u, v) = out[w * h..].split_at_mut(cw * ch);
    for y in 0..ch {
        for x in 0..cw {
            u[y * cw + x] = 64 + ramp(2 * x + n) / 2;
            v[y * cw + x] = 64 + ramp(3 * y + 2 * n) / 2;
        }
    }
}

/// Luma PSNR of `got` (rows `got_stride` apart) against `want` (tight I420 of `geometry`).
fn luma_psnr(geometry: Geometry, want: &[u8], got: &[u8], got_stride: usize) -> f64 {
    let (w, h) = (geometry.width as usize, geometry.height as usize);
    let sse: f64 = (0..h)
        .flat_map(|row| want[row * w..][..w].iter().zip(&got[row * got_stride..][..w]))
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum();
    if sse == 0.0 {
        return 99.0;
    }
    10.0 * (255.0f64.powi(2) / (sse / (w * h) as f64)).log10()
}

/// Drives `encoder` through `frames` pictures and decodes them back: a summary line, or why not.
fn check_encoder(encoder: &Found, coded: Coded, geometry: Geometry, frames: u32) -> Result<String, String> {
    let (w, h) = (geometry.width, geometry.height);
    let decoder = m2m::find(coded, Direction::Decoder)
        .ok_or_else(|| format!("no {} decoder to decode the stream back with", coded.name()))?;
    let settings = EncoderSettings {
        width: w,
        height: h,
        fps: 30.0,
        bitrate: default_bitrate(geometry, 30.0),
        keyframe_interval: 30,
    };
    let node = Kernel::open(&encoder.path).map_err(|e| format!("cannot open it: {e}"))?;
    let mut enc = M2mEncoder::start(Box::new(node), &encoder.describe(), coded, &settings)
        .map_err(|e| e.to_string())?;
    let node = Kernel::open(&decoder.path).map_err(|e| format!("cannot open {}: {e}", decoder.describe()))?;
    let mut dec =
        M2mDecoder::start(Box::new(node), coded, w, h).map_err(|e| format!("{}: {e}", decoder.describe()))?;
    let layout = Layout::tight(PixelFormat::I420, w, h);
    let mut source = vec![0u8; layout.min_frame_len()];
    let (mut unit, mut back) = (Vec::new(), Vec::new());
    let (forced_at, restart_at) = (frames / 3, frames * 2 / 3);
    let (mut keyframes, mut decoded, mut bytes) = (0u32, 0u32, 0usize);
    let (mut worst, mut total_db) = (f64::MAX, 0.0);
    let mut drained = 0;
    for n in 0..frames {
        if n == restart_at && n > 0 {
            drained += enc.drain(|_, _| {}).map_err(|e| format!("draining at picture {n}: {e}"))?;
            enc.restart().map_err(|e| format!("restarting at picture {n}: {e}"))?;
        }
        picture(geometry, n, &mut source);
        let planes = Planes::of(&layout, &source).map_err(|e| e.to_string())?;
        let made = enc
            .encode(&planes, n == forced_at, u64::from(n) * 33_333, &mut unit)
            .map_err(|e| format!("picture {n}: {e}"))?;
        bytes += unit.len();
        keyframes += u32::from(made.keyframe);
        if (n == 0 || n == forced_at || n == restart_at) && !made.keyframe {
            return Err(format!("picture {n} should be a keyframe and is not"));
        }
        let Some((dw, dh)) = dec
            .decode(&unit, &mut back)
            .map_err(|e| format!("decoding picture {n} with {}: {e}", decoder.describe()))?
        else {
            return Err(format!("{} made no picture of unit {n}", decoder.describe()));
        };
        if dw < w || dh < h {
            return Err(format!("picture {n} came back {dw}x{dh}"));
        }
        // The decoder's rows may be wider (a coded size rounded up): the visible part counts.
        let db = luma_psnr(geometry, &source, &back, dw as usize);
        let min = min_psnr_db(coded);
        if db < min {
            return Err(format!("picture {n} decoded at {db:.1} dB luma PSNR (at least {min} wanted)"));
        }
        worst = worst.min(db);
        total_db += db;
        decoded += 1;
    }
    let tail = enc.drain(|_, _| {}).map_err(|e| format!("the final drain: {e}"))?;
    let forced =
        if enc.forces_keyframes() { "by its control" } else { "by a restart (it has no keyframe control)" };
    let raw = enc.raw_format();
    Ok(format!(
        "{} {} {w}x{h}: {frames} pictures in ({} rows of {} bytes), {frames} units out ({:.1} KiB each), \
         {keyframes} keyframes (picture {forced_at}'s asked {forced}), drained ({drained} late units) and restarted \
         at picture {restart_at}, drained at the end ({tail} late units); {decoded} decoded back by {}: luma \
         PSNR {worst:.1} dB worst, {:.1} average",
        encoder.describe(),
        coded.name(),
        sys::fourcc_text(raw.fourcc),
        raw.bytesperline,
        bytes as f64 / f64::from(frames) / 1024.0,
        decoder.describe(),
        total_db / f64::from(decoded.max(1)),
    ))
}
