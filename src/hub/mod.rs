//! One capture, many viewers. The capture stage fills frames taken from a [`FramePool`] of
//! reference-counted buffers and publishes each one to the [`Hub`], which puts it in every
//! viewer's own latest-frame slot ([`Viewer`]); each viewer's sender takes it from there.
//!
//! Nothing copies pixels: publishing clones one `Arc` per viewer. A viewer that has not
//! taken its frame when the next one comes has it replaced (a drop, counted for that
//! viewer), so a slow or frozen viewer never slows the capture or anyone else. A frame
//! goes back to the pool when the last viewer lets go of it; the pool grows only while
//! frames are pinned (a viewer mid-send), up to a bound, so steady state allocates nothing.

mod frame;
mod viewer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use frame::{FramePool, PoolIndex, Product, ProductError, SharedFrame};
pub use viewer::{Needs, Viewer, ViewerKind};

use crate::convert::InputFormat;

/// Every viewer's slot, the newest frame, and the viewer limit.
pub struct Hub {
    viewers: Mutex<Vec<Arc<Viewer>>>,
    /// Wakes the capture stage when viewers come, and producers waiting for slots to empty.
    changed: Condvar,
    latest: Mutex<Option<Arc<SharedFrame>>>,
    published: Condvar,
    max_viewers: usize,
    native: Option<InputFormat>,
    /// When the last frame was published (µs, this hub's clock) and the smoothed interval
    /// between frames (µs, f64 bits): the recent frame rate.
    last_publish_us: AtomicU64,
    interval_us: AtomicU64,
    epoch: Instant,
}

/// Why a viewer could not join.
#[derive(Debug, PartialEq, Eq)]
pub struct Full {
    pub max: usize,
}

