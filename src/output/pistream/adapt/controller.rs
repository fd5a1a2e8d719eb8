//! `--wire auto`: the decisions, without I/O. Fed each viewer's counters every [`TICK`],
//! the receiver's reports (through [`LinkEstimate`]) and the probes' outcomes, it says when
//! to step down the ladder (`super::ladder::ladder`), when to probe, and when to step back
//! up.
//!
//! - **Start** at the best level that needs at most [`START_RATE`] (a quarter of a gigabit
//!   LAN): raw BGR up to 640x480, JPEG above, so a large frame on a slow link does not
//!   begin with seconds-long raw frames.
//! - **Down:** the path is congested when, over the last two seconds, more than one in 20
//!   frames offered to this viewer were replaced in its slot before it could send them,
//!   or its H.264 units pile up waiting ([`BACKLOG_LIMIT`]), or the receiver's reports
//!   show frames waiting on the way ([`LinkEstimate::queue_delay`] over
//!   [`QUEUE_LIMIT`]: in a TCP proxy's buffers, say, which the sender's own socket cannot
//!   see). The rate the path carries is then the lesser of what the receiver reports
//!   arriving and what the next hop acknowledged; the controller jumps straight to the
//!   best level whose need fits in 85 % of it (for H.264: the bitrate), so a fall from 300
//!   to 10 Mbit/s takes one step, not four.
//! - **Up:** a path with room shows nothing (the flow is application-limited), so the
//!   receiver times how fast the tail of each large frame arrives (a capacity sample: the
//!   path's rate, behind every hop). Every [`PROBE_INTERVAL`] (after [`SETTLE`] without
//!   trouble) the controller looks for a better level whose need fits in 75 % of the
//!   samples' median: between H.264 bitrates and from H.264 to JPEG it switches; to a raw
//!   level (frames ten times larger) it first sends one probe frame of that level on an
//!   idle link, and switches only if the probe's own sample says the level fits. Without
//!   samples (small frames) it tries the next H.264 bitrate, or probes the next level. A
//!   probe that fails, or a step up that congests the path within [`SETTLE`], doubles the
//!   wait before the next (up to [`MAX_PROBE_WAIT`]), so a link that stays at 50 Mbit/s
//!   is not probed into a format it cannot carry over and over.
//!
//! Expected rates come from the frame sizes seen at each level (smoothed), starting from
//! the raw sizes and a JPEG estimate; an H.264 level needs four times its bitrate, so that
//! a keyframe (several P frames' worth) passes in a frame interval or two.

use std::time::Duration;

use super::link::{sample_rate, LinkEstimate};
use crate::media::{Geometry, PixelFormat};
use crate::output::pistream::protocol::Report;
use crate::pipeline::hub::Delivery;

/// How often the send loop reports.
pub const TICK: Duration = Duration::from_millis(250);
/// The window dropped frames are judged over (ticks).
const WINDOW: usize = 8;
/// After a switch down, how long before the next decision (queues of the old level drain).
pub const SETTLE: Duration = Duration::from_secs(2);
/// After a switch up, how soon congestion counts against it.
const UP_SETTLE: Duration = Duration::from_millis(500);
/// The first wait between looks for a better level, and the longest after failures.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(7);
pub const MAX_PROBE_WAIT: Duration = Duration::from_secs(56);
/// Between one H.264 bitrate step up and the next, without capacity samples.
const H264_STEP_INTERVAL: Duration = Duration::from_secs(2);
/// A probe whose report has not come by then failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Share of offered frames dropped in a window that means the link cannot carry them.
const DROP_LIMIT: f64 = 0.05;
/// H.264 units waiting to be sent, two ticks running, that mean the link cannot carry them.
pub const BACKLOG_LIMIT: u64 = 4;
/// Frames waiting on the way (beyond the path's own delay) this long mean a queue.
pub const QUEUE_LIMIT: Duration = Duration::from_millis(80);
/// Fit a level into this share of the measured rate when stepping down...
const DOWN_HEADROOM: f64 = 0.85;
/// ...and into this share of the capacity samples when stepping up.
const UP_HEADROOM: f64 = 0.75;
/// The most a starting level may need, bytes per second (250 Mbit/s).
pub const START_RATE: f64 = 250e6 / 8.0;
/// What an H.264 level needs of the link, as a multiple of its bitrate: a keyframe is
/// several P frames' worth of bytes (six, on the test pattern at the default bitrate), and
/// it must pass in a frame interval or two, not queue the frames behind it: at a quarter of
/// the link a keyframe of six P frames takes one and a half.
const H264_LINK_SHARE: f64 = 4.0;

