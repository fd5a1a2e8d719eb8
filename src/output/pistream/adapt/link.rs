//! What the receiver's reports say about the whole path, without I/O: how fast frames
//! arrive (the delivered rate), how long the oldest frame still on its way has been
//! travelling (the path's queue, wherever it is: in this side's socket, a TCP proxy's
//! buffers, a router), and how fast the bytes of a large frame came in one after another
//! (a sample of the path's capacity, taken at the receiver, behind every hop).
//!
//! The sender's own TCP state (`TCP_INFO`) says only how fast the *next hop* acknowledges;
//! a TCP-terminating hop (an SSH tunnel, socat, a user-space VPN, a TCP proxy) acknowledges
//! at its own speed and buffers the rest, so the sender needs the receiver's word.
//!
//! The estimate is fed the cumulative frame bytes this side has written
//! ([`LinkEstimate::sent`]) and each report as it arrives ([`LinkEstimate::report`]); the
//! times are the sender's (`Duration` since the session began) except a report's own
//! timestamp, which is the receiver's clock and is only ever subtracted from another.

use std::time::Duration;

use crate::output::pistream::protocol::Report;

/// Writes remembered, to date the bytes a report counts (a little over four seconds of
/// frames at 30 fps).
const SENT_LOG: usize = 128;
/// Reports remembered: two seconds of them.
const REPORTS: usize = 8;
/// Capacity samples remembered, and the age after which one no longer counts.
const SAMPLES: usize = 12;
const SAMPLE_AGE: Duration = Duration::from_secs(3);
/// A frame's tail must be at least this long to sample the capacity with: shorter ones
/// arrive in one burst of a shaper or a Wi-Fi aggregate and say nothing.
pub const SAMPLE_MIN_BYTES: u32 = 8 * 1024;
/// A tail that took less than this is timed as this long: timers and wake-ups are not
/// finer, and the sample then says only "at least this fast".
pub const SAMPLE_MIN_US: u32 = 1000;
/// The base delay (the path's own, without a queue) is the least seen over this long.
const BASE_WINDOW: Duration = Duration::from_secs(10);

/// The capacity sample a report carries, bytes per second, and whether it is only a lower
/// bound (a tail faster than [`SAMPLE_MIN_US`] counts as that long); `None` when its tail
/// is too short to say anything.
pub fn sample_rate(report: &Report) -> Option<Capacity> {
    (report.sample_bytes >= SAMPLE_MIN_BYTES).then(|| {
        let us = report.sample_us.max(SAMPLE_MIN_US);
        Capacity {
            rate: f64::from(report.sample_bytes) / (f64::from(us) / 1e6),
            at_least: report.sample_us < SAMPLE_MIN_US,
        }
    })
}

const NO_SAMPLE: Capacity = Capacity { rate: 0.0, at_least: false };

/// A capacity estimate, bytes per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Capacity {
    pub rate: f64,
    /// The path may be faster: the sample's bytes came faster than they could be timed.
    pub at_least: bool,
}

/// The estimate of one viewer's path.
#[derive(Debug)]
pub struct LinkEstimate {
    /// (when the write finished, frame bytes written so far), oldest first, a ring.
    sent: [(Duration, u64); SENT_LOG],
    sent_next: usize,
    sent_len: usize,
    reports: [Report; REPORTS],
    reports_next: usize,
    reports_len: usize,
    /// When, and what, each capacity sample said.
    samples: [(Duration, Capacity); SAMPLES],
    samples_next: usize,
    /// The least delay of a delivered frame, and when it was seen.
    base: Option<(Duration, Duration)>,
    /// The queue delay at the latest report.
    queue: Duration,
}

impl Default for LinkEstimate {
    fn default() -> Self {
        LinkEstimate {
            sent: [(Duration::ZERO, 0); SENT_LOG],
            sent_next: 0,
            sent_len: 0,
            reports: [Report::default(); REPORTS],
            reports_next: 0,
            reports_len: 0,
            samples: [(Duration::ZERO, NO_SAMPLE); SAMPLES],
            samples_next: 0,
            base: None,
            queue: Duration::ZERO,
        }
    }
}

