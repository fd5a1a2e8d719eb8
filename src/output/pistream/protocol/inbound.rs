//! Validation of what the peer sends once the handshake is done: which message may come
//! next, in which wire format, with which length.
//!
//! [`InboundState`] checks every header before a single body byte is read, so a
//! peer-supplied length never sizes an allocation or a read: a raw frame's body must be
//! exactly its format's size at the negotiated geometry, a JPEG or an H.264 unit at most
//! the raw BGR frame's size, everything else fits a small fixed buffer. Keyframe requests and
//! reports come only from a peer this side sends video to.

use super::error::ProtocolError;
use super::formats::{max_len, FormatSet};
use super::header::{Header, MessageKind, HEADER_LEN};
use super::message::BYE_MAX_LEN;
use super::negotiate::Negotiated;
use super::report::REPORT_LEN;
use crate::media::Geometry;
use crate::media::PixelFormat;

/// A header that passed validation: what to read next and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Read exactly `len` bytes of a frame in `format`.
    Frame {
        seq: u64,
        captured_us: u64,
        format: PixelFormat,
        len: usize,
    },
    Heartbeat,
    /// Read `len` bytes (at most BYE_MAX_LEN) and pass them to `ByeReason::decode`.
    Bye {
        len: usize,
    },
    /// The peer, a receiver of this side's H.264, wants a keyframe.
    KeyframeRequest,
    /// Read [`REPORT_LEN`] bytes and pass them, with `at_us`, to `Report::decode`.
    Report {
        at_us: u64,
    },
}

/// Validation state for messages from the peer after the handshake.
#[derive(Debug)]
pub struct InboundState {
    /// The geometry and formats of frames the peer may send (none: it sends none).
    frames: Option<(Geometry, FormatSet)>,
    /// Whether this side sends video (so the peer may report on it and ask for keyframes).
    sends: bool,
}

impl InboundState {
    pub fn new(negotiated: &Negotiated) -> Self {
        InboundState {
            frames: negotiated.receive.map(|g| (g, negotiated.receive_formats)),
            sends: negotiated.sends(),
        }
    }

