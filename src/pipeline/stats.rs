//! Counters shared by the pipeline stages, a capture-to-shown latency histogram, and the
//! once-a-second stats line. Stages only add to atomics; the reporter reads them.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::hub::{Delivery, Hub};
use crate::media::{Mailbox, PixelFormat};

/// Latency histogram: 0.25 ms buckets up to 1.024 s, then 16 ms buckets up to ~66 s, the
/// last one counting everything beyond.
const FINE_US: u64 = 250;
const FINE: usize = 4096;
const COARSE_US: u64 = 16_000;
const BUCKETS: usize = 2 * FINE;

fn bucket_of(micros: u64) -> usize {
    let fine_limit = FINE as u64 * FINE_US;
    if micros < fine_limit {
        (micros / FINE_US) as usize
    } else {
        (FINE + ((micros - fine_limit) / COARSE_US) as usize).min(BUCKETS - 1)
    }
}

/// The upper edge of a bucket, in microseconds.
fn bucket_upper_us(index: usize) -> u64 {
    if index < FINE {
        (index as u64 + 1) * FINE_US
    } else {
        FINE as u64 * FINE_US + (index - FINE + 1) as u64 * COARSE_US
    }
}

/// Counters for one process. All fields only ever grow.
#[derive(Default)]
pub struct Stats {
    pub captured: AtomicU64,
    pub sent_frames: AtomicU64,
    pub sent_bytes: AtomicU64,
    pub received_frames: AtomicU64,
    pub received_bytes: AtomicU64,
    /// The format of the last frame received (1 + its index in `PixelFormat::ALL`; 0
    /// before the first).
    received_format: AtomicU8,
    pub shown: AtomicU64,
    pub verified: AtomicU64,
    pub corrupt: AtomicU64,
    /// Captured frames skipped as unusable (a driver error, too short, a torn JPEG).
    pub bad_frames: AtomicU64,
    /// Drops of viewers that have left (the hub keeps only current viewers' counters).
    pub viewer_drops_gone: AtomicU64,
    /// H.264 units received, and those that did not decode (not shown; a keyframe was
    /// asked for).
    pub received_h264: AtomicU64,
    pub undecodable: AtomicU64,
    /// WebRTC: NACKs received (str0m resends the packets from its history) and keyframe
    /// requests (PLI, FIR) passed to the encoder.
    pub webrtc_nacks: AtomicU64,
    pub webrtc_keyframe_requests: AtomicU64,
    latency: LatencyHistogram,
}

impl Stats {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Records the format a frame was received in.
    pub fn received_as(&self, format: PixelFormat) {
        if format == PixelFormat::H264 {
            Stats::add(&self.received_h264, 1);
        }
        let index = PixelFormat::ALL.iter().position(|f| *f == format).unwrap_or(0);
        self.received_format.store(index as u8 + 1, Ordering::Relaxed);
    }

    /// The format the last frame was received in.
    pub fn last_received_as(&self) -> Option<PixelFormat> {
        let code = self.received_format.load(Ordering::Relaxed);
        PixelFormat::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// Records one shown frame's capture-to-shown latency.
    pub fn record_latency(&self, micros: u64) {
        self.latency.record(micros);
    }
}

/// A fixed-size histogram: recording is one atomic add, no allocation.
pub struct LatencyHistogram {
    buckets: Box<[AtomicU32]>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { buckets: (0..BUCKETS).map(|_| AtomicU32::new(0)).collect() }
    }
}

impl LatencyHistogram {
    pub fn record(&self, micros: u64) {
        let index = bucket_of(micros);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Moves the counts into `into` and zeroes them (one reporting interval).
    fn drain_into(&self, into: &mut Percentiles) {
        for (i, bucket) in self.buckets.iter().enumerate() {
            let n = bucket.swap(0, Ordering::Relaxed);
            into.counts[i] += n as u64;
        }
    }
}

/// A plain (non-atomic) histogram for computing percentiles.
#[derive(Clone)]
pub struct Percentiles {
    counts: Vec<u64>,
}

impl Default for Percentiles {
    fn default() -> Self {
        Percentiles { counts: vec![0; BUCKETS] }
    }
}

impl Percentiles {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `p`-th percentile (0..=100), as the upper edge of its bucket.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(Duration::from_micros(bucket_upper_us(i)));
            }
        }
        None
    }

    fn merge(&mut self, other: &Percentiles) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    fn clear(&mut self) {
        self.counts.iter_mut().for_each(|n| *n = 0);
    }
}

