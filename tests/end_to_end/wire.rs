//! Wire formats through the real binary: every format a pattern camera can send, in every
//! capture format it emulates, verified on a display; `--wire auto` through the throttling
//! proxy as a link falls from 300 to 10 Mbit/s and recovers, and on a steady 50 Mbit/s link.

use std::time::{Duration, Instant};

use pistream::media::now_us;

use crate::support::latency_display::{percentile, LatencyDisplay};
use crate::support::slow_link::slow_link;
use crate::support::{frame_log_path, free_port, pattern_camera, read_frame_log, summary_counts, Proc, SECS};

const MBIT: f64 = 1e6 / 8.0;
/// One-way delay of the proxy link.
const DELAY: Duration = Duration::from_millis(10);

#[test]
fn every_wire_format_of_every_capture_format_arrives_verified() {
    let _machine = crate::support::shared();
    for capture in ["BGR3", "YUYV", "UYVY", "NV12", "I420", "MJPG"] {
        for wire in ["bgr", "native", "i420", "jpeg"] {
            let port = free_port();
            let mut args = vec!["--wire", wire, "--size", "320x240"];
            if capture != "BGR3" {
                args.extend(["--format", capture]);
            }
            let _cam = pattern_camera(port, &args);
            let target = format!("127.0.0.1:{port}");
            let mut disp = Proc::spawn(
                "display",
                &["display", "--connect", &target, "--sink", "null", "--verify", "--frames", "20"],
            );
            assert!(disp.wait_exit(30 * SECS).success(), "{capture} as {wire}: {}", disp.output());
            assert_eq!(summary_counts(&disp.output()), (20, 20, 0), "{capture} as {wire}");
        }
    }
}