    /// Checks a header against what may come now. The caller reads the body only on `Ok`.
    pub fn on_header(&self, bytes: &[u8; HEADER_LEN]) -> Result<Inbound, ProtocolError> {
        let header = Header::decode(bytes)?;
        let len = header.body_len;
        let bad_len =
            |expected: String| ProtocolError::BadLength { kind: header.kind.name(), got: len, expected };
        match header.kind {
            MessageKind::Hello => Err(ProtocolError::SecondHello),
            MessageKind::Handshake => Err(ProtocolError::UnexpectedHandshake),
            MessageKind::Bye => {
                if !(1..=BYE_MAX_LEN as u32).contains(&len) {
                    return Err(bad_len(format!("1..={BYE_MAX_LEN}")));
                }
                Ok(Inbound::Bye { len: len as usize })
            }
            MessageKind::Heartbeat => {
                if len != 0 {
                    return Err(bad_len("0".into()));
                }
                Ok(Inbound::Heartbeat)
            }
            MessageKind::KeyframeRequest | MessageKind::Report if !self.sends => {
                Err(ProtocolError::NotSending { kind: header.kind.name() })
            }
            MessageKind::KeyframeRequest => {
                if len != 0 {
                    return Err(bad_len("0".into()));
                }
                Ok(Inbound::KeyframeRequest)
            }
            MessageKind::Report => {
                if len as usize != REPORT_LEN {
                    return Err(bad_len(REPORT_LEN.to_string()));
                }
                Ok(Inbound::Report { at_us: header.timestamp_us })
            }
            MessageKind::Frame => {
                let (geometry, formats) = self.frames.ok_or(ProtocolError::UnexpectedFrame)?;
                let format = header.format.expect("frame headers carry a format");
                if !formats.contains(format) {
                    return Err(ProtocolError::FormatNotOffered { format, offered: formats });
                }
                let len = len as usize;
                match format.tight_len(geometry.width, geometry.height) {
                    Some(exact) if len != exact => {
                        return Err(bad_len(format!("{exact} (a {format} frame of {geometry})")))
                    }
                    None if len == 0 || len > max_len(format, geometry.width, geometry.height) => {
                        let max = max_len(format, geometry.width, geometry.height);
                        return Err(bad_len(format!("1..={max} (a {format} frame of {geometry})")));
                    }
                    _ => {}
                }
                Ok(Inbound::Frame { seq: header.seq, captured_us: header.timestamp_us, format, len })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::encode_frame_header;
    use super::super::{negotiate, Hello};
    use super::*;

    fn display_state(camera: Hello) -> InboundState {
        InboundState::new(&negotiate(&Hello::receiver().decoding(FormatSet::all()), &camera).unwrap())
    }

    #[test]
    fn raw_frames_must_have_exactly_their_size() {
        let state = display_state(Hello::sender(Geometry::new(640, 480), 30.0));
        let frame = encode_frame_header(1, 2, PixelFormat::Bgr24, 921_600);
        assert_eq!(
            state.on_header(&frame),
            Ok(Inbound::Frame { seq: 1, captured_us: 2, format: PixelFormat::Bgr24, len: 921_600 })
        );
        let too_big = encode_frame_header(1, 2, PixelFormat::Bgr24, 921_601);
        let err = state.on_header(&too_big).unwrap_err().to_string();
        assert!(err.contains("921601") && err.contains("921600"), "{err}");
    }

    #[test]
    fn formats_not_negotiated_are_refused_and_jpeg_is_bounded_by_the_bgr_size() {
        let plain = display_state(Hello::sender(Geometry::new(64, 48), 30.0));
        let jpeg = encode_frame_header(1, 2, PixelFormat::Mjpeg, 500);
        let err = plain.on_header(&jpeg).unwrap_err();
        assert!(matches!(err, ProtocolError::FormatNotOffered { format: PixelFormat::Mjpeg, .. }), "{err}");
        let all = display_state(Hello::sender(Geometry::new(64, 48), 30.0).sending(FormatSet::all()));
        assert!(all.on_header(&jpeg).is_ok());
        let huge = encode_frame_header(1, 2, PixelFormat::Mjpeg, 64 * 48 * 3 + 1);
        assert!(matches!(all.on_header(&huge), Err(ProtocolError::BadLength { .. })));
        let empty = encode_frame_header(1, 2, PixelFormat::Mjpeg, 0);
        assert!(matches!(all.on_header(&empty), Err(ProtocolError::BadLength { .. })));
        let yuyv = encode_frame_header(1, 2, PixelFormat::Yuyv, 64 * 48 * 2);
        assert!(all.on_header(&yuyv).is_ok());
    }

    #[test]
    fn a_side_that_receives_nothing_rejects_frames_and_late_handshake_messages() {
        let camera = Hello::sender(Geometry::new(64, 48), 30.0);
        let state = InboundState::new(&negotiate(&camera, &Hello::receiver()).unwrap());
        assert_eq!(
            state.on_header(&encode_frame_header(0, 0, PixelFormat::Bgr24, 64 * 48 * 3)),
            Err(ProtocolError::UnexpectedFrame)
        );
        let hello = Header { kind: MessageKind::Hello, format: None, body_len: 48, seq: 0, timestamp_us: 0 };
        assert_eq!(state.on_header(&hello.encode()), Err(ProtocolError::SecondHello));
        let noise = Header { kind: MessageKind::Handshake, ..hello };
        assert_eq!(state.on_header(&noise.encode()), Err(ProtocolError::UnexpectedHandshake));
        let bye = Header { kind: MessageKind::Bye, body_len: 100_000, ..hello };
        assert!(matches!(state.on_header(&bye.encode()), Err(ProtocolError::BadLength { .. })));
    }

    #[test]
    fn only_a_receiver_of_this_sides_video_may_report_or_ask_for_keyframes() {
        let camera = Hello::sender(Geometry::new(64, 48), 30.0).sending(FormatSet::all());
        let display = Hello::receiver().decoding(FormatSet::all());
        let at_camera = InboundState::new(&negotiate(&camera, &display).unwrap());
        let at_display = InboundState::new(&negotiate(&display, &camera).unwrap());
        let report = crate::output::pistream::protocol::Report::default().encode();
        let report_header: [u8; HEADER_LEN] = report[..HEADER_LEN].try_into().unwrap();
        assert_eq!(at_camera.on_header(&report_header), Ok(Inbound::Report { at_us: 0 }));
        let request = crate::output::pistream::protocol::encode_keyframe_request(5);
        assert_eq!(at_camera.on_header(&request), Ok(Inbound::KeyframeRequest));
        assert!(matches!(at_display.on_header(&request), Err(ProtocolError::NotSending { .. })));
        assert!(matches!(at_display.on_header(&report_header), Err(ProtocolError::NotSending { .. })));
        let long = Header { kind: MessageKind::Report, format: None, body_len: 21, seq: 0, timestamp_us: 0 };
        assert!(matches!(at_camera.on_header(&long.encode()), Err(ProtocolError::BadLength { .. })));
        // H.264 units are bounded by the BGR size or 64 KiB, whichever is more.
        let h264 = encode_frame_header(1, 2, PixelFormat::H264, 64 * 1024 + 1);
        assert!(matches!(at_display.on_header(&h264), Err(ProtocolError::BadLength { .. })));
        assert!(at_display.on_header(&encode_frame_header(1, 2, PixelFormat::H264, 900)).is_ok());
    }
}