/// Cumulative counters of one viewer, as the send loop sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Time since the session began.
    pub at: Duration,
    /// Frames offered to the viewer (taken + dropped).
    pub offered: u64,
    pub dropped: u64,
    /// Bytes the next hop acknowledged (`TCP_INFO`).
    pub bytes: u64,
    /// H.264 units waiting to be sent now.
    pub backlog: u64,
}

/// What the send loop should do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    Stay,
    /// Switch to this level; the link carries about `mbit` Mbit/s.
    Switch {
        to: Delivery,
        mbit: f64,
    },
    /// Send the next frame at this level on an idle link and say when it went
    /// ([`Adapt::probe_sent`]).
    Probe(Delivery),
}

/// A probe asked for, or sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Probe {
    Asked(usize),
    /// Level, the sender's frame count with it, and when it went.
    Sent(usize, u64, Duration),
}

/// The `auto` controller of one viewer.
#[derive(Debug)]
pub struct Adapt {
    ladder: Vec<Delivery>,
    level: usize,
    fps: f64,
    /// Smoothed bytes per frame seen at each level.
    frame_bytes: Vec<f64>,
    window: [Counters; WINDOW + 1],
    ticks: usize,
    last_switch: Duration,
    /// The last switch was up (so congestion soon after it counts against stepping up).
    last_was_up: bool,
    next_look: Duration,
    probe_wait: Duration,
    probe: Option<Probe>,
    backlogged_ticks: u32,
    link: LinkEstimate,
}

impl Adapt {
    /// A controller for frames of `geometry` at `fps` frames per second, starting at the
    /// best level of `ladder` that needs at most [`START_RATE`].
    pub fn new(ladder: Vec<Delivery>, geometry: Geometry, fps: f64) -> Adapt {
        let frame_bytes = ladder.iter().map(|l| initial_bytes(*l, geometry, fps)).collect();
        let mut adapt = Adapt {
            ladder,
            level: 0,
            fps,
            frame_bytes,
            window: [Counters::default(); WINDOW + 1],
            ticks: 0,
            last_switch: Duration::ZERO,
            last_was_up: false,
            next_look: SETTLE,
            probe_wait: PROBE_INTERVAL,
            probe: None,
            backlogged_ticks: 0,
            link: LinkEstimate::default(),
        };
        adapt.level = adapt.best_fitting(START_RATE);
        adapt
    }

    /// The level frames go out at now.
    pub fn level(&self) -> Delivery {
        self.ladder[self.level]
    }

    /// Records a frame sent at `level` (a probe's included) of `bytes`, whose write
    /// finished at `at` with `wire_total` frame bytes written in the session.
    pub fn sent(&mut self, level: Delivery, bytes: usize, at: Duration, wire_total: u64) {
        self.link.sent(at, wire_total);
        if level.format == PixelFormat::H264 {
            return; // its need is its bitrate
        }
        if let Some(i) = self.ladder.iter().position(|l| *l == level) {
            let old = self.frame_bytes[i];
            self.frame_bytes[i] = old * 0.8 + bytes as f64 * 0.2;
        }
    }

    /// Whether a probe is asked for or on its way.
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// What the estimate says now, for the log: capacity and delivered rate (Mbit/s) and
    /// queue delay.
    pub fn describe(&self, at: Duration) -> String {
        let mbit = |rate: Option<f64>| rate.map_or("?".to_string(), |r| format!("{:.1}", r * 8.0 / 1e6));
        format!(
            "capacity {} Mbit/s, delivered {} Mbit/s, queue {} ms",
            mbit(self.link.capacity(at).map(|c| c.rate)),
            mbit(self.link.delivered_rate(Duration::from_secs(1))),
            self.link.queue_delay().as_millis()
        )
    }

