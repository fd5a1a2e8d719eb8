//! The two pipeline stages an endpoint runs besides the network: the capture thread
//! (source -> capture mailbox) and the display loop (display mailbox -> sink, on the main
//! thread, with `--verify` and the `--frames/--seconds` bounds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{Camera, PLACEHOLDER};
use crate::config::{Limits, ShowConfig};
use crate::error::AppError;
use crate::frame::{now_us, Frame, Geometry};
use crate::mailbox::Mailbox;
use crate::shutdown::Shutdown;
use crate::sink::{self, SinkControl};
use crate::source::pattern::PatternVerifier;
use crate::stats::Stats;

/// Fills the capture mailbox while a session streams.
pub(super) fn spawn_capture(
    camera: Camera,
    streaming: Arc<AtomicBool>,
    stats: Arc<Stats>,
    shutdown: Arc<Shutdown>,
) -> thread::JoinHandle<Result<(), AppError>> {
    thread::Builder::new()
        .name("capture".into())
        .spawn(move || {
            let Camera { mut source, mailbox, .. } = camera;
            let mut back = Frame::new(source.geometry());
            let continuous = source.read_continuously();
            let paced_by_consumer = source.paced_by_consumer();
            while !shutdown.requested() {
                let streaming = streaming.load(Ordering::Relaxed);
                if !streaming && !continuous {
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
                if paced_by_consumer && !mailbox.wait_taken(Duration::from_millis(100)) {
                    continue;
                }
                match source.next_frame(&mut back) {
                    Ok(true) if streaming => {
                        Stats::add(&stats.captured, 1);
                        mailbox.publish(&mut back);
                    }
                    Ok(true) => {} // nobody watches: read only to keep the stream fresh
                    Ok(false) => {}
                    Err(e) => {
                        shutdown.request(format!("capture failed: {e}"));
                        return Err(AppError::Source(e));
                    }
                }
            }
            Ok(())
        })
        .expect("spawning the capture thread")
}

/// Shows frames from the display mailbox until shutdown; verifies them if asked.
pub(super) fn display_loop(
    show: &ShowConfig,
    limits: &Limits,
    display_box: &Mailbox,
    peer_name: &Mutex<String>,
    stats: &Stats,
    shutdown: &Shutdown,
) -> Result<(), AppError> {
    let mut sink = sink::open(&show.sink)?;
    let mut front = Frame::new(PLACEHOLDER);
    let mut verifier = PatternVerifier::new();
    let mut started: Option<(Geometry, String)> = None;
    let start = Instant::now();
    let mut reported_corrupt = 0;
    while !shutdown.requested() {
        if display_box.take(&mut front, Duration::from_millis(10)) {
            let peer = peer_name.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if started.as_ref().is_none_or(|(g, p)| *g != front.geometry || *p != peer) {
                sink.start(front.geometry, &peer)?;
                started = Some((front.geometry, peer));
            }
            if show.verify {
                if verifier.check(&front) {
                    Stats::add(&stats.verified, 1);
                } else {
                    Stats::add(&stats.corrupt, 1);
                    reported_corrupt += 1;
                    if reported_corrupt <= 5 {
                        log::warn!("frame {} does not match the test pattern", front.seq);
                    }
                }
            }
            sink.show(&front)?;
            Stats::add(&stats.shown, 1);
            stats.record_latency(now_us().saturating_sub(front.captured_us));
            if limits.frames.is_some_and(|n| Stats::get(&stats.shown) >= n) {
                shutdown.request(format!("showed {} frames", Stats::get(&stats.shown)));
            }
        }
        if sink.poll(Duration::from_millis(1))? == SinkControl::Quit {
            shutdown.request("window closed");
        }
        if limits.seconds.is_some_and(|s| start.elapsed().as_secs_f64() >= s) {
            shutdown.request(format!("ran {} s", limits.seconds.unwrap_or_default()));
        }
    }
    Ok(())
}
