//! v4l2-writer: the VM rig's fake camera (docs/VM-RIG.md). It sets a v4l2loopback device's
//! output format and streams frames of a known image into it at a steady rate, so that a
//! capture program (pistream) reading the device sees an MJPEG or YUYV camera; it can mix
//! in the bad frames real cameras produce, and stop and start like a camera unplugged.
//!
//! ```text
//! v4l2-writer write DEVICE [--format MJPG|YUYV] [--size WxH] [--fps N] [--kind KIND]
//!                          [--burst KIND,KIND,...] [--hold SECONDS]
//! v4l2-writer frame [--format MJPG|YUYV] [--size WxH] [--kind KIND] > FILE
//! v4l2-writer sample --size WxH FILE
//! v4l2-writer pad --size WxH --align N -- PROGRAM ARGS...
//! v4l2-writer mirror --size WxH --flip h|v|hv [--bars] UPRIGHT TURNED
//! ```
//!
//! `write` starts the device's output stream (so v4l2loopback treats it as the writer) and
//! writes one frame per write(2): `--kind` frames (default `good`) until SIGTERM or SIGINT.
//! Each SIGUSR1 sends the next frame of `--burst` and then holds (writes nothing) until
//! SIGUSR2 or `--hold` seconds (default 4, under pistream's 5 s stall limit): the frame stays
//! the device's newest, so a reader sees it however late it looks, and the script that sent
//! the signals releases the hold once the reader has counted it. Kinds: good, nodht (MJPEG
//! without Huffman tables), truncated, corrupt, garbage, empty, short (see frames.rs). It
//! prints one line when streaming, one per burst frame, one when the burst is done, and a
//! summary at exit, all starting with `v4l2-writer:`.
//! `frame` prints one frame's bytes (what `write` sends). `sample` prints pixels of every
//! frame of a packed BGR24 file (see sample.rs). `pad` runs PROGRAM and writes its tight
//! I420 frames with padded rows, as a Raspberry Pi's rpicam-vid does (see pad.rs). `mirror`
//! checks that the first frame of TURNED is that of UPRIGHT mirrored (see mirror.rs).

mod bars;
mod frames;
mod mirror;
mod pad;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    hold: Duration,
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
        hold: Duration::from_secs(4),
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
            "--hold" => {
                let v = value()?;
                o.hold = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (0.0..=60.0).contains(s))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| format!("--hold takes seconds (0 to 60), not {v}"))?;
            }
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
        Some("pad") => pad_command(&args[1..]),
        Some("mirror") => mirror_command(&args[1..]),
        _ => Err("usage: v4l2-writer write DEVICE [options] | frame [options] | sample --size WxH FILE \
                  | pad --size WxH --align N -- PROGRAM ARGS... (see the source's first lines)"
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

/// `mirror --size WxH --flip h|v|hv [--bars] UPRIGHT TURNED`: prints `mirror ok: ...`, or fails.
fn mirror_command(args: &[String]) -> Result<(), String> {
    let (mut size, mut flip, mut files, mut bars) = (None, None, Vec::new(), false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--size" => {
                let v = it.next().ok_or("--size needs WxH")?;
                let (w, h) = v.split_once('x').ok_or("--size takes WxH")?;
                size = Some((
                    w.parse::<usize>().map_err(|_| "bad width")?,
                    h.parse::<usize>().map_err(|_| "bad height")?,
                ));
            }
            "--flip" => flip = Some(it.next().ok_or("--flip needs h, v or hv")?.clone()),
            "--bars" => bars = true,
            file => files.push(file.to_string()),
        }
    }
    let ((w, h), flip) = (size.ok_or("mirror needs --size")?, flip.ok_or("mirror needs --flip")?);
    let [upright, turned] = files.as_slice() else { return Err("mirror needs two files".into()) };
    let read = |p: &String| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let verdict = mirror::compare(&read(upright)?, &read(turned)?, w, h, &flip, bars)?;
    println!("mirror {verdict}");
    Ok(())
}