    /// The probe frame went out as the sender's `frame`th frame, at `at`.
    pub fn probe_sent(&mut self, frame: u64, at: Duration) {
        if let Some(Probe::Asked(level)) = self.probe {
            self.probe = Some(Probe::Sent(level, frame, at));
        }
    }

    /// Bytes per second level `i` needs at this frame rate.
    fn need(&self, i: usize) -> f64 {
        let level = self.ladder[i];
        if level.format == PixelFormat::H264 {
            return f64::from(level.bitrate()) / 8.0 * H264_LINK_SHARE;
        }
        let rate = if level.half_rate { self.fps / 2.0 } else { self.fps };
        self.frame_bytes[i] * rate
    }

    /// The best level whose need fits in `bytes_per_s`, or the last one.
    fn best_fitting(&self, bytes_per_s: f64) -> usize {
        (0..self.ladder.len()).find(|&i| self.need(i) <= bytes_per_s).unwrap_or(self.ladder.len() - 1)
    }

    fn is_h264(&self, i: usize) -> bool {
        self.ladder[i].format == PixelFormat::H264
    }

    /// The last level that is not H.264 (JPEG q85 on a ladder with H.264).
    fn last_frame_level(&self) -> usize {
        self.ladder.iter().rposition(|l| l.format != PixelFormat::H264).unwrap_or(0)
    }

    fn switch(&mut self, to: usize, at: Duration, bytes_per_s: f64) -> Action {
        let up = to < self.level;
        self.last_was_up = up;
        self.level = to;
        self.last_switch = at;
        self.probe = None;
        self.backlogged_ticks = 0;
        // Up: look again soon, while it goes well; down: not before the wait.
        let wait = match (up, self.is_h264(to)) {
            (true, true) => H264_STEP_INTERVAL,
            (true, false) => SETTLE,
            (false, _) => self.probe_wait.max(SETTLE),
        };
        self.next_look = at + wait;
        Action::Switch { to: self.ladder[to], mbit: bytes_per_s * 8.0 / 1e6 }
    }

    /// A report from the receiver arrived at `at`. Decides a probe it answers.
    pub fn report(&mut self, at: Duration, report: Report) -> Action {
        self.link.report(at, report);
        let Some(Probe::Sent(level, frame, _)) = self.probe else { return Action::Stay };
        if u64::from(report.frames) < frame {
            return Action::Stay; // the probe has not arrived yet
        }
        self.probe_result(at, level, sample_rate(&report).map(|c| c.rate))
    }

    /// Ends a probe of `level` that measured `rate` (bytes per second; `None`: no sample):
    /// a step up to the probe's level if it fits (no further: the sample came from one
    /// frame of that size).
    fn probe_result(&mut self, at: Duration, level: usize, rate: Option<f64>) -> Action {
        self.probe = None;
        if let Some(rate) = rate {
            let to = self.best_fitting(rate * UP_HEADROOM).max(level);
            if to < self.level {
                self.probe_wait = PROBE_INTERVAL;
                return self.switch(to, at, rate);
            }
        }
        self.failed_up(at);
        Action::Stay
    }

    /// A probe failed: wait twice as long before the next.
    fn failed_up(&mut self, at: Duration) {
        self.probe_wait = (self.probe_wait * 2).min(MAX_PROBE_WAIT);
        self.next_look = at + self.probe_wait;
    }

    /// What the path carries now, bytes per second: the lesser of what the receiver
    /// reports arriving over the last second and what the next hop acknowledged in the
    /// last tick (each alone where the other is unknown).
    fn carried(&self, now: Counters) -> f64 {
        let last = self.window[WINDOW - 1];
        let tick_seconds = (now.at - last.at).as_secs_f64().max(1e-3);
        let acked = now.bytes.saturating_sub(last.bytes) as f64 / tick_seconds;
        match self.link.delivered_rate(Duration::from_secs(1)) {
            Some(delivered) => delivered.min(acked.max(1.0)),
            None => acked,
        }
    }