/// Which parts of the line apply to this process.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub sends: bool,
    pub shows: bool,
    pub verifies: bool,
}

/// Turns counter deltas into the once-a-second line and the closing summary. Writes into
/// a buffer it keeps, so a line allocates nothing once the buffer has grown to size.
pub struct Reporter {
    stats: Arc<Stats>,
    shape: Shape,
    hub: Option<Arc<Hub>>,
    display_box: Option<Arc<Mailbox>>,
    last: [u64; 4],
    interval: Percentiles,
    whole_run: Percentiles,
    text: String,
}

impl Reporter {
    pub fn new(
        stats: Arc<Stats>,
        shape: Shape,
        hub: Option<Arc<Hub>>,
        display_box: Option<Arc<Mailbox>>,
    ) -> Self {
        Reporter {
            stats,
            shape,
            hub,
            display_box,
            last: [0; 4],
            interval: Percentiles::default(),
            whole_run: Percentiles::default(),
            text: String::with_capacity(512),
        }
    }

    /// Frames viewers dropped (replaced in their slots before they took them), viewers now.
    fn viewer_drops(&self) -> (u64, usize) {
        let mut drops = Stats::get(&self.stats.viewer_drops_gone);
        let mut count = 0;
        if let Some(hub) = &self.hub {
            hub.for_each_viewer(|v| {
                drops += v.dropped.load(Ordering::Relaxed);
                count += 1;
            });
        }
        (drops, count)
    }

    fn display_drops(&self) -> u64 {
        self.display_box.as_ref().map_or(0, |m| m.dropped())
    }

    /// The line for the `elapsed` time since the previous call.
    pub fn line(&mut self, elapsed: Duration) -> &str {
        let s = &self.stats;
        let now = [
            Stats::get(&s.sent_frames),
            Stats::get(&s.sent_bytes),
            Stats::get(&s.shown),
            Stats::get(&s.received_bytes),
        ];
        let secs = elapsed.as_secs_f64().max(1e-6);
        let rate = |i: usize| (now[i] - self.last[i]) as f64 / secs;
        self.interval.clear();
        s.latency.drain_into(&mut self.interval);
        self.whole_run.merge(&self.interval);
        let (viewer_drops, viewers) = self.viewer_drops();
        let display_drops = self.display_drops();
        let t = &mut self.text;
        t.clear();
        t.push_str("stats: ");
        if self.shape.sends {
            let _ =
                write!(t, "sent {:.1} fps {:.1} Mbit/s to {viewers} viewer", rate(0), rate(1) * 8.0 / 1e6);
            t.push_str(if viewers == 1 { "" } else { "s" });
            write_wire_levels(self.hub.as_deref(), t);
            t.push_str(" | ");
        }
        if self.shape.shows {
            let _ = write!(t, "shown {:.1} fps (received {:.1} Mbit/s", rate(2), rate(3) * 8.0 / 1e6);
            if let Some(format) = s.last_received_as() {
                let _ = write!(t, " as {}", format.name());
            }
            t.push_str(") | ");
        }
        t.push_str("dropped ");
        if self.shape.sends {
            let _ = write!(t, "viewers {viewer_drops}");
            t.push_str(if self.shape.shows { ", " } else { "" });
        }
        if self.shape.shows {
            let _ = write!(t, "display {display_drops}");
        }
        if self.shape.sends {
            let _ = write!(t, " | bad frames skipped {}", Stats::get(&s.bad_frames));
            let (nacks, requests) = (Stats::get(&s.webrtc_nacks), Stats::get(&s.webrtc_keyframe_requests));
            if nacks + requests > 0 {
                let _ = write!(t, " | webrtc nacks {nacks}, keyframe requests {requests}");
            }
        }
        if self.shape.shows {
            t.push_str(" | ");
            write_latency(t, &self.interval);
        }
        if self.shape.shows
            && (s.last_received_as() == Some(PixelFormat::H264) || Stats::get(&s.undecodable) > 0)
        {
            let _ = write!(t, " | undecodable {}", Stats::get(&s.undecodable));
        }
        if self.shape.verifies {
            let _ = write!(t, " | corrupt {}", Stats::get(&s.corrupt));
        }
        self.last = now;
        &self.text
    }

