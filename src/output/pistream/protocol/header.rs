//! The fixed 24-byte header in front of every message.
//!
//! ```text
//! offset size field
//!      0    2 magic "PS"
//!      2    1 kind (1 hello, 2 frame, 3 heartbeat, 4 bye, 5 handshake, 6 keyframe request,
//!             7 report)
//!      3    1 frame: its wire format code (see format.rs); every other kind: 0
//!      4    4 body length, bytes (u32 big-endian)
//!      8    8 sequence number (frame; 0 otherwise)
//!     16    8 timestamp, microseconds since the UNIX epoch (frame: capture time; others: send time)
//! ```

use super::error::show_bytes;
use super::error::ProtocolError;
use super::formats::{from_wire_code, wire_code};
use crate::media::PixelFormat;

pub const HEADER_LEN: usize = 24;
pub const HEADER_MAGIC: [u8; 2] = *b"PS";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Hello = 1,
    Frame = 2,
    Heartbeat = 3,
    Bye = 4,
    /// A Noise handshake message (only when both sides hold a key).
    Handshake = 5,
    /// A receiver of H.264 asks the sender for a keyframe (its decoder lost its place).
    KeyframeRequest = 6,
    /// A receiver of video says what arrived and when ([`super::Report`]), so the sender
    /// fits its wire format to the link end to end.
    Report = 7,
}

impl MessageKind {
    pub fn from_byte(kind: u8) -> Option<Self> {
        match kind {
            1 => Some(MessageKind::Hello),
            2 => Some(MessageKind::Frame),
            3 => Some(MessageKind::Heartbeat),
            4 => Some(MessageKind::Bye),
            5 => Some(MessageKind::Handshake),
            6 => Some(MessageKind::KeyframeRequest),
            7 => Some(MessageKind::Report),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Hello => "hello",
            MessageKind::Frame => "frame",
            MessageKind::Heartbeat => "heartbeat",
            MessageKind::Bye => "bye",
            MessageKind::Handshake => "handshake",
            MessageKind::KeyframeRequest => "keyframe request",
            MessageKind::Report => "report",
        }
    }
}

/// A decoded header whose magic, kind and format byte are valid. Its length is checked
/// against the connection's state by [`super::InboundState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: MessageKind,
    /// A frame's wire format (`None` for every other kind).
    pub format: Option<PixelFormat>,
    pub body_len: u32,
    pub seq: u64,
    pub timestamp_us: u64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..2].copy_from_slice(&HEADER_MAGIC);
        out[2] = self.kind as u8;
        out[3] = self.format.and_then(wire_code).unwrap_or(0);
        out[4..8].copy_from_slice(&self.body_len.to_be_bytes());
        out[8..16].copy_from_slice(&self.seq.to_be_bytes());
        out[16..24].copy_from_slice(&self.timestamp_us.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, ProtocolError> {
        if bytes[0..2] != HEADER_MAGIC {
            return Err(ProtocolError::BadHeaderMagic { got: show_bytes(bytes) });
        }
        let kind = MessageKind::from_byte(bytes[2]).ok_or(ProtocolError::UnknownKind { kind: bytes[2] })?;
        let format = match kind {
            MessageKind::Frame => {
                Some(from_wire_code(bytes[3]).ok_or(ProtocolError::UnknownFormat { code: bytes[3] })?)
            }
            _ if bytes[3] != 0 => return Err(ProtocolError::BadFlags { kind: kind.name(), flags: bytes[3] }),
            _ => None,
        };
        let body_len = u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes"));
        let seq = u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let timestamp_us = u64::from_be_bytes(bytes[16..24].try_into().expect("8 bytes"));
        Ok(Header { kind, format, body_len, seq, timestamp_us })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let header = Header {
            kind: MessageKind::Frame,
            format: Some(PixelFormat::Bgr24),
            body_len: 921_600,
            seq: 42,
            timestamp_us: 1_700_000_000_000_000,
        };
        let bytes = header.encode();
        assert_eq!(&bytes[0..4], &[b'P', b'S', 2, 1]);
        assert_eq!(&bytes[4..8], &921_600u32.to_be_bytes());
        assert_eq!(Header::decode(&bytes), Ok(header));
    }

    #[test]
    fn http_request_is_named_as_not_pistream() {
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(b"GET / HTTP/1.1\r\nHost: 12");
        let err = Header::decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("\"GET / HT\""), "{err}");
        assert!(err.to_string().contains("not a pistream peer"), "{err}");
    }

    #[test]
    fn unknown_kind_format_and_flags_are_rejected() {
        let mut bytes =
            Header { kind: MessageKind::Bye, format: None, body_len: 1, seq: 0, timestamp_us: 0 }.encode();
        bytes[2] = 9;
        assert_eq!(Header::decode(&bytes), Err(ProtocolError::UnknownKind { kind: 9 }));
        bytes[2] = 4;
        bytes[3] = 0x80;
        assert_eq!(Header::decode(&bytes), Err(ProtocolError::BadFlags { kind: "bye", flags: 0x80 }));
        bytes[2] = 2;
        bytes[3] = 0;
        assert_eq!(Header::decode(&bytes), Err(ProtocolError::UnknownFormat { code: 0 }));
        bytes[3] = 99;
        let err = Header::decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("wire format 99"), "{err}");
    }
}