/// The camera's switch lines: when, and to what.
fn switches(cam: &Proc) -> Vec<(Instant, String)> {
    cam.timed_lines("instead of")
        .into_iter()
        .map(|(at, line)| {
            (
                at,
                line.split("sending ")
                    .nth(1)
                    .unwrap_or("")
                    .split(" instead")
                    .next()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn auto_steps_down_when_the_link_falls_and_back_up_when_it_recovers() {
    let _machine = crate::support::exclusive();
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30", "--format", "YUYV"]);
    let link = slow_link(port, 300.0 * MBIT, DELAY);
    let target = format!("127.0.0.1:{}", link.port);
    let frame_log = frame_log_path("auto");
    let mut disp = Proc::spawn(
        "display",
        &[
            "display",
            "--connect",
            &target,
            "--sink",
            "null",
            "--verify",
            "--seconds",
            "40",
            "--frame-log",
            &frame_log,
        ],
    );
    disp.wait_for("streaming with", 10 * SECS);
    std::thread::sleep(10 * SECS);
    let (fell, fell_us) = (Instant::now(), now_us());
    link.set_rate(10.0 * MBIT);
    std::thread::sleep(15 * SECS);
    let (recovered, recovered_us) = (Instant::now(), now_us());
    link.set_rate(300.0 * MBIT);
    std::thread::sleep(13 * SECS);
    let seen = switches(&cam);
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    let shown = read_frame_log(&frame_log);
    // Each frame's latency and wire format, by when it was shown, in exact one-second windows
    // on the clock the frames are stamped with.
    let end_us = shown.last().map_or(recovered_us, |f| f.shown_us + 1);
    let windows = |from_us: u64, to_us: u64| -> Vec<(f64, f64)> {
        (0..)
            .map(|k| from_us + k * 1_000_000)
            .take_while(|start| start + 1_000_000 <= to_us)
            .map(|start| {
                let latencies: Vec<f64> = shown
                    .iter()
                    .filter(|f| (start..start + 1_000_000).contains(&f.shown_us))
                    .map(|f| f.latency_us as f64 / 1000.0)
                    .collect();
                ((start as f64 - fell_us as f64) / 1e6, percentile(&latencies, 99.0))
            })
            .collect()
    };
    let p99 = windows(shown.first().map_or(fell_us, |f| f.shown_us), end_us);
    eprintln!(
        "switches: {:?}",
        seen.iter().map(|(at, to)| (at.duration_since(fell).as_secs_f64(), to)).collect::<Vec<_>>()
    );
    eprintln!("p99 per second (from s after the fall, ms): {p99:.0?}");
    // Down within 2 s of the fall...
    let down = seen.iter().find(|(at, _)| *at > fell).expect("a step down");
    assert!(down.0 - fell <= 2 * SECS, "stepped down {:?} after the fall", down.0 - fell);
    // ...back to raw or native within 10 s of the recovery.
    let up = seen.iter().find(|(at, to)| *at > recovered && (to == "BGR3" || to == "YUYV"));
    let up = up.unwrap_or_else(|| panic!("back to raw or native after the recovery: {seen:?}"));
    // Probes come every 7 s after the step down (0.3 s after the fall), so the first after the
    // recovery is due 6.3 s after it, whatever the machine does; measured back up 6.9 s after
    // the recovery, quiet and beside a busy core. A probe that fails (a link starved of CPU:
    // the proxy is a thread of this test) waits 7 s more, which is why this test has the
    // machine to itself.
    assert!(up.0 - recovered <= 10 * SECS, "back up {:?} after the recovery", up.0 - recovered);
    // The display shows frames in a smaller format while the link is slow, raw or native
    // again at the end: the format of the last frame of each second (as the stats line names
    // it; a single probe frame of a richer format may come between).
    let shown_as = |from_us: u64, to_us: u64| -> Vec<&str> {
        (0..)
            .map(|k| from_us + k * 1_000_000)
            .take_while(|start| *start < to_us)
            .filter_map(|start| {
                let end = (start + 1_000_000).min(to_us);
                shown.iter().rev().find(|f| (start..end).contains(&f.shown_us)).map(|f| f.wire.as_str())
            })
            .collect()
    };
    let while_slow = shown_as(fell_us + 3_000_000, recovered_us);
    assert!(
        !while_slow.is_empty() && while_slow.iter().all(|f| *f != "BGR3" && *f != "YUYV"),
        "formats shown while the link was slow: {while_slow:?}"
    );
    let at_end = shown_as(recovered_us + 11_000_000, end_us);
    assert!(at_end.iter().any(|f| *f == "BGR3" || *f == "YUYV"), "formats shown at the end: {at_end:?}");
    // No frame over 1 s at the switches, and p99 under 250 ms in every second from 2 s after
    // each change.
    // (A second without frames has no p99: there is nothing to judge in it.)
    for (at, p) in p99.iter().filter(|(_, p)| !p.is_nan()) {
        assert!(*p < 1000.0, "a frame took {p} ms (in the second from {at:.1} s after the fall)");
    }
    let settled = [windows(fell_us + 2_000_000, recovered_us), windows(recovered_us + 2_000_000, end_us)];
    for (at, p) in settled.iter().flatten().filter(|(_, p)| !p.is_nan()) {
        assert!(*p < 250.0, "p99 {p} ms in the second from {at:.1} s after the fall");
    }
}

#[test]
fn auto_on_a_steady_50_mbit_link_delivers_28_fps_with_p99_under_60_ms_and_rarely_switches() {
    let _machine = crate::support::exclusive();
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30", "--format", "YUYV"]);
    let link = slow_link(port, 50.0 * MBIT, DELAY);
    let display = LatencyDisplay::connect(&format!("127.0.0.1:{}", link.port));
    std::thread::sleep(10 * SECS);
    let steady = Instant::now();
    std::thread::sleep(30 * SECS);
    let samples: Vec<_> = display.stop().into_iter().filter(|(at, ..)| *at > steady).collect();
    let later: Vec<_> = switches(&cam).into_iter().filter(|(at, _)| *at > steady).collect();
    let latencies: Vec<f64> = samples.iter().map(|(_, ms, _)| *ms).collect();
    let fps = samples.len() as f64 / 30.0;
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    eprintln!("steady 50 Mbit/s, 30 s after the first 10: {fps:.1} fps, latency p50 {p50:.1} ms p99 {p99:.1} ms, switches {later:?}");
    let late: Vec<_> = samples
        .iter()
        .filter(|(_, ms, _)| *ms >= 60.0)
        .map(|(at, ms, wire)| (format!("{:.2}", at.duration_since(steady).as_secs_f64()), *ms as u32, *wire))
        .collect();
    eprintln!("frames over 60 ms: {late:?}");
    assert!(later.len() <= 2, "{} switches in 30 s: {later:?}", later.len());
    // Measured 29.8 fps and p99 28 ms beside a busy core (the machine otherwise to itself).
    assert!(fps >= 28.0, "{fps:.1} fps");
    assert!(p99 < 60.0, "p99 {p99:.1} ms");
}

/// Through a TCP-terminating proxy (it reads eagerly into ordinary socket buffers and its
/// own 512 KiB, acknowledging at its own speed, then forwards at the link's rate with 10 ms
/// delay), the default `--wire auto`, 60 s: every second after the first five shows at least
/// 28 frames with p99 under 60 ms, and after those five seconds no switch goes to a format
/// the link cannot carry. At 640x480 and 50 Mbit/s (1280x720 at 20 Mbit/s, which needs
/// H.264 at 720p, runs in the release build: `benches/wire.rs`).
#[test]
fn auto_behind_a_tcp_terminating_proxy_holds_28_fps_every_second_and_never_overshoots() {
    let _machine = crate::support::exclusive();
    // (size, Mbit/s, the formats that fit the link at that size)
    for (size, mbit, fits) in [("640x480", 50.0, &["JPEG", "H264"][..])] {
        let port = free_port();
        let cam = pattern_camera(port, &["--fps", "30", "--format", "YUYV", "--size", size]);
        let link = crate::support::slow_link::slow_proxy(port, mbit * MBIT, DELAY);
        let display = LatencyDisplay::connect(&format!("127.0.0.1:{}", link.port));
        let start = Instant::now();
        std::thread::sleep(60 * SECS);
        let samples = display.stop();
        let seconds: Vec<(u64, usize, f64)> = (5..60)
            .map(|s| {
                let window = start + s * SECS..start + (s + 1) * SECS;
                let latencies: Vec<f64> =
                    samples.iter().filter(|(at, ..)| window.contains(at)).map(|(_, ms, _)| *ms).collect();
                (u64::from(s), latencies.len(), percentile(&latencies, 99.0))
            })
            .collect();
        let late: Vec<(f64, String)> = switches(&cam)
            .into_iter()
            .filter(|(at, _)| *at > start + 5 * SECS)
            .map(|(at, to)| (at.duration_since(start).as_secs_f64(), to))
            .collect();
        eprintln!(
            "{size} through a TCP proxy at {mbit} Mbit/s: switches after 5 s {late:?}; worst second {:?}",
            seconds.iter().min_by(|a, b| (a.1 as f64 - a.2).total_cmp(&(b.1 as f64 - b.2)))
        );
        for (s, frames, p99) in &seconds {
            assert!(
                *frames >= 28 && *p99 < 60.0,
                "{size}: second {s}: {frames} frames, p99 {p99:.1} ms; {late:?}"
            );
        }
        for (at, to) in &late {
            assert!(fits.iter().any(|f| to.starts_with(f)), "{size}: switched to {to} at {at:.1} s");
        }
    }
}
