//! The handshake machine and the post-handshake validator fed arbitrary bytes, as a
//! camera or display would read them from a hostile peer. The first byte picks the role
//! (connecting or listening) and whether this side holds a key; the rest is the peer's
//! stream. Must never panic; random bytes must never complete a keyed handshake; once an
//! unkeyed one completes, every frame it accepts fits its format's bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::media::Geometry;
use pistream::output::pistream::protocol::keys::{CipherSet, Psk};
use pistream::output::pistream::protocol::{self, formats, ByeReason, FormatSet, Handshake, Hello, Inbound, InboundState, Role, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let keyed = mode & 1 != 0;
    let (role, local) = if mode & 2 != 0 {
        (Role::Listening, Hello::sender(Geometry::new(64, 48), 30.0).sending(FormatSet::all()))
    } else {
        (Role::Connecting, Hello::receiver().decoding(FormatSet::all()))
    };
    let key = keyed.then(|| (Psk::derive(b"fuzz").expect("non-empty"), CipherSet::of(&[])));
    let mut machine = Handshake::new(role, local, key, 0);
    let mut at = 0;
    while at < bytes.len() && machine.wants() > 0 {
        match machine.receive(&bytes[at..], 0) {
            Ok(n) => at += n,
            Err(_) => return,
        }
    }
    if !machine.is_done() {
        return;
    }
    assert!(!keyed, "arbitrary bytes completed a keyed handshake");
    let established = machine.finish().expect("done");
    let state = InboundState::new(&established.negotiated);
    let mut rest = &bytes[at..];
    while rest.len() >= HEADER_LEN {
        let header: [u8; HEADER_LEN] = rest[..HEADER_LEN].try_into().unwrap();
        rest = &rest[HEADER_LEN..];
        let body_len = match state.on_header(&header) {
            Err(_) => return,
            Ok(Inbound::Frame { len, format, .. }) => {
                let g = established.negotiated.receive.expect("frames only when receiving");
                assert!(established.negotiated.receive_formats.contains(format));
                assert!(len <= formats::max_len(format, g.width, g.height), "a frame beyond its bound");
                len
            }
            Ok(Inbound::Bye { len }) => {
                let Some(body) = rest.get(..len) else { return };
                let _ = ByeReason::decode(body);
                return;
            }
            Ok(Inbound::Heartbeat | Inbound::KeyframeRequest) => 0,
            Ok(Inbound::Report { at_us }) => {
                let Some(body) = rest.get(..protocol::REPORT_LEN) else { return };
                let _ = protocol::Report::decode(at_us, body.try_into().expect("REPORT_LEN bytes"));
                protocol::REPORT_LEN
            }
        };
        let Some(after) = rest.get(body_len..) else { return };
        rest = after;
    }
});