impl LinkEstimate {
    /// A frame's write finished at `at`; `total` frame bytes (as on the wire) are written.
    pub fn sent(&mut self, at: Duration, total: u64) {
        self.sent[self.sent_next] = (at, total);
        self.sent_next = (self.sent_next + 1) % SENT_LOG;
        self.sent_len = (self.sent_len + 1).min(SENT_LOG);
    }

    /// The writes, oldest first.
    fn writes(&self) -> impl Iterator<Item = (Duration, u64)> + '_ {
        let start = (self.sent_next + SENT_LOG - self.sent_len) % SENT_LOG;
        (0..self.sent_len).map(move |i| self.sent[(start + i) % SENT_LOG])
    }

    /// A report arrived at `at`.
    pub fn report(&mut self, at: Duration, report: Report) {
        if let Some(last) = self.latest() {
            if report.bytes < last.bytes || report.at_us < last.at_us {
                return; // not newer: ignore
            }
        }
        self.reports[self.reports_next] = report;
        self.reports_next = (self.reports_next + 1) % REPORTS;
        self.reports_len = (self.reports_len + 1).min(REPORTS);
        if let Some(sample) = sample_rate(&report) {
            self.samples[self.samples_next] = (at, sample);
            self.samples_next = (self.samples_next + 1) % SAMPLES;
        }
        self.judge_delay(at, report.bytes);
    }

    /// Dates what the report counts: the newest frame it counts was written at some time,
    /// the oldest it does not count at another. The first's age is the path's delay as it
    /// is now (its base is the least one seen lately); the second's age, above that base,
    /// is how long frames now wait on their way.
    fn judge_delay(&mut self, at: Duration, received: u64) {
        let mut delivered_at = None;
        let mut oldest_waiting = None;
        for (written_at, total) in self.writes() {
            if total <= received {
                delivered_at = Some(written_at);
            } else {
                oldest_waiting = Some(written_at);
                break;
            }
        }
        if let Some(written_at) = delivered_at {
            let delay = at.saturating_sub(written_at);
            let stale = self.base.is_some_and(|(_, seen)| at.saturating_sub(seen) > BASE_WINDOW);
            if stale || self.base.is_none_or(|(base, _)| delay <= base) {
                self.base = Some((delay, at));
            }
        }
        let base = self.base.map_or(Duration::ZERO, |(base, _)| base);
        self.queue = match oldest_waiting {
            Some(written_at) => at.saturating_sub(written_at).saturating_sub(base),
            // Everything written has arrived; or the log does not reach back far enough,
            // which means frames have waited longer than it holds.
            None if self.writes().next().is_some_and(|(_, total)| total > received) => {
                at.saturating_sub(self.writes().next().map_or(at, |(w, _)| w))
            }
            None => Duration::ZERO,
        };
    }

    fn latest(&self) -> Option<&Report> {
        (self.reports_len > 0).then(|| &self.reports[(self.reports_next + REPORTS - 1) % REPORTS])
    }

    /// Whether any report came.
    pub fn has_reports(&self) -> bool {
        self.reports_len > 0
    }

    /// How long the oldest frame not yet arrived had been on its way, beyond the path's
    /// base delay, when the latest report came (zero when everything had arrived).
    pub fn queue_delay(&self) -> Duration {
        self.queue
    }

    /// Bytes per second that arrived over the reports of the last `span` or so (the
    /// receiver's clock), if at least one frame did.
    pub fn delivered_rate(&self, span: Duration) -> Option<f64> {
        let latest = self.latest()?;
        let mut earliest = None;
        for i in 1..self.reports_len {
            let seen = &self.reports[(self.reports_next + REPORTS - 1 - i) % REPORTS];
            earliest = Some(seen);
            if latest.at_us.saturating_sub(seen.at_us) >= span.as_micros() as u64 {
                break;
            }
        }
        let earliest = earliest?;
        let micros = latest.at_us.saturating_sub(earliest.at_us);
        let frames = latest.frames.wrapping_sub(earliest.frames);
        if micros == 0 || frames == 0 {
            return None;
        }
        Some(latest.bytes.saturating_sub(earliest.bytes) as f64 / (micros as f64 / 1e6))
    }

    /// The path's capacity as the recent samples put it (their median), if there are any
    /// from the last few seconds.
    pub fn capacity(&self, now: Duration) -> Option<Capacity> {
        let mut recent = [NO_SAMPLE; SAMPLES];
        let mut n = 0;
        for (at, sample) in self.samples {
            if sample.rate > 0.0 && now.saturating_sub(at) <= SAMPLE_AGE {
                recent[n] = sample;
                n += 1;
            }
        }
        if n == 0 {
            return None;
        }
        let recent = &mut recent[..n];
        recent.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        Some(recent[n / 2])
    }

    /// Forgets the capacity samples (the link changed: what they said no longer holds).
    pub fn forget_samples(&mut self) {
        self.samples = [(Duration::ZERO, NO_SAMPLE); SAMPLES];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn report(at_ms: u64, bytes: u64, frames: u32) -> Report {
        Report { at_us: at_ms * 1000, bytes, frames, ..Report::default() }
    }

    #[test]
    fn the_delivered_rate_is_the_bytes_over_the_receivers_time() {
        let mut link = LinkEstimate::default();
        for i in 0..8u64 {
            // 1 MB a second on the receiver's clock, which is 5 s ahead of ours.
            link.report(MS * (250 * i as u32 + 10), report(5_000 + 250 * i, 250_000 * i, 8 * i as u32));
        }
        let rate = link.delivered_rate(Duration::from_secs(1)).unwrap();
        assert!((rate - 1e6).abs() < 1.0, "{rate}");
        assert_eq!(LinkEstimate::default().delivered_rate(Duration::from_secs(1)), None);
    }

    #[test]
    fn frames_waiting_in_a_proxy_show_as_queue_delay_above_the_path_base() {
        let mut link = LinkEstimate::default();
        // A frame of 10 kB every 33 ms; the receiver has all but the last one 20 ms later.
        let mut total = 0;
        for i in 0..30u32 {
            total += 10_000;
            link.sent(MS * (33 * i), total);
            if i % 8 == 7 {
                link.report(MS * (33 * i + 20), report(u64::from(33 * i), total - 10_000, i));
            }
        }
        assert!(link.queue_delay() <= 20 * MS, "{:?}", link.queue_delay());
        // Now the receiver falls behind: its reports count only what was written 300 ms
        // earlier.
        for i in 30..60u32 {
            total += 10_000;
            link.sent(MS * (33 * i), total);
            if i % 8 == 7 {
                link.report(MS * (33 * i + 20), report(u64::from(33 * i), total - 10 * 10_000, i));
            }
        }
        let queue = link.queue_delay();
        assert!(queue >= 250 * MS && queue <= 330 * MS, "{queue:?}");
    }

    #[test]
    fn capacity_is_the_median_of_recent_samples_and_short_tails_say_at_least() {
        let mut link = LinkEstimate::default();
        let sample = |at: u64, bytes: u32, us: u32| Report {
            at_us: at * 1000,
            sample_bytes: bytes,
            sample_us: us,
            ..Report::default()
        };
        link.report(MS * 100, sample(100, 50_000, 10_000)); // 5 MB/s
        link.report(MS * 350, sample(350, 50_000, 5_000)); // 10 MB/s
        link.report(MS * 600, sample(600, 60_000, 6_000)); // 10 MB/s
        link.report(MS * 850, sample(850, 1_000, 10)); // too short to say anything
        let capacity = link.capacity(MS * 900).unwrap();
        assert!((capacity.rate - 10e6).abs() < 1.0 && !capacity.at_least, "{capacity:?}");
        assert_eq!(link.capacity(MS * 10_000), None, "old samples do not count");
        assert_eq!(
            sample_rate(&sample(1100, 30_000, 100)),
            Some(Capacity { rate: 30_000.0 / 0.001, at_least: true }),
            "at least 30 MB/s"
        );
        assert_eq!(sample_rate(&sample(1100, 8_000, 100)), None);
    }
}
