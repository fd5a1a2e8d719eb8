//! A link that carries only ~10 frames/s of a 30 fps 640x480 stream. pistream keeps the
//! shown frame fresh (newest-wins mailbox, small kernel backlog) and its memory flat,
//! counting the drops; a queue-everything sender (what naive socket scripts do) through
//! the same link and into the same display shows latency growing without bound, so the
//! measurement can tell the two apart.

use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use pistream::media::PixelFormat;
use pistream::media::{now_us, Geometry};
use pistream::output::pistream::protocol::{encode_frame_header, encode_hello, Hello};
use pistream::source::pattern;

use crate::support::slow_link::slow_link;
use crate::support::{free_port, summary_counts, Proc, SECS};

const FRAME: usize = 640 * 480 * 3;
/// ~10 frames/s of 640x480 BGR.
const RATE: f64 = 10.0 * (FRAME + 24) as f64;
const LINK_DELAY: Duration = Duration::from_millis(10);
/// 3 frame times of the 30 fps stream + one frame's transmission at the link rate + the
/// link's own delay.
fn latency_bound_ms() -> f64 {
    3.0 * 1000.0 / 30.0 + 1000.0 * (FRAME + 24) as f64 / RATE + LINK_DELAY.as_secs_f64() * 1000.0
}

fn latency_p99_ms(output: &str) -> f64 {
    let line = output.lines().find(|l| l.contains("summary:")).expect("summary line");
    let at = line.find("p99 ").unwrap_or_else(|| panic!("no p99 in {line}")) + 4;
    line[at..].split_whitespace().next().unwrap().parse().unwrap()
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// What naive scripts do: capture every frame at 30 fps into an unbounded queue, and a
/// sender that writes each one in order with blocking writes on a default socket.
fn queue_everything_camera(port: u16, run_for: Duration) -> thread::JoinHandle<usize> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let g = Geometry::new(640, 480);
        stream.write_all(&encode_hello(&Hello::sender(g, 30.0), now_us())).unwrap();
        let (tx, rx) = mpsc::channel::<(u64, u64, Vec<u8>)>();
        let sender = thread::spawn(move || {
            for (seq, captured, data) in rx {
                let header = encode_frame_header(seq, captured, PixelFormat::Bgr24, data.len());
                if stream.write_all(&header).and_then(|_| stream.write_all(&data)).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let mut seq = 0;
        while start.elapsed() < run_for {
            let mut data = vec![0u8; FRAME];
            pattern::fill(&mut data, g, seq);
            if tx.send((seq, now_us(), data)).is_err() {
                break;
            }
            seq += 1;
            thread::sleep(Duration::from_millis(33));
        }
        drop(tx);
        let _ = sender.join();
        seq as usize
    })
}

#[test]
fn a_slow_link_keeps_frames_fresh_where_queueing_everything_falls_behind() {
    let _machine = crate::support::exclusive();
    let bound = latency_bound_ms();

    // pistream camera -> slow link -> pistream display.
    let cam_port = free_port();
    let listen = format!("127.0.0.1:{cam_port}");
    let cam = Proc::spawn(
        "camera",
        &["camera", "--listen", &listen, "--source", "pattern", "--fps", "30", "--wire", "bgr"],
    );
    cam.wait_for("listening on", 10 * SECS);
    let link = slow_link(cam_port, RATE, LINK_DELAY);
    let target = format!("127.0.0.1:{}", link.port);
    let mut disp = Proc::spawn(
        "display",
        &["display", "--connect", &target, "--sink", "null", "--verify", "--seconds", "8"],
    );
    disp.wait_for("receiving 640x480", 10 * SECS);
    thread::sleep(Duration::from_secs(2));
    let rss_start = rss_kib(cam.pid());
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    let rss_end = rss_kib(cam.pid());
    let output = disp.output();
    let (shown, verified, corrupt) = summary_counts(&output);
    let p99 = latency_p99_ms(&output);
    // One more stats line from the camera, counting drops up to the display's end.
    let stats_lines = cam.output().lines().filter(|l| l.contains("dropped viewers")).count();
    cam.wait_for_nth("dropped viewers", stats_lines, 5 * SECS);
    let camera_output = cam.output();
    let camera_drops: u64 = camera_output
        .lines()
        .rev()
        .find(|l| l.contains("dropped viewers"))
        .unwrap_or_default()
        .rsplit("viewers ")
        .next()
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    eprintln!("pistream over the slow link: {shown} shown in 8 s, p99 {p99} ms (bound {bound:.0} ms), camera dropped {camera_drops}, RSS {rss_start} -> {rss_end} KiB");
    assert_eq!((verified, corrupt), (shown, 0));
    assert!((40..=110).contains(&shown), "the link carries ~10 frames/s: {shown} in 8 s");
    // The bound is the physics of the link (see latency_bound_ms), not a margin: measured
    // p99 171-177 ms, quiet and beside a busy core, all of it the frame's 100 ms on the wire
    // plus at most a frame time in the slot and the kernel's small backlog. It holds only
    // with the machine to itself (util::exclusive): the container run's 3664 ms came from
    // an unpaced 1080p test running beside this one.
    assert!(p99 < bound, "pistream latency p99 {p99} ms over the bound {bound:.0} ms");
    assert!(camera_drops > 50, "frames the link could not carry are dropped and counted: {camera_drops}");
    assert!(rss_end < rss_start + 8 * 1024, "camera memory grew from {rss_start} to {rss_end} KiB");
    drop(link);

    // The same link with a sender that queues everything.
    let naive_port = free_port();
    let naive = queue_everything_camera(naive_port, Duration::from_secs(8));
    let link = slow_link(naive_port, RATE, LINK_DELAY);
    let target = format!("127.0.0.1:{}", link.port);
    let mut disp = Proc::spawn(
        "display-naive",
        &["display", "--connect", &target, "--sink", "null", "--verify", "--seconds", "8"],
    );
    assert!(disp.wait_exit(30 * SECS).success(), "{}", disp.output());
    let naive_p99 = latency_p99_ms(&disp.output());
    let captured = naive.join().unwrap();
    eprintln!("queue-everything over the same link: p99 {naive_p99} ms after {captured} frames queued");
    assert!(naive_p99 > 4.0 * bound, "queueing everything should fall behind: p99 {naive_p99} ms");
}
