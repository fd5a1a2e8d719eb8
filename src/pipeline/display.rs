//! The display stage, on the main thread (OpenCV's highgui wants it): takes the newest
//! received frame from the display mailbox and shows it in the sink, with `--verify` and
//! the `--frames/--seconds` bounds. Also [`PeerName`], whose changes retitle the window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::stats::Stats;
use crate::media::{now_us, Frame, Geometry, Mailbox};
use crate::runtime::{Limits, Shutdown};
use crate::sink::frame_log::FrameLog;
use crate::sink::verify::FrameVerifier;
use crate::sink::{self, SinkControl, SinkError, SinkSpec};

/// The showing half of an endpoint: where received frames go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShowConfig {
    pub sink: SinkSpec,
    /// Check every frame against the test pattern.
    pub verify: bool,
    /// `--frame-log PATH`: one line per shown frame (`sink::frame_log`).
    pub frame_log: Option<String>,
}

/// Geometry of the display mailbox before the first frame; replaced by the first frames.
pub const PLACEHOLDER: Geometry = Geometry::new(1, 1);

/// The peer whose frames are shown (its name, and how it captures them), and a change
/// counter, so the display loop notices a new peer with one atomic load per frame instead
/// of copying the name.
#[derive(Default)]
pub struct PeerName {
    generation: AtomicU64,
    name: Mutex<(String, [u8; 4])>,
}

impl PeerName {
    pub fn set(&self, name: String, capture: [u8; 4]) {
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = (name, capture);
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn get(&self) -> (String, [u8; 4]) {
        self.name.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Shows frames from the display mailbox until shutdown; verifies them if asked.
pub fn run(
    show: &ShowConfig,
    limits: &Limits,
    display_box: &Mailbox,
    peer: &PeerName,
    stats: &Stats,
    shutdown: &Shutdown,
) -> Result<(), SinkError> {
    let mut sink = sink::open(&show.sink)?;
    let mut frame_log = show.frame_log.as_deref().map(FrameLog::create).transpose().map_err(SinkError)?;
    let mut front = Frame::new(PLACEHOLDER);
    let mut verifier: Option<FrameVerifier> = None;
    let mut capture = *b"BGR3";
    // The geometry and peer generation the sink was last started for.
    let mut started: Option<(Geometry, u64)> = None;
    let start = Instant::now();
    let mut reported_corrupt = 0;
    while !shutdown.requested() {
        if display_box.take(&mut front, Duration::from_millis(10)) {
            let generation = peer.generation();
            if started != Some((front.geometry, generation)) {
                let (name, captured_as) = peer.get();
                sink.start(front.geometry, &name)?;
                capture = captured_as;
                started = Some((front.geometry, generation));
            }
            if show.verify {
                let current = verifier.take();
                let checker = verifier.insert(FrameVerifier::for_frame(current, &front, capture));
                let verdict = checker.check(&front);
                if verdict.passed() {
                    Stats::add(&stats.verified, 1);
                } else {
                    Stats::add(&stats.corrupt, 1);
                    reported_corrupt += 1;
                    if reported_corrupt <= 5 {
                        log::warn!(
                            "frame {} ({}) does not match the test pattern: {verdict:?}",
                            front.seq,
                            front.arrived_as
                        );
                    }
                }
            }
            sink.show(&front)?;
            let shown_us = now_us();
            Stats::add(&stats.shown, 1);
            stats.record_latency(shown_us.saturating_sub(front.captured_us));
            if let Some(frame_log) = frame_log.as_mut() {
                frame_log.record(&front, shown_us);
            }
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
