//! A stateful encoder (H.264: each picture refers to earlier ones) as a stage of its own:
//! one thread that sees every frame the capture publishes while anyone subscribes, makes
//! one unit of each (a keyframe when one is asked for, within [`KeyframeThrottle`]'s gap)
//! into a unit from its own pool, and hands each unit to every subscriber's
//! [`UnitQueue`]. One stage per setting (the [`StageSpec::key`]), shared by every viewer
//! that wants it: nothing is encoded per viewer.
//!
//! If the encoder is slower than the capture, its input slot keeps the newest frame (the
//! others are counted as `input_dropped`): the stream stays whole, since the encoder's
//! references are to what it encoded, not to what was captured.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::frame::SharedFrame;
use super::keyframe::KeyframeThrottle;
use super::units::{Pushed, UnitQueue};
use super::viewer::Needs;
use crate::media::EncodedUnit;

/// A codec whose pictures refer to earlier ones, as the stage drives it.
pub trait StatefulEncoder: Send {
    /// What the capture stage must make of each frame for it.
    fn needs(&self) -> Needs;

    /// Encodes `frame` into `unit.data` (cleared first, its capacity kept) and sets
    /// `unit.keyframe`; a keyframe when `keyframe` is true (the encoder may make others of
    /// its own accord, at its interval). `Ok(false)`: no unit of this frame (the codec
    /// skipped it); `Err`: a message for the log, and the frame is lost.
    fn encode(&mut self, frame: &SharedFrame, keyframe: bool, unit: &mut EncodedUnit)
        -> Result<bool, String>;
}

/// What a stage is: its codec and settings, told apart by `key`.
#[derive(Clone, Debug)]
pub struct StageSpec {
    /// Viewers asking for the same key share one stage (one encoding per frame).
    pub key: u64,
    /// For logs and the thread's name, e.g. "H.264 2.0 Mbit/s".
    pub name: String,
    /// Units in a group of pictures (the keyframe interval): a subscriber's queue holds at
    /// most this many.
    pub gop: usize,
    /// The shortest time between keyframes made on request.
    pub min_keyframe_gap: Duration,
    /// Bytes each unit of the pool holds from the start (a keyframe's worth), so a unit's
    /// buffer does not grow, and allocate, when a larger one comes.
    pub unit_capacity: usize,
}

/// How a stage is doing, for the stats and the tests.
#[derive(Default, Debug)]
pub struct StageCounters {
    /// Units made.
    pub encoded: AtomicU64,
    /// Frames the capture published that the encoder had no time for.
    pub input_dropped: AtomicU64,
    /// Frames the encoder failed on.
    pub failures: AtomicU64,
    /// Keyframes made, asked for or not.
    pub keyframes: AtomicU64,
}

