//! What the two loops of one session share: the run's stop flag, whether the session is
//! over (whichever loop ends first says so, and the other follows within a poll interval),
//! the session's [`Rules`], the camera's `--frames` bound, and the [`Feedback`] between a
//! receiver and its sender (what arrived, for reports; reports and keyframe requests that
//! came in, for the send loop).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::rules::Rules;
use crate::media::now_us;
use crate::output::pistream::protocol::Report;
use crate::runtime::Shutdown;

/// What one loop tells the other about the peer's video and this side's.
#[derive(Default)]
pub struct Feedback {
    /// Receiving: frame bytes (as on the wire) and frames so far.
    received_bytes: AtomicU64,
    received_frames: AtomicU64,
    /// Receiving: the largest sample since the last report, packed `bytes << 32 | µs`
    /// (see [`Report::sample_bytes`]).
    sample: AtomicU64,
    /// Sending: the peer asked for a keyframe.
    keyframe_requested: AtomicBool,
    /// Sending: the peer's latest report, not yet taken.
    report: Mutex<Option<Report>>,
}

impl Feedback {
    /// The receive loop read a frame of `bytes` (on the wire), of which `tail` arrived after
    /// its header was read, in `micros`.
    pub fn frame_received(&self, bytes: usize, tail: usize, micros: u64) {
        self.received_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.received_frames.fetch_add(1, Ordering::Relaxed);
        let tail = (tail as u64).min(u64::from(u32::MAX));
        let packed = tail << 32 | micros.min(u64::from(u32::MAX));
        self.sample.fetch_max(packed, Ordering::Relaxed);
    }

    /// The report to send now (and a fresh start for the next one's sample).
    pub fn report(&self) -> Report {
        let sample = self.sample.swap(0, Ordering::Relaxed);
        Report {
            at_us: now_us(),
            bytes: self.received_bytes.load(Ordering::Relaxed),
            frames: self.received_frames.load(Ordering::Relaxed) as u32,
            sample_bytes: (sample >> 32) as u32,
            sample_us: sample as u32,
        }
    }

    /// The peer asked for a keyframe.
    pub fn keyframe_requested(&self) {
        self.keyframe_requested.store(true, Ordering::Relaxed);
    }

    /// Whether the peer asked for a keyframe since the last call.
    pub fn take_keyframe_request(&self) -> bool {
        self.keyframe_requested.swap(false, Ordering::Relaxed)
    }

    /// A report came from the peer.
    pub fn reported(&self, report: Report) {
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    }

    /// The peer's latest report, if one came since the last call.
    pub fn take_report(&self) -> Option<Report> {
        self.report.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// State the two loops of one session share.
pub struct Control<'a> {
    pub shutdown: &'a Shutdown,
    /// Set by whichever loop ends first.
    over: AtomicBool,
    rules: Mutex<Rules>,
    /// Stop the whole process once this many frames were sent (`--frames` on a camera).
    pub send_limit: Option<u64>,
    pub feedback: Feedback,
}

impl<'a> Control<'a> {
    pub fn new(shutdown: &'a Shutdown, send_limit: Option<u64>) -> Self {
        Control {
            shutdown,
            over: AtomicBool::new(false),
            rules: Mutex::new(Rules::new(Instant::now())),
            send_limit,
            feedback: Feedback::default(),
        }
    }

    pub fn end(&self) {
        self.over.store(true, Ordering::SeqCst);
    }

    pub fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    /// The session's rules, to report to and ask.
    pub fn rules(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run's shutdown reason, once it stops.
    pub fn stopping(&self) -> Option<String> {
        self.shutdown.requested().then(|| self.shutdown.reason().unwrap_or_else(|| "stopped".into()))
    }
}
