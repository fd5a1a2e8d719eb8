//! One capture, many viewers. The capture stage fills frames taken from a [`FramePool`] of
//! reference-counted buffers and publishes each one to the [`Hub`], which hands it on in two
//! ways, by the viewer's need:
//!
//! - **newest wins** (raw formats, JPEG: every frame stands alone): into the viewer's own
//!   latest-frame slot ([`Viewer`]), where a newer frame replaces one not yet taken (a
//!   drop, counted), so a slow or frozen viewer never slows the capture or anyone else.
//!   Stateless products (I420, JPEG per quality) are made at most once per frame, by the
//!   first viewer that asks ([`SharedFrame::product`]);
//! - **from keyframe** (H.264: pictures refer to earlier ones): into a stateful encoder's
//!   stage ([`EncoderStage`], one per setting, shared by its subscribers), which sees every
//!   frame and hands its units to each subscriber's [`UnitQueue`]: a viewer starts at a
//!   keyframe, after a gap waits for the next, and asks for one ([`Subscription`]), which
//!   the stage makes within its throttle ([`keyframe::MIN_GAP`]).
//!
//! Nothing copies pixels: publishing clones one `Arc` per viewer and stage. A frame goes
//! back to the pool when the last holder lets go of it; steady state allocates nothing.

mod encoder;
mod frame;
pub mod keyframe;
mod pool;
mod units;
mod viewer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub use encoder::{EncoderStage, StageCounters, StageSpec, StatefulEncoder};
pub use frame::SharedFrame;
pub use pool::{FramePool, PoolIndex};
pub use units::{Pushed, UnitQueue};
pub use viewer::{Delivery, Needs, Viewer, ViewerKind};

use crate::codec::select::Backend;
use crate::media::{EncodedUnit, PixelFormat};

/// Every viewer's slot, the stateful encoders, the newest frame, and the viewer limit.
pub struct Hub {
    viewers: Mutex<Vec<Arc<Viewer>>>,
    /// Wakes the capture stage when viewers come, and producers waiting for slots to empty.
    changed: Condvar,
    stages: Mutex<Vec<Arc<EncoderStage>>>,
    latest: Mutex<Option<Arc<SharedFrame>>>,
    published: Condvar,
    max_viewers: usize,
    native: Option<PixelFormat>,
    /// When the last frame was published (µs, this hub's clock) and the smoothed interval
    /// between frames (µs, f64 bits): the recent frame rate.
    last_publish_us: AtomicU64,
    interval_us: AtomicU64,
    epoch: Instant,
    /// Which H.264 encoder its stages use (`--h264-encoder`; software unless set).
    h264_backend: OnceLock<Backend>,
}