/// `pad --size WxH --align N -- PROGRAM ARGS...`.
fn pad_command(args: &[String]) -> Result<(), String> {
    let split = args.iter().position(|a| a == "--").ok_or("pad needs -- before the program")?;
    let (mut size, mut align) = (None, 64usize);
    let mut it = args[..split].iter();
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--size" => {
                let (w, h) = value.split_once('x').ok_or("--size takes WxH")?;
                size = Some((w.parse().map_err(|_| "bad width")?, h.parse().map_err(|_| "bad height")?));
            }
            "--align" => align = value.parse().map_err(|_| "--align takes a number of bytes")?,
            other => return Err(format!("pad: unknown option {other}")),
        }
    }
    let (width, height): (usize, usize) = size.ok_or("pad needs --size")?;
    pad::run(width, height, align.max(1), &args[split + 1..])
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

/// What the signals asked for, set by a thread that waits for them: SIGTERM/SIGINT stop,
/// SIGUSR1 sends the next burst frame (a count, so none is lost), SIGUSR2 ends a hold. The
/// signals are blocked everywhere else, so no handler runs inside this program.
struct Signals {
    stop: Arc<AtomicBool>,
    next: Arc<AtomicUsize>,
    release: Arc<AtomicBool>,
}

fn watch_signals() -> Result<Signals, String> {
    let mut set = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGUSR1, Signal::SIGUSR2] {
        set.add(s);
    }
    set.thread_block().map_err(|e| format!("blocking signals: {e}"))?;
    let signals = Signals { stop: Arc::default(), next: Arc::default(), release: Arc::default() };
    let (stop, next, release) = (signals.stop.clone(), signals.next.clone(), signals.release.clone());
    std::thread::spawn(move || loop {
        match set.wait() {
            Ok(Signal::SIGUSR1) => {
                next.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Signal::SIGUSR2) => release.store(true, Ordering::SeqCst),
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
    let burst = o
        .burst
        .iter()
        .map(|&kind| Ok((kind, frames::make(kind, o.format, &good)?)))
        .collect::<Result<Vec<_>, String>>()?;
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
    // Burst frames sent so far, and when the hold after the last one began.
    let mut sent = 0usize;
    let mut holding: Option<Instant> = None;
    let mut write_frame = |kind: Kind, bytes: &[u8]| -> Result<(), String> {
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
        Ok(())
    };
    let period = Duration::from_secs_f64(1.0 / o.fps);
    write_frame(o.kind, &steady)?;
    next += period;
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
    while !signals.stop.load(Ordering::SeqCst) {
        if let Some(since) = holding {
            if !signals.release.swap(false, Ordering::SeqCst) && since.elapsed() < o.hold {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            holding = None;
            if sent == burst.len() {
                let kinds: Vec<&str> = o.burst.iter().map(|k| k.name()).collect();
                println!(
                    "v4l2-writer: burst done: {} bad frames ({})",
                    o.burst.iter().filter(|k| k.is_bad()).count(),
                    kinds.join(" ")
                );
            }
            next = Instant::now() + period;
        }
        if sent < burst.len() && signals.next.load(Ordering::SeqCst) > sent {
            let (kind, bytes) = &burst[sent];
            signals.release.store(false, Ordering::SeqCst);
            write_frame(*kind, bytes)?;
            sent += 1;
            println!("v4l2-writer: sent burst frame {sent} of {}: {}", burst.len(), kind.name());
            holding = Some(Instant::now());
            continue;
        }
        let now = Instant::now();
        if now < next {
            // Short sleeps, so that a signal is acted on within 20 ms.
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
            continue;
        }
        write_frame(o.kind, &steady)?;
        next += period;
        // Fallen behind (a loaded machine): keep the rate rather than catch up in a rush.
        if now > next {
            next = now + period;
        }
    }
    output_stream(&device, false).map_err(at("stopping the output stream (VIDIOC_STREAMOFF)"))?;
    println!("v4l2-writer: stopped after {written} frames ({bad} bad)");
    Ok(())
}
