//! The latest-frame mailbox between two pipeline stages (triple buffering).
//!
//! The producer owns a back buffer, the consumer a front buffer, and the mailbox holds the
//! middle one. `publish` swaps the producer's buffer with the middle slot; `take` swaps the
//! middle slot with the consumer's buffer when a newer frame is there. Buffers move by
//! swapping `Box` pointers under a short lock, never by copying pixels, and nothing queues:
//! a frame replaced in the middle slot before anyone took it is counted as a drop, so the
//! consumer always gets the newest frame whichever side is slow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::frame::Frame;
use super::geometry::Geometry;

pub struct Mailbox {
    slot: Mutex<Slot>,
    changed: Condvar,
    dropped: AtomicU64,
    published: AtomicU64,
}

struct Slot {
    middle: Frame,
    /// The middle frame was published and not yet taken.
    fresh: bool,
}

impl Mailbox {
    /// A mailbox whose middle buffer has this geometry (the producer and consumer each
    /// allocate their own buffer: three in all).
    pub fn new(geometry: Geometry) -> Self {
        Mailbox {
            slot: Mutex::new(Slot { middle: Frame::new(geometry), fresh: false }),
            changed: Condvar::new(),
            dropped: AtomicU64::new(0),
            published: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding this lock cannot leave a half-swapped frame behind (swaps
        // are single statements), so a poisoned lock is still consistent.
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands `back` to the consumer and gives the producer the previous middle buffer to
    /// fill next. Never blocks on the consumer.
    pub fn publish(&self, back: &mut Frame) {
        let mut slot = self.lock();
        std::mem::swap(&mut slot.middle, back);
        if slot.fresh {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        slot.fresh = true;
        drop(slot);
        self.published.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Swaps the newest published frame into `front`, waiting up to `timeout` for one.
    /// Returns false (and leaves `front` alone) if no new frame arrived in time.
    pub fn take(&self, front: &mut Frame, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut slot = self.lock();
        while !slot.fresh {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            slot = match self.changed.wait_timeout(slot, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        std::mem::swap(&mut slot.middle, front);
        slot.fresh = false;
        drop(slot);
        self.changed.notify_all();
        true
    }

    /// Waits up to `timeout` until the last published frame has been taken. For producers
    /// that must not drop (benchmarks, file sources); live sources never call it.
    pub fn wait_taken(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut slot = self.lock();
        while slot.fresh {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            slot = match self.changed.wait_timeout(slot, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Frames overwritten in the middle slot before the consumer took them.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Frames published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64) -> Frame {
        let mut f = Frame::new(Geometry::new(4, 2));
        f.seq = seq;
        f.data[0] = seq as u8;
        f
    }

    #[test]
    fn newest_frame_wins_and_overwrites_count_as_drops() {
        let mailbox = Mailbox::new(Geometry::new(4, 2));
        let mut back = frame(1);
        mailbox.publish(&mut back);
        back = frame(2);
        mailbox.publish(&mut back);
        back = frame(3);
        mailbox.publish(&mut back);
        let mut front = frame(0);
        assert!(mailbox.take(&mut front, Duration::ZERO));
        assert_eq!(front.seq, 3);
        assert_eq!(front.data[0], 3);
        assert_eq!(mailbox.dropped(), 2);
        assert_eq!(mailbox.published(), 3);
        // Nothing new: take times out and leaves the front buffer alone.
        assert!(!mailbox.take(&mut front, Duration::from_millis(5)));
        assert_eq!(front.seq, 3);
    }

    #[test]
    fn buffers_move_without_copying() {
        let mailbox = Mailbox::new(Geometry::new(4, 2));
        let mut back = frame(7);
        let pointer = back.data.as_ptr();
        mailbox.publish(&mut back);
        let mut front = frame(0);
        mailbox.take(&mut front, Duration::ZERO);
        assert_eq!(front.data.as_ptr(), pointer, "the consumer holds the very buffer the producer filled");
    }

    #[test]
    fn take_wakes_when_a_frame_is_published_from_another_thread() {
        let mailbox = std::sync::Arc::new(Mailbox::new(Geometry::new(4, 2)));
        let producer = {
            let mailbox = mailbox.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                let mut back = frame(9);
                mailbox.publish(&mut back);
            })
        };
        let mut front = frame(0);
        assert!(mailbox.take(&mut front, Duration::from_secs(5)));
        assert_eq!(front.seq, 9);
        assert!(mailbox.wait_taken(Duration::ZERO));
        producer.join().unwrap();
    }
}
