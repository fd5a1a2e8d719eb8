//! Loopback throughput: pistream's real session code (mailbox -> header + payload `writev`
//! -> socket2-tuned TCP -> header check -> `read` into the shown buffer -> mailbox) against
//! a plain-socket baseline moving the same bytes per frame in a tight `write_all` /
//! `read_exact` loop, in the same run, at 640x480, 1280x720 and 1920x1080 BGR. Each case
//! runs both sides in alternating rounds and reports medians.
//!
//! Run with `cargo bench --bench loopback` (or `scripts/bench-loopback`, which also writes
//! BENCHMARKS.md). `PISTREAM_BENCH_SECS` sets the measured seconds per round (default 1).
//! The producer re-publishes one prefilled frame with a new sequence number, losslessly,
//! so the figures are the transport's, not the pattern generator's.
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use pistream::codec::h264::H264Settings;
use pistream::media::Mailbox;
use pistream::media::{Frame, Geometry};
use pistream::net::tune_connected;
use pistream::output::pistream::protocol::{Hello, Role, HEADER_LEN};
use pistream::output::pistream::session::{self, Control, H264Source, LocalSide, SendSide, Sides};
use pistream::pipeline::hub::{FramePool, Hub, ViewerKind};
use pistream::pipeline::stats::Stats;
use pistream::runtime::Shutdown;

const WARMUP: Duration = Duration::from_millis(300);
/// Alternating rounds per case; the median of each side is reported, which keeps the
/// ratio steady on a noisy shared machine.
const ROUNDS: usize = 5;

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

/// Frames per second received over `measure`, after a warm-up, given a counter that the
/// receiving side increments.
fn rate(counter: &AtomicU64, measure: Duration) -> f64 {
    thread::sleep(WARMUP);
    let (start, n0) = (Instant::now(), counter.load(Ordering::Relaxed));
    thread::sleep(measure);
    let (elapsed, n1) = (start.elapsed(), counter.load(Ordering::Relaxed));
    (n1 - n0) as f64 / elapsed.as_secs_f64()
}

fn pistream_fps(geometry: Geometry, measure: Duration) -> f64 {
    let (server, client) = pair();
    tune_connected(&server).unwrap();
    tune_connected(&client).unwrap();
    let hub = Hub::new(1, None);
    let display_box = Arc::new(Mailbox::new(Geometry::new(1, 1)));
    let camera_stop = Shutdown::new();
    let display_stop = Shutdown::new();
    let display_stats = Arc::new(Stats::default());

    let viewer =
        hub.join("display".into(), ViewerKind::Pistream, pistream::pipeline::hub::Needs::BGR).unwrap();
    let producer = {
        let (hub, stop) = (hub.clone(), camera_stop.clone());
        thread::spawn(move || {
            let mut pool = FramePool::new(geometry, hub.pool_limit());
            let mut seq = 0;
            while !stop.requested() {
                if !hub.wait_all_taken(Duration::from_millis(50)) {
                    continue;
                }
                let Some(i) = pool.free() else { continue };
                let frame = pool.frame_mut(i);
                frame.seq = seq;
                // What the capture stage sets once a frame holds its BGR picture; without
                // it the send loop skips the frame as having nothing to send.
                frame.has_bgr = true;
                hub.publish(&pool.share(i));
                seq += 1;
            }
        })
    };
    let camera = {
        let stop = camera_stop.clone();
        thread::spawn(move || {
            let ctl = Control::new(&stop, None);
            let plan = pistream::output::pistream::adapt::plan::SendPlan::new(
                pistream::output::pistream::adapt::WireChoice::Bgr,
                None,
                pistream::output::pistream::protocol::FormatSet::all(),
                geometry,
                0.0,
                0,
                0,
            )
            .unwrap();
            let h264 = H264Source { hub, settings: H264Settings::new(geometry, 30.0), native: None };
            let sides = Sides { send: Some(SendSide { viewer: &viewer, plan, h264 }), receive: None };
            let hello = Hello::sender(geometry, 0.0);
            session::run(
                &server,
                Role::Listening,
                &LocalSide::plain(hello),
                sides,
                &ctl,
                &Stats::default(),
                &mut |_| {},
            )
        })
    };
    let display = {
        let (mailbox, stop, stats) = (display_box.clone(), display_stop.clone(), display_stats.clone());
        thread::spawn(move || {
            let mut back = Frame::new(Geometry::new(1, 1));
            let ctl = Control::new(&stop, None);
            let sides = Sides { send: None, receive: Some((&*mailbox, &mut back)) };
            session::run(
                &client,
                Role::Connecting,
                &LocalSide::plain(Hello::receiver()),
                sides,
                &ctl,
                &stats,
                &mut |_| {},
            )
        })
    };
    let consumer_done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (mailbox, done) = (display_box.clone(), consumer_done.clone());
        thread::spawn(move || {
            let mut front = Frame::new(Geometry::new(1, 1));
            while !done.load(Ordering::Relaxed) {
                mailbox.take(&mut front, Duration::from_millis(10));
            }
        })
    };
    let fps = rate(&display_stats.received_frames, measure);
    camera_stop.request("benchmark done");
    camera.join().unwrap().expect("camera session");
    display.join().unwrap().expect("display session");
    producer.join().unwrap();
    consumer_done.store(true, Ordering::Relaxed);
    consumer.join().unwrap();
    fps
}

