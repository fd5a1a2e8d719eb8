//! Handshake and inbound validation: what each side agreed to, and which message may come
//! next with which length.
//!
//! [`InboundState`] checks every header against the connection's state before a single
//! body byte is read, so a peer-supplied length never sizes an allocation or a read: frame
//! bodies must be exactly the negotiated frame size, everything else fits a small fixed
//! buffer.

use super::auth::AUTH_LEN;
use super::header::{Header, MessageKind, HEADER_LEN};
use super::hello::{Hello, HELLO_LEN, HELLO_MAX_LEN};
use super::message::BYE_MAX_LEN;
use super::ProtocolError;
use crate::frame::Geometry;

/// What a connection carries, fixed once both hellos are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// This side sends frames (it offers video and the peer wants it).
    pub send: bool,
    /// This side receives frames of this geometry.
    pub receive: Option<Geometry>,
    /// The peer's announced frame rate, millihertz (0 = unknown).
    pub peer_fps_millihz: u32,
    /// Both sides hold a key: auth messages must be exchanged and checked before anything else.
    pub authenticate: bool,
    /// The peer's nonce (for checking its auth message).
    pub peer_nonce: [u8; 16],
}

/// Decides what flows each way, or why nothing can.
pub fn negotiate(local: &Hello, peer: &Hello) -> Result<Negotiated, ProtocolError> {
    match (local.auth, peer.auth) {
        (true, false) => return Err(ProtocolError::PeerHasNoKey),
        (false, true) => return Err(ProtocolError::PeerRequiresKey),
        _ => {}
    }
    let send = local.directions.sends && peer.directions.wants;
    let receive = if local.directions.wants && peer.directions.sends { peer.geometry } else { None };
    if !send && receive.is_none() {
        let why = if !peer.directions.sends && !peer.directions.wants {
            "the peer neither sends nor wants video"
        } else {
            match (local.directions.sends, peer.directions.sends) {
                (true, true) => {
                    "both ends only send video (connect a display to a camera, or use call on both ends)"
                }
                (false, false) => {
                    "both ends only want video (is the other end a display too? connect to a camera)"
                }
                _ => "neither end wants what the other sends",
            }
        };
        return Err(ProtocolError::NothingToStream { why });
    }
    Ok(Negotiated {
        send,
        receive,
        peer_fps_millihz: peer.fps_millihz,
        authenticate: local.auth,
        peer_nonce: peer.nonce,
    })
}

/// A header that passed validation: what to read next and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Read `len` bytes (at most HELLO_MAX_LEN) and pass them to [`Hello::decode`].
    Hello {
        len: usize,
    },
    /// Read exactly the negotiated frame size into the receive buffer.
    Frame {
        seq: u64,
        captured_us: u64,
        len: usize,
    },
    Heartbeat,
    /// Read `len` bytes (at most BYE_MAX_LEN) and pass them to `ByeReason::decode`.
    Bye {
        len: usize,
    },
    /// Read [`AUTH_LEN`] bytes: the peer\'s MAC.
    Auth,
}

/// Validation state for messages from the peer.
#[derive(Debug, Default)]
pub struct InboundState {
    hello_seen: bool,
    frame_len: Option<usize>,
    /// An auth message is due (both sides authenticate) and has not come yet.
    auth_pending: bool,
}

