//! `--wire auto`: the decisions, without I/O. Fed each viewer's counters a few times a
//! second and the results of bandwidth probes, it says when to step down the ladder
//! (`super::ladder::ladder`), when to probe, and when to step back up.
//!
//! - **Down:** over the last second, more than a tenth of the frames offered to this viewer
//!   were replaced in its slot before it could send them (the link could not carry them).
//!   The goodput of that second is what the link carries; the controller jumps straight to
//!   the best level whose expected rate fits in 85 % of it, so a fall from 300 to 30 Mbit/s
//!   takes one step, not four.
//! - **Up:** a link with room shows nothing (the flow is application-limited), so while not
//!   at the best level, every [`PROBE_INTERVAL`] (after [`SETTLE`] without trouble) the
//!   sender sends one frame of the next better level on an idle link and measures how fast
//!   it drains ([`Adapt::probe_result`]). The controller steps up, as far as fits in 75 % of
//!   the measured rate, only then: a probe is one frame, not a switch, so a link that stays
//!   at 50 Mbit/s sees no back-and-forth.
//!
//! Expected rates come from the frame sizes seen at each level (smoothed), starting from
//! the raw sizes and a JPEG estimate.

use std::time::Duration;

use crate::media::{Geometry, PixelFormat};
use crate::pipeline::hub::Delivery;

/// How often the send loop reports.
pub const TICK: Duration = Duration::from_millis(250);
/// The window congestion is judged over.
const WINDOW: usize = 4;
/// After a switch, how long before the next decision (queues of the old level drain).
pub const SETTLE: Duration = Duration::from_secs(2);
/// Between probes while the link is clean and the level not the best.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(7);
/// Share of offered frames dropped in a window that means the link cannot carry them.
const DROP_LIMIT: f64 = 0.10;
/// Fit a level into this share of the measured goodput when stepping down...
const DOWN_HEADROOM: f64 = 0.85;
/// ...and into this share of a probe's rate when stepping up.
const UP_HEADROOM: f64 = 0.75;

/// Cumulative counters of one viewer, as the send loop sees them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counters {
    /// Time since the session began.
    pub at: Duration,
    /// Frames offered to the viewer (taken + dropped).
    pub offered: u64,
    pub dropped: u64,
    /// Bytes delivered: acknowledged by the peer.
    pub bytes: u64,
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
    /// Send the next frame at this level on an idle link and report how fast it drained.
    Probe(Delivery),
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
    next_probe: Duration,
    probing: bool,
}

impl Adapt {
    /// A controller starting at the top of `ladder` (raw BGR) for frames of `geometry` at
    /// `fps` frames per second.
    pub fn new(ladder: Vec<Delivery>, geometry: Geometry, fps: f64) -> Adapt {
        let frame_bytes = ladder.iter().map(|l| initial_bytes(*l, geometry)).collect();
        Adapt {
            ladder,
            level: 0,
            fps,
            frame_bytes,
            window: [Counters::default(); WINDOW + 1],
            ticks: 0,
            last_switch: Duration::ZERO,
            next_probe: SETTLE,
            probing: false,
        }
    }

    /// The level frames go out at now.
    pub fn level(&self) -> Delivery {
        self.ladder[self.level]
    }

    /// Records the size of a frame sent at `level` (a probe's included).
    pub fn sent(&mut self, level: Delivery, bytes: usize) {
        if let Some(i) = self.ladder.iter().position(|l| *l == level) {
            let old = self.frame_bytes[i];
            self.frame_bytes[i] = old * 0.8 + bytes as f64 * 0.2;
        }
    }

    /// Bytes per second level `i` needs at this frame rate.
    fn need(&self, i: usize) -> f64 {
        let rate = if self.ladder[i].half_rate { self.fps / 2.0 } else { self.fps };
        self.frame_bytes[i] * rate
    }

