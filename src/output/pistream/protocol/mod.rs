//! The pistream wire protocol, sans I/O: message headers, the hello, bye and heartbeat, a
//! receiver's keyframe requests and reports, wire formats, negotiation, the handshake state machine (with its Noise key exchange),
//! validation of what arrives after it, and the sealed records of keyed sessions.
//!
//! Nothing here touches a socket or reads the clock: bytes and times go in, messages and
//! bytes come out. `session/` does the I/O. The format is documented in docs/PROTOCOL.md.

mod error;
pub mod formats;
mod handshake;
mod header;
mod hello;
mod inbound;
pub mod keys;
mod message;
mod negotiate;
pub mod record;
mod report;

pub use error::{ProtocolError, RecordError};
pub use formats::{from_wire_code, max_len, wire_code, FormatSet, H264_MIN_BOUND, WIRE_FORMATS};
pub use handshake::{
    run_in_memory, Established, Handshake, HandshakeError, Role, NOISE_MAX_LEN, PROLOGUE_LABEL,
};
pub use header::{Header, MessageKind, HEADER_LEN, HEADER_MAGIC};
pub use hello::{Directions, Hello, HELLO_LEN, HELLO_MAGIC, HELLO_MAX_LEN, PROTOCOL_VERSION};
pub use inbound::{Inbound, InboundState};
pub use message::{encode_bye, encode_frame_header, encode_heartbeat, encode_hello, ByeReason, BYE_MAX_LEN};
pub use negotiate::{negotiate, Negotiated};
pub use report::{encode_keyframe_request, Report, REPORT_LEN};
