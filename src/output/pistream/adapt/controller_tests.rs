//! The controller against a simulated path, millisecond by millisecond: a camera at 30 fps,
//! the sender's slot (newest frame wins) and H.264 queue, a bottleneck of a given rate and
//! one-way delay, and in front of it either a router-sized buffer (what the sender's TCP
//! acknowledges is what the link carried) or a TCP-terminating proxy's megabyte (what the
//! sender's TCP acknowledges is what the proxy took), and a receiver that reports every
//! 250 ms as pistream's does.

use std::collections::VecDeque;

use super::*;
use crate::output::pistream::adapt::ladder;
use crate::output::pistream::protocol::FormatSet;

const MBIT: f64 = 1e6 / 8.0;

/// What sits in front of the bottleneck.
#[derive(Clone, Copy, PartialEq)]
enum Hop {
    /// About a bandwidth-delay product of buffer; acknowledgements follow the link.
    Router,
    /// A proxy that takes up to a megabyte at once and acknowledges it.
    Proxy,
}

struct Frame {
    captured: u64,
    size: u64,
    left: u64,
    /// When its first byte went on the bottleneck.
    started: Option<u64>,
}

struct Sim {
    adapt: Adapt,
    geometry: Geometry,
    hop: Hop,
    /// Bottleneck rate, bytes per ms, and one-way delay, ms.
    rate: f64,
    delay: u64,
    now: u64,
    counters: Counters,
    /// Bytes on their way to the bottleneck, frame by frame.
    queue: VecDeque<Frame>,
    /// H.264 units waiting to be written.
    backlog: VecDeque<(u64, u64)>,
    wire_total: u64,
    frames_sent: u64,
    /// (arrives, captured, bytes, tail bytes, tail ms)
    arriving: VecDeque<(u64, u64, u64, u64, f64)>,
    received: (u64, u32),
    sample: (u64, f64),
    reports: VecDeque<(u64, Report)>,
    probe: Option<Delivery>,
    /// (when shown, latency ms, level)
    shown: Vec<(u64, u64, Delivery)>,
    switches: Vec<(u64, Delivery)>,
    probes: usize,
    current_level: Delivery,
    captured: u64,
}

impl Sim {
    fn new(width: u32, height: u32, mbit: f64, hop: Hop) -> Sim {
        let geometry = Geometry::new(width, height);
        let max = crate::codec::h264::auto_ceiling(geometry, 30.0);
        let ladder = ladder(Some(PixelFormat::Yuyv), FormatSet::all(), max);
        let adapt = Adapt::new(ladder, geometry, 30.0);
        let current_level = adapt.level();
        Sim {
            adapt,
            geometry,
            hop,
            rate: mbit * MBIT / 1000.0,
            delay: 10,
            now: 0,
            counters: Counters::default(),
            queue: VecDeque::new(),
            backlog: VecDeque::new(),
            wire_total: 0,
            frames_sent: 0,
            arriving: VecDeque::new(),
            received: (0, 0),
            sample: (0, 0.0),
            reports: VecDeque::new(),
            probe: None,
            shown: Vec::new(),
            switches: Vec::new(),
            probes: 0,
            current_level,
            captured: 0,
        }
    }

    fn set_mbit(&mut self, mbit: f64) {
        self.rate = mbit * MBIT / 1000.0;
    }

    /// Bytes a frame of `level` takes: raw sizes, JPEG as a camera picture makes it, H.264
    /// at its bitrate with a keyframe six times a P frame's size once a second.
    fn size(&self, level: Delivery, keyframe: bool) -> u64 {
        let pixels = u64::from(self.geometry.width) * u64::from(self.geometry.height);
        match level.format {
            PixelFormat::Mjpeg => pixels / 10 * u64::from(level.quality) / 85,
            PixelFormat::H264 => {
                let p_frame = u64::from(level.bitrate()) / 8 / 35;
                if keyframe {
                    6 * p_frame
                } else {
                    p_frame
                }
            }
            f => f.tight_len(self.geometry.width, self.geometry.height).unwrap() as u64,
        }
    }

    fn queued_bytes(&self) -> u64 {
        self.queue.iter().map(|f| f.left).sum()
    }

