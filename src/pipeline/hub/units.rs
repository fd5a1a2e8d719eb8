//! One viewer's queue of a stream with references (H.264): units in order, from a keyframe
//! on. The newest-frame rule cannot apply here (a unit whose reference was skipped does not
//! decode), so the policy is *from keyframe*:
//!
//! - a viewer that joins waits for a keyframe: earlier units are never queued;
//! - the queue holds at most one group of pictures (`capacity`, the keyframe interval). A
//!   viewer that falls that far behind (a slow link, a frozen process) has it all
//!   dropped and waits for the next keyframe, so it never has more than one GOP's remainder
//!   ahead of it and its latency stays bounded;
//! - everything dropped or never queued is counted ([`UnitQueue::skipped`]).
//!
//! A queue that starts waiting asks its encoder for a keyframe (the caller sees
//! [`Pushed::NeedsKeyframe`]), which the encoder honours within its throttle.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::media::EncodedUnit;

/// What pushing a unit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued for the viewer.
    Queued,
    /// Not queued: the viewer waits for a keyframe.
    Skipped,
    /// The viewer fell a whole GOP behind: its queue was dropped and it now waits for a
    /// keyframe, which its encoder should make soon.
    NeedsKeyframe,
}

struct State {
    units: VecDeque<Arc<EncodedUnit>>,
    waiting_for_keyframe: bool,
}

/// A from-keyframe queue of encoded units.
pub struct UnitQueue {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
    /// Units this viewer was never sent: before its first keyframe, or dropped after a gap.
    pub skipped: AtomicU64,
    /// Units it took.
    pub taken: AtomicU64,
}

impl UnitQueue {
    /// A queue holding at most `capacity` units (one GOP), waiting for its first keyframe.
    pub fn new(capacity: usize) -> UnitQueue {
        let capacity = capacity.max(1);
        UnitQueue {
            state: Mutex::new(State { units: VecDeque::with_capacity(capacity), waiting_for_keyframe: true }),
            ready: Condvar::new(),
            capacity,
            skipped: AtomicU64::new(0),
            taken: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Offers the encoder's newest unit.
    pub fn push(&self, unit: &Arc<EncodedUnit>) -> Pushed {
        let mut state = self.lock();
        if state.waiting_for_keyframe && !unit.keyframe {
            drop(state);
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Pushed::Skipped;
        }
        let mut result = Pushed::Queued;
        if state.units.len() >= self.capacity {
            // A whole GOP behind: what is queued is stale, and the rest of this GOP would
            // only add to it. Start again at a keyframe (this one, if it is one).
            let dropped = state.units.len() as u64;
            state.units.clear();
            self.skipped.fetch_add(dropped, Ordering::Relaxed);
            if !unit.keyframe {
                state.waiting_for_keyframe = true;
                drop(state);
                self.skipped.fetch_add(1, Ordering::Relaxed);
                return Pushed::NeedsKeyframe;
            }
            result = Pushed::NeedsKeyframe;
        }
        state.waiting_for_keyframe = false;
        state.units.push_back(unit.clone());
        drop(state);
        self.ready.notify_all();
        if result == Pushed::NeedsKeyframe {
            // This unit is the keyframe it waited for: no new one is needed.
            return Pushed::Queued;
        }
        result
    }

    /// The next unit in order, waiting up to `timeout` for one.
    pub fn take(&self, timeout: Duration) -> Option<Arc<EncodedUnit>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if let Some(unit) = state.units.pop_front() {
                drop(state);
                self.taken.fetch_add(1, Ordering::Relaxed);
                return Some(unit);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            state = match self.ready.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Drops what is queued and waits for the next keyframe (the viewer could not use what
    /// it had: a unit it failed to send whole, say).
    pub fn restart(&self) {
        let mut state = self.lock();
        let dropped = state.units.len() as u64;
        state.units.clear();
        state.waiting_for_keyframe = true;
        drop(state);
        self.skipped.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Whether it is waiting for a keyframe.
    pub fn waiting_for_keyframe(&self) -> bool {
        self.lock().waiting_for_keyframe
    }

    /// Units queued now.
    pub fn len(&self) -> usize {
        self.lock().units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seq: u64, keyframe: bool) -> Arc<EncodedUnit> {
        Arc::new(EncodedUnit { seq, captured_us: 0, keyframe, data: Vec::new() })
    }

    #[test]
    fn a_new_queue_starts_at_a_keyframe_and_keeps_order() {
        let q = UnitQueue::new(4);
        assert_eq!(q.push(&unit(0, false)), Pushed::Skipped);
        assert_eq!(q.push(&unit(1, true)), Pushed::Queued);
        assert_eq!(q.push(&unit(2, false)), Pushed::Queued);
        let seqs: Vec<u64> = (0..2).map(|_| q.take(Duration::ZERO).unwrap().seq).collect();
        assert_eq!(seqs, [1, 2]);
        assert_eq!(q.skipped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_viewer_a_gop_behind_drops_it_and_waits_for_the_next_keyframe() {
        let q = UnitQueue::new(3);
        q.push(&unit(0, true));
        q.push(&unit(1, false));
        q.push(&unit(2, false));
        assert_eq!(q.push(&unit(3, false)), Pushed::NeedsKeyframe, "full: a gap, ask for a keyframe");
        assert!(q.is_empty() && q.waiting_for_keyframe());
        assert_eq!(q.push(&unit(4, false)), Pushed::Skipped);
        assert_eq!(q.push(&unit(5, true)), Pushed::Queued);
        assert_eq!(q.take(Duration::ZERO).unwrap().seq, 5);
        assert_eq!(q.skipped.load(Ordering::Relaxed), 5, "units 0-4 never sent");
        // Full when a keyframe arrives: it starts the queue again, nothing else needed.
        q.push(&unit(6, false));
        q.push(&unit(7, false));
        q.push(&unit(8, false));
        assert_eq!(q.push(&unit(9, true)), Pushed::Queued);
        assert_eq!(q.take(Duration::ZERO).unwrap().seq, 9);
    }
}