/// A running stateful encoder and its subscribers.
pub struct EncoderStage {
    pub spec: StageSpec,
    needs: Needs,
    input: Mutex<Option<Arc<SharedFrame>>>,
    input_ready: Condvar,
    subscribers: Mutex<Vec<Arc<UnitQueue>>>,
    keyframes: Mutex<KeyframeThrottle>,
    stop: AtomicBool,
    pub counters: StageCounters,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The most units one subscriber may pin (queued, and one mid-send).
    pool_limit: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EncoderStage {
    /// Starts a stage running `encoder`, for at most `max_subscribers`.
    pub(super) fn start(
        spec: StageSpec,
        encoder: Box<dyn StatefulEncoder>,
        max_subscribers: usize,
    ) -> std::io::Result<Arc<EncoderStage>> {
        let stage = Arc::new(EncoderStage {
            needs: encoder.needs(),
            input: Mutex::new(None),
            input_ready: Condvar::new(),
            subscribers: Mutex::new(Vec::new()),
            keyframes: Mutex::new(KeyframeThrottle::new(spec.min_keyframe_gap)),
            stop: AtomicBool::new(false),
            counters: StageCounters::default(),
            thread: Mutex::new(None),
            pool_limit: (spec.gop + 2) * max_subscribers.max(1) + 4,
            spec,
        });
        let runner = stage.clone();
        let name = format!("encode {}", stage.spec.name);
        let handle = std::thread::Builder::new().name(name).spawn(move || runner.run(encoder))?;
        *lock(&stage.thread) = Some(handle);
        Ok(stage)
    }

    pub(super) fn needs(&self) -> Needs {
        self.needs
    }

    /// Hands the encoder the newest frame (replacing one it has not taken yet).
    pub(super) fn offer(&self, frame: &Arc<SharedFrame>) {
        let replaced = lock(&self.input).replace(frame.clone());
        if replaced.is_some() {
            self.counters.input_dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.input_ready.notify_all();
        drop(replaced);
    }

    /// Adds a subscriber's queue; it waits for a keyframe, which is asked for now.
    pub(super) fn add(&self, queue: Arc<UnitQueue>) {
        lock(&self.subscribers).push(queue);
        self.request_keyframe();
    }

    /// Removes a subscriber's queue; returns how many remain.
    pub(super) fn remove(&self, queue: &Arc<UnitQueue>) -> usize {
        let mut subscribers = lock(&self.subscribers);
        subscribers.retain(|q| !Arc::ptr_eq(q, queue));
        subscribers.len()
    }

    /// Subscribers now.
    pub fn subscriber_count(&self) -> usize {
        lock(&self.subscribers).len()
    }

    /// Asks for a keyframe (honoured within the throttle).
    pub fn request_keyframe(&self) {
        lock(&self.keyframes).request();
    }

    /// Keyframe requests so far, and keyframes made because of them.
    pub fn keyframe_requests(&self) -> (u64, u64) {
        let k = lock(&self.keyframes);
        (k.requests, k.forced)
    }

    /// Stops the thread and waits for it.
    pub(super) fn shut_down(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.input_ready.notify_all();
        if let Some(handle) = lock(&self.thread).take() {
            let _ = handle.join();
        }
    }

    /// The newest frame, waiting up to `timeout`.
    fn next_input(&self, timeout: Duration) -> Option<Arc<SharedFrame>> {
        let mut input = lock(&self.input);
        if input.is_none() && !self.stop.load(Ordering::Relaxed) {
            input = match self.input_ready.wait_timeout(input, timeout) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        input.take()
    }

    fn run(&self, mut encoder: Box<dyn StatefulEncoder>) {
        let mut pool: Vec<Arc<EncodedUnit>> = Vec::with_capacity(self.pool_limit);
        // What a unit must hold: the spec's first guess, raised to half as much again as the
        // largest unit yet, and given to every unit as it is reused, so that a unit grows
        // once per new largest size instead of once per unit and keyframe.
        let mut unit_capacity = self.spec.unit_capacity;
        // One subscriber's worth of units up front (it pins at most a GOP and two, one more
        // is being encoded): the pool grows only when several subscribers lag at once.
        // Untouched pages of a unit cost no memory.
        for _ in 0..(self.spec.gop + 4).min(self.pool_limit) {
            pool.push(Arc::new(EncodedUnit {
                data: Vec::with_capacity(unit_capacity),
                ..EncodedUnit::default()
            }));
        }
        let mut failures_logged = 0u32;
        while !self.stop.load(Ordering::Relaxed) {
            let Some(frame) = self.next_input(Duration::from_millis(100)) else { continue };
            let Some(index) = free_unit(&mut pool, self.pool_limit, unit_capacity) else {
                // Every unit is pinned by subscribers: cannot happen within the limit; skip
                // rather than block the stage.
                self.counters.input_dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let unit = Arc::get_mut(&mut pool[index]).expect("free_unit names a unit nobody holds");
            unit.data.clear();
            if unit.data.capacity() < unit_capacity {
                unit.data.reserve_exact(unit_capacity);
            }
            unit.seq = frame.seq;
            unit.captured_us = frame.captured_us;
            let now = Instant::now();
            let force = lock(&self.keyframes).force_now(now);
            match encoder.encode(&frame, force, unit) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(why) => {
                    self.counters.failures.fetch_add(1, Ordering::Relaxed);
                    failures_logged += 1;
                    if failures_logged <= 5 || failures_logged.is_power_of_two() {
                        log::warn!("{}: frame {} not encoded: {why}", self.spec.name, frame.seq);
                    }
                    continue;
                }
            }
            drop(frame);
            if unit.data.len() > unit_capacity {
                unit_capacity = unit.data.len() + unit.data.len() / 2;
            }
            self.counters.encoded.fetch_add(1, Ordering::Relaxed);
            let unit = pool[index].clone();
            if unit.keyframe {
                self.counters.keyframes.fetch_add(1, Ordering::Relaxed);
                lock(&self.keyframes).made_keyframe(now);
            }
            let mut wants_keyframe = false;
            for queue in lock(&self.subscribers).iter() {
                wants_keyframe |= queue.push(&unit) == Pushed::NeedsKeyframe;
            }
            if wants_keyframe {
                self.request_keyframe();
            }
        }
    }
}

/// A unit nobody else holds (growing the pool up to `limit`, each new unit holding
/// `capacity` bytes).
fn free_unit(pool: &mut Vec<Arc<EncodedUnit>>, limit: usize, capacity: usize) -> Option<usize> {
    if let Some(i) = pool.iter().position(|u| Arc::strong_count(u) == 1) {
        return Some(i);
    }
    if pool.len() < limit {
        pool.push(Arc::new(EncodedUnit { data: Vec::with_capacity(capacity), ..EncodedUnit::default() }));
        return Some(pool.len() - 1);
    }
    None
}