    /// The best level whose need fits in `bytes_per_s`, or the last one.
    fn best_fitting(&self, bytes_per_s: f64) -> usize {
        (0..self.ladder.len()).find(|&i| self.need(i) <= bytes_per_s).unwrap_or(self.ladder.len() - 1)
    }

    fn switch(&mut self, to: usize, at: Duration, bytes_per_s: f64) -> Action {
        self.level = to;
        self.last_switch = at;
        self.next_probe = at + SETTLE.max(PROBE_INTERVAL);
        Action::Switch { to: self.ladder[to], mbit: bytes_per_s * 8.0 / 1e6 }
    }

    /// Takes the counters of one tick and decides.
    pub fn tick(&mut self, now: Counters) -> Action {
        self.window.rotate_left(1);
        self.window[WINDOW] = now;
        self.ticks += 1;
        // A probe still waiting for an idle link does not stop this: on a congested link
        // the link never goes idle, and stepping down is what makes room.
        if self.ticks <= WINDOW || now.at < self.last_switch + SETTLE {
            return Action::Stay;
        }
        let first = self.window[0];
        let seconds = (now.at - first.at).as_secs_f64().max(1e-3);
        let offered = now.offered.saturating_sub(first.offered);
        let dropped = now.dropped.saturating_sub(first.dropped);
        // What the link carries now: the last tick's goodput (the window may still hold
        // seconds from before the link slowed down).
        let last = self.window[WINDOW - 1];
        let tick_seconds = (now.at - last.at).as_secs_f64().max(1e-3);
        let goodput = now.bytes.saturating_sub(last.bytes) as f64 / tick_seconds;
        let busy = offered as f64 >= self.fps * seconds * 0.5;
        if busy && dropped as f64 > DROP_LIMIT * offered as f64 && self.level + 1 < self.ladder.len() {
            let to = self.best_fitting(goodput * DOWN_HEADROOM).max(self.level + 1);
            // A switch cancels a pending probe (the sender drops it too).
            self.probing = false;
            return self.switch(to, now.at, goodput);
        }
        if self.probing {
            return Action::Stay;
        }
        if self.level > 0 && now.at >= self.next_probe {
            self.probing = true;
            return Action::Probe(self.ladder[self.level - 1]);
        }
        Action::Stay
    }

    /// The result of a probe: the rate (bytes per second) a frame of the next better level
    /// drained at (`None` if it could not be measured).
    pub fn probe_result(&mut self, at: Duration, bytes_per_s: Option<f64>) -> Action {
        self.probing = false;
        self.next_probe = at + PROBE_INTERVAL;
        // Frames were dropped while the probe drained: not the link's fault. Judge again
        // only once they are out of the window.
        self.last_switch = at;
        let Some(rate) = bytes_per_s else { return Action::Stay };
        let to = self.best_fitting(rate * UP_HEADROOM);
        if to < self.level {
            return self.switch(to, at, rate);
        }
        Action::Stay
    }
}

