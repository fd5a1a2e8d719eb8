//! A stand-in for Raspberry Pi's `rpicam-vid`, for pistream's tests and benchmark on machines
//! without a camera module: put it on PATH as `rpicam-vid`. With `--codec yuv420 -o -` it
//! writes I420 frames to stdout as rpicam-vid does (one write per frame, rows padded as the
//! Pi 4's or the Pi 5's ISP pads them, full range), the frames of `tests/support/camera_module.rs`
//! (each stamped with its number), at `--framerate`; it prints libcamera-like lines on
//! stderr (the ISP's pipeline, the configured stream) and answers `--list-cameras`.
//!
//! How it differs from the real program: no camera, no ISP, no settings take effect; every
//! other option is only recorded. Environment knobs:
//!
//! - `FAKE_RPICAM_ISP`: `pi4` (default), `pi5`, or `none` (no line names the ISP);
//! - `FAKE_RPICAM_ALIGN`: pad rows to this many bytes instead of the ISP's rule;
//! - `FAKE_RPICAM_CONFIGURED`: claim this `WxH` was configured instead of the one asked for;
//! - `FAKE_RPICAM_ARGS`, `FAKE_RPICAM_PIDS`: files it appends its arguments and its pid to;
//! - `FAKE_RPICAM_STATE`: a file keeping its start count and next frame number across
//!   restarts (frame numbers then keep rising);
//! - `FAKE_RPICAM_EXIT_AFTER=START:FRAMES`: on that start, after that many frames, write half a
//!   frame, print an error and exit with 255; `FAKE_RPICAM_STALL_AFTER=START:FRAMES`: stop
//!   writing instead (and never exit);
//! - `FAKE_RPICAM_FAIL=MESSAGE`: fail at once with `ERROR: *** MESSAGE ***`;
//! - `FAKE_RPICAM_IGNORE_TERM=1`: ignore SIGTERM;
//! - `FAKE_RPICAM_UNPACED=1`: write as fast as the reader takes; `FAKE_RPICAM_FRAMES=N`: exit
//!   after N frames;
//! - `FAKE_RPICAM_CAMERAS=none`: `--list-cameras` finds none;
//! - `FAKE_RPICAM_EPOCH=FILE`: write there the wall-clock time (µs since the UNIX epoch) at
//!   which frame 0 was due (frame `k` is due `k / framerate` later: scripts/bench-rtsp
//!   measures latency from it).

#![allow(unreachable_pub)]

#[path = "../support/camera_module.rs"]
mod camera_module;

use std::io::Write;
use std::time::{Duration, Instant};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn append(path: Option<String>, line: &str) {
    if let Some(path) = path {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(file, "{line}").unwrap();
    }
}

/// `START:FRAMES` for this start, if it is that start.
fn on_start(knob: &str, start: u64) -> Option<u64> {
    let text = env(knob)?;
    let (when, frames) = text.split_once(':')?;
    (when.parse::<u64>().ok()? == start).then(|| frames.parse::<u64>().ok()).flatten()
}

fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "[0:00:00.{:06}] [{}]  {line}", 0, std::process::id());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list-cameras") {
        if env("FAKE_RPICAM_CAMERAS").as_deref() == Some("none") {
            println!("No cameras available!");
        } else {
            println!("Available cameras\n-----------------");
            println!("0 : imx708 [4608x2592 10-bit RGGB] (/base/soc/i2c0mux/i2c@1/imx708@1a)");
            println!("    Modes: 'SRGGB10_CSI2P' : 1536x864 [120.13 fps - (768, 432)/3072x1728 crop]");
            println!("                             2304x1296 [56.03 fps - (0, 0)/4608x2592 crop]");
            println!("                             4608x2592 [14.35 fps - (0, 0)/4608x2592 crop]\n");
        }
        return;
    }
    append(env("FAKE_RPICAM_ARGS"), &args.join(" "));
    append(env("FAKE_RPICAM_PIDS"), &std::process::id().to_string());
    if let Some(message) = env("FAKE_RPICAM_FAIL") {
        log("INFO Camera camera_manager.cpp:330 libcamera v0.5.2 (fake)");
        eprintln!("ERROR: *** {message} ***");
        std::process::exit(255);
    }
    if env("FAKE_RPICAM_IGNORE_TERM").is_some() {
        // SAFETY: installs SIG_IGN for SIGTERM, nothing else.
        unsafe { nix::libc::signal(nix::libc::SIGTERM, nix::libc::SIG_IGN) };
    }
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let width: u32 = value("--width").map_or(640, |v| v.parse().unwrap());
    let height: u32 = value("--height").map_or(480, |v| v.parse().unwrap());
    let fps: f64 = value("--framerate").map_or(30.0, |v| v.parse().unwrap());
    assert!(
        args.windows(2).any(|w| w == ["--codec", "yuv420"]) && args.windows(2).any(|w| w == ["-o", "-"]),
        "the fake only writes --codec yuv420 -o -"
    );

    let state = env("FAKE_RPICAM_STATE");
    let (start, mut index) = state
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| {
            let (a, b) = t.split_once(' ')?;
            Some((a.trim().parse::<u64>().ok()? + 1, b.trim().parse::<u64>().ok()?))
        })
        .unwrap_or((1u64, 0u64));
    let save = |index: u64| {
        if let Some(path) = &state {
            std::fs::write(path, format!("{start} {index}")).unwrap();
        }
    };
    save(index);

    log("INFO Camera camera_manager.cpp:330 libcamera v0.5.2 (fake rpicam-vid)");
    let isp = env("FAKE_RPICAM_ISP").unwrap_or_else(|| "pi4".into());
    match isp.as_str() {
        "pi4" => log(
            "INFO RPI vc4.cpp:440 Registered camera /base/soc/i2c0mux/i2c@1/imx708@1a to Unicam device /dev/media0 \
             and ISP device /dev/media2",
        ),
        "pi5" => log(
            "INFO RPI pisp.cpp:1179 Registered camera /base/axi/pcie@120000/rp1/i2c@88000/imx708@1a to CFE device \
             /dev/media0 and ISP device /dev/media2 using PiSP variant BCM2712_C0",
        ),
        _ => {}
    }
    let configured = env("FAKE_RPICAM_CONFIGURED").unwrap_or_else(|| format!("{width}x{height}"));
    eprintln!("Mode selection for {width}:{height}:12:P");
    log(&format!(
        "INFO Camera camera.cpp:1215 configuring streams: (0) {configured}-YUV420/sYCC (1) 2304x1296-SBGGR10_CSI2P/RAW"
    ));

    let align = env("FAKE_RPICAM_ALIGN").map(|a| a.parse().unwrap());
    let stride = camera_module::stride(if isp == "pi5" { "pi5" } else { "pi4" }, width, align);
    let period =
        (env("FAKE_RPICAM_UNPACED").is_none() && fps > 0.0).then(|| Duration::from_secs_f64(1.0 / fps));
    let limit: Option<u64> = env("FAKE_RPICAM_FRAMES").map(|n| n.parse().unwrap());
    let exit_after = on_start("FAKE_RPICAM_EXIT_AFTER", start);
    let stall_after = on_start("FAKE_RPICAM_STALL_AFTER", start);
    // The pattern repeats every camera_module::CYCLE frames: those are made once; each frame
    // then only gets its stamp and its padding.
    let bases: Vec<Vec<u8>> = (0..camera_module::CYCLE)
        .map(|i| camera_module::padded(&camera_module::tight_frame(width, height, i), width, height, stride))
        .collect();
    let mut frame = bases[0].clone();
    let mut stdout = std::io::stdout().lock();
    let started = Instant::now();
    if let Some(path) = env("FAKE_RPICAM_EPOCH") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        std::fs::write(path, format!("{}\n", now.as_micros())).unwrap();
    }
    let mut sent = 0u64;
    loop {
        if limit.is_some_and(|n| sent >= n) {
            return;
        }
        if stall_after == Some(sent) {
            log("WARN V4L2 v4l2_videodevice.cpp:2095 Dequeue timer of 1000000.00us has expired!");
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        frame.copy_from_slice(&bases[(index % camera_module::CYCLE) as usize]);
        camera_module::stamp(&mut frame, stride, height, index);
        if exit_after == Some(sent) {
            let _ = stdout.write_all(&frame[..frame.len() / 2]);
            let _ = stdout.flush();
            log("ERROR RPI pipeline_base.cpp:770 Camera frontend has timed out!");
            eprintln!("ERROR: *** failed to start camera ***");
            std::process::exit(255);
        }
        if sent == 0 {
            log("INFO fake: first frame");
        }
        if stdout.write_all(&frame).and_then(|()| stdout.flush()).is_err() {
            return; // the reader went away
        }
        sent += 1;
        index += 1;
        save(index);
        if sent.is_multiple_of(30) {
            log(&format!("#{sent} ({fps:.2} fps) exp 33251.00 ag 8.00 dg 1.00"));
        }
        if let Some(period) = period {
            let due = started + period.mul_f64(sent as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    }
}
