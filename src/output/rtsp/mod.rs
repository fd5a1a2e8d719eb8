//! RTSP on the camera's port (and on `--rtsp ADDR`): the camera as an ordinary IP camera
//! for NVRs, relays, VLC and OpenCV. Two H.264 streams, `/stream` (the capture's size and
//! rate) and `/sub` (small and slow, for detectors), each encoded once and sent to every
//! client over RTP, interleaved in the RTSP connection or over unicast UDP.
//!
//! `session.rs` decides what each request may do (sans I/O), `sdp.rs` describes a stream,
//! `rtp.rs` cuts access units into RTP packets and `rtcp.rs` writes sender reports (both
//! pure), `streams.rs` says where a stream's units come from, `settings.rs` holds the
//! options, and `serve.rs` runs a connection. Requests are parsed by `rtsp-types`.

mod rtcp;
pub mod rtp;
pub mod sdp;
mod serve;
pub mod session;
pub mod settings;
pub mod streams;

pub use serve::connection;
pub use settings::{RtspSettings, RtspSide};

use crate::net::demux::{request_line, Claim, RequestLine};

/// RTSP methods no HTTP request uses: such an opening is RTSP as soon as the method is whole.
const RTSP_ONLY: [&[u8]; 10] = [
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"RECORD",
    b"REDIRECT",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
];

/// Whether a connection's first bytes are an RTSP request: an RTSP-only method, or a
/// request line whose protocol is `RTSP/` (`OPTIONS` is both HTTP's and RTSP's).
pub fn claim(first: &[u8]) -> Claim {
    match request_line(first) {
        RequestLine::NotALine => Claim::NotMine,
        RequestLine::Line { method, protocol } => {
            if protocol.starts_with(b"RTSP/") || RTSP_ONLY.contains(&method) {
                Claim::Mine
            } else {
                Claim::NotMine
            }
        }
        RequestLine::Partial { method, complete_method: true } if RTSP_ONLY.contains(&method) => Claim::Mine,
        RequestLine::Partial { .. } => Claim::NeedMore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtsp_requests_are_claimed_and_http_ones_are_not() {
        assert_eq!(claim(b"OPTIONS rtsp://pi/stream RTSP/1.0\r\n"), Claim::Mine);
        assert_eq!(claim(b"DESCRIBE "), Claim::Mine);
        assert_eq!(claim(b"OPTIONS * HTTP/1.1\r\n"), Claim::NotMine);
        assert_eq!(claim(b"OPTIONS"), Claim::NeedMore);
        assert_eq!(claim(b"GET / HTTP/1.1\r\n"), Claim::NotMine);
    }
}
