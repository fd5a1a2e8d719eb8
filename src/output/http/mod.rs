//! The web side of a camera: HTTP on its own port (or on `--http ADDR` as well), for
//! browsers, Home Assistant, go2rtc and Frigate.
//!
//! | path | answer |
//! | --- | --- |
//! | `/` | a small viewer page (`page.html`): the live picture, size, fps, viewers, latency |
//! | `/stream`, `/?action=stream` | `multipart/x-mixed-replace` MJPEG, a `Content-Length` per part |
//! | `/snapshot`, `/?action=snapshot` | one `image/jpeg` of the newest frame |
//! | `/state` | JSON: source, H.264 encoder, size, rates, viewers with their addresses, fps and drops |
//! | `/whep` | WebRTC by WHEP (`whep.rs`: `POST` an offer, `DELETE` its location) |
//!
//! `HEAD` is answered like `GET` without a body; other HTTP methods get 405 (but on
//! `/whep`), methods HTTP does not define (`BREW`) 501, other paths 404.
//! Each `/stream` client is a viewer of the hub like a pistream display (its own slot, its
//! own drops; past `--max-viewers`, 503 with `Retry-After`), and shares each frame's one
//! JPEG encoding per quality with every other. Requests are parsed by `httparse`
//! (`request.rs`); answers are our own small writer (`response.rs`), because a server crate
//! would want to own the accepted socket pistream has already read from, and a stream part
//! here costs one `writev` of a stack-formatted part header and the shared JPEG, with no
//! allocation per frame.
//!
//! `serve.rs` reads and answers a request, `site.rs` is what it serves from, `frames.rs`
//! a frame as a browser's JPEG, `settings.rs` the endpoint's web settings, `whep.rs` WHEP.

pub mod auth;
mod frames;
mod request;
mod response;
mod serve;
pub mod settings;
mod site;
mod whep;

use crate::net::demux::{request_line, Claim, RequestLine};

pub use auth::Credentials;
pub use frames::{web_jpeg, web_needs};
pub use serve::{connection, serve, SNAPSHOT_TIMEOUT};
pub use settings::{WebSettings, DEFAULT_JPEG_QUALITY};
pub use site::Site;

/// HTTP methods RTSP does not share: such an opening is HTTP from its first four bytes.
const HTTP_ONLY: [&[u8; 4]; 8] = [b"GET ", b"HEAD", b"POST", b"PUT ", b"DELE", b"PATC", b"CONN", b"TRAC"];

/// Whether a connection's first bytes are an HTTP request: an HTTP-only method, or a
/// request line whose protocol is `HTTP/` (any method: one HTTP does not define is answered
/// 501).
pub fn claim(first: &[u8]) -> Claim {
    if first.len() >= 4 && HTTP_ONLY.iter().any(|m| first.starts_with(&m[..])) {
        return Claim::Mine;
    }
    match request_line(first) {
        RequestLine::NotALine => Claim::NotMine,
        RequestLine::Line { protocol, .. } if protocol.starts_with(b"HTTP/") => Claim::Mine,
        RequestLine::Line { .. } => Claim::NotMine,
        RequestLine::Partial { .. } => Claim::NeedMore,
    }
}
