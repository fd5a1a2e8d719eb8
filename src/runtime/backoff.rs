//! Exponential backoff for everything that retries: connecting to a peer, reopening a
//! camera that vanished, reopening a network stream. One type, so every retry loop waits
//! and reports the same way.

use std::time::{Duration, Instant};

/// Delays that double from `min` up to `max`, and the time the next attempt is due.
#[derive(Clone, Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    due: Instant,
    attempts: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff { min, max, next: min, due: Instant::now(), attempts: 0 }
    }

    /// Connecting to a peer: 0.25 s doubling to 2 s.
    pub fn connect() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(2))
    }

    /// Reopening a source (a camera or a stream): 0.5 s doubling to 5 s.
    pub fn reopen() -> Self {
        Backoff::new(Duration::from_millis(500), Duration::from_secs(5))
    }

    /// Records a failed attempt: returns how long to wait before the next one, which is
    /// then due after that long.
    pub fn failed(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        self.due = Instant::now() + delay;
        self.attempts += 1;
        delay
    }

    /// Records a success: the next failure waits the shortest delay again.
    pub fn succeeded(&mut self) {
        self.next = self.min;
        self.attempts = 0;
    }

    /// Whether the next attempt is due.
    pub fn is_due(&self) -> bool {
        Instant::now() >= self.due
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_and_reset_on_success() {
        let mut b = Backoff::connect();
        let delays: Vec<u64> = (0..6).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000, 2000]);
        assert_eq!(b.attempts(), 6);
        assert!(!b.is_due());
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(250));
        let mut r = Backoff::reopen();
        assert_eq!(
            (r.failed().as_millis(), r.failed().as_millis(), r.failed().as_millis()),
            (500, 1000, 2000)
        );
    }
}
