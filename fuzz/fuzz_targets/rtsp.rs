//! The RTSP request path fed arbitrary bytes, as a camera reads them from a hostile client:
//! requests parsed by rtsp-types as the server parses them, each decided by the session's
//! state machine (its transport, its session id), a Digest answer checked; then the bytes
//! as an access unit cut into RTP packets. Must never panic; every packet fits the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::output::rtsp::rtp::{Framing, Packetizer, Packets, PAYLOAD_LIMIT};
use pistream::output::rtsp::session::{choose_transport, Action, Conversation};

fuzz_target!(|data: &[u8]| {
    let mut conversation = Conversation::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest[0] == b'$' {
            // Interleaved data: skipped by its length, as the server does.
            let Some(len) = rest.get(2..4).map(|b| 4 + usize::from(u16::from_be_bytes([b[0], b[1]]))) else { break };
            let Some(after) = rest.get(len..) else { break };
            rest = after;
            continue;
        }
        let Ok((message, used)) = rtsp_types::Message::<Vec<u8>>::parse(rest) else { break };
        assert!(used > 0 && used <= rest.len());
        rest = &rest[used..];
        let rtsp_types::Message::Request(request) = message else { continue };
        let path = request.request_uri().map(|u| u.path().to_string());
        let session = request
            .header(&rtsp_types::headers::SESSION)
            .map(|v| v.as_str().split(';').next().unwrap_or("").trim().to_string());
        let Ok(action) = conversation.decide(request.method(), path.as_deref(), session.as_deref()) else { continue };
        if let Action::Setup(_) = action {
            let transports = request.typed_header::<rtsp_types::headers::Transports>().ok().flatten();
            if choose_transport(transports.as_ref()).is_err() {
                continue;
            }
        }
        conversation.done(action, || "fuzz".into());
    }
    let mut packets = Packets::default();
    for framing in [Framing::Datagram, Framing::Interleaved(0)] {
        Packetizer::new(1, 2).cut(data, 3, framing, &mut packets);
        for i in 0..packets.list.len() {
            let (head, payload) = packets.parts(data, i);
            let header = if framing == Framing::Datagram { 12 } else { 16 };
            assert!(head.len() + payload.len() <= header + PAYLOAD_LIMIT);
        }
    }
});
