//! Wire formats on slow links, in one run: a 30 fps pattern camera emulating a YUYV webcam
//! (`--source pattern --format YUYV`) sends through the tests' throttling proxy (loss-free,
//! 10 ms one-way delay, small buffers like a router's) to a display built from pistream's
//! library that records every shown frame. For each frame size (640x480, 1280x720), link
//! rate (20, 50, 100, 300 Mbit/s) and `--wire` choice (bgr, native, i420, jpeg, auto):
//! delivered frames/s, capture-to-shown latency p50/p99, the camera's CPU time per
//! delivered frame, and for `auto` the wire formats it used and its switches, all measured
//! after a warm-up (auto's first switches happen in it). Prints a Markdown table and checks
//! the targets for `auto`.
//!
//! Then the H.264 targets, `auto` beside a fixed `--wire jpeg`: the last 8 s of 20 through
//! the throttling proxy at 1280x720 and 20 Mbit/s, 1920x1080 and 20 Mbit/s, 640x480 and
//! 5 Mbit/s; and 60 s through a TCP-terminating proxy (ordinary buffers, acknowledging at
//! its own speed) at 640x480 and 50 Mbit/s and 1280x720 and 20 Mbit/s, judged second by
//! second after the first five.
//!
//! Run with `scripts/bench-wire` (writes BENCHMARKS.md). `cargo bench --bench wire --
//! --quick` runs the H.264 targets for `auto` alone (about 3
//! minutes). `PISTREAM_WIRE_SECS` sets the measured seconds per cell of the table (default
//! 10).
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

#[path = "../tests/support/latency_display.rs"]
mod latency_display;
#[path = "../tests/support/slow_link.rs"]
#[allow(dead_code)] // the rate changes are the tests' (tests/end_to_end/wire.rs)
mod slow_link;

#[path = "../tests/support/stderr_lines.rs"]
mod stderr_lines;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stderr_lines::collect_stderr;

use latency_display::{percentile, LatencyDisplay, Sample};
use slow_link::{slow_link, slow_proxy, SlowLink};

const BIN: &str = env!("CARGO_BIN_EXE_pistream");
const MBIT: f64 = 1e6 / 8.0;
const DELAY: Duration = Duration::from_millis(10);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// CPU seconds of a running process, from /proc/PID/stat (utime + stime, USER_HZ = 100).
fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A listening pattern camera; killed when dropped.
struct Camera(Child);

