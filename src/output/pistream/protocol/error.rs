//! Everything a peer can get wrong, each naming the field and the values involved.

use thiserror::Error;

use super::formats::FormatSet;
use crate::media::PixelFormat;

/// Renders up to 8 bytes as hex plus their printable ASCII, for error messages about
/// garbage on the wire.
pub(crate) fn show_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let text: String = bytes
        .iter()
        .take(8)
        .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
        .collect();
    format!("{} \"{}\"", hex.join(" "), text)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("not a pistream peer: a message header starts with bytes {got}, expected \"PS\" (is something else connected to this port?)")]
    BadHeaderMagic { got: String },
    #[error("not a pistream peer: the hello starts with bytes {got}, expected \"PISTREAM\"")]
    BadHelloMagic { got: String },
    #[error("peer speaks protocol version {got}, this pistream speaks version {ours}: run the same pistream version on both ends")]
    UnsupportedVersion { got: u16, ours: u16 },
    #[error("unknown message kind {kind} in header")]
    UnknownKind { kind: u8 },
    #[error("{kind} header has {flags:#04x} in byte 3, which must be 0 for that kind")]
    BadFlags { kind: &'static str, flags: u8 },
    #[error("frame header names wire format {code}, which this pistream does not know")]
    UnknownFormat { code: u8 },
    #[error("peer sent a {} frame, but only {offered} were agreed", .format.name())]
    FormatNotOffered { format: PixelFormat, offered: FormatSet },
    #[error("{kind} message has length {got} bytes, expected {expected}")]
    BadLength { kind: &'static str, got: u32, expected: String },
    #[error("peer sent a {kind} message before its hello")]
    BeforeHello { kind: &'static str },
    #[error("peer sent a {kind} message before the key handshake finished")]
    BeforeKeyHandshake { kind: &'static str },
    #[error("the handshake ended before it was complete")]
    Incomplete,
    #[error("peer sent a second hello")]
    SecondHello,
    #[error("peer sent a frame although it was not agreed that it sends video to this side")]
    UnexpectedFrame,
    #[error("peer sent a {kind} message, but this side sends it no video")]
    NotSending { kind: &'static str },
    #[error("hello field {field} is {got}: {why}")]
    BadHelloField { field: &'static str, got: String, why: &'static str },
    #[error("no video either way: {why}")]
    NothingToStream { why: &'static str },
    #[error(
        "no wire format in common: the receiving end accepts {accepts}, the sending end sends {sends} \
         (let the display accept more: --accept all)"
    )]
    NoCommonFormat { sends: FormatSet, accepts: FormatSet },
    #[error("authentication required: this side has --key-file and the peer has none (start it with the same --key-file)")]
    PeerHasNoKey,
    #[error(
        "the peer requires a shared key: start this side with --key-file (the same key file as the peer)"
    )]
    PeerRequiresKey,
    #[error("authentication failed: the peer's key differs from ours, or the hellos were changed in transit (check --key-file on both ends)")]
    AuthFailed,
    #[error("peer sent a handshake message at the wrong time")]
    UnexpectedHandshake,
    #[error("{0}")]
    Record(#[from] RecordError),
    #[error("a {} frame that does not decode: {why}", .format.name())]
    Undecodable { format: PixelFormat, why: String },
}

/// Why a sealed record (keyed sessions, `record.rs`) could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(
        "record {record} failed authentication: it was changed in transit (or the peer's key differs); nothing of it was used"
    )]
    Forged { record: u64 },
    #[error("this direction has sent 2^64 - 1 records; the session must be restarted")]
    Exhausted,
}
