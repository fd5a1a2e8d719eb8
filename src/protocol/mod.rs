//! The pistream wire protocol, sans I/O: message headers, the hello, bye and heartbeat,
//! their encoding and decoding, and the handshake/validation state.
//!
//! Nothing here touches a socket or reads the clock: bytes and times go in, messages and
//! bytes come out. `session.rs` does the I/O. The format is documented in docs/PROTOCOL.md.

pub mod auth;
mod error;
mod handshake;
mod header;
mod hello;
mod message;

pub use error::ProtocolError;
pub use handshake::{negotiate, Inbound, InboundState, Negotiated};
pub use header::{Header, MessageKind, HEADER_LEN, HEADER_MAGIC};
pub use hello::{Directions, Hello, HELLO_LEN, HELLO_MAGIC, HELLO_MAX_LEN, PROTOCOL_VERSION};
pub use message::{
    encode_auth, encode_bye, encode_frame_header, encode_heartbeat, encode_hello, ByeReason, BYE_MAX_LEN,
};
