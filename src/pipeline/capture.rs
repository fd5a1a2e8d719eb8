//! The capture stage: reads the source while anyone watches, into frames from the pool,
//! stamps each with its sequence number and capture time (the driver's own timestamp when
//! it gives one, so the time a frame waited in the driver's queue counts as latency),
//! skips and counts unusable frames, and publishes the rest to the hub.

use std::sync::Arc;
use std::time::Duration;

use super::hub::{FramePool, Hub, Needs};
use super::stats::Stats;
use crate::media::now_us;
use crate::runtime::stage::{self, Stage};
use crate::runtime::Shutdown;
use crate::source::{Captured, Source, SourceError, Target};

/// How long the stage waits for a viewer (or for viewers to take a frame) between checks
/// of the shutdown flag.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// Bad frames logged one by one before the log goes quiet (the stats keep counting).
const BAD_FRAMES_LOGGED: u64 = 5;

/// Microseconds to add to a CLOCK_MONOTONIC time to get wall-clock time (µs since the UNIX
/// epoch): V4L2 drivers stamp buffers on the monotonic clock, frames carry wall time.
fn monotonic_to_wall_us() -> i64 {
    let monotonic = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() * 1_000_000 + t.tv_nsec() / 1000)
        .unwrap_or(0);
    now_us() as i64 - monotonic
}

/// Starts the capture stage for `source`, publishing to `hub`.
pub fn spawn(
    mut source: Box<dyn Source>,
    hub: Arc<Hub>,
    stats: Arc<Stats>,
    shutdown: Arc<Shutdown>,
) -> std::io::Result<Stage<(), SourceError>> {
    stage::spawn("capture", move || {
        let result = run(source.as_mut(), &hub, &stats, &shutdown);
        if let Err(e) = &result {
            shutdown.request(format!("capture failed: {e}"));
        }
        result
    })
}

fn run(source: &mut dyn Source, hub: &Hub, stats: &Stats, shutdown: &Shutdown) -> Result<(), SourceError> {
    let name = source.describe();
    let mut pool = FramePool::new(source.geometry(), hub.pool_limit());
    let offset = monotonic_to_wall_us();
    let continuous = source.read_continuously();
    let native_format = source.native_format();
    let native_range = source.native_range();
    let native_stride = source.native_stride().unwrap_or(0);
    let paced_by_consumer = source.paced_by_consumer();
    let mut seq = 0u64;
    let mut was_watched = false;
    while !shutdown.requested() {
        let watched = hub.viewer_count() > 0;
        if was_watched && !watched {
            // Nobody watches: the newest frame would be stale by the time someone does.
            hub.forget_latest();
        }
        was_watched = watched;
        if !watched && !continuous {
            hub.wait_for_viewers(IDLE_WAIT);
            continue;
        }
        if paced_by_consumer && !hub.wait_all_taken(IDLE_WAIT) {
            continue;
        }
        let Some(index) = pool.free() else {
            // Every frame is pinned by a viewer mid-send: skip this capture, not the viewers.
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let frame = pool.frame_mut(index);
        // Nobody watching (a network stream read to stay fresh): the least work.
        let needs = if watched { hub.needs() } else { Needs::NATIVE };
        let keep_native = needs.native && native_format.is_some();
        let make_bgr = needs.bgr || !keep_native;
        let mut target = Target {
            seq,
            bgr: make_bgr.then_some(&mut frame.bgr[..]),
            native: keep_native.then_some(&mut frame.native),
        };
        match source.next_frame(&mut target)? {
            Captured::Frame { driver_time, native_len } => {
                frame.has_bgr = make_bgr;
                frame.source_native = native_format;
                frame.native_range = native_range;
                frame.native_stride = native_stride;
                (frame.native_format, frame.native_len) =
                    if keep_native { (native_format, native_len) } else { (None, 0) };
                frame.seq = seq;
                frame.captured_us = match driver_time {
                    Some(t) => (t.as_micros() as i64 + offset).max(0) as u64,
                    None => now_us(),
                };
                seq += 1;
                if watched {
                    Stats::add(&stats.captured, 1);
                    hub.publish(&pool.share(index));
                }
            }
            Captured::NotYet => {}
            Captured::Bad(why) => {
                Stats::add(&stats.bad_frames, 1);
                let count = Stats::get(&stats.bad_frames);
                if count <= BAD_FRAMES_LOGGED || count.is_power_of_two() {
                    log::warn!("skipped a bad frame from {name}: {why} ({count} so far)");
                }
            }
        }
    }
    Ok(())
}