impl Hub {
    /// A hub for up to `max_viewers`, of a capture whose own bytes are in `native`.
    pub fn new(max_viewers: usize, native: Option<InputFormat>) -> Arc<Hub> {
        Arc::new(Hub {
            native,
            viewers: Mutex::new(Vec::with_capacity(max_viewers)),
            changed: Condvar::new(),
            latest: Mutex::new(None),
            published: Condvar::new(),
            max_viewers,
            last_publish_us: AtomicU64::new(0),
            interval_us: AtomicU64::new(0f64.to_bits()),
            epoch: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Viewer>>> {
        self.viewers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many frames a capture stage may need at once: two per viewer (one in its slot,
    /// one being sent), the newest frame, and the one being captured.
    pub fn pool_limit(&self) -> usize {
        2 * self.max_viewers + 2
    }

    /// What a web client needs: the camera's JPEGs when it captures JPEG, else BGR.
    pub fn web_needs(&self) -> Needs {
        if self.native.is_some_and(|f| f == InputFormat::Mjpeg || f.is_yuv()) {
            Needs::NATIVE
        } else {
            Needs::BGR
        }
    }

    /// Adds a viewer needing `needs` of each frame (until the guard is dropped), unless
    /// `max_viewers` already watch.
    pub fn join(self: &Arc<Self>, name: String, kind: ViewerKind, needs: Needs) -> Result<ViewerGuard, Full> {
        let mut viewers = self.lock();
        if viewers.len() >= self.max_viewers {
            return Err(Full { max: self.max_viewers });
        }
        let viewer = Arc::new(Viewer::new(name, kind, needs));
        viewers.push(viewer.clone());
        drop(viewers);
        self.changed.notify_all();
        Ok(ViewerGuard { hub: self.clone(), viewer })
    }

    /// Hands `frame` to every viewer's slot and makes it the newest.
    pub fn publish(&self, frame: &Arc<SharedFrame>) {
        for viewer in self.lock().iter() {
            viewer.offer(frame);
        }
        let previous = self.latest.lock().unwrap_or_else(|p| p.into_inner()).replace(frame.clone());
        self.published.notify_all();
        drop(previous);
        let now = self.epoch.elapsed().as_micros() as u64;
        let last = self.last_publish_us.swap(now, Ordering::Relaxed);
        if last > 0 {
            let old = f64::from_bits(self.interval_us.load(Ordering::Relaxed));
            let sample = (now - last) as f64;
            let smoothed = if old == 0.0 { sample } else { old * 0.9 + sample * 0.1 };
            self.interval_us.store(smoothed.to_bits(), Ordering::Relaxed);
        }
    }

    /// Frames published per second, recently (0 when the camera is idle).
    pub fn fps(&self) -> f64 {
        let last = self.last_publish_us.load(Ordering::Relaxed);
        let idle = self.epoch.elapsed().as_micros() as u64 > last + 2_000_000;
        let interval = f64::from_bits(self.interval_us.load(Ordering::Relaxed));
        if last == 0 || idle || interval <= 0.0 {
            0.0
        } else {
            1e6 / interval
        }
    }

    /// The newest frame published, if any.
    pub fn latest(&self) -> Option<Arc<SharedFrame>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits up to `timeout` for a frame newer than `after` (a sequence number; `None`:
    /// any frame).
    pub fn next_after(&self, after: Option<u64>, timeout: Duration) -> Option<Arc<SharedFrame>> {
        let deadline = Instant::now() + timeout;
        let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(frame) = latest.as_ref().filter(|f| after.is_none_or(|a| f.seq > a)) {
                return Some(frame.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            latest = match self.published.wait_timeout(latest, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Lets go of the newest frame (when capture pauses, so it is not shown later as new).
    pub fn forget_latest(&self) {
        let previous = self.latest.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(previous);
    }

    pub fn max_viewers(&self) -> usize {
        self.max_viewers
    }

    /// Whether no viewer can join now.
    pub fn is_full(&self) -> bool {
        self.lock().len() >= self.max_viewers
    }

    /// What the viewers now need of each frame, together.
    pub fn needs(&self) -> Needs {
        Needs::from_bits(self.lock().iter().fold(0, |bits, v| bits | v.needs().bits()))
    }

    pub fn viewer_count(&self) -> usize {
        self.lock().len()
    }

    /// Waits up to `timeout` for at least one viewer.
    pub fn wait_for_viewers(&self, timeout: Duration) -> bool {
        let viewers = self.lock();
        if !viewers.is_empty() {
            return true;
        }
        match self.changed.wait_timeout(viewers, timeout) {
            Ok((viewers, _)) => !viewers.is_empty(),
            Err(poisoned) => !poisoned.into_inner().0.is_empty(),
        }
    }

    /// Waits up to `timeout` until every viewer has taken its frame (for a source with no
    /// pace of its own, which then makes frames only as fast as they are taken).
    pub fn wait_all_taken(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let waiting = self.lock().iter().find(|v| !v.is_empty()).cloned();
            let Some(viewer) = waiting else { return true };
            let slot = viewer.lock();
            if slot.is_none() {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let _ = viewer.ready.wait_timeout(slot, deadline - now);
        }
    }

    /// The viewers now, for reports (`/state`, the stats line).
    pub fn viewers(&self) -> Vec<Arc<Viewer>> {
        self.lock().clone()
    }

    /// Runs `f` on each viewer without copying the list (the stats line, once a second).
    pub fn for_each_viewer(&self, mut f: impl FnMut(&Viewer)) {
        for viewer in self.lock().iter() {
            f(viewer);
        }
    }

    fn leave(&self, viewer: &Arc<Viewer>) {
        self.lock().retain(|v| !Arc::ptr_eq(v, viewer));
        // Let go of a frame it never took, so it goes back to the pool.
        let left = viewer.lock().take();
        drop(left);
        self.changed.notify_all();
    }
}

/// A viewer's membership of the hub: it leaves when this is dropped.
pub struct ViewerGuard {
    hub: Arc<Hub>,
    viewer: Arc<Viewer>,
}

impl std::ops::Deref for ViewerGuard {
    type Target = Viewer;
    fn deref(&self) -> &Viewer {
        &self.viewer
    }
}

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.hub.leave(&self.viewer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Geometry;

    fn capture(pool: &mut FramePool, hub: &Hub, seq: u64) -> Option<Arc<SharedFrame>> {
        let i = pool.free()?;
        let frame = pool.frame_mut(i);
        frame.seq = seq;
        frame.bgr[0] = seq as u8;
        frame.has_bgr = true;
        let shared = pool.share(i);
        hub.publish(&shared);
        Some(shared)
    }

    #[test]
    fn every_viewer_gets_the_same_pixels_without_a_copy_and_a_slow_one_drops_its_own() {
        let hub = Hub::new(4, None);
        let mut pool = FramePool::new(Geometry::bgr(4, 2), hub.pool_limit());
        let fast = hub.join("fast".into(), ViewerKind::Pistream, Needs::BGR).unwrap();
        let slow = hub.join("slow".into(), ViewerKind::Http, Needs::BGR).unwrap();
        for seq in 0..5 {
            let published = capture(&mut pool, &hub, seq).unwrap();
            let got = fast.take(Duration::ZERO).unwrap();
            assert!(Arc::ptr_eq(&got, &published), "the very buffer, not a copy");
        }
        assert_eq!(slow.take(Duration::ZERO).unwrap().seq, 4, "the newest frame");
        assert_eq!(slow.dropped.load(Ordering::Relaxed), 4);
        assert_eq!(fast.dropped.load(Ordering::Relaxed), 0);
        assert!(pool.len() <= 4, "frames went back to the pool: {}", pool.len());
    }

    #[test]
    fn a_frozen_viewer_pins_at_most_its_frames_and_the_pool_stops_growing() {
        let hub = Hub::new(2, None);
        let mut pool = FramePool::new(Geometry::bgr(4, 2), hub.pool_limit());
        let frozen = hub.join("frozen".into(), ViewerKind::Pistream, Needs::BGR).unwrap();
        let mid_send = {
            capture(&mut pool, &hub, 0);
            frozen.take(Duration::ZERO).unwrap()
        };
        for seq in 1..100 {
            assert!(capture(&mut pool, &hub, seq).is_some(), "capture never stalls");
        }
        assert!(pool.len() <= 4, "{}", pool.len());
        assert_eq!(mid_send.seq, 0);
    }

    #[test]
    fn the_limit_is_kept_and_leaving_frees_the_place() {
        let hub = Hub::new(1, None);
        let first = hub.join("a".into(), ViewerKind::Pistream, Needs::BGR).unwrap();
        assert_eq!(hub.join("b".into(), ViewerKind::Pistream, Needs::BGR).err(), Some(Full { max: 1 }));
        drop(first);
        assert_eq!(hub.viewer_count(), 0);
        assert!(hub.join("b".into(), ViewerKind::Pistream, Needs::BGR).is_ok());
    }

    #[test]
    fn a_jpeg_is_encoded_once_per_quality_and_shared() {
        let hub = Hub::new(2, None);
        let mut pool = FramePool::new(Geometry::bgr(64, 48), hub.pool_limit());
        let frame = capture(&mut pool, &hub, 1).unwrap();
        let mut encoder = crate::jpeg::Encoder::new().unwrap();
        let first = frame.product(Product::Jpeg(80), &mut encoder).unwrap();
        let again = frame.product(Product::Jpeg(80), &mut encoder).unwrap();
        assert!(std::ptr::eq(first, again), "the same bytes, not a second encoding");
        let other = frame.product(Product::Jpeg(30), &mut encoder).unwrap();
        assert_ne!(first.len(), other.len());
        let i420 = frame.product(Product::I420, &mut encoder).unwrap();
        assert_eq!(i420.len(), 64 * 48 * 3 / 2);
        drop(frame);
        let recycled = capture(&mut pool, &hub, 2).unwrap();
        assert!(recycled.product(Product::Jpeg(80), &mut encoder).is_ok());
    }

    #[test]
    fn waiting_for_takes_and_for_newer_frames() {
        let hub = Hub::new(2, None);
        let mut pool = FramePool::new(Geometry::bgr(4, 2), hub.pool_limit());
        let viewer = hub.join("v".into(), ViewerKind::Pistream, Needs::BGR).unwrap();
        assert!(hub.wait_all_taken(Duration::ZERO));
        capture(&mut pool, &hub, 7);
        assert!(!hub.wait_all_taken(Duration::from_millis(5)));
        viewer.take(Duration::ZERO);
        assert!(hub.wait_all_taken(Duration::ZERO));
        assert_eq!(hub.next_after(None, Duration::ZERO).map(|f| f.seq), Some(7));
        assert!(hub.next_after(Some(7), Duration::from_millis(5)).is_none());
    }
}