    /// The closing summary: totals over the whole run.
    pub fn summary(&mut self) -> &str {
        let s = &self.stats;
        s.latency.drain_into(&mut self.whole_run);
        let (viewer_drops, _) = self.viewer_drops();
        let display_drops = self.display_drops();
        let t = &mut self.text;
        t.clear();
        t.push_str("summary: ");
        if self.shape.sends {
            let _ = write!(
                t,
                "{} frames sent ({:.1} MB), {} bad frames skipped, ",
                Stats::get(&s.sent_frames),
                Stats::get(&s.sent_bytes) as f64 / 1e6,
                Stats::get(&s.bad_frames)
            );
        }
        if self.shape.shows {
            let _ = write!(t, "{} frames shown, ", Stats::get(&s.shown));
        }
        if self.shape.verifies {
            let _ = write!(t, "{} verified, {} corrupt, ", Stats::get(&s.verified), Stats::get(&s.corrupt));
        }
        t.push_str("dropped ");
        if self.shape.sends {
            let _ = write!(t, "viewers {viewer_drops}");
            t.push_str(if self.shape.shows { ", " } else { "" });
        }
        if self.shape.shows {
            let _ = write!(t, "display {display_drops}, ");
            write_latency(t, &self.whole_run);
            if Stats::get(&s.received_h264) > 0 || Stats::get(&s.undecodable) > 0 {
                let _ = write!(t, ", {} H.264 units undecodable", Stats::get(&s.undecodable));
            }
        }
        &self.text
    }
}

/// The wire formats viewers' frames go out in now, e.g. " (BGR3, JPEG q85)"; nothing before
/// the first frame. At most four distinct ones, written without allocating.
fn write_wire_levels(hub: Option<&Hub>, t: &mut String) {
    let mut levels: [Option<Delivery>; 4] = [None; 4];
    if let Some(hub) = hub {
        hub.for_each_viewer(|v| {
            if let Some(level) = v.delivery() {
                if !levels.contains(&Some(level)) {
                    if let Some(free) = levels.iter_mut().find(|l| l.is_none()) {
                        *free = Some(level);
                    }
                }
            }
        });
    }
    for (i, level) in levels.iter().flatten().enumerate() {
        let _ = write!(t, "{}{level}", if i == 0 { " (" } else { ", " });
    }
    if levels[0].is_some() {
        t.push(')');
    }
}

fn write_latency(t: &mut String, h: &Percentiles) {
    match (h.percentile(50.0), h.percentile(99.0)) {
        (Some(p50), Some(p99)) => {
            let _ = write!(
                t,
                "latency p50 {:.1} ms p99 {:.1} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
        _ => t.push_str("latency -"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_bucket_upper_edges() {
        let h = LatencyHistogram::default();
        for _ in 0..98 {
            h.record(1_000);
        }
        h.record(20_000);
        h.record(1_000_000_000); // beyond the range: counted in the last bucket
        let mut p = Percentiles::default();
        h.drain_into(&mut p);
        assert_eq!(p.total(), 100);
        assert_eq!(p.percentile(50.0), Some(Duration::from_micros(1_250)));
        assert_eq!(p.percentile(99.0), Some(Duration::from_micros(20_250)));
        assert_eq!(p.percentile(100.0), Some(Duration::from_micros(bucket_upper_us(BUCKETS - 1))));
        // Seconds-long latencies (a sender that queues everything) are still told apart.
        assert_eq!(bucket_upper_us(bucket_of(5_000_000)), 5_008_000);
    }

    #[test]
    fn line_reports_rates_drops_and_corruption() {
        let stats = Stats::new();
        let mut reporter =
            Reporter::new(stats.clone(), Shape { sends: true, shows: true, verifies: true }, None, None);
        Stats::add(&stats.sent_frames, 30);
        Stats::add(&stats.sent_bytes, 30 * 921_600);
        Stats::add(&stats.shown, 15);
        Stats::add(&stats.corrupt, 2);
        stats.record_latency(4_100);
        Stats::add(&stats.bad_frames, 3);
        let line = reporter.line(Duration::from_secs(1)).to_string();
        assert!(line.contains("sent 30.0 fps 221.2 Mbit/s to 0 viewers"), "{line}");
        assert!(line.contains("shown 15.0 fps"), "{line}");
        assert!(line.contains("latency p50 4.2 ms"), "{line}");
        assert!(line.contains("corrupt 2"), "{line}");
        assert!(line.contains("bad frames skipped 3"), "{line}");
        let line = reporter.line(Duration::from_secs(2)).to_string();
        assert!(line.contains("sent 0.0 fps"), "{line}");
        let summary = reporter.summary().to_string();
        assert!(summary.contains("30 frames sent") && summary.contains("3 bad frames skipped"), "{summary}");
        assert!(summary.contains("15 frames shown, 0 verified, 2 corrupt"), "{summary}");
    }
}