fn baseline_fps(geometry: Geometry, measure: Duration) -> f64 {
    let (mut server, mut client) = pair();
    let bytes_per_frame = HEADER_LEN + geometry.frame_len();
    let stop = Arc::new(AtomicBool::new(false));
    let frames = Arc::new(AtomicU64::new(0));
    let writer = {
        let stop = stop.clone();
        thread::spawn(move || {
            let buf = vec![7u8; bytes_per_frame];
            while !stop.load(Ordering::Relaxed) {
                if server.write_all(&buf).is_err() {
                    break;
                }
            }
        })
    };
    let reader = {
        let (stop, frames) = (stop.clone(), frames.clone());
        thread::spawn(move || {
            let mut buf = vec![0u8; bytes_per_frame];
            while !stop.load(Ordering::Relaxed) {
                if client.read_exact(&mut buf).is_err() {
                    break;
                }
                frames.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let fps = rate(&frames, measure);
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap(); // the reader's exit closes its socket, which ends the writer
    writer.join().unwrap();
    fps
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and wants a quick run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("PISTREAM_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let measure = Duration::from_secs_f64(if quick { 0.2 } else { secs });
    println!("| frame | pistream frames/s | pistream MB/s | baseline frames/s | baseline MB/s | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let mut worst: f64 = f64::INFINITY;
    for (w, h) in [(640, 480), (1280, 720), (1920, 1080)] {
        let geometry = Geometry::new(w, h);
        let mb = (HEADER_LEN + geometry.frame_len()) as f64 / 1e6;
        let (mut bases, mut ourses) = (Vec::new(), Vec::new());
        for _ in 0..if quick { 1 } else { ROUNDS } {
            bases.push(baseline_fps(geometry, measure));
            ourses.push(pistream_fps(geometry, measure));
        }
        let (base, ours) = (median(&mut bases), median(&mut ourses));
        // A harness that stopped driving the session measures nothing: fail loudly (the
        // quick run in scripts/test catches it) instead of reporting a ratio of 0.
        assert!(ours > 0.0 && base > 0.0, "{w}x{h}: no frames measured (pistream {ours}, baseline {base})");
        let ratio = ours / base;
        worst = worst.min(ratio);
        println!(
            "| {w}x{h} BGR | {ours:.0} | {:.0} | {base:.0} | {:.0} | {ratio:.2} |",
            ours * mb,
            base * mb
        );
    }
    println!();
    println!("lowest ratio pistream/baseline: {worst:.2} (target >= 0.90)");
}
