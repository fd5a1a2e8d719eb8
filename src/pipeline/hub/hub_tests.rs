//! Tests of the hub's newest-wins side: slots, the pool, the viewer limit, products.

use super::*;
use crate::codec::products::Product;
use crate::media::Geometry;

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
    let mut pool = FramePool::new(Geometry::new(4, 2), hub.pool_limit());
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
    let mut pool = FramePool::new(Geometry::new(4, 2), hub.pool_limit());
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
    let mut pool = FramePool::new(Geometry::new(64, 48), hub.pool_limit());
    let frame = capture(&mut pool, &hub, 1).unwrap();
    let mut encoder = crate::codec::jpeg::Encoder::new().unwrap();
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
    let mut pool = FramePool::new(Geometry::new(4, 2), hub.pool_limit());
    let viewer = hub.join("v".into(), ViewerKind::Pistream, Needs::BGR).unwrap();
    assert!(hub.wait_all_taken(Duration::ZERO));
    capture(&mut pool, &hub, 7);
    assert!(!hub.wait_all_taken(Duration::from_millis(5)));
    viewer.take(Duration::ZERO);
    assert!(hub.wait_all_taken(Duration::ZERO));
    assert_eq!(hub.next_after(None, Duration::ZERO).map(|f| f.seq), Some(7));
    assert!(hub.next_after(Some(7), Duration::from_millis(5)).is_none());
}
