//! Encoders for whole messages, and the bye's body.
//!
//! A bye body is one reason byte followed by up to [`BYE_MAX_LEN`]` - 1` bytes of UTF-8 text.

use super::header::{Header, MessageKind, HEADER_LEN};
use super::hello::{Hello, HELLO_LEN};
use crate::media::PixelFormat;

/// Longest bye body (reason byte + text).
pub const BYE_MAX_LEN: usize = 200;

/// Why a side ends the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByeReason {
    /// The user stopped it (signal, window key) or a `--frames/--seconds` bound was reached.
    Finished,
    /// This side found a protocol error in what the peer sent.
    ProtocolError,
    /// This side is already serving someone.
    Busy,
    /// A code this version does not know; still a clean end.
    Other(u8),
}

impl ByeReason {
    pub fn code(self) -> u8 {
        match self {
            ByeReason::Finished => 0,
            ByeReason::ProtocolError => 1,
            ByeReason::Busy => 2,
            ByeReason::Other(code) => code,
        }
    }

    pub fn from_code(code: u8) -> Self {
        match code {
            0 => ByeReason::Finished,
            1 => ByeReason::ProtocolError,
            2 => ByeReason::Busy,
            other => ByeReason::Other(other),
        }
    }

    /// Splits a bye body into its reason and text (invalid UTF-8 is replaced, not an error).
    pub fn decode(body: &[u8]) -> (ByeReason, String) {
        let reason = ByeReason::from_code(body.first().copied().unwrap_or(0));
        let text = String::from_utf8_lossy(body.get(1..).unwrap_or(&[])).into_owned();
        (reason, text)
    }
}

/// The header that precedes a frame's `payload_len` bytes in `format`.
pub fn encode_frame_header(
    seq: u64,
    captured_us: u64,
    format: PixelFormat,
    payload_len: usize,
) -> [u8; HEADER_LEN] {
    Header {
        kind: MessageKind::Frame,
        format: Some(format),
        body_len: payload_len as u32,
        seq,
        timestamp_us: captured_us,
    }
    .encode()
}

pub fn encode_heartbeat(now_us: u64) -> [u8; HEADER_LEN] {
    Header { kind: MessageKind::Heartbeat, format: None, body_len: 0, seq: 0, timestamp_us: now_us }.encode()
}

pub fn encode_hello(hello: &Hello, now_us: u64) -> [u8; HEADER_LEN + HELLO_LEN] {
    let mut out = [0u8; HEADER_LEN + HELLO_LEN];
    let header = Header {
        kind: MessageKind::Hello,
        format: None,
        body_len: HELLO_LEN as u32,
        seq: 0,
        timestamp_us: now_us,
    };
    out[..HEADER_LEN].copy_from_slice(&header.encode());
    out[HEADER_LEN..].copy_from_slice(&hello.encode());
    out
}

/// Encodes a bye into `out`, truncating the text at a character boundary to fit; returns
/// the number of bytes used.
pub fn encode_bye(
    reason: ByeReason,
    text: &str,
    now_us: u64,
    out: &mut [u8; HEADER_LEN + BYE_MAX_LEN],
) -> usize {
    let mut end = text.len().min(BYE_MAX_LEN - 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let body_len = 1 + end;
    let header = Header {
        kind: MessageKind::Bye,
        format: None,
        body_len: body_len as u32,
        seq: 0,
        timestamp_us: now_us,
    };
    out[..HEADER_LEN].copy_from_slice(&header.encode());
    out[HEADER_LEN] = reason.code();
    out[HEADER_LEN + 1..HEADER_LEN + body_len].copy_from_slice(&text.as_bytes()[..end]);
    HEADER_LEN + body_len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bye_round_trip_and_truncation_at_char_boundary() {
        let mut out = [0u8; HEADER_LEN + BYE_MAX_LEN];
        let n = encode_bye(ByeReason::Busy, "already serving 10.0.0.2", 5, &mut out);
        let header = Header::decode(out[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(header.kind, MessageKind::Bye);
        assert_eq!(header.body_len as usize, n - HEADER_LEN);
        assert_eq!(
            ByeReason::decode(&out[HEADER_LEN..n]),
            (ByeReason::Busy, "already serving 10.0.0.2".into())
        );

        let long = "é".repeat(300);
        let n = encode_bye(ByeReason::Finished, &long, 5, &mut out);
        assert!(n <= HEADER_LEN + BYE_MAX_LEN);
        let (_, text) = ByeReason::decode(&out[HEADER_LEN..n]);
        assert!(text.chars().all(|c| c == 'é') && !text.is_empty());
    }

    #[test]
    fn frame_header_carries_seq_time_and_length() {
        let bytes = encode_frame_header(7, 99, PixelFormat::Nv12, 460_800);
        let header = Header::decode(&bytes).unwrap();
        assert_eq!(
            (header.kind, header.format, header.seq, header.timestamp_us, header.body_len),
            (MessageKind::Frame, Some(PixelFormat::Nv12), 7, 99, 460_800)
        );
    }
}
