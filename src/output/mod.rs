//! The ways of watching a camera, one folder each, behind one admission guard:
//!
//! - `pistream/`: pistream's own protocol (its sans-I/O `protocol/`, the `session/` that
//!   drives it, the `adapt/` ladder of `--wire auto`, the receiver's `decode.rs`);
//! - `seed/`: the seed wire of the Python chat pistream grew from (`--peer seed`);
//! - `http/`: the viewer page, MJPEG `/stream`, `/snapshot`, `/state`;
//! - `rtsp/`: RTSP and RTP for NVRs, relays, VLC and OpenCV: H.264 `/stream` and `/sub`.
//!
//! Beside them: what an endpoint brings to each connection (`endpoint.rs`), the one
//! [`admission`] guard every output takes a viewer place or the display through, the
//! [`deadlines`] every peer is held to, how a
//! connection ended and what follows it (`ending.rs`), and which output a listening port's
//! connection belongs to, by its first bytes (`opening.rs`).

pub mod admission;
pub mod deadlines;
mod ending;
mod endpoint;
pub mod http;
mod opening;
pub mod pistream;
pub mod rtsp;
pub mod seed;
pub mod webrtc;

pub use ending::{after, Ending, Failure, Next, SessionError};
pub use endpoint::{Endpoint, H264Options, PeerKind};
pub use opening::{classify_opening, peer_connection, serve, Accepts, Output};
