//! WHEP (RFC 9725) on the HTTP side: `POST /whep` with an SDP offer answers `201 Created`
//! with the SDP answer and the session's `Location`; `DELETE` on that location ends it;
//! `OPTIONS` answers browsers' CORS preflight; `PATCH` (trickle ICE) is not needed with
//! ICE-lite and full candidates in the answer (405). The session itself is
//! `output::webrtc`'s.

use std::net::{SocketAddr, TcpStream};

#[cfg(feature = "webrtc")]
use super::request::read_body;
use super::request::Request;
#[cfg(feature = "webrtc")]
use super::response::respond;
use super::response::text;
use super::site::Site;
#[cfg(feature = "webrtc")]
use crate::output::webrtc::offer::MAX_OFFER_BYTES;
#[cfg(feature = "webrtc")]
use crate::output::webrtc::Refusal;

/// The path offers go to, and the prefix of sessions' locations.
pub(super) const WHEP_PATH: &str = "/whep";
/// What WHEP's paths allow.
#[cfg(feature = "webrtc")]
const ALLOW: &str = "Allow: POST, DELETE, OPTIONS\r\n";
/// CORS: a player on another origin may post offers and read the location.
#[cfg(feature = "webrtc")]
const CORS: &str = "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: Location\r\n";

/// Whether `path` is WHEP's: `/whep` or a session under it.
pub(super) fn is_whep(path: &str) -> bool {
    path == WHEP_PATH || path.strip_prefix(WHEP_PATH).is_some_and(|rest| rest.starts_with('/'))
}

/// Answers a request to a WHEP path in a build without WebRTC.
#[cfg(not(feature = "webrtc"))]
pub(super) fn answer(site: &Site<'_>, stream: &TcpStream, _peer: SocketAddr, _request: &Request) {
    let message = "this pistream was built without WebRTC (the cargo feature webrtc): play /stream (MJPEG) or rtsp://…/stream\n";
    text(stream, "404 Not Found", "", message, false, site.shutdown);
}

/// Answers a request to a WHEP path (authorization already checked).
#[cfg(feature = "webrtc")]
pub(super) fn answer(site: &Site<'_>, stream: &TcpStream, peer: SocketAddr, request: &Request) {
    let shutdown = site.shutdown;
    let Some((endpoint, service)) = site.endpoint.and_then(|e| Some((e, e.webrtc.service()?))) else {
        let message = if site.hub.is_none() {
            "this endpoint shows video; it has no camera to serve\n"
        } else {
            "WebRTC is off on this camera (--webrtc off): play /stream (MJPEG) or rtsp://…/stream\n"
        };
        text(stream, "404 Not Found", "", message, false, shutdown);
        return;
    };
    let session = request.path.strip_prefix(WHEP_PATH).and_then(|rest| rest.strip_prefix('/'));
    match (request.method.as_str(), session) {
        ("OPTIONS", _) => {
            let headers = format!(
                "{ALLOW}{CORS}Access-Control-Allow-Methods: POST, DELETE, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type, Authorization\r\nAccept-Post: application/sdp\r\n"
            );
            let _ = respond(stream, "204 No Content", "text/plain", &headers, b"", false, shutdown);
        }
        ("POST", None) => post(site, stream, peer, request, endpoint, service),
        ("DELETE", Some(token)) => {
            if service.delete(token) {
                log::info!("WebRTC {peer} ended its session (WHEP DELETE)");
                let _ = respond(stream, "200 OK", "text/plain", CORS, b"", false, shutdown);
            } else {
                text(
                    stream,
                    "404 Not Found",
                    CORS,
                    "no such WebRTC session (it ended already?)\n",
                    false,
                    shutdown,
                );
            }
        }
        ("PATCH", Some(_)) => text(
            stream,
            "405 Method Not Allowed",
            ALLOW,
            "trickle ICE is not needed here: the answer holds every candidate (ICE-lite)\n",
            false,
            shutdown,
        ),
        (method, None) => text(
            stream,
            "405 Method Not Allowed",
            ALLOW,
            &format!("{method} /whep: POST an SDP offer (Content-Type: application/sdp)\n"),
            false,
            shutdown,
        ),
        (method, Some(_)) => text(
            stream,
            "405 Method Not Allowed",
            ALLOW,
            &format!("{method} on a WebRTC session: DELETE ends it\n"),
            false,
            shutdown,
        ),
    }
}

/// `POST /whep`: reads the offer and answers it.
#[cfg(feature = "webrtc")]
fn post(
    site: &Site<'_>,
    stream: &TcpStream,
    peer: SocketAddr,
    request: &Request,
    endpoint: &crate::output::Endpoint,
    service: &crate::output::webrtc::Service,
) {
    let shutdown = site.shutdown;
    let refuse = |status: &str, message: &str| {
        log::info!("WebRTC {peer}: {status}: {}", message.trim_end());
        text(stream, status, CORS, message, false, shutdown);
    };
    let is_sdp = request
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/sdp"));
    if !is_sdp {
        return refuse("415 Unsupported Media Type", "send the offer with Content-Type: application/sdp\n");
    }
    let Some(len) = request.content_length else {
        return refuse("411 Length Required", "send the offer with a Content-Length\n");
    };
    if len > MAX_OFFER_BYTES {
        return refuse(
            "413 Content Too Large",
            &format!("an offer of {len} bytes is over the {MAX_OFFER_BYTES} this camera reads\n"),
        );
    }
    let Some(body) = read_body(stream, request, len) else { return };
    let Ok(offer) = std::str::from_utf8(&body) else {
        return refuse("400 Bad Request", "the offer is not UTF-8 text\n");
    };
    let reached_on = stream.local_addr().map(|a| a.ip()).unwrap_or(peer.ip());
    match service.offer(endpoint, offer, peer, reached_on) {
        Ok((token, answer)) => {
            log::info!("WebRTC {peer}: offer answered, session {WHEP_PATH}/{token}");
            let headers = format!("{CORS}Location: {WHEP_PATH}/{token}\r\n");
            let _ = respond(
                stream,
                "201 Created",
                "application/sdp",
                &headers,
                answer.as_bytes(),
                false,
                shutdown,
            );
        }
        Err(Refusal::Offer(e)) => refuse(e.status(), &e.message()),
        Err(Refusal::Full(max)) => refuse(
            "503 Service Unavailable",
            &format!("{max} viewers already watch this camera (--max-viewers); try again later\n"),
        ),
        Err(Refusal::Stopped) => refuse("503 Service Unavailable", "the camera is stopping\n"),
    }
}
