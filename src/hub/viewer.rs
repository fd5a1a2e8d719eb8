//! One viewer of the hub: its latest-frame slot (a newer frame replaces one not yet taken,
//! counted as a drop), what it needs of each frame, and its counters for the stats.

use std::sync::atomic::{AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::SharedFrame;
use crate::protocol::WireFormat;
use crate::wire::Level;

/// What kind of client a viewer is (for `/state` and the stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewerKind {
    /// A pistream display or call peer.
    Pistream,
    /// An HTTP client of the MJPEG stream.
    Http,
    /// A peer on the seed wire (`--peer seed`): the original Python chat.
    Seed,
}

/// One viewer's latest-frame slot and counters.
pub struct Viewer {
    /// Who it is (the peer's address).
    pub name: String,
    pub kind: ViewerKind,
    slot: Mutex<Option<Arc<SharedFrame>>>,
    pub(super) ready: Condvar,
    /// Frames this viewer took from its slot.
    pub taken: AtomicU64,
    /// Frames replaced in its slot before it took them.
    pub dropped: AtomicU64,
    /// Bytes its sender put on the wire.
    pub sent_bytes: AtomicU64,
    pub since: Instant,
    /// What it needs of each frame ([`Needs`] bits).
    needs: AtomicU8,
    /// The wire format (and JPEG quality) its frames go out in now: the format code in the
    /// high byte, the quality in the low 7 bits, bit 7 set at half the frame rate; 0 before
    /// the first.
    wire: AtomicU16,
}

/// What a viewer needs the capture stage to make of each frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Needs {
    /// Packed BGR (sent as it is, or encoded from).
    pub bgr: bool,
    /// The capture's own bytes (sent as they are, or converted from).
    pub native: bool,
}

impl Needs {
    pub const BGR: Needs = Needs { bgr: true, native: false };
    pub const NATIVE: Needs = Needs { bgr: false, native: true };

    pub(super) fn bits(self) -> u8 {
        u8::from(self.bgr) | u8::from(self.native) << 1
    }

    pub(super) fn from_bits(bits: u8) -> Needs {
        Needs { bgr: bits & 1 != 0, native: bits & 2 != 0 }
    }
}

impl Viewer {
    pub(super) fn new(name: String, kind: ViewerKind, needs: Needs) -> Viewer {
        Viewer {
            name,
            kind,
            slot: Mutex::new(None),
            ready: Condvar::new(),
            taken: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            since: Instant::now(),
            needs: AtomicU8::new(needs.bits()),
            wire: AtomicU16::new(0),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Option<Arc<SharedFrame>>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `frame` in the slot, replacing (and counting as dropped) one not yet taken.
    pub(super) fn offer(&self, frame: &Arc<SharedFrame>) {
        let replaced = self.lock().replace(frame.clone());
        if replaced.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // All: the viewer's sender, and a capture stage waiting for it to take frames.
        self.ready.notify_all();
        drop(replaced);
    }

    /// The newest frame published since the last take, waiting up to `timeout` for one.
    pub fn take(&self, timeout: Duration) -> Option<Arc<SharedFrame>> {
        let deadline = Instant::now() + timeout;
        let mut slot = self.lock();
        loop {
            if let Some(frame) = slot.take() {
                drop(slot);
                self.taken.fetch_add(1, Ordering::Relaxed);
                self.ready.notify_all();
                return Some(frame);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            slot = match self.ready.wait_timeout(slot, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_none()
    }

    /// Records the level its last frame went out at (for the stats line).
    pub fn set_wire(&self, level: Level) {
        let code =
            u16::from(level.format.code()) << 8 | u16::from(level.quality) | u16::from(level.half_rate) << 7;
        self.wire.store(code, Ordering::Relaxed);
    }

    /// The level its last frame went out at.
    pub fn wire(&self) -> Option<Level> {
        let code = self.wire.load(Ordering::Relaxed);
        let format = WireFormat::from_code((code >> 8) as u8)?;
        Some(Level { format, quality: (code & 0x7f) as u8, half_rate: code & 0x80 != 0 })
    }

    /// Says what this viewer needs of the frames from now on.
    pub fn set_needs(&self, needs: Needs) {
        self.needs.store(needs.bits(), Ordering::Relaxed);
    }

    pub(super) fn needs(&self) -> Needs {
        Needs::from_bits(self.needs.load(Ordering::Relaxed))
    }
}