    /// Takes the counters of one tick and decides.
    pub fn tick(&mut self, now: Counters) -> Action {
        self.window.rotate_left(1);
        self.window[WINDOW] = now;
        self.ticks += 1;
        self.backlogged_ticks = if now.backlog > BACKLOG_LIMIT { self.backlogged_ticks + 1 } else { 0 };
        if self.ticks <= WINDOW / 2 {
            return Action::Stay;
        }
        let settle = if self.last_was_up { UP_SETTLE } else { SETTLE };
        let first = self.window[0];
        let seconds = (now.at - first.at).as_secs_f64().max(1e-3);
        let offered = now.offered.saturating_sub(first.offered);
        let dropped = now.dropped.saturating_sub(first.dropped);
        let busy = offered as f64 >= self.fps * seconds * 0.5;
        let dropping = busy && dropped as f64 > DROP_LIMIT * offered as f64;
        let queued = self.link.queue_delay() > QUEUE_LIMIT;
        let backlogged = self.backlogged_ticks >= 2;
        // A probe still waiting for an idle link does not stop this: on a congested link
        // the link never goes idle, and stepping down is what makes room.
        if now.at >= self.last_switch + settle
            && (dropping || queued || backlogged)
            && self.level + 1 < self.ladder.len()
        {
            let rate = self.carried(now);
            let to = self.best_fitting(rate * DOWN_HEADROOM).max(self.level + 1);
            if self.last_was_up && now.at < self.last_switch + SETTLE {
                // The step up did not hold.
                self.probe_wait = (self.probe_wait * 2).min(MAX_PROBE_WAIT);
            }
            // Samples from before the fall say what the path was.
            self.link.forget_samples();
            return self.switch(to, now.at, rate);
        }
        match self.probe {
            Some(Probe::Sent(level, _, sent)) if now.at >= sent + PROBE_TIMEOUT => {
                return self.probe_result(now.at, level, None);
            }
            Some(_) => return Action::Stay,
            None => {}
        }
        if self.level == 0 || now.at < self.next_look || queued || now.backlog > 0 || dropping {
            return Action::Stay;
        }
        self.look_up(now.at)
    }

    /// Looks for a better level the path has room for.
    fn look_up(&mut self, at: Duration) -> Action {
        let estimate = self.link.capacity(at);
        let capacity = estimate.map(|c| c.rate);
        // Without samples, or with samples that say only "at least": the next level up.
        let target = match estimate {
            Some(c) if !c.at_least => self.best_fitting(c.rate * UP_HEADROOM),
            Some(c) => self.best_fitting(c.rate * UP_HEADROOM).min(self.level - 1),
            None => self.level - 1,
        };
        if target >= self.level {
            self.next_look = at + if self.is_h264(self.level) { H264_STEP_INTERVAL } else { self.probe_wait };
            return Action::Stay;
        }
        if self.is_h264(target) {
            // Another bitrate: the encoder's rate control keeps to it, no probe needed.
            return self.switch(target, at, capacity.unwrap_or(self.need(target)));
        }
        let jpeg = self.last_frame_level();
        if self.is_h264(self.level) {
            if let Some(capacity) = capacity {
                // From H.264 to JPEG on the samples' word (never straight to raw: JPEG's
                // frames are of the size the samples came from).
                return self.switch(target.max(jpeg), at, capacity);
            }
            self.probe = Some(Probe::Asked(jpeg));
            return Action::Probe(self.ladder[jpeg]);
        }
        self.probe = Some(Probe::Asked(target));
        Action::Probe(self.ladder[target])
    }
}

/// A first guess of a level's frame size, before any was sent.
fn initial_bytes(level: Delivery, g: Geometry, fps: f64) -> f64 {
    let pixels = f64::from(g.width) * f64::from(g.height);
    match level.format {
        PixelFormat::Mjpeg => pixels * 3.0 / if level.quality >= 80 { 12.0 } else { 20.0 },
        PixelFormat::H264 => f64::from(level.bitrate()) / 8.0 / fps.max(1.0),
        format => format.tight_len(g.width, g.height).unwrap_or(0) as f64,
    }
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