/// Why a viewer could not join.
#[derive(Debug, PartialEq, Eq)]
pub struct Full {
    pub max: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Hub {
    /// Sets the H.264 encoder choice (once, before any stage starts).
    pub fn set_h264_backend(&self, backend: Backend) {
        let _ = self.h264_backend.set(backend);
    }

    /// The H.264 encoder choice: software when none was set.
    pub fn h264_backend(&self) -> &Backend {
        self.h264_backend.get_or_init(Backend::default)
    }

    /// A hub for up to `max_viewers`, of a capture whose own bytes are in `native`.
    pub fn new(max_viewers: usize, native: Option<PixelFormat>) -> Arc<Hub> {
        Arc::new(Hub {
            native,
            viewers: Mutex::new(Vec::with_capacity(max_viewers)),
            changed: Condvar::new(),
            stages: Mutex::new(Vec::new()),
            h264_backend: OnceLock::new(),
            latest: Mutex::new(None),
            published: Condvar::new(),
            max_viewers,
            last_publish_us: AtomicU64::new(0),
            interval_us: AtomicU64::new(0f64.to_bits()),
            epoch: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Viewer>>> {
        lock(&self.viewers)
    }

    /// The format of the capture's own bytes, when it keeps them.
    pub fn native(&self) -> Option<PixelFormat> {
        self.native
    }

    /// How many frames a capture stage may need at once: two per viewer (one in its slot,
    /// one being sent), two per encoder stage (its input, the one it encodes) and there are
    /// at most as many stages as viewers, the newest frame, and the one being captured.
    pub fn pool_limit(&self) -> usize {
        4 * self.max_viewers + 2
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

    /// Subscribes `viewer` to the stateful encoder of `spec` (starting it with `make` if no
    /// one else uses it): from now on it gets that encoder's units, from the next keyframe
    /// on, through the returned [`Subscription`].
    pub fn subscribe(
        self: &Arc<Self>,
        viewer: &ViewerGuard,
        spec: StageSpec,
        make: impl FnOnce() -> Box<dyn StatefulEncoder>,
    ) -> std::io::Result<Subscription> {
        let queue = Arc::new(UnitQueue::new(spec.gop));
        // Under the stages' lock, so a stage its last subscriber is leaving is not joined.
        let mut stages = lock(&self.stages);
        let stage = match stages.iter().find(|s| s.spec.key == spec.key) {
            Some(stage) => stage.clone(),
            None => {
                let stage = EncoderStage::start(spec, make(), self.max_viewers)?;
                stages.push(stage.clone());
                stage
            }
        };
        stage.add(queue.clone());
        drop(stages);
        self.changed.notify_all();
        Ok(Subscription { hub: self.clone(), viewer: viewer.viewer.clone(), stage, queue, skipped_seen: 0 })
    }

    /// Hands `frame` to every viewer's slot and every encoder stage, and makes it the newest.
    pub fn publish(&self, frame: &Arc<SharedFrame>) {
        for viewer in self.lock().iter() {
            if viewer.needs() != Needs::NONE {
                viewer.offer(frame);
            }
        }
        for stage in lock(&self.stages).iter() {
            stage.offer(frame);
        }
        let previous = lock(&self.latest).replace(frame.clone());
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
        lock(&self.latest).clone()
    }

    /// Waits up to `timeout` for a frame newer than `after` (a sequence number; `None`:
    /// any frame).
    pub fn next_after(&self, after: Option<u64>, timeout: Duration) -> Option<Arc<SharedFrame>> {
        let deadline = Instant::now() + timeout;
        let mut latest = lock(&self.latest);
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
        let previous = lock(&self.latest).take();
        drop(previous);
    }

    pub fn max_viewers(&self) -> usize {
        self.max_viewers
    }

    /// Whether no viewer can join now.
    pub fn is_full(&self) -> bool {
        self.lock().len() >= self.max_viewers
    }

    /// What the viewers and the encoder stages now need of each frame, together.
    pub fn needs(&self) -> Needs {
        let viewers = self.lock().iter().fold(Needs::NONE, |needs, v| needs.and(v.needs()));
        lock(&self.stages).iter().fold(viewers, |needs, s| needs.and(s.needs()))
    }

    pub fn viewer_count(&self) -> usize {
        self.lock().len()
    }

    /// The encoder stages running now (for the stats and the tests).
    pub fn stages(&self) -> Vec<Arc<EncoderStage>> {
        lock(&self.stages).clone()
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

    fn unsubscribe(&self, stage: &Arc<EncoderStage>, queue: &Arc<UnitQueue>) {
        let mut stages = lock(&self.stages);
        if stage.remove(queue) > 0 {
            return;
        }
        stages.retain(|s| !Arc::ptr_eq(s, stage));
        drop(stages);
        stage.shut_down();
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

/// A viewer's subscription to a stateful encoder's units: dropped, it unsubscribes (and
/// the stage stops when its last subscriber goes).
pub struct Subscription {
    hub: Arc<Hub>,
    viewer: Arc<Viewer>,
    stage: Arc<EncoderStage>,
    queue: Arc<UnitQueue>,
    /// The queue's skipped count already added to the viewer's drops.
    skipped_seen: u64,
}

impl Subscription {
    /// The next unit in order (from a keyframe on), waiting up to `timeout`.
    pub fn take(&mut self, timeout: Duration) -> Option<Arc<EncodedUnit>> {
        let unit = self.queue.take(timeout);
        let skipped = self.queue.skipped.load(Ordering::Relaxed);
        self.viewer.dropped.fetch_add(skipped - self.skipped_seen, Ordering::Relaxed);
        self.skipped_seen = skipped;
        if unit.is_some() {
            self.viewer.taken.fetch_add(1, Ordering::Relaxed);
        }
        unit
    }

    /// Whether a unit waits to be taken (after subscribing: the first keyframe is there).
    pub fn ready(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Units waiting to be taken.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Asks the encoder for a keyframe (the viewer's decoder lost its place, say).
    pub fn request_keyframe(&self) {
        self.stage.request_keyframe();
    }

    /// Drops what is queued, waits for the next keyframe and asks for one.
    pub fn restart(&self) {
        self.queue.restart();
        self.stage.request_keyframe();
    }

    /// Units this viewer was never sent (before its first keyframe, or after a gap).
    pub fn skipped(&self) -> u64 {
        self.queue.skipped.load(Ordering::Relaxed)
    }

    /// The stage it is subscribed to.
    pub fn stage(&self) -> &EncoderStage {
        &self.stage
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.stage, &self.queue);
    }
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "encoder_tests.rs"]
mod encoder_tests;
