//! End to end on loopback, in one run, for 640x480, 1280x720 and 1920x1080 BGR:
//! - pistream: `camera --source pattern --fps 0` -> `display --sink null` (two processes);
//! - GStreamer: `videotestsrc ! video/x-raw,format=BGR ! tcpclientsink` ->
//!   `tcpserversrc ! rawvideoparse ! fakesink` (two processes, no clock sync);
//! - a plain-socket baseline: tight `write_all` / `read_exact` of the same bytes (two threads).
//!
//! For each: frames/s, MB/s, CPU time per frame of each process (getrusage of the reaped
//! child, or /proc for the still-running camera), peak RSS (VmHWM) and, for pistream,
//! capture-to-shown latency p50/p99 from the display's summary. Prints a Markdown table and
//! the ratios. Run with `scripts/bench-e2e` (installs GStreamer, writes BENCHMARKS.md).
//! `PISTREAM_E2E_SECS` sets the seconds per run (default 4).
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

#[path = "../tests/support/stderr_lines.rs"]
mod stderr_lines;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use stderr_lines::collect_stderr;

use nix::sys::resource::{getrusage, UsageWho};

const BIN: &str = env!("CARGO_BIN_EXE_pistream");
const HEADER: usize = 24;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// CPU seconds of reaped children so far.
fn children_cpu() -> f64 {
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

fn self_cpu() -> f64 {
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
    t(u.user_time()) + t(u.system_time())
}

/// CPU seconds of a running process, from /proc/PID/stat.
fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // utime, stime (fields 14, 15), USER_HZ = 100
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// A child whose stderr lines are collected, and whose peak RSS is sampled until it exits.
struct Watched {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    peak_mb: Arc<Mutex<f64>>,
}

fn spawn(program: &str, args: &[&str]) -> Watched {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/bench-e2e installs what it needs)"));
    let lines = collect_stderr(&mut child);
    let peak_mb = Arc::new(Mutex::new(0.0));
    let (peak, pid) = (peak_mb.clone(), child.id());
    thread::spawn(move || {
        while std::path::Path::new(&format!("/proc/{pid}/status")).exists() {
            let now = peak_rss_mb(pid);
            let mut p = peak.lock().unwrap();
            *p = f64::max(*p, now);
            drop(p);
            thread::sleep(Duration::from_millis(50));
        }
    });
    Watched { child, lines, peak_mb }
}

