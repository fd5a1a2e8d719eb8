//! When a stateful encoder makes a keyframe it was asked for: viewers ask when they join or
//! after a gap, and many viewers coming and going must not turn the stream into keyframes
//! only (each costs several times a predicted picture's bits). Requests are remembered and
//! honoured at most once per [`MIN_GAP`]; a keyframe the encoder makes by itself (its own
//! interval) satisfies every request made before it. Sans I/O: time comes in.

use std::time::{Duration, Instant};

/// The shortest time between two keyframes made on request: at most two a second, so a
/// joining viewer waits at most this long (plus a frame) for its first picture.
pub const MIN_GAP: Duration = Duration::from_millis(500);

/// Keyframe requests and when they may be honoured.
#[derive(Debug)]
pub struct KeyframeThrottle {
    min_gap: Duration,
    /// When the last keyframe was made (asked for or not).
    last: Option<Instant>,
    pending: bool,
    /// Requests made, and keyframes made because of them.
    pub requests: u64,
    pub forced: u64,
}

impl KeyframeThrottle {
    pub fn new(min_gap: Duration) -> KeyframeThrottle {
        KeyframeThrottle { min_gap, last: None, pending: false, requests: 0, forced: 0 }
    }

    /// A viewer wants a keyframe.
    pub fn request(&mut self) {
        self.requests += 1;
        self.pending = true;
    }

    /// Whether the picture being encoded at `now` must be a keyframe.
    pub fn force_now(&mut self, now: Instant) -> bool {
        let allowed = self.last.is_none_or(|last| now.duration_since(last) >= self.min_gap);
        if self.pending && allowed {
            self.pending = false;
            self.forced += 1;
            return true;
        }
        false
    }

    /// A keyframe was made at `now` (forced or of the encoder's own accord).
    pub fn made_keyframe(&mut self, now: Instant) {
        self.last = Some(now);
        self.pending = false;
    }

    /// Whether a request waits.
    pub fn pending(&self) -> bool {
        self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_honoured_at_most_once_per_gap_and_none_is_lost() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut k = KeyframeThrottle::new(MIN_GAP);
        assert!(!k.force_now(at(0)), "nothing asked");
        k.request();
        assert!(k.force_now(at(0)), "the first request at once");
        k.made_keyframe(at(0));
        for ms in [10, 100, 200, 300, 400] {
            k.request();
            assert!(!k.force_now(at(ms)), "{ms} ms after a keyframe: throttled");
        }
        assert!(k.force_now(at(500)), "...and honoured once the gap has passed");
        k.made_keyframe(at(500));
        assert_eq!((k.requests, k.forced), (6, 2));
        // The encoder's own keyframe answers a request made before it.
        k.request();
        k.made_keyframe(at(600));
        assert!(!k.pending() && !k.force_now(at(2000)));
    }
}
