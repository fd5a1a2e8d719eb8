//! Property tests of the protocol library: arbitrary bytes into the handshake machine and
//! into the post-handshake validator never panic, and nothing they accept breaks the rules
//! (frame lengths within their format's bound, bodies within theirs, no session without a
//! valid hello, no keyed session without the key).

use pistream::media::Geometry;
use pistream::media::PixelFormat;
use pistream::output::pistream::protocol::keys::{CipherSet, Psk};
use pistream::output::pistream::protocol::wire_code;
use pistream::output::pistream::protocol::{
    negotiate, ByeReason, FormatSet, Handshake, Hello, Inbound, InboundState, Role, BYE_MAX_LEN, HEADER_LEN,
};
use proptest::prelude::*;

fn display_inbound(formats: FormatSet) -> InboundState {
    let display = Hello::receiver().decoding(formats);
    let camera = Hello::sender(Geometry::new(64, 48), 30.0).sending(FormatSet::all());
    InboundState::new(&negotiate(&display, &camera).unwrap())
}

/// Feeds `bytes` to a fresh machine; returns whether it completed a session.
fn completes(role: Role, local: Hello, keyed: bool, bytes: &[u8]) -> bool {
    let key = keyed.then(|| (Psk::derive(b"k").unwrap(), CipherSet::of(&[])));
    let mut machine = Handshake::new(role, local, key, 0);
    let mut at = 0;
    while at < bytes.len() && machine.wants() > 0 {
        match machine.receive(&bytes[at..], 0) {
            Ok(n) => at += n,
            Err(_) => return false,
        }
    }
    machine.is_done()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_headers_are_accepted_only_within_bounds(bytes in proptest::array::uniform24(any::<u8>()), formats in 1u16..128) {
        let state = display_inbound(FormatSet::from_bits(formats).unwrap());
        let header: [u8; HEADER_LEN] = bytes;
        match state.on_header(&header) {
            Ok(Inbound::Frame { len, format, .. }) => {
                prop_assert!(formats & (1 << (u16::from(wire_code(format).unwrap()) - 1)) != 0);
                match format {
                    PixelFormat::H264 => prop_assert!((1..=64 * 1024).contains(&len)),
                    _ => match format.tight_len(64, 48) {
                        Some(exact) => prop_assert_eq!(len, exact),
                        None => prop_assert!((1..=64 * 48 * 3).contains(&len)),
                    },
                }
            }
            Ok(Inbound::Bye { len }) => prop_assert!((1..=BYE_MAX_LEN).contains(&len)),
            Ok(Inbound::Heartbeat) | Err(_) => {}
            // A display sends no video: nothing may report on it or ask it for keyframes.
            Ok(other @ (Inbound::KeyframeRequest | Inbound::Report { .. })) => {
                prop_assert!(false, "a display accepted {:?}", other)
            }
        }
    }

    /// On the camera's side, the display's feedback is accepted and frames are not.
    #[test]
    fn a_camera_accepts_feedback_but_no_frames(bytes in proptest::array::uniform24(any::<u8>())) {
        let display = Hello::receiver().decoding(FormatSet::all());
        let camera = Hello::sender(Geometry::new(64, 48), 30.0).sending(FormatSet::all());
        let state = InboundState::new(&negotiate(&camera, &display).unwrap());
        let header: [u8; HEADER_LEN] = bytes;
        match state.on_header(&header) {
            Ok(Inbound::Frame { .. }) => prop_assert!(false, "a camera accepted a frame"),
            Ok(Inbound::Bye { len }) => prop_assert!((1..=BYE_MAX_LEN).contains(&len)),
            Ok(Inbound::Heartbeat | Inbound::KeyframeRequest | Inbound::Report { .. }) | Err(_) => {}
        }
    }

    /// Random bytes never make a session, keyed or not, on either side, and never panic.
    #[test]
    fn arbitrary_bytes_into_the_handshake_never_complete_a_keyed_one(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let camera = Hello::sender(Geometry::new(64, 48), 30.0);
        prop_assert!(!completes(Role::Listening, camera, true, &bytes));
        prop_assert!(!completes(Role::Connecting, Hello::receiver(), true, &bytes));
        let _ = completes(Role::Listening, camera, false, &bytes);
    }

    /// A valid hello followed by random bytes: an unkeyed listener completes on the hello
    /// alone; a keyed one never completes on random Noise bytes.
    #[test]
    fn a_valid_hello_then_garbage(garbage in proptest::collection::vec(any::<u8>(), 0..200)) {
        let display = Hello { keyed: Some(CipherSet::of(&[])), ..Hello::receiver() };
        let mut bytes = pistream::output::pistream::protocol::encode_hello(&display, 0).to_vec();
        bytes.extend_from_slice(&garbage);
        prop_assert!(!completes(Role::Listening, Hello::sender(Geometry::new(64, 48), 30.0), true, &bytes));
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
        let mut body = b"PISTREAM".to_vec();
        body.extend_from_slice(&pistream::output::pistream::protocol::PROTOCOL_VERSION.to_be_bytes());
        body.extend_from_slice(&rest);
        let _ = Hello::decode(&body);
    }

    #[test]
    fn bye_bodies_always_decode(body in proptest::collection::vec(any::<u8>(), 0..BYE_MAX_LEN)) {
        let _ = ByeReason::decode(&body);
    }

    #[test]
    fn every_valid_hello_round_trips(w in 1u32..=8192, h in 1u32..=8192, fps in 0.0f64..1000.0, role in 0..3, formats in 1u16..128) {
        let formats = FormatSet::from_bits(formats).unwrap();
        let hello = match role {
            0 => Hello::two_way(Geometry::new(w, h), fps).sending(formats).decoding(formats),
            1 => Hello::sender(Geometry::new(w, h), fps).sending(formats),
            _ => Hello::receiver().decoding(formats),
        };
        prop_assert_eq!(Hello::decode(&hello.encode()), Ok(hello));
    }
}