impl InboundState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks a header against what may come now. The caller reads the body only on `Ok`.
    pub fn on_header(&mut self, bytes: &[u8; HEADER_LEN]) -> Result<Inbound, ProtocolError> {
        let header = Header::decode(bytes)?;
        let len = header.body_len;
        let bad_len =
            |expected: String| ProtocolError::BadLength { kind: header.kind.name(), got: len, expected };
        match header.kind {
            MessageKind::Hello => {
                if self.hello_seen {
                    return Err(ProtocolError::SecondHello);
                }
                if !(10..=HELLO_MAX_LEN as u32).contains(&len) {
                    return Err(bad_len(format!("{HELLO_LEN}")));
                }
                Ok(Inbound::Hello { len: len as usize })
            }
            MessageKind::Bye => {
                if !(1..=BYE_MAX_LEN as u32).contains(&len) {
                    return Err(bad_len(format!("1..={BYE_MAX_LEN}")));
                }
                Ok(Inbound::Bye { len: len as usize })
            }
            MessageKind::Heartbeat => {
                if !self.hello_seen {
                    return Err(ProtocolError::BeforeHello { kind: "heartbeat" });
                }
                if len != 0 {
                    return Err(bad_len("0".into()));
                }
                Ok(Inbound::Heartbeat)
            }
            MessageKind::Auth => {
                if !self.auth_pending {
                    return Err(ProtocolError::UnexpectedAuth);
                }
                if len as usize != AUTH_LEN {
                    return Err(bad_len(format!("{AUTH_LEN}")));
                }
                self.auth_pending = false;
                Ok(Inbound::Auth)
            }
            MessageKind::Frame => {
                if !self.hello_seen {
                    return Err(ProtocolError::BeforeHello { kind: "frame" });
                }
                if self.auth_pending {
                    return Err(ProtocolError::BeforeHello { kind: "frame (before auth)" });
                }
                let expected = self.frame_len.ok_or(ProtocolError::UnexpectedFrame)?;
                if len as usize != expected {
                    return Err(bad_len(format!("{expected} (the negotiated frame size)")));
                }
                Ok(Inbound::Frame { seq: header.seq, captured_us: header.timestamp_us, len: expected })
            }
        }
    }

    /// Records the outcome of the handshake: frames of this geometry may come from now on.
    pub fn on_negotiated(&mut self, negotiated: &Negotiated) {
        self.hello_seen = true;
        self.frame_len = negotiated.receive.map(|g| g.frame_len());
        self.auth_pending = negotiated.authenticate;
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::encode_frame_header;
    use super::*;

    fn hello_header(len: u32) -> [u8; HEADER_LEN] {
        Header { kind: MessageKind::Hello, body_len: len, seq: 0, timestamp_us: 0 }.encode()
    }

    #[test]
    fn camera_and_display_agree_one_way() {
        let camera = Hello::sender(Geometry::bgr(640, 480), 30.0);
        let display = Hello::receiver();
        let at_camera = negotiate(&camera, &display).unwrap();
        let at_display = negotiate(&display, &camera).unwrap();
        assert_eq!((at_camera.send, at_camera.receive), (true, None));
        assert_eq!((at_display.send, at_display.receive), (false, Some(Geometry::bgr(640, 480))));
        assert_eq!(at_display.peer_fps_millihz, 30_000);
    }

    #[test]
    fn a_call_flows_both_ways_with_each_sides_geometry() {
        let a = Hello::two_way(Geometry::bgr(640, 480), 30.0);
        let b = Hello::two_way(Geometry::bgr(320, 240), 15.0);
        let at_a = negotiate(&a, &b).unwrap();
        assert!(at_a.send);
        assert_eq!(at_a.receive, Some(Geometry::bgr(320, 240)));
    }

    #[test]
    fn two_displays_or_two_cameras_are_refused_with_a_reason() {
        let err = negotiate(&Hello::receiver(), &Hello::receiver()).unwrap_err().to_string();
        assert!(err.contains("both ends only want video"), "{err}");
        let cam = Hello::sender(Geometry::bgr(2, 2), 1.0);
        let err = negotiate(&cam, &cam).unwrap_err().to_string();
        assert!(err.contains("both ends only send video"), "{err}");
    }

    #[test]
    fn frames_are_checked_against_the_negotiated_size_before_any_body_is_read() {
        let mut state = InboundState::new();
        let frame = encode_frame_header(1, 2, 921_600);
        assert_eq!(state.on_header(&frame), Err(ProtocolError::BeforeHello { kind: "frame" }));
        assert_eq!(state.on_header(&hello_header(HELLO_LEN as u32)), Ok(Inbound::Hello { len: HELLO_LEN }));
        let display = Hello::receiver();
        let camera = Hello::sender(Geometry::bgr(640, 480), 30.0);
        state.on_negotiated(&negotiate(&display, &camera).unwrap());
        assert_eq!(state.on_header(&frame), Ok(Inbound::Frame { seq: 1, captured_us: 2, len: 921_600 }));
        let too_big = encode_frame_header(1, 2, 921_601);
        let err = state.on_header(&too_big).unwrap_err().to_string();
        assert!(err.contains("921601") && err.contains("921600"), "{err}");
        assert_eq!(state.on_header(&hello_header(HELLO_LEN as u32)), Err(ProtocolError::SecondHello));
    }

    #[test]
    fn a_side_that_receives_nothing_rejects_frames() {
        let mut state = InboundState::new();
        let camera = Hello::sender(Geometry::bgr(64, 48), 30.0);
        state.on_negotiated(&negotiate(&camera, &Hello::receiver()).unwrap());
        assert_eq!(
            state.on_header(&encode_frame_header(0, 0, 64 * 48 * 3)),
            Err(ProtocolError::UnexpectedFrame)
        );
    }

    #[test]
    fn oversized_hello_and_bye_lengths_are_refused() {
        let mut state = InboundState::new();
        assert!(matches!(state.on_header(&hello_header(1 << 30)), Err(ProtocolError::BadLength { .. })));
        let bye = Header { kind: MessageKind::Bye, body_len: 100_000, seq: 0, timestamp_us: 0 }.encode();
        assert!(matches!(state.on_header(&bye), Err(ProtocolError::BadLength { .. })));
    }
}

#[cfg(test)]
mod auth_tests {
    use super::*;
    use crate::protocol::auth::fresh_nonce;

    fn keyed(mut hello: Hello) -> Hello {
        hello.auth = true;
        hello.nonce = fresh_nonce();
        hello
    }

    #[test]
    fn a_key_on_one_side_only_is_refused_with_what_to_do() {
        let camera = keyed(Hello::sender(Geometry::bgr(64, 48), 30.0));
        assert_eq!(negotiate(&camera, &Hello::receiver()), Err(ProtocolError::PeerHasNoKey));
        let err = negotiate(&Hello::receiver(), &camera).unwrap_err();
        assert_eq!(err, ProtocolError::PeerRequiresKey);
        assert!(err.to_string().contains("--key-file"));
    }

    #[test]
    fn with_keys_on_both_sides_frames_wait_for_the_auth_message() {
        let camera = keyed(Hello::sender(Geometry::bgr(64, 48), 30.0));
        let display = keyed(Hello::receiver());
        let n = negotiate(&display, &camera).unwrap();
        assert!(n.authenticate && n.peer_nonce == camera.nonce);
        let mut state = InboundState::new();
        state.on_negotiated(&n);
        let frame = super::super::message::encode_frame_header(0, 0, 64 * 48 * 3);
        assert!(state.on_header(&frame).is_err(), "no frame before auth");
        let auth =
            Header { kind: MessageKind::Auth, body_len: AUTH_LEN as u32, seq: 0, timestamp_us: 0 }.encode();
        assert_eq!(state.on_header(&auth), Ok(Inbound::Auth));
        assert_eq!(state.on_header(&auth), Err(ProtocolError::UnexpectedAuth));
        assert!(matches!(state.on_header(&frame), Ok(Inbound::Frame { .. })));
    }
}