impl Camera {
    fn start(port: u16, size: &str, wire: &str) -> Camera {
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(BIN)
            .args(["camera", "--listen", &listen, "--source", "pattern", "--format", "YUYV"])
            .args(["--fps", "30", "--size", size, "--wire", wire, "--stats", "off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the pistream binary runs");
        let lines = collect_stderr(&mut child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !lines.lock().unwrap().iter().any(|l: &String| l.contains("listening on")) {
            assert!(Instant::now() < deadline, "camera did not start: {:?}", lines.lock().unwrap());
            thread::sleep(Duration::from_millis(20));
        }
        Camera(child)
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Cell {
    fps: f64,
    p50: f64,
    p99: f64,
    cpu_ms: f64,
    /// Wire formats of the measured frames, with their counts.
    formats: BTreeMap<&'static str, usize>,
    switches: usize,
}

/// What sits in front of the link.
#[derive(Clone, Copy, PartialEq)]
enum Hop {
    Router,
    Proxy,
}

/// Every frame shown after `warm_up`, for `secs`, and the camera's CPU seconds meanwhile.
fn run(size: &str, rate_mbit: f64, wire: &str, hop: Hop, warm_up: Duration, secs: f64) -> (Vec<Sample>, f64) {
    let port = free_port();
    let camera = Camera::start(port, size, wire);
    let link: SlowLink = match hop {
        Hop::Router => slow_link(port, rate_mbit * MBIT, DELAY),
        Hop::Proxy => slow_proxy(port, rate_mbit * MBIT, DELAY),
    };
    let display = LatencyDisplay::connect(&format!("127.0.0.1:{}", link.port));
    thread::sleep(warm_up);
    let (start, cpu0) = (Instant::now(), proc_cpu(camera.0.id()));
    thread::sleep(Duration::from_secs_f64(secs));
    let cpu = proc_cpu(camera.0.id()) - cpu0;
    let samples: Vec<_> = display.stop().into_iter().filter(|(at, ..)| *at > start).collect();
    drop(link);
    drop(camera);
    (samples, cpu)
}

fn cell(samples: &[Sample], cpu: f64, secs: f64) -> Cell {
    let latencies: Vec<f64> = samples.iter().map(|(_, ms, _)| *ms).collect();
    let mut formats = BTreeMap::new();
    for (_, _, format) in samples {
        *formats.entry(format.name()).or_insert(0) += 1;
    }
    let switches = samples.windows(2).filter(|w| w[0].2 != w[1].2).count();
    Cell {
        fps: samples.len() as f64 / secs,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        cpu_ms: cpu * 1e3 / samples.len().max(1) as f64,
        formats,
        switches,
    }
}

fn measure(size: &str, rate_mbit: f64, wire: &str, warm_up: Duration, secs: f64) -> Cell {
    let (samples, cpu) = run(size, rate_mbit, wire, Hop::Router, warm_up, secs);
    cell(&samples, cpu, secs)
}

fn formats_seen(cell: &Cell) -> String {
    let seen: Vec<String> = cell.formats.iter().map(|(f, n)| format!("{f} {n}")).collect();
    format!("{}; {} switches", seen.join(", "), cell.switches)
}

/// The H.264 targets: `auto` (and, unless `quick`, a fixed `--wire jpeg` beside it) on
/// slow links. Returns what missed.
fn h264_targets(quick: bool) -> Vec<String> {
    let mut misses = Vec::new();
    println!("| frame | link | --wire | frames/s | latency p50 / p99 ms | target | formats seen |");
    println!("| --- | --- | --- | ---: | ---: | --- | --- |");
    let wires: &[&str] = if quick { &["auto"] } else { &["auto", "jpeg"] };
    // Through the router: the last 8 s of 20.
    for (size, mbit, min_fps, max_p99) in
        [("1280x720", 20.0, 29.0, 100.0), ("1920x1080", 20.0, 28.0, 120.0), ("640x480", 5.0, 28.0, 100.0)]
    {
        for wire in wires {
            let (samples, cpu) = run(size, mbit, wire, Hop::Router, Duration::from_secs(12), 8.0);
            let c = cell(&samples, cpu, 8.0);
            let target = format!(">= {min_fps:.0} fps, p99 < {max_p99:.0} ms");
            let met = c.fps >= min_fps && c.p99 < max_p99;
            println!(
                "| {size} | {mbit:.0} Mbit/s, router, last 8 s of 20 | {wire} | {:.1} | {:.1} / {:.1} | {} | {} |",
                c.fps,
                c.p50,
                c.p99,
                if *wire == "auto" { format!("{target}: {}", if met { "met" } else { "MISSED" }) } else { "-".into() },
                formats_seen(&c)
            );
            if *wire == "auto" && !met {
                misses.push(format!("{size} at {mbit:.0} Mbit/s: {:.1} fps, p99 {:.1} ms", c.fps, c.p99));
            }
        }
    }
    // Through a TCP-terminating proxy: every second after the first five of 60.
    for (size, mbit) in [("640x480", 50.0), ("1280x720", 20.0)] {
        for wire in wires {
            let (samples, cpu) = run(size, mbit, wire, Hop::Proxy, Duration::from_secs(5), 55.0);
            let c = cell(&samples, cpu, 55.0);
            let start = samples.first().map(|(at, ..)| *at).unwrap_or_else(Instant::now);
            let seconds: Vec<(usize, f64)> = (0..55)
                .map(|s| {
                    let window = start + Duration::from_secs(s)..start + Duration::from_secs(s + 1);
                    let l: Vec<f64> =
                        samples.iter().filter(|(at, ..)| window.contains(at)).map(|(_, ms, _)| *ms).collect();
                    (l.len(), percentile(&l, 99.0))
                })
                .collect();
            let worst = seconds.iter().map(|(n, _)| *n).min().unwrap_or(0);
            let worst_p99 = seconds.iter().map(|(_, p)| *p).fold(0.0, f64::max);
            let met = worst >= 28 && worst_p99 < 60.0;
            println!(
                "| {size} | {mbit:.0} Mbit/s, TCP proxy, 60 s | {wire} | {:.1} (worst second {worst}) | {:.1} / {:.1} (worst second {worst_p99:.1}) | {} | {} |",
                c.fps,
                c.p50,
                c.p99,
                if *wire == "auto" {
                    format!(">= 28 fps and p99 < 60 ms every second after the first 5: {}", if met { "met" } else { "MISSED" })
                } else {
                    "-".into()
                },
                formats_seen(&c)
            );
            if *wire == "auto" && !met {
                misses.push(format!(
                    "{size} through the TCP proxy at {mbit:.0} Mbit/s: worst second {worst} frames, p99 up to {worst_p99:.1} ms"
                ));
            }
        }
    }
    misses
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("wire bench: run `scripts/bench-wire` (or `cargo bench --bench wire`) for figures");
        return;
    }
    if std::env::args().any(|a| a == "--quick") {
        println!("H.264 targets for auto (the quick run):");
        let misses = h264_targets(true);
        if misses.is_empty() {
            println!("targets: met");
            return;
        }
        println!("targets missed: {}", misses.join("; "));
        std::process::exit(1);
    }
    let secs: f64 = std::env::var("PISTREAM_WIRE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    println!(
        "30 fps pattern camera emulating YUYV; throttling proxy, loss-free, 10 ms one-way delay; {secs} s measured per cell after a 4 s warm-up (12 s for auto)"
    );
    println!();
    println!("| frame | link Mbit/s | --wire | frames/s | latency p50 / p99 ms | camera CPU ms per delivered frame | formats seen (auto) |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | --- |");
    let mut misses = Vec::new();
    for (size, target_rate) in [("640x480", 50.0), ("1280x720", 100.0)] {
        for rate in [20.0, 50.0, 100.0, 300.0] {
            for wire in ["bgr", "native", "i420", "jpeg", "h264", "auto"] {
                let warm_up = Duration::from_secs(if wire == "auto" { 12 } else { 4 });
                let cell = measure(size, rate, wire, warm_up, secs);
                let formats = if wire == "auto" { formats_seen(&cell) } else { String::new() };
                println!(
                    "| {size} | {rate:.0} | {wire} | {:.1} | {:.1} / {:.1} | {:.2} | {formats} |",
                    cell.fps, cell.p50, cell.p99, cell.cpu_ms
                );
                if wire == "auto" && rate == target_rate && (cell.fps < 28.0 || cell.p99 >= 60.0) {
                    misses.push(format!(
                        "{size} auto at {rate:.0} Mbit/s: {:.1} fps, p99 {:.1} ms",
                        cell.fps, cell.p99
                    ));
                }
            }
        }
    }
    println!();
    println!("targets for auto: 640x480 at 50 Mbit/s and 1280x720 at 100 Mbit/s delivered at >= 28 fps with p99 < 60 ms");
    println!();
    println!("H.264 targets, auto beside a fixed --wire jpeg:");
    println!();
    misses.extend(h264_targets(false));
    println!();
    if misses.is_empty() {
        println!("targets: met");
    } else {
        println!("targets missed: {}", misses.join("; "));
    }
}
