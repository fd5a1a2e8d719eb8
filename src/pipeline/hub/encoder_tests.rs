//! The hub's from-keyframe side, proved with a stand-in stateful encoder: it numbers its
//! units (a keyframe now and then, and whenever asked), and its decoder refuses a unit whose
//! predecessor it did not see, as an H.264 decoder would. Frames are published one at a
//! time and each is waited for, so every run is the same.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::media::Geometry;

/// Numbers its units; unit `n` refers to unit `n - 1` unless it is a keyframe.
struct Numbering {
    made: u64,
    gop: u64,
    /// Every unit made: its number and whether it was a keyframe.
    log: Arc<Mutex<Vec<(u64, bool)>>>,
}

impl StatefulEncoder for Numbering {
    fn needs(&self) -> Needs {
        Needs::BGR
    }

    fn encode(&mut self, _: &SharedFrame, keyframe: bool, unit: &mut EncodedUnit) -> Result<bool, String> {
        let n = self.made;
        self.made += 1;
        unit.keyframe = keyframe || n.is_multiple_of(self.gop);
        unit.data.clear();
        unit.data.extend_from_slice(&n.to_be_bytes());
        self.log.lock().unwrap().push((n, unit.keyframe));
        Ok(true)
    }
}

/// The stand-in's decoder: a keyframe starts it; any other unit must follow the last one.
#[derive(Default)]
struct Decoder {
    last: Option<u64>,
}

impl Decoder {
    fn decode(&mut self, unit: &EncodedUnit) -> Result<u64, String> {
        let n = u64::from_be_bytes(unit.data[..8].try_into().unwrap());
        if !unit.keyframe && self.last != n.checked_sub(1) {
            return Err(format!(
                "unit {n} refers to unit {}, which this decoder never got",
                n.wrapping_sub(1)
            ));
        }
        self.last = Some(n);
        Ok(n)
    }
}

struct Rig {
    hub: Arc<Hub>,
    pool: FramePool,
    seq: u64,
    log: Arc<Mutex<Vec<(u64, bool)>>>,
}

impl Rig {
    fn new() -> Rig {
        let hub = Hub::new(8, None);
        let pool = FramePool::new(Geometry::new(4, 2), hub.pool_limit());
        Rig { hub, pool, seq: 0, log: Arc::default() }
    }

    fn spec(gop: usize, min_keyframe_gap: Duration) -> StageSpec {
        StageSpec { key: 7, name: "stand-in".into(), gop, min_keyframe_gap, unit_capacity: 64 }
    }

    fn subscribe(&self, viewer: &ViewerGuard, gop: u64, min_keyframe_gap: Duration) -> Subscription {
        let log = self.log.clone();
        self.hub
            .subscribe(viewer, Rig::spec(gop as usize, min_keyframe_gap), move || {
                Box::new(Numbering { made: 0, gop, log })
            })
            .unwrap()
    }