    /// Whether the sender may write now: what waits before the bottleneck is within the
    /// hop's buffer.
    fn writable(&self) -> bool {
        let buffer = match self.hop {
            Hop::Router => (self.rate * 2.0 * self.delay as f64) as u64 + 64 * 1024,
            Hop::Proxy => 1 << 20,
        };
        self.queued_bytes() <= buffer
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Switch { to, .. } => {
                self.switches.push((self.now, to));
                self.probe = None;
            }
            Action::Probe(level) => {
                self.probes += 1;
                self.probe = Some(level);
            }
            Action::Stay => {}
        }
    }

    fn write(&mut self, captured: u64, size: u64, level: Delivery) {
        self.queue.push_back(Frame { captured, size, left: size, started: None });
        self.wire_total += size;
        self.frames_sent += 1;
        if self.hop == Hop::Proxy {
            self.counters.bytes += size;
        }
        self.adapt.sent(level, size as usize, Duration::from_millis(self.now), self.wire_total);
        self.current_level = level;
    }

    fn step(&mut self) {
        let now = self.now;
        // The camera: a frame every 33.3 ms.
        if (now * 3) % 100 < 3 {
            let level = self.adapt.level();
            self.counters.offered += 1;
            self.captured += 1;
            if let Some(probe) = self.probe.filter(|_| self.queue.is_empty()) {
                self.probe = None;
                let size = self.size(probe, false);
                self.write(now, size, probe);
                self.adapt.probe_sent(self.frames_sent, Duration::from_millis(now));
            }
            if level.format == PixelFormat::H264 {
                if self.backlog.len() >= 30 {
                    self.counters.dropped += self.backlog.len() as u64;
                    self.backlog.clear();
                }
                let keyframe = self.captured.is_multiple_of(30);
                self.backlog.push_back((now, self.size(level, keyframe)));
            } else if self.writable() {
                let size = self.size(level, false);
                self.write(now, size, level);
            } else {
                self.counters.dropped += 1;
            }
        }
        while self.writable() {
            let Some((captured, size)) = self.backlog.pop_front() else { break };
            let level = self.adapt.level();
            self.write(captured, size, level);
        }
        // The bottleneck.
        let mut budget = self.rate;
        while budget > 0.0 {
            let Some(frame) = self.queue.front_mut() else { break };
            frame.started.get_or_insert(now);
            let n = (frame.left as f64).min(budget);
            frame.left -= n as u64;
            budget -= n.max(1.0);
            if self.hop == Hop::Router {
                self.counters.bytes += n as u64;
            }
            if frame.left == 0 {
                let frame = self.queue.pop_front().unwrap();
                let tail_ms = (now - frame.started.unwrap()) as f64 + 1.0;
                self.arriving.push_back((now + self.delay, frame.captured, frame.size, frame.size, tail_ms));
            } else {
                break;
            }
        }
        // The receiver.
        while self.arriving.front().is_some_and(|a| a.0 <= now) {
            let (_, captured, size, tail, ms) = self.arriving.pop_front().unwrap();
            self.received.0 += size;
            self.received.1 += 1;
            if tail > self.sample.0 {
                self.sample = (tail, ms);
            }
            self.shown.push((now, now - captured, self.current_level));
        }
        if now.is_multiple_of(250) {
            let report = Report {
                at_us: now * 1000,
                bytes: self.received.0,
                frames: self.received.1,
                sample_bytes: self.sample.0 as u32,
                sample_us: (self.sample.1 * 1000.0) as u32,
            };
            self.sample = (0, 0.0);
            self.reports.push_back((now + self.delay, report));
        }
        while self.reports.front().is_some_and(|r| r.0 <= now) {
            let (_, report) = self.reports.pop_front().unwrap();
            let action = self.adapt.report(Duration::from_millis(now), report);
            self.apply(action);
        }
        if now % 250 == 125 {
            self.counters.at = Duration::from_millis(now);
            self.counters.backlog = self.backlog.len() as u64;
            let action = self.adapt.tick(self.counters);
            self.apply(action);
        }
        self.now += 1;
    }

    fn run(&mut self, seconds: f64) {
        for _ in 0..(seconds * 1000.0) as u64 {
            self.step();
        }
    }

    /// Frames shown and their 99th percentile latency between two times (s).
    fn shown_between(&self, from: f64, to: f64) -> (usize, u64) {
        let mut latencies: Vec<u64> = self
            .shown
            .iter()
            .filter(|(at, ..)| (from * 1000.0) as u64 <= *at && *at < (to * 1000.0) as u64)
            .map(|(_, ms, _)| *ms)
            .collect();
        latencies.sort_unstable();
        let p99 = latencies.get((latencies.len() * 99).div_ceil(100).saturating_sub(1)).copied().unwrap_or(0);
        (latencies.len(), p99)
    }

    fn switches_between(&self, from: f64, to: f64) -> Vec<(f64, String)> {
        self.switches
            .iter()
            .filter(|(at, _)| (from * 1000.0) as u64 <= *at && *at < (to * 1000.0) as u64)
            .map(|(at, to)| (*at as f64 / 1000.0, to.to_string()))
            .collect()
    }
}

