//! Wire formats through the real binary: every format a pattern camera can send, in every
//! capture format it emulates, verified on a display; `--wire auto` through the throttling
//! proxy as a link falls from 300 to 30 Mbit/s and recovers, and on a steady 50 Mbit/s link.

use std::time::{Duration, Instant};

use crate::latency_display::{percentile, LatencyDisplay};
use crate::throttle::slow_link;
use crate::util::{free_port, heavy, pattern_camera, summary_counts, Proc, SECS};

const MBIT: f64 = 1e6 / 8.0;
/// One-way delay of the proxy link.
const DELAY: Duration = Duration::from_millis(10);

#[test]
fn every_wire_format_of_every_capture_format_arrives_verified() {
    let _serial = heavy();
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

/// The display's per-second stats lines: when each came, and its latency p99 (ms).
fn p99s(disp: &Proc) -> Vec<(Instant, f64)> {
    disp.timed_lines("stats:")
        .into_iter()
        .filter_map(|(at, line)| Some((at, line.split("p99 ").nth(1)?.split(' ').next()?.parse().ok()?)))
        .collect()
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
    let _serial = heavy();
    let port = free_port();
    let cam = pattern_camera(port, &["--fps", "30", "--format", "YUYV"]);
    let link = slow_link(port, 300.0 * MBIT, DELAY);
    let target = format!("127.0.0.1:{}", link.port);
    let disp = Proc::spawn(
        "display",
        &["display", "--connect", &target, "--sink", "null", "--verify", "--seconds", "40"],
    );
    disp.wait_for("streaming with", 10 * SECS);
    std::thread::sleep(10 * SECS);
    let fell = Instant::now();
    link.set_rate(30.0 * MBIT);
    std::thread::sleep(15 * SECS);
    let recovered = Instant::now();
    link.set_rate(300.0 * MBIT);
    std::thread::sleep(13 * SECS);
    let seen = switches(&cam);
    let p99 = p99s(&disp);
    eprintln!(
        "switches: {:?}",
        seen.iter().map(|(at, to)| (at.duration_since(fell).as_secs_f64(), to)).collect::<Vec<_>>()
    );
    eprintln!(
        "p99 per second: {:?}",
        p99.iter().map(|(at, p)| (at.duration_since(fell).as_secs_f64() as i64, *p)).collect::<Vec<_>>()
    );
    // Down within 2 s of the fall...
    let down = seen.iter().find(|(at, _)| *at > fell).expect("a step down");
    assert!(down.0 - fell <= 2 * SECS, "stepped down {:?} after the fall", down.0 - fell);
    // ...back to raw or native within 10 s of the recovery.
    let up = seen.iter().find(|(at, to)| *at > recovered && (to == "BGR3" || to == "YUYV"));
    let up = up.unwrap_or_else(|| panic!("back to raw or native after the recovery: {seen:?}"));
    assert!(up.0 - recovered <= 10 * SECS, "back up {:?} after the recovery", up.0 - recovered);
    // The display's stats line names the format frames arrive in: a smaller one while the
    // link is slow, raw or native again at the end.
    let shown_as = |from: Instant, to: Instant| -> Vec<String> {
        disp.timed_lines("stats:")
            .into_iter()
            .filter(|(at, _)| *at > from && *at < to)
            .filter_map(|(_, line)| Some(line.split(" Mbit/s as ").nth(1)?.split(')').next()?.to_string()))
            .collect()
    };
    let while_slow = shown_as(fell + 3 * SECS, recovered);
    assert!(
        !while_slow.is_empty() && while_slow.iter().all(|f| f != "BGR3" && f != "YUYV"),
        "formats shown while the link was slow: {while_slow:?}"
    );
    let at_end = shown_as(recovered + 11 * SECS, Instant::now() + SECS);
    assert!(at_end.iter().any(|f| f == "BGR3" || f == "YUYV"), "formats shown at the end: {at_end:?}");
    // No frame over 1 s at the switches, and p99 under 250 ms from 2 s after each change.
    for (at, p) in &p99 {
        assert!(*p < 1000.0, "a frame took {p} ms ({:?} after the fall)", at.checked_duration_since(fell));
        let settled = |change: Instant| *at > change + 3 * SECS;
        if (settled(fell) && *at < recovered) || settled(recovered) {
            assert!(*p < 250.0, "p99 {p} ms {:?} after the fall", at.duration_since(fell));
        }
    }
    drop(disp);
}

#[test]
fn auto_on_a_steady_50_mbit_link_delivers_28_fps_with_p99_under_60_ms_and_rarely_switches() {
    let _serial = heavy();
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
    assert!(fps >= 28.0, "{fps:.1} fps");
    assert!(p99 < 60.0, "p99 {p99:.1} ms");
}