    /// Publishes one frame and waits until the stage has encoded it.
    fn capture(&mut self) {
        let stage = self.hub.stages()[0].clone();
        let before = stage.counters.encoded.load(Ordering::Relaxed);
        let i = self.pool.free().unwrap();
        let frame = self.pool.frame_mut(i);
        frame.seq = self.seq;
        frame.has_bgr = true;
        self.seq += 1;
        self.hub.publish(&self.pool.share(i));
        let deadline = Instant::now() + Duration::from_secs(10);
        while stage.counters.encoded.load(Ordering::Relaxed) == before {
            assert!(Instant::now() < deadline, "the stage did not encode frame {}", self.seq - 1);
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Every unit queued for `sub` now, decoded in order.
    fn drain(sub: &mut Subscription, decoder: &mut Decoder) -> Vec<Result<u64, String>> {
        std::iter::from_fn(|| sub.take(Duration::ZERO)).map(|u| decoder.decode(&u)).collect()
    }
}

#[test]
fn a_viewer_that_joins_gets_units_from_a_keyframe_made_for_it_and_decodes_all() {
    let mut rig = Rig::new();
    let a = rig.hub.join("a".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let mut sub_a = rig.subscribe(&a, 1000, Duration::ZERO);
    let mut dec_a = Decoder::default();
    for _ in 0..25 {
        rig.capture();
    }
    let got_a = Rig::drain(&mut sub_a, &mut dec_a);
    assert_eq!(got_a.len(), 25);
    assert!(got_a.iter().all(Result::is_ok), "{got_a:?}");

    // B joins in the middle of a group of pictures (the next natural keyframe is unit 1000).
    let b = rig.hub.join("b".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let mut sub_b = rig.subscribe(&b, 1000, Duration::ZERO);
    assert_eq!(rig.hub.stages().len(), 1, "one encoder for both");
    for _ in 0..10 {
        rig.capture();
    }
    let mut dec_b = Decoder::default();
    let got_b = Rig::drain(&mut sub_b, &mut dec_b);
    assert_eq!(got_b.first(), Some(&Ok(25)), "B starts at the unit made right after it joined");
    assert!(rig.log.lock().unwrap()[25].1, "...a keyframe made because it asked");
    assert!(got_b.iter().all(Result::is_ok) && got_b.len() == 10, "{got_b:?}");
    let a_again = Rig::drain(&mut sub_a, &mut dec_a);
    assert!(a_again.iter().all(Result::is_ok) && a_again.len() == 10, "A undisturbed: {a_again:?}");
    assert_eq!(sub_b.skipped(), 0);
    drop((sub_a, sub_b));
    assert!(rig.hub.stages().is_empty(), "the stage stops with its last subscriber");
}

#[test]
fn a_frozen_viewer_resumes_from_a_keyframe_with_no_gap_served() {
    let mut rig = Rig::new();
    let live = rig.hub.join("live".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let frozen = rig.hub.join("frozen".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let gop = 10;
    let mut sub_live = rig.subscribe(&live, gop, Duration::ZERO);
    let mut sub_frozen = rig.subscribe(&frozen, gop, Duration::ZERO);
    let (mut dec_live, mut dec_frozen) = (Decoder::default(), Decoder::default());
    for _ in 0..5 {
        rig.capture();
    }
    assert!(Rig::drain(&mut sub_frozen, &mut dec_frozen).iter().all(Result::is_ok));
    // Frozen (it takes nothing) while 37 units are made: far more than one GOP.
    for _ in 0..37 {
        rig.capture();
        assert!(Rig::drain(&mut sub_live, &mut dec_live).iter().all(Result::is_ok));
    }
    assert!(sub_frozen.queue.len() <= gop as usize, "never more than a GOP queued");
    // Released (SIGCONT): everything it gets decodes, from a keyframe on.
    let mut after = Rig::drain(&mut sub_frozen, &mut dec_frozen);
    for _ in 0..15 {
        rig.capture();
        after.extend(Rig::drain(&mut sub_frozen, &mut dec_frozen));
        assert!(Rig::drain(&mut sub_live, &mut dec_live).iter().all(Result::is_ok));
    }
    assert!(!after.is_empty() && after.iter().all(Result::is_ok), "a gap was served: {after:?}");
    let first = *after[0].as_ref().unwrap();
    assert!(rig.log.lock().unwrap()[first as usize].1, "resumed at unit {first}, a keyframe");
    assert!(sub_frozen.skipped() > 0, "what it missed is counted");
    assert_eq!(frozen.dropped.load(Ordering::Relaxed), sub_frozen.skipped(), "as its viewer's drops");
    assert_eq!(sub_live.skipped(), 0, "the live viewer lost nothing");
}

#[test]
fn a_keyframe_request_reaches_the_encoder_and_is_throttled() {
    let mut rig = Rig::new();
    let a = rig.hub.join("a".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let sub_a = rig.subscribe(&a, 1000, Duration::from_secs(3600));
    rig.capture();
    let stage = rig.hub.stages()[0].clone();
    assert_eq!(stage.keyframe_requests(), (1, 1), "A's join asked, unit 0 answered");
    // Within the gap: asked for, remembered, not made.
    for _ in 0..20 {
        sub_a.request_keyframe();
    }
    let b = rig.hub.join("b".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let mut sub_b = rig.subscribe(&b, 1000, Duration::from_secs(3600));
    for _ in 0..10 {
        rig.capture();
    }
    assert_eq!(stage.keyframe_requests(), (22, 1), "22 requests, still one keyframe made on request");
    assert!(rig.log.lock().unwrap()[1..].iter().all(|(_, key)| !key), "no keyframe within the gap");
    assert!(sub_b.take(Duration::ZERO).is_none(), "B waits for a keyframe rather than decode garbage");
    drop(sub_b);

    // With no gap, a request makes the very next unit a keyframe.
    let mut rig2 = Rig::new();
    let c = rig2.hub.join("c".into(), ViewerKind::Pistream, Needs::NONE).unwrap();
    let sub_c = rig2.subscribe(&c, 1000, Duration::ZERO);
    for _ in 0..3 {
        rig2.capture();
    }
    sub_c.request_keyframe();
    rig2.capture();
    let log = rig2.log.lock().unwrap().clone();
    assert_eq!(log, [(0, true), (1, false), (2, false), (3, true)], "asked at unit 3, made at unit 3");
}
