//! The report a receiver of video sends its sender every quarter second: what has arrived,
//! and how fast the bytes of the largest frame since the last report came in, so the
//! sender fits its wire format to what the link delivers end to end (through a TCP proxy,
//! an SSH tunnel or a VPN, whose own acknowledgements say nothing about the rest of the
//! path).
//!
//! ```text
//! offset size field (all big-endian)
//!      0    8 bytes of frame messages received so far (headers and bodies, as on the wire)
//!      8    4 frames received so far
//!     12    4 the sample: bytes of the largest frame since the last report that arrived
//!             after its header was read (those already waiting are not counted)
//!     16    4 microseconds those bytes took (0 0 when no frame came)
//! ```
//!
//! The header's timestamp is the receiver's clock when it sent the report; the sender only
//! ever subtracts two of them, so the two clocks need not agree.

use super::header::{Header, MessageKind, HEADER_LEN};

/// A report's body length.
pub const REPORT_LEN: usize = 20;

/// What a receiver has had of the sender's frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The receiver's clock when it sent this (µs since the UNIX epoch).
    pub at_us: u64,
    pub bytes: u64,
    pub frames: u32,
    /// Bytes of the largest frame since the last report that arrived after its header was
    /// read, and the microseconds they took: a sample of how fast the path delivers.
    pub sample_bytes: u32,
    pub sample_us: u32,
}

impl Report {
    /// The whole message: header and body.
    pub fn encode(&self) -> [u8; HEADER_LEN + REPORT_LEN] {
        let mut out = [0u8; HEADER_LEN + REPORT_LEN];
        let header = Header {
            kind: MessageKind::Report,
            format: None,
            body_len: REPORT_LEN as u32,
            seq: 0,
            timestamp_us: self.at_us,
        };
        out[..HEADER_LEN].copy_from_slice(&header.encode());
        let body = &mut out[HEADER_LEN..];
        body[0..8].copy_from_slice(&self.bytes.to_be_bytes());
        body[8..12].copy_from_slice(&self.frames.to_be_bytes());
        body[12..16].copy_from_slice(&self.sample_bytes.to_be_bytes());
        body[16..20].copy_from_slice(&self.sample_us.to_be_bytes());
        out
    }

    /// A report's body, with the time from its header.
    pub fn decode(at_us: u64, body: &[u8; REPORT_LEN]) -> Report {
        let u32_at = |i: usize| u32::from_be_bytes(body[i..i + 4].try_into().expect("4 bytes"));
        Report {
            at_us,
            bytes: u64::from_be_bytes(body[0..8].try_into().expect("8 bytes")),
            frames: u32_at(8),
            sample_bytes: u32_at(12),
            sample_us: u32_at(16),
        }
    }
}

/// A keyframe request: a header with no body.
pub fn encode_keyframe_request(now_us: u64) -> [u8; HEADER_LEN] {
    Header { kind: MessageKind::KeyframeRequest, format: None, body_len: 0, seq: 0, timestamp_us: now_us }
        .encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_round_trips() {
        let report = Report { at_us: 9, bytes: 1 << 40, frames: 7, sample_bytes: 460_824, sample_us: 1234 };
        let bytes = report.encode();
        let header = Header::decode(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!((header.kind, header.body_len, header.timestamp_us), (MessageKind::Report, 20, 9));
        assert_eq!(Report::decode(header.timestamp_us, bytes[HEADER_LEN..].try_into().unwrap()), report);
    }
}