/// A first guess of a level's frame size, before any was sent.
fn initial_bytes(level: Delivery, g: Geometry) -> f64 {
    let pixels = f64::from(g.width) * f64::from(g.height);
    match level.format {
        PixelFormat::Mjpeg => pixels * 3.0 / if level.quality >= 80 { 12.0 } else { 20.0 },
        format => format.tight_len(g.width, g.height).unwrap_or(0) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::PixelFormat;
    use crate::output::pistream::adapt::ladder;
    use crate::output::pistream::protocol::FormatSet;

    /// A simulated viewer behind a link of `mbit` Mbit/s, at 30 fps: each tick the frames
    /// that fit go out, the rest are dropped.
    struct Link {
        adapt: Adapt,
        counters: Counters,
        switches: Vec<(Duration, Delivery)>,
        probes: usize,
        /// Whether probes go out: `false` is a link that never goes idle, where the sender
        /// keeps a probe pending.
        probes_go_out: bool,
    }

    impl Link {
        fn new() -> Link {
            let ladder = ladder(Some(PixelFormat::Yuyv), FormatSet::all());
            Link {
                adapt: Adapt::new(ladder, Geometry::new(640, 480), 30.0),
                counters: Counters::default(),
                switches: Vec::new(),
                probes: 0,
                probes_go_out: true,
            }
        }

        fn run(&mut self, seconds: f64, mbit: f64) {
            let capacity = mbit * 1e6 / 8.0 * TICK.as_secs_f64();
            for _ in 0..(seconds / TICK.as_secs_f64()) as usize {
                let level = self.adapt.level();
                let size = match level.format {
                    PixelFormat::Mjpeg => 30_000 * usize::from(level.quality) / 85,
                    f => f.tight_len(640, 480).unwrap(),
                };
                let offered = 30.0 * TICK.as_secs_f64() * if level.half_rate { 0.5 } else { 1.0 };
                let fits = (capacity / size as f64).min(offered);
                self.counters.at += TICK;
                self.counters.offered += offered.round() as u64;
                self.counters.dropped += (offered - fits).round() as u64;
                self.counters.bytes += (fits * size as f64) as u64;
                for _ in 0..fits.round() as usize {
                    self.adapt.sent(level, size);
                }
                match self.adapt.tick(self.counters) {
                    Action::Switch { to, .. } => self.switches.push((self.counters.at, to)),
                    Action::Probe(_) if !self.probes_go_out => self.probes += 1,
                    Action::Probe(probe) => {
                        self.probes += 1;
                        let probe_size = match probe.format {
                            PixelFormat::Mjpeg => 30_000.0,
                            f => f.tight_len(640, 480).unwrap() as f64,
                        };
                        self.adapt.sent(probe, probe_size as usize);
                        if let Action::Switch { to, .. } =
                            self.adapt.probe_result(self.counters.at, Some(mbit * 1e6 / 8.0))
                        {
                            self.switches.push((self.counters.at, to));
                        }
                    }
                    Action::Stay => {}
                }
            }
        }
    }

    #[test]
    fn a_fall_from_300_to_30_mbit_is_one_step_within_two_seconds_and_recovery_within_ten() {
        let mut link = Link::new();
        link.run(10.0, 300.0);
        assert!(link.switches.is_empty(), "300 Mbit/s carries raw BGR at 30 fps: {:?}", link.switches);
        link.run(10.0, 30.0);
        let (when, to) = link.switches[0];
        assert!(when <= Duration::from_secs(12), "stepped down at {when:?}");
        assert_eq!(to.format, PixelFormat::Mjpeg, "one jump to JPEG: {:?}", link.switches);
        let down = link.switches.len();
        link.run(10.0, 300.0);
        let (back_at, back_to) = *link.switches.last().unwrap();
        assert!(link.switches.len() > down && back_at <= Duration::from_secs(30), "{:?}", link.switches);
        assert!(matches!(back_to.format, PixelFormat::Bgr24 | PixelFormat::Yuyv), "{:?}", link.switches);
    }

    #[test]
    fn a_steady_50_mbit_link_settles_and_probes_without_switching() {
        let mut link = Link::new();
        link.run(10.0, 50.0);
        let settled = link.switches.len();
        assert!(settled >= 1);
        link.run(30.0, 50.0);
        assert!(link.switches.len() - settled <= 2, "{:?}", link.switches);
        assert!(link.probes >= 3, "it keeps looking for room: {} probes", link.probes);
        assert_eq!(link.adapt.level().format, PixelFormat::Mjpeg);
    }

    #[test]
    fn a_probe_waiting_for_an_idle_link_does_not_stop_stepping_down() {
        let mut link = Link::new();
        link.probes_go_out = false;
        link.run(20.0, 50.0);
        assert!(link.probes >= 1, "a probe is pending: {} probes", link.probes);
        let before = link.switches.len();
        let level = link.adapt.level();
        link.run(10.0, 3.0);
        assert!(link.switches.len() > before, "still at {level:?} on a 3 Mbit/s link: {:?}", link.switches);
        assert!(link.adapt.level() != level, "{:?}", link.switches);
    }
}
