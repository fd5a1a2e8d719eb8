//! Property tests: arbitrary bytes into the decoder never panic, and nothing it accepts
//! breaks the rules (frame lengths equal the negotiated size; bodies fit their bounds).

use pistream::frame::Geometry;
use pistream::protocol::{
    negotiate, ByeReason, Hello, Inbound, InboundState, BYE_MAX_LEN, HEADER_LEN, HELLO_MAX_LEN,
};
use proptest::prelude::*;

fn negotiated_display() -> InboundState {
    let mut state = InboundState::new();
    let display = Hello::receiver();
    let camera = Hello::sender(Geometry::bgr(64, 48), 30.0);
    state.on_negotiated(&negotiate(&display, &camera).unwrap());
    state
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_headers_are_accepted_only_within_bounds(bytes in proptest::array::uniform24(any::<u8>())) {
        for mut state in [InboundState::new(), negotiated_display()] {
            let header: [u8; HEADER_LEN] = bytes;
            match state.on_header(&header) {
                Ok(Inbound::Frame { len, .. }) => prop_assert_eq!(len, 64 * 48 * 3),
                Ok(Inbound::Hello { len }) => prop_assert!(len <= HELLO_MAX_LEN),
                Ok(Inbound::Bye { len }) => prop_assert!((1..=BYE_MAX_LEN).contains(&len)),
                Ok(Inbound::Auth) => prop_assert!(false, "auth accepted although no key was negotiated"),
                Ok(Inbound::Heartbeat) | Err(_) => {}
            }
        }
    }

    #[test]
    fn arbitrary_hello_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(hello) = Hello::decode(&body) {
            // Anything accepted re-encodes to the same bytes.
            prop_assert_eq!(&hello.encode()[..], &body[..]);
            if let Some(g) = hello.geometry { prop_assert!(g.is_valid()); }
        }
    }

    #[test]
    fn hellos_that_start_right_but_are_random_after_never_panic(rest in proptest::collection::vec(any::<u8>(), 38)) {
        let mut body = b"PISTREAM\x00\x01".to_vec();
        body.extend_from_slice(&rest);
        let _ = Hello::decode(&body);
    }

    #[test]
    fn bye_bodies_always_decode(body in proptest::collection::vec(any::<u8>(), 0..BYE_MAX_LEN)) {
        let _ = ByeReason::decode(&body);
    }

    #[test]
    fn every_valid_hello_round_trips(w in 1u32..=8192, h in 1u32..=8192, fps in 0.0f64..1000.0, role in 0..3) {
        let hello = match role {
            0 => Hello::two_way(Geometry::bgr(w, h), fps),
            1 => Hello::sender(Geometry::bgr(w, h), fps),
            _ => Hello::receiver(),
        };
        prop_assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
    }
}