impl Watched {
    fn wait_for_line(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.lines.lock().unwrap().iter().any(|l| l.contains(needle)) {
            assert!(Instant::now() < deadline, "no {needle:?} in {:?}", self.lines.lock().unwrap());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for exit; returns its CPU seconds (from getrusage of reaped children).
    fn reap(&mut self) -> f64 {
        let before = children_cpu();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "exit {status}: {:?}", self.lines.lock().unwrap());
        children_cpu() - before
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn peak(&self) -> f64 {
        *self.peak_mb.lock().unwrap()
    }
}

#[derive(Default, Clone, Copy)]
struct Run {
    fps: f64,
    mb_s: f64,
    cpu_ms_per_frame: f64,
    sender_rss: f64,
    receiver_rss: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    frames: u64,
}

fn number_after(text: &str, needle: &str) -> Option<f64> {
    let at = text.find(needle)? + needle.len();
    text[at..].split_whitespace().next()?.parse().ok()
}

/// pistream camera (unpaced pattern, raw BGR) to display (null sink), with `key` if given.
fn pistream(w: u32, h: u32, secs: f64, key: Option<&str>) -> Run {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let size = format!("{w}x{h}");
    let key_args: Vec<&str> = key.map(|k| vec!["--key-file", k]).unwrap_or_default();
    let mut cam_args = vec![
        "camera", "--listen", &listen, "--source", "pattern", "--fps", "0", "--size", &size, "--stats",
        "off", "--wire", "bgr",
    ];
    cam_args.extend(&key_args);
    let mut cam = spawn(BIN, &cam_args);
    cam.wait_for_line("listening on");
    let cam_cpu0 = proc_cpu(cam.child.id());
    let seconds = format!("{secs}");
    let mut disp_args =
        vec!["display", "--connect", &listen, "--sink", "null", "--seconds", &seconds, "--stats", "off"];
    disp_args.extend(&key_args);
    let mut disp = spawn(BIN, &disp_args);
    let disp_cpu = disp.reap();
    let cam_cpu = proc_cpu(cam.child.id()) - cam_cpu0;
    let sender_rss = peak_rss_mb(cam.child.id());
    let _ = cam.child.kill();
    let _ = cam.child.wait();
    let text = disp.text();
    let summary = text.lines().find(|l| l.contains("summary:")).unwrap_or_default().to_string();
    // Frames that crossed the connection: shown, and replaced in the display mailbox before
    // the (null) sink took them.
    let shown = summary
        .split("summary: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0u64);
    let frames = shown + number_after(&summary, "dropped display ").map_or(0, |d| d as u64);
    let bytes = (HEADER + (w * h * 3) as usize) as f64;
    Run {
        fps: frames as f64 / secs,
        mb_s: frames as f64 * bytes / secs / 1e6,
        cpu_ms_per_frame: (cam_cpu + disp_cpu) * 1e3 / frames.max(1) as f64,
        sender_rss,
        receiver_rss: disp.peak(),
        p50: number_after(&summary, "p50 "),
        p99: number_after(&summary, "p99 "),
        frames,
    }
}

fn gstreamer(w: u32, h: u32, frames: u64) -> Run {
    let port = free_port().to_string();
    let caps = format!("width={w}");
    let height = format!("height={h}");
    let mut receiver = spawn(
        "gst-launch-1.0",
        &[
            "-q",
            "tcpserversrc",
            "host=127.0.0.1",
            &format!("port={port}"),
            "!",
            "rawvideoparse",
            &caps,
            &height,
            "format=bgr",
            "framerate=30/1",
            "!",
            "fakesink",
            "sync=false",
        ],
    );
    thread::sleep(Duration::from_millis(500)); // no readiness line from gst-launch -q
    let start = Instant::now();
    let mut sender = spawn(
        "gst-launch-1.0",
        &[
            "-q",
            "videotestsrc",
            &format!("num-buffers={frames}"),
            "!",
            &format!("video/x-raw,format=BGR,width={w},height={h},framerate=30/1"),
            "!",
            "tcpclientsink",
            "host=127.0.0.1",
            &format!("port={port}"),
            "sync=false",
        ],
    );
    let sender_cpu = sender.reap();
    let receiver_cpu = receiver.reap();
    let elapsed = start.elapsed().as_secs_f64();
    let bytes = (w * h * 3) as f64;
    Run {
        fps: frames as f64 / elapsed,
        mb_s: frames as f64 * bytes / elapsed / 1e6,
        cpu_ms_per_frame: (sender_cpu + receiver_cpu) * 1e3 / frames as f64,
        sender_rss: sender.peak(),
        receiver_rss: receiver.peak(),
        p50: None,
        p99: None,
        frames,
    }
}

/// The plain-socket baseline with the same work per frame as pistream's camera: each frame
/// is rendered (the test pattern's renderer, one pass over the frame, as the pattern
/// source and as a camera's conversion would) and then written with `write_all`; the
/// reader `read_exact`s it. Two threads, no mailboxes, no protocol.
fn baseline(w: u32, h: u32, secs: f64) -> Run {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    let len = HEADER + (w * h * 3) as usize;
    let stop = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    let cpu0 = self_cpu();
    let start = Instant::now();
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let geometry = pistream::media::Geometry::new(w, h);
            let renderer = pistream::source::pattern::Renderer::new(geometry);
            let mut buf = vec![7u8; len];
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                renderer.render(&mut buf[HEADER..], seq);
                seq += 1;
                if server.write_all(&buf).is_err() {
                    break;
                }
            }
        })
    };
    let reader = {
        let (stop, frames) = (stop.clone(), frames.clone());
        thread::spawn(move || {
            let mut buf = vec![0u8; len];
            while !stop.load(Ordering::Relaxed) && client.read_exact(&mut buf).is_ok() {
                frames.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    thread::sleep(Duration::from_secs_f64(secs));
    let n = frames.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    writer.join().unwrap();
    let cpu = self_cpu() - cpu0;
    Run {
        fps: n as f64 / elapsed,
        mb_s: n as f64 * len as f64 / elapsed / 1e6,
        cpu_ms_per_frame: cpu * 1e3 / n.max(1) as f64,
        sender_rss: 0.0,
        receiver_rss: 0.0,
        p50: None,
        p99: None,
        frames: n,
    }
}

fn row(frame: &str, tool: &str, r: &Run) -> String {
    let lat = match (r.p50, r.p99) {
        (Some(a), Some(b)) => format!("{a:.1} / {b:.1}"),
        _ => "n/a".into(),
    };
    let rss = if r.sender_rss > 0.0 {
        format!("{:.0} / {:.0}", r.sender_rss, r.receiver_rss)
    } else {
        "(in-process)".into()
    };
    format!("| {frame} | {tool} | {:.0} | {:.0} | {:.3} | {rss} | {lat} |", r.fps, r.mb_s, r.cpu_ms_per_frame)
}

/// The run with the median frames/s of `runs` (its other figures come with it).
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.fps.total_cmp(&b.fps));
    runs[runs.len() / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    if quick {
        // `cargo test --benches` runs benches without --bench: nothing to check quickly here
        // that the e2e tests do not already cover.
        println!("e2e bench: run `scripts/bench-e2e` (or `cargo bench --bench e2e`) for figures");
        return;
    }
    let secs: f64 = std::env::var("PISTREAM_E2E_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0);
    let rounds: usize =
        std::env::var("PISTREAM_E2E_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let key_dir = std::env::temp_dir().join(format!("pistream-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&key_dir).unwrap();
    let key_path = key_dir.join("bench.key");
    let _ = std::fs::remove_file(&key_path);
    let status = Command::new(BIN).args(["keygen", key_path.to_str().unwrap()]).status().unwrap();
    assert!(status.success(), "pistream keygen failed");
    let key = key_path.to_str().unwrap();
    println!("median of {rounds} rounds of {secs} s each; in every round the tools run one after another");
    println!();
    println!("| frame | tool | frames/s | MB/s | CPU ms/frame (both ends) | peak RSS MB (sender / receiver) | latency p50 / p99 ms |");
    println!("| --- | --- | ---: | ---: | ---: | --- | --- |");
    let mut ratios = Vec::new();
    for (w, h) in [(640, 480), (1280, 720), (1920, 1080)] {
        let frame = format!("{w}x{h}");
        let (mut plain, mut keyed, mut gst, mut base) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let ours = pistream(w, h, secs, None);
            gst.push(gstreamer(w, h, ours.frames.max(100)));
            plain.push(ours);
            base.push(baseline(w, h, secs));
            keyed.push(pistream(w, h, secs, Some(key)));
        }
        let (ours, keyed, gst, base) = (median(plain), median(keyed), median(gst), median(base));
        println!("{}", row(&frame, "pistream", &ours));
        println!("{}", row(&frame, "pistream --key-file", &keyed));
        println!("{}", row(&frame, "GStreamer", &gst));
        println!("{}", row(&frame, "plain socket", &base));
        ratios.push((
            frame,
            ours.fps / gst.fps,
            ours.fps / base.fps,
            ours.cpu_ms_per_frame / gst.cpu_ms_per_frame,
            keyed.fps / ours.fps,
            keyed.cpu_ms_per_frame / ours.cpu_ms_per_frame,
        ));
    }
    let _ = std::fs::remove_dir_all(&key_dir);
    println!();
    println!("| frame | pistream / GStreamer (frames/s) | pistream / plain socket (frames/s) | pistream / GStreamer (CPU per frame) | keyed / plain pistream (frames/s) | keyed / plain pistream (CPU per frame) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (frame, vs_gst, vs_base, cpu, keyed_fps, keyed_cpu) in ratios {
        println!("| {frame} | {vs_gst:.2} | {vs_base:.2} | {cpu:.2} | {keyed_fps:.2} | {keyed_cpu:.2} |");
    }
    println!();
    println!("targets: frames/s >= 1.5x GStreamer and >= 0.9x the plain socket; CPU per frame below GStreamer's (ratio < 1); keyed >= 0.7x plain");
}
