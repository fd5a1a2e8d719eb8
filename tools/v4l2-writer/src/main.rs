//! v4l2-writer: the VM rig's fake camera (docs/VM-RIG.md). It sets a v4l2loopback device's
//! output format and streams frames of a known image into it at a steady rate, so that a
//! capture program (pistream) reading the device sees an MJPEG or YUYV camera; it can mix
//! in the bad frames real cameras produce, and stop and start like a camera unplugged.
//!
//! ```text
//! v4l2-writer write DEVICE [--format MJPG|YUYV] [--size WxH] [--fps N] [--kind KIND]
//!                          [--burst KIND,KIND,...] [--burst-fps N]
//! v4l2-writer frame [--format MJPG|YUYV] [--size WxH] [--kind KIND] > FILE
//! v4l2-writer sample --size WxH FILE
//! ```
//!
//! `write` starts the device's output stream (so v4l2loopback treats it as the writer) and
//! writes one frame per write(2): `--kind` frames (default `good`) until SIGTERM or SIGINT.
//! On SIGUSR1 it sends the `--burst` frames once, each followed by two good ones, at
//! `--burst-fps`, then goes back to `--kind`. Kinds: good, nodht (MJPEG without Huffman tables), truncated,
//! corrupt, garbage, empty, short (see frames.rs). It prints one line when streaming, one
//! when a burst is done, and a summary at exit, all starting with `v4l2-writer:`.
//! `frame` prints one frame's bytes (what `write` sends). `sample` prints pixels of every
//! frame of a packed BGR24 file (see sample.rs).

mod bars;
mod frames;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::os::fd::BorrowedFd;

use nix::sys::signal::{SigSet, Signal};
use v4l::buffer::Type;
use v4l::video::output::Parameters;
use v4l::video::Output;
use v4l::{Device, FourCC};

use frames::{Format, Kind};

struct Options {
    device: Option<PathBuf>,
    format: Format,
    width: u32,
    height: u32,
    fps: f64,
    kind: Kind,
    burst: Vec<Kind>,
    burst_fps: f64,
    file: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        device: None,
        format: Format::Mjpeg,
        width: 640,
        height: 480,
        fps: 25.0,
        kind: Kind::Good,
        burst: Vec::new(),
        burst_fps: 4.0,
        file: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        let positive = |v: &str| match v.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1000.0 => Ok(f),
            _ => Err(format!("{arg} takes a number of frames per second, not {v}")),
        };
        match arg.as_str() {
            "--format" => o.format = Format::parse(value()?)?,
            "--size" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or_else(|| format!("--size takes WxH, not {v}"))?;
                o.width = w.parse().map_err(|_| format!("--size takes WxH, not {v}"))?;
                o.height = h.parse().map_err(|_| format!("--size takes WxH, not {v}"))?;
            }
            "--fps" => o.fps = positive(value()?)?,
            "--burst-fps" => o.burst_fps = positive(value()?)?,
            "--kind" => o.kind = Kind::parse(value()?)?,
            "--burst" => o.burst = value()?.split(',').map(Kind::parse).collect::<Result<_, _>>()?,
            a if a.starts_with("--") => return Err(format!("unknown option {a}")),
            a if o.file.is_none() => o.file = Some(PathBuf::from(a)),
            a => return Err(format!("unexpected argument {a}")),
        }
    }
    o.device = o.file.clone();
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("write") => parse(&args[1..]).and_then(|o| write(&o)),
        Some("frame") => parse(&args[1..]).and_then(|o| frame(&o)),
        Some("sample") => parse(&args[1..]).and_then(|o| sample_file(&o)),
        _ => Err("usage: v4l2-writer write DEVICE [options] | frame [options] | sample --size WxH FILE \
                  (see the source's first lines)"
            .into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("v4l2-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn frame(o: &Options) -> Result<(), String> {
    use std::io::Write;
    let good = frames::good(o.format, o.width, o.height)?;
    let bytes = frames::make(o.kind, o.format, &good)?;
    std::io::stdout().write_all(&bytes).map_err(|e| format!("writing stdout: {e}"))
}

fn sample_file(o: &Options) -> Result<(), String> {
    let path = o.file.as_ref().ok_or("sample needs a FILE")?;
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stdout = std::io::stdout();
    sample::run(&mut file, &mut stdout.lock(), o.width as usize, o.height as usize)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Flags set from SIGTERM/SIGINT (stop) and SIGUSR1 (burst) by a thread that waits for
/// them; the signals are blocked everywhere else, so no handler runs inside this program.
struct Signals {
    stop: Arc<AtomicBool>,
    burst: Arc<AtomicBool>,
}

fn watch_signals() -> Result<Signals, String> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGUSR1] {
        set.add(s);
    }
    set.thread_block().map_err(|e| format!("blocking signals: {e}"))?;
    let signals = Signals { stop: Arc::default(), burst: Arc::default() };
    let (stop, burst) = (signals.stop.clone(), signals.burst.clone());
    std::thread::spawn(move || loop {
        match set.wait() {
            Ok(Signal::SIGUSR1) => burst.store(true, Ordering::SeqCst),
            Ok(_) => stop.store(true, Ordering::SeqCst),
            Err(_) => {}
        }
    });
    Ok(signals)
}

