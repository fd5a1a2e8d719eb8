//! The receive side's protocol state machine fed arbitrary bytes, as a display would read
//! them from a hostile camera: headers validated against the connection state, hello and
//! bye bodies decoded, frame bodies skipped at the validated length. Must never panic, and
//! a frame it accepts must have exactly the negotiated length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::protocol::{negotiate, ByeReason, Hello, Inbound, InboundState, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let local = Hello::receiver();
    let mut state = InboundState::new();
    let mut negotiated = None;
    let mut rest = data;
    while rest.len() >= HEADER_LEN {
        let header: [u8; HEADER_LEN] = rest[..HEADER_LEN].try_into().unwrap();
        rest = &rest[HEADER_LEN..];
        let body_len = match state.on_header(&header) {
            Err(_) => return,
            Ok(Inbound::Hello { len }) => {
                let Some(body) = rest.get(..len) else { return };
                let Ok(peer) = Hello::decode(body) else { return };
                let Ok(n) = negotiate(&local, &peer) else { return };
                state.on_negotiated(&n);
                negotiated = Some(n);
                len
            }
            Ok(Inbound::Frame { len, .. }) => {
                let expected = negotiated.and_then(|n| n.receive).map(|g| g.frame_len());
                assert_eq!(Some(len), expected, "frame length must equal the negotiated size");
                len
            }
            Ok(Inbound::Bye { len }) => {
                let Some(body) = rest.get(..len) else { return };
                let _ = ByeReason::decode(body);
                return;
            }
            Ok(Inbound::Heartbeat) => 0,
            Ok(Inbound::Auth) => 32,
        };
        let Some(after) = rest.get(body_len..) else { return };
        rest = after;
    }
});
