//! One viewer of the hub: its newest-frame slot for pictures (a newer frame replaces one not
//! yet taken, counted as a drop), what it needs of each frame, how its frames go out now
//! ([`Delivery`], for the stats line and `/state`), and its counters. A viewer of a stream
//! with references gets its units through a [`super::Subscription`] instead.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::frame::SharedFrame;
use crate::media::PixelFormat;

/// What kind of client a viewer is (for `/state` and the stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewerKind {
    /// A pistream display or call peer.
    Pistream,
    /// An HTTP client of the MJPEG stream.
    Http,
    /// A peer on the seed wire (`--peer seed`): the original Python chat.
    Seed,
    /// An RTSP client (an NVR, a relay, VLC).
    Rtsp,
    /// A browser (or another WHEP client) over WebRTC.
    WebRtc,
}

impl ViewerKind {
    /// The name `/state` gives it.
    pub fn name(self) -> &'static str {
        match self {
            ViewerKind::Pistream => "pistream",
            ViewerKind::Http => "http",
            ViewerKind::Seed => "seed",
            ViewerKind::Rtsp => "rtsp",
            ViewerKind::WebRtc => "webrtc",
        }
    }
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
    pub const NONE: Needs = Needs { bgr: false, native: false };
    pub const BGR: Needs = Needs { bgr: true, native: false };
    pub const NATIVE: Needs = Needs { bgr: false, native: true };

    /// Both together.
    pub fn and(self, other: Needs) -> Needs {
        Needs { bgr: self.bgr || other.bgr, native: self.native || other.native }
    }

    pub(super) fn bits(self) -> u8 {
        u8::from(self.bgr) | u8::from(self.native) << 1
    }

    pub(super) fn from_bits(bits: u8) -> Needs {
        Needs { bgr: bits & 1 != 0, native: bits & 2 != 0 }
    }
}

/// How a viewer's frames go out: a format, a JPEG quality (0 for other formats), whether
/// every other frame is skipped, and H.264's bitrate (kbit/s; 0 for other formats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub format: PixelFormat,
    pub quality: u8,
    pub half_rate: bool,
    pub kbps: u32,
}

impl Delivery {
    pub const BGR: Delivery = Delivery { format: PixelFormat::Bgr24, quality: 0, half_rate: false, kbps: 0 };

    pub fn new(format: PixelFormat) -> Delivery {
        Delivery { format, quality: 0, half_rate: false, kbps: 0 }
    }

    pub fn jpeg(quality: u8) -> Delivery {
        Delivery { format: PixelFormat::Mjpeg, quality, half_rate: false, kbps: 0 }
    }

    /// H.264 at `bitrate` bits per second.
    pub fn h264(bitrate: u32) -> Delivery {
        Delivery { format: PixelFormat::H264, quality: 0, half_rate: false, kbps: bitrate.div_ceil(1000) }
    }

    /// H.264's bitrate in bits per second.
    pub fn bitrate(self) -> u32 {
        self.kbps.saturating_mul(1000)
    }

    /// Packed into 64 bits (for an atomic): bitrate, format index, quality, half rate.
    fn bits(self) -> u64 {
        let index = PixelFormat::ALL.iter().position(|f| *f == self.format).unwrap_or(0) as u64;
        u64::from(self.kbps) << 32
            | 1 << 31
            | index << 16
            | u64::from(self.quality) << 1
            | u64::from(self.half_rate)
    }

    fn from_bits(bits: u64) -> Option<Delivery> {
        if bits & 1 << 31 == 0 {
            return None;
        }
        let format = *PixelFormat::ALL.get(((bits >> 16) & 0xff) as usize)?;
        Some(Delivery {
            format,
            quality: ((bits >> 1) & 0x7f) as u8,
            half_rate: bits & 1 != 0,
            kbps: (bits >> 32) as u32,
        })
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format.name())?;
        if self.format == PixelFormat::Mjpeg && self.quality > 0 {
            write!(f, " q{}", self.quality)?;
        }
        if self.format == PixelFormat::H264 && self.kbps >= 1000 {
            write!(f, " {:.1} Mbit/s", f64::from(self.kbps) / 1000.0)?;
        } else if self.format == PixelFormat::H264 && self.kbps > 0 {
            write!(f, " {} kbit/s", self.kbps)?;
        }
        if self.half_rate {
            f.write_str(" at half rate")?;
        }
        Ok(())
    }
}

/// One viewer's newest-frame slot and counters.
pub struct Viewer {
    /// Who it is (the peer's address).
    pub name: String,
    pub kind: ViewerKind,
    slot: Mutex<Option<Arc<SharedFrame>>>,
    pub(super) ready: Condvar,
    /// Frames (or units) this viewer took to send.
    pub taken: AtomicU64,
    /// Frames replaced in its slot before it took them, and units it was never sent
    /// (waiting for a keyframe after a gap).
    pub dropped: AtomicU64,
    /// Bytes its sender put on the wire.
    pub sent_bytes: AtomicU64,
    pub since: Instant,
    /// What it needs of each frame ([`Needs`] bits); none while it takes units only.
    needs: AtomicU8,
    /// How its frames go out now ([`Delivery`] bits; 0 before the first).
    delivery: AtomicU64,
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
            delivery: AtomicU64::new(0),
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

    /// Records how its last frame went out (for the stats line and `/state`).
    pub fn set_delivery(&self, delivery: Delivery) {
        self.delivery.store(delivery.bits(), Ordering::Relaxed);
    }

    /// How its last frame went out.
    pub fn delivery(&self) -> Option<Delivery> {
        Delivery::from_bits(self.delivery.load(Ordering::Relaxed))
    }

    /// Says what this viewer needs of the frames from now on.
    pub fn set_needs(&self, needs: Needs) {
        self.needs.store(needs.bits(), Ordering::Relaxed);
    }

    pub(super) fn needs(&self) -> Needs {
        Needs::from_bits(self.needs.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_survives_its_atomic_and_reads_as_the_stats_line_writes_it() {
        for d in [
            Delivery::BGR,
            Delivery::new(PixelFormat::I420),
            Delivery::jpeg(85),
            Delivery { half_rate: true, ..Delivery::jpeg(60) },
        ] {
            assert_eq!(Delivery::from_bits(d.bits()), Some(d));
        }
        assert_eq!(Delivery::from_bits(0), None);
        assert_eq!(Delivery { half_rate: true, ..Delivery::jpeg(60) }.to_string(), "JPEG q60 at half rate");
        assert_eq!(Delivery::new(PixelFormat::I420).to_string(), "I420");
    }
}