#[test]
fn a_fall_from_300_to_10_mbit_is_one_step_within_two_seconds_and_recovery_within_ten() {
    let mut sim = Sim::new(640, 480, 300.0, Hop::Router);
    sim.run(10.0);
    assert_eq!(sim.adapt.level(), Delivery::BGR, "{:?}", sim.switches_between(0.0, 10.0));
    sim.set_mbit(10.0);
    sim.run(15.0);
    let down = sim.switches_between(10.0, 25.0);
    assert!(!down.is_empty() && down[0].0 <= 12.0, "{down:?}");
    assert!(down[0].1.starts_with("H264"), "one jump to H.264: {down:?}");
    let (frames, p99) = sim.shown_between(13.0, 25.0);
    assert!(frames as f64 >= 12.0 * 28.0 && p99 < 250, "{frames} frames, p99 {p99} ms: {down:?}");
    sim.set_mbit(300.0);
    sim.run(13.0);
    let up = sim.switches_between(25.0, 38.0);
    eprintln!("all: {:?} probes {}", sim.switches_between(0.0, 38.0), sim.probes);
    let raw = up.iter().find(|(_, to)| to == "BGR3" || to == "YUYV");
    assert!(raw.is_some_and(|(at, _)| *at <= 35.0), "back to raw within 10 s: {up:?}");
}

#[test]
fn behind_a_tcp_proxy_at_50_mbit_it_never_switches_to_what_the_link_cannot_carry() {
    for (width, height, mbit) in [(640, 480, 50.0), (1280, 720, 20.0)] {
        let mut sim = Sim::new(width, height, mbit, Hop::Proxy);
        sim.run(60.0);
        let late = sim.switches_between(5.0, 60.0);
        for second in 5..60 {
            let (frames, p99) = sim.shown_between(second as f64, second as f64 + 1.0);
            assert!(frames >= 28 && p99 < 60, "{width}x{height} at {mbit} Mbit/s, second {second}: {frames} frames, p99 {p99} ms; switches {late:?}, all {:?}", sim.switches_between(0.0, 60.0));
        }
        assert!(late.len() <= 2, "{late:?}");
    }
}

#[test]
fn large_frames_on_slow_links_settle_on_h264_at_full_rate() {
    for (width, height, mbit) in [(1280, 720, 20.0), (1920, 1080, 20.0), (640, 480, 5.0)] {
        let mut sim = Sim::new(width, height, mbit, Hop::Router);
        sim.run(20.0);
        let (frames, p99) = sim.shown_between(12.0, 20.0);
        let all = sim.switches_between(0.0, 20.0);
        assert!(
            frames >= 8 * 29 && p99 < 100,
            "{width}x{height} at {mbit}: {frames} frames, p99 {p99} ms: {all:?}"
        );
        assert_eq!(sim.adapt.level().format, PixelFormat::H264, "{all:?}");
    }
}

#[test]
fn a_steady_50_mbit_link_settles_and_rarely_switches() {
    let mut sim = Sim::new(640, 480, 50.0, Hop::Router);
    sim.run(40.0);
    let late = sim.switches_between(10.0, 40.0);
    assert!(late.len() <= 2, "{late:?}");
    let (frames, p99) = sim.shown_between(10.0, 40.0);
    assert!(frames >= 30 * 28 && p99 < 60, "{frames} frames, p99 {p99} ms");
}

#[test]
fn a_probe_waiting_for_an_idle_link_does_not_stop_stepping_down() {
    let ladder = ladder(Some(PixelFormat::Yuyv), FormatSet::all(), 1_000_000);
    let mut adapt = Adapt::new(ladder, Geometry::new(640, 480), 30.0);
    adapt.probe = Some(Probe::Asked(0));
    let mut counters = Counters::default();
    let mut action = Action::Stay;
    for i in 1..=12u32 {
        counters.at = TICK * i;
        counters.offered += 8;
        counters.dropped += 6;
        counters.bytes += 100_000;
        action = adapt.tick(counters);
        if action != Action::Stay {
            break;
        }
    }
    assert!(matches!(action, Action::Switch { .. }), "{action:?}");
}
