//! Offers from real clients (aiortc's, Chromium's, saved in tests/fixtures/webrtc) and
//! broken ones, answered.

use super::*;

const AIORTC: &str = include_str!("../../../tests/fixtures/webrtc/aiortc-offer.sdp");

fn locals() -> Vec<SocketAddr> {
    vec!["127.0.0.1:5678".parse().unwrap()]
}

#[test]
fn an_aiortc_offer_is_answered_with_h264_and_the_camera_s_candidate() {
    let answered = answer(AIORTC, &locals(), Instant::now()).unwrap_or_else(|e| panic!("{e:?}"));
    let sdp = &answered.sdp;
    // aiortc offers 42e01f mode 1 as payload type 101: the answer takes it.
    assert!(sdp.contains("a=rtpmap:101 H264/90000"), "{sdp}");
    assert!(!sdp.contains("VP8"), "{sdp}");
    assert!(sdp.contains("a=ice-lite") && sdp.contains("a=sendonly"), "{sdp}");
    assert!(sdp.contains("127.0.0.1 5678 typ host"), "{sdp}");
    assert_eq!(*answered.pt, 101);
}