/// `VIDIOC_STREAMON` (or `OFF`) on the output queue. v4l2loopback counts only an opener
/// that started the output stream as its writer, and only a writer's close makes the device
/// ready for the next writer: a program that only called write(2) could not be restarted.
fn output_stream(device: &Device, on: bool) -> std::io::Result<()> {
    let mut kind = Type::VideoOutput as std::os::raw::c_int;
    let request = if on { v4l::v4l2::vidioc::VIDIOC_STREAMON } else { v4l::v4l2::vidioc::VIDIOC_STREAMOFF };
    // SAFETY: both requests take a pointer to an int holding the buffer type; `kind` lives
    // across the call, and the descriptor is the device's own, open while `device` lives.
    unsafe {
        v4l::v4l2::ioctl(device.handle().fd(), request, &mut kind as *mut _ as *mut std::os::raw::c_void)
    }
}

fn write(o: &Options) -> Result<(), String> {
    let signals = watch_signals()?;
    let path = o.device.as_ref().ok_or("write needs a DEVICE (the v4l2loopback node)")?;
    let good = frames::good(o.format, o.width, o.height)?;
    let steady = frames::make(o.kind, o.format, &good)?;
    let mut burst = Vec::new();
    for &kind in &o.burst {
        burst.push((kind, frames::make(kind, o.format, &good)?));
        burst.extend([(Kind::Good, good.clone()), (Kind::Good, good.clone())]);
    }
    let at = |doing: &str| {
        let doing = doing.to_string();
        move |e: std::io::Error| format!("{}: {doing}: {e}", path.display())
    };

    let device = Device::with_path(path).map_err(at("opening"))?;
    let mut format = device.format().map_err(at("getting the output format"))?;
    format.width = o.width;
    format.height = o.height;
    format.fourcc = FourCC::new(&o.format.fourcc());
    let format = device.set_format(&format).map_err(at("setting the output format (VIDIOC_S_FMT)"))?;
    if format.fourcc.repr != o.format.fourcc() || (format.width, format.height) != (o.width, o.height) {
        return Err(format!(
            "{}: the device took {} {}x{} instead (is a writer already attached?)",
            path.display(),
            format.fourcc,
            format.width,
            format.height
        ));
    }
    // The rate the device then advertises to readers; a driver may ignore it.
    let _ = device.set_params(&Parameters::with_fps(o.fps.round().max(1.0) as u32));
    output_stream(&device, true).map_err(at("starting the output stream (VIDIOC_STREAMON)"))?;
    let handle = device.handle();
    // SAFETY: the descriptor belongs to `handle`, which stays alive (and the descriptor
    // open) until the end of this function, beyond every use of `fd`.
    let fd = unsafe { BorrowedFd::borrow_raw(handle.fd()) };

    let mut written = 0u64;
    let mut bad = 0u64;
    let mut next = Instant::now();
    let mut pending: std::collections::VecDeque<(Kind, &[u8])> = Default::default();
    let mut in_burst = false;
    loop {
        if signals.stop.load(Ordering::SeqCst) {
            break;
        }
        if signals.burst.swap(false, Ordering::SeqCst) && !in_burst {
            pending.extend(burst.iter().map(|(k, f)| (*k, &f[..])));
            in_burst = true;
        }
        let (kind, bytes) = pending.pop_front().unwrap_or((o.kind, &steady[..]));
        // One write(2) is one frame: v4l2loopback copies it into the next of its buffers in
        // turn (bytesused = its length, 0 for an empty frame), so a frame stays intact until
        // the writer has gone round all of them. (Its mmap output queue does not: dequeuing
        // gives back the buffer just queued, whose frame a reader may still be reading.)
        let n = nix::unistd::write(fd, bytes).map_err(|e| at("writing a frame")(e.into()))?;
        if n != bytes.len() {
            return Err(format!("{}: wrote {n} of a {} byte frame", path.display(), bytes.len()));
        }
        written += 1;
        bad += kind.is_bad() as u64;
        if written == 1 {
            println!(
                "v4l2-writer: streaming {} {}x{} at {} fps to {} ({} bytes per {} frame)",
                format.fourcc,
                o.width,
                o.height,
                o.fps,
                path.display(),
                steady.len(),
                o.kind.name()
            );
        }
        if in_burst && pending.is_empty() {
            in_burst = false;
            let kinds: Vec<&str> = o.burst.iter().map(|k| k.name()).collect();
            println!(
                "v4l2-writer: burst done: {} bad frames ({}), each followed by 2 good",
                o.burst.iter().filter(|k| k.is_bad()).count(),
                kinds.join(" ")
            );
        }
        let rate = if in_burst { o.burst_fps } else { o.fps };
        next += Duration::from_secs_f64(1.0 / rate);
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    output_stream(&device, false).map_err(at("stopping the output stream (VIDIOC_STREAMOFF)"))?;
    println!("v4l2-writer: stopped after {written} frames ({bad} bad)");
    Ok(())
}
