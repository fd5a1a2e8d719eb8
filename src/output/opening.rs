//! Which output a listening port's connection belongs to, by its first bytes: each output
//! claims its own (`net::demux`), in this order: the peer protocol the endpoint speaks
//! (pistream's `PS` magic, or the seed client's `connected`), HTTP, RTSP. Bytes no one
//! claims go to the peer protocol, whose handshake names what arrived.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::AtomicBool;

use super::ending::Next;
use super::endpoint::{Endpoint, PeerKind};
use super::pistream::protocol::Role;
use super::{http, pistream, rtsp, seed};
use crate::net::demux::{classify, Claimer, Opening};

/// The outputs a listening port hands connections to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Pistream,
    Seed,
    Http,
    Rtsp,
}

/// What a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    /// Peers of this kind, HTTP and RTSP clients (the camera's own port).
    Peers(PeerKind),
    /// HTTP clients only (`--http ADDR`).
    HttpOnly,
    /// RTSP clients only (`--rtsp ADDR`).
    RtspOnly,
}

type Claimant = (Output, Claimer);

/// Which output `first` (the connection's first bytes, peeked) belongs to.
pub fn classify_opening(first: &[u8], accepts: Accepts) -> Opening<Output> {
    const PISTREAM: Claimant = (Output::Pistream, pistream::claim);
    const SEED: Claimant = (Output::Seed, seed::claim);
    const HTTP: Claimant = (Output::Http, http::claim);
    const RTSP: Claimant = (Output::Rtsp, rtsp::claim);
    match accepts {
        Accepts::Peers(PeerKind::Pistream) => classify(first, &[PISTREAM, HTTP, RTSP]),
        Accepts::Peers(PeerKind::Seed) => classify(first, &[SEED, HTTP, RTSP]),
        Accepts::HttpOnly => match classify(first, &[HTTP]) {
            Opening::Unknown => Opening::Claimed(Output::Http),
            other => other,
        },
        // Whatever comes is answered as RTSP (a malformed request gets 400).
        Accepts::RtspOnly => Opening::Claimed(Output::Rtsp),
    }
}

/// Runs a connection of the peer protocol `endpoint` speaks (pistream's or the seed wire),
/// listening or connecting, to its end; `admitted` is raised once it holds its places.
pub fn peer_connection(
    endpoint: &Endpoint,
    stream: &TcpStream,
    peer: SocketAddr,
    role: Role,
    admitted: &AtomicBool,
) -> Next {
    match endpoint.peer {
        PeerKind::Pistream => pistream::connection(endpoint, stream, peer, role, admitted),
        PeerKind::Seed => seed::connection(endpoint, stream, peer, role, admitted),
    }
}

/// Serves an accepted connection that `output` claimed.
pub fn serve(
    endpoint: &Endpoint,
    output: Output,
    stream: &TcpStream,
    peer: SocketAddr,
    admitted: &AtomicBool,
) -> Next {
    match output {
        Output::Http => {
            http::connection(endpoint, stream, peer, admitted);
            Next::Continue
        }
        Output::Rtsp => {
            rtsp::connection(endpoint, stream, peer, admitted);
            Next::Continue
        }
        Output::Pistream | Output::Seed => {
            log::info!("{peer} connected");
            peer_connection(endpoint, stream, peer, Role::Listening, admitted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pistream_port(first: &[u8]) -> Opening<Output> {
        classify_opening(first, Accepts::Peers(PeerKind::Pistream))
    }

    #[test]
    fn opening_bytes_tell_pistream_from_http() {
        assert_eq!(pistream_port(b""), Opening::NeedMore);
        assert_eq!(pistream_port(b"P"), Opening::NeedMore);
        assert_eq!(pistream_port(b"PS\x01"), Opening::Claimed(Output::Pistream));
        assert_eq!(pistream_port(b"GE"), Opening::NeedMore);
        assert_eq!(pistream_port(b"GET /stream HTTP/1.1"), Opening::Claimed(Output::Http));
        assert_eq!(pistream_port(b"HEAD"), Opening::Claimed(Output::Http));
        assert_eq!(pistream_port(b"PO"), Opening::NeedMore);
        assert_eq!(pistream_port(b"\x16\x03\x01\x02"), Opening::Unknown, "TLS");
        assert_eq!(pistream_port(b"SSH-"), Opening::Unknown);
    }

    #[test]
    fn rtsp_is_told_from_http_by_its_version_even_for_options() {
        assert_eq!(
            pistream_port(b"OPTIONS rtsp://pi:5678/stream RTSP/1.0\r\n"),
            Opening::Claimed(Output::Rtsp)
        );
        assert_eq!(pistream_port(b"OPTIONS * HTTP/1.1\r\n"), Opening::Claimed(Output::Http));
        assert_eq!(pistream_port(b"OPTIONS rtsp://pi/stream RT"), Opening::NeedMore, "until the line ends");
        assert_eq!(pistream_port(b"DESCRIBE rtsp://pi/stream RTSP/1.0\r\n"), Opening::Claimed(Output::Rtsp));
        assert_eq!(pistream_port(b"BREW / HTTP/1.1\r\n"), Opening::Claimed(Output::Http), "HTTP answers it");
        assert_eq!(pistream_port(b"BREW / COFFEE/1.0\r\n"), Opening::Unknown);
    }

    #[test]
    fn a_seed_port_takes_connected_and_still_serves_the_web() {
        let seed_port = |first: &[u8]| classify_opening(first, Accepts::Peers(PeerKind::Seed));
        assert_eq!(seed_port(b"conn"), Opening::NeedMore);
        assert_eq!(seed_port(b"connected"), Opening::Claimed(Output::Seed));
        assert_eq!(seed_port(b"GET /state HTTP/1.0\r\n"), Opening::Claimed(Output::Http));
        assert_eq!(seed_port(b"PS\x02\x00"), Opening::Unknown, "the seed opening names a pistream peer");
        assert_eq!(classify_opening(b"PS\x02", Accepts::HttpOnly), Opening::Claimed(Output::Http));
    }
}
