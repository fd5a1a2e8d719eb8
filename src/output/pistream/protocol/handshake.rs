//! The handshake as an I/O-free state machine: fed the peer's bytes, it says what to send
//! and how many bytes it needs next, until it hands over an [`Established`] session (what
//! flows each way, and for keyed sessions the record keys) or fails.
//!
//! ```text
//! connecting side (Noise initiator)          listening side (Noise responder)
//!   hello ─────────────────────────────────▶   (reads the peer's first bytes before it
//!                                               sends anything: HTTP shares the port)
//!   ◀───────────────────────────────── hello   (then a bye if negotiation fails)
//! keyed only, prologue = label || connecting hello || listening hello (byte for byte):
//!   Noise NNpsk0 message 1 (psk, e) ───────▶   checks it: proves the initiator holds the key
//!   ◀──────────────── Noise message 2 (e, ee)   proves the responder holds the key
//! then frames, heartbeats and a bye: sealed records (record.rs) when keyed, plain otherwise
//! ```
//! Roles are bound (initiator = connecting side), and the prologue binds every byte of both
//! hellos, so a changed hello, a message relayed from another connection or another
//! endpoint, or a recording of an earlier session fails the Noise handshake. A protocol
//! error queues a bye saying why before the error is reported.
//!
//! Time and randomness come in from outside (`now_us`, the hello's nonce); snow draws the
//! Noise ephemeral keys from the OS.

use super::error::ProtocolError;
use super::header::{Header, MessageKind, HEADER_LEN};
use super::hello::Hello;
use super::hello::{HELLO_LEN, HELLO_MAX_LEN};
use super::keys::Psk;
use super::message::ByeReason;
use super::message::{encode_bye, encode_hello, BYE_MAX_LEN};
use super::negotiate::{negotiate, Negotiated};
use super::record::{Opener, Sealer};

/// Which end of the TCP connection this side is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Opened the connection: sends its hello at once; the Noise initiator.
    Connecting,
    /// Accepted it: reads the peer's hello first; the Noise responder.
    Listening,
}

/// Longest Noise handshake message accepted (NNpsk0's are 48 bytes).
pub const NOISE_MAX_LEN: usize = 256;
/// What the Noise prologue starts with, before the two hellos.
pub const PROLOGUE_LABEL: &[u8] = b"pistream v2 NNpsk0 prologue";
const HELLO_MESSAGE_LEN: usize = HEADER_LEN + HELLO_LEN;

/// A completed handshake.
pub struct Established {
    pub negotiated: Negotiated,
    /// This side's hello, as sent.
    pub local: Hello,
    /// The peer's hello.
    pub peer: Hello,
    /// For keyed sessions: seals what this side sends, opens what the peer sends.
    pub transport: Option<(Sealer, Opener)>,
}

/// Why the handshake ended without a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeError {
    /// Something in the peer's bytes is wrong; a bye saying so is queued in the output.
    Protocol(ProtocolError),
    /// The peer said bye instead of finishing the handshake.
    PeerBye { reason: ByeReason, text: String },
}

impl From<ProtocolError> for HandshakeError {
    fn from(e: ProtocolError) -> Self {
        HandshakeError::Protocol(e)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the peer's hello.
    Hello,
    /// Waiting for the peer's Noise message.
    Noise,
    Done,
    Failed,
}

/// What the bytes being collected are.
#[derive(Clone, Copy, Debug)]
enum Piece {
    Header,
    Body { kind: MessageKind, len: usize },
}

pub struct Handshake {
    role: Role,
    local: Hello,
    psk: Option<Psk>,
    stage: Stage,
    piece: Piece,
    /// The message being collected: header, then body.
    inbox: Box<[u8; HEADER_LEN + HELLO_MAX_LEN]>,
    filled: usize,
    output: Vec<u8>,
    own_hello: [u8; HELLO_MESSAGE_LEN],
    peer_hello: Option<(Hello, [u8; HELLO_MESSAGE_LEN])>,
    noise: Option<snow::HandshakeState>,
    negotiated: Option<Negotiated>,
    /// See [`Handshake::watch_only`].
    watch_only: bool,
}

impl Handshake {
    /// Starts a handshake. `local` is this side's hello; with a key, it is sent with the
    /// key flag and `ciphers` set. A connecting side's hello is queued at once.
    pub fn new(
        role: Role,
        mut local: Hello,
        key: Option<(Psk, super::keys::CipherSet)>,
        now_us: u64,
    ) -> Self {
        local.keyed = key.as_ref().map(|(_, ciphers)| *ciphers);
        let own_hello = encode_hello(&local, now_us);
        let mut handshake = Handshake {
            role,
            local,
            psk: key.map(|(psk, _)| psk),
            stage: Stage::Hello,
            piece: Piece::Header,
            inbox: Box::new([0; HEADER_LEN + HELLO_MAX_LEN]),
            filled: 0,
            output: Vec::with_capacity(
                HELLO_MESSAGE_LEN + HEADER_LEN + NOISE_MAX_LEN + HEADER_LEN + BYE_MAX_LEN,
            ),
            own_hello,
            peer_hello: None,
            noise: None,
            negotiated: None,
            watch_only: false,
        };
        if role == Role::Connecting {
            handshake.output.extend_from_slice(&own_hello);
        }
        handshake
    }

    /// A listening side that already shows one peer (a `call`) shows no other: a peer that
    /// wants video is offered to watch only (this side's hello then wants none and decodes
    /// nothing). A peer that only sends still sees this side want video, so the handshake
    /// completes and the caller can turn it away as busy, which says more than "both ends
    /// only send". No effect on a connecting side.
    pub fn watch_only(mut self) -> Self {
        self.watch_only = true;
        self
    }

    /// Bytes to write to the peer now. Write them all, then call [`Handshake::sent`].
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Marks the output as written.
    pub fn sent(&mut self) {
        self.output.clear();
    }

    /// How many more bytes the current message needs (0 once done or failed). Reading
    /// exactly this many never takes a byte that belongs to what follows the handshake.
    pub fn wants(&self) -> usize {
        match (self.stage, self.piece) {
            (Stage::Done | Stage::Failed, _) => 0,
            (_, Piece::Header) => HEADER_LEN - self.filled,
            (_, Piece::Body { len, .. }) => HEADER_LEN + len - self.filled,
        }
    }

    /// Whether the handshake has completed (flush [`Handshake::output`] first, then take
    /// the session with [`Handshake::finish`]).
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The session, once [`Handshake::is_done`].
    pub fn finish(mut self) -> Option<Established> {
        if self.stage != Stage::Done {
            return None;
        }
        let negotiated = self.negotiated?;
        let (peer, _) = self.peer_hello?;
        let transport = match (negotiated.cipher, self.noise.as_mut()) {
            (Some(cipher), Some(noise)) => {
                // Noise's Split(): the first key protects initiator -> responder.
                let (mut to_responder, mut to_initiator) = noise.dangerously_get_raw_split();
                let (send, receive) = match self.role {
                    Role::Connecting => (&mut to_responder, &mut to_initiator),
                    Role::Listening => (&mut to_initiator, &mut to_responder),
                };
                Some((Sealer::new(cipher, send), Opener::new(cipher, receive)))
            }
            _ => None,
        };
        Some(Established { negotiated, local: self.local, peer, transport })
    }

    /// Feeds bytes read from the peer; consumes at most [`Handshake::wants`] of them and
    /// returns how many. On an error the handshake is over; for a protocol error a bye
    /// is queued in [`Handshake::output`].
    pub fn receive(&mut self, bytes: &[u8], now_us: u64) -> Result<usize, HandshakeError> {
        let take = bytes.len().min(self.wants());
        self.inbox[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
        self.filled += take;
        if take > 0 && self.wants() == 0 {
            let step = match self.piece {
                Piece::Header => self.on_header(),
                Piece::Body { kind, len } => self.on_body(kind, len, now_us),
            };
            if let Err(e) = step {
                self.stage = Stage::Failed;
                if let HandshakeError::Protocol(problem) = &e {
                    let mut bye = [0u8; HEADER_LEN + BYE_MAX_LEN];
                    let n = encode_bye(ByeReason::ProtocolError, &problem.to_string(), now_us, &mut bye);
                    self.output.extend_from_slice(&bye[..n]);
                }
                return Err(e);
            }
        }
        Ok(take)
    }

    fn on_header(&mut self) -> Result<(), HandshakeError> {
        let header = Header::decode(self.inbox[..HEADER_LEN].try_into().expect("24 bytes"))?;
        let len = header.body_len;
        let bad_len =
            |expected: String| ProtocolError::BadLength { kind: header.kind.name(), got: len, expected };
        let allowed = match (self.stage, header.kind) {
            (_, MessageKind::Bye) => 1..=BYE_MAX_LEN as u32,
            (Stage::Hello, MessageKind::Hello) => 10..=HELLO_MAX_LEN as u32,
            (Stage::Noise, MessageKind::Handshake) => 1..=NOISE_MAX_LEN as u32,
            (Stage::Noise, MessageKind::Hello) => return Err(ProtocolError::SecondHello.into()),
            (Stage::Hello, MessageKind::Handshake) => return Err(ProtocolError::UnexpectedHandshake.into()),
            (Stage::Hello, kind) => return Err(ProtocolError::BeforeHello { kind: kind.name() }.into()),
            (_, kind) => return Err(ProtocolError::BeforeKeyHandshake { kind: kind.name() }.into()),
        };
        if !allowed.contains(&len) {
            return Err(bad_len(format!("{}..={}", allowed.start(), allowed.end())).into());
        }
        self.piece = Piece::Body { kind: header.kind, len: len as usize };
        Ok(())
    }

    fn on_body(&mut self, kind: MessageKind, len: usize, now_us: u64) -> Result<(), HandshakeError> {
        let result = match kind {
            MessageKind::Bye => {
                let (reason, text) = ByeReason::decode(&self.inbox[HEADER_LEN..HEADER_LEN + len]);
                Err(HandshakeError::PeerBye { reason, text })
            }
            MessageKind::Hello => self.on_hello(len, now_us),
            _ => self.on_noise(len, now_us),
        };
        self.piece = Piece::Header;
        self.filled = 0;
        result
    }

    fn on_hello(&mut self, len: usize, now_us: u64) -> Result<(), HandshakeError> {
        let peer = Hello::decode(&self.inbox[HEADER_LEN..HEADER_LEN + len])?;
        let mut peer_bytes = [0u8; HELLO_MESSAGE_LEN];
        peer_bytes.copy_from_slice(&self.inbox[..HELLO_MESSAGE_LEN]);
        self.peer_hello = Some((peer, peer_bytes));
        if self.role == Role::Listening {
            if self.watch_only && peer.directions.wants && self.local.directions.sends {
                self.local.directions.wants = false;
                self.local.decodes = Default::default();
            }
            // Answer with our hello even if negotiation fails below, so the peer can tell
            // what does not match from its own side.
            self.own_hello = encode_hello(&self.local, now_us);
            self.output.extend_from_slice(&self.own_hello);
        }
        let negotiated = negotiate(&self.local, &peer)?;
        self.negotiated = Some(negotiated);
        let (Some(cipher), Some(psk)) = (negotiated.cipher, self.psk.as_ref()) else {
            self.stage = Stage::Done;
            return Ok(());
        };
        let (connecting, listening) = match self.role {
            Role::Connecting => (&self.own_hello, &peer_bytes),
            Role::Listening => (&peer_bytes, &self.own_hello),
        };
        let mut prologue = [0u8; PROLOGUE_LABEL.len() + 2 * HELLO_MESSAGE_LEN];
        prologue[..PROLOGUE_LABEL.len()].copy_from_slice(PROLOGUE_LABEL);
        prologue[PROLOGUE_LABEL.len()..][..HELLO_MESSAGE_LEN].copy_from_slice(connecting);
        prologue[PROLOGUE_LABEL.len() + HELLO_MESSAGE_LEN..].copy_from_slice(listening);
        let params = cipher.noise_params().parse().expect("a valid Noise protocol name");
        let builder = snow::Builder::new(params)
            .psk(0, psk.bytes())
            .and_then(|b| b.prologue(&prologue))
            .expect("PSK position 0 and a prologue are valid for NNpsk0");
        let mut noise = match self.role {
            Role::Connecting => builder.build_initiator(),
            Role::Listening => builder.build_responder(),
        }
        .expect("snow's default resolver provides every primitive of the protocol name");
        if self.role == Role::Connecting {
            self.write_noise(&mut noise, now_us);
        }
        self.noise = Some(noise);
        self.stage = Stage::Noise;
        Ok(())
    }

    fn on_noise(&mut self, len: usize, now_us: u64) -> Result<(), HandshakeError> {
        let mut noise = self.noise.take().ok_or(ProtocolError::UnexpectedHandshake)?;
        let mut payload = [0u8; NOISE_MAX_LEN];
        noise
            .read_message(&self.inbox[HEADER_LEN..HEADER_LEN + len], &mut payload)
            .map_err(|_| ProtocolError::AuthFailed)?;
        if self.role == Role::Listening {
            self.write_noise(&mut noise, now_us);
        }
        if !noise.is_handshake_finished() {
            return Err(ProtocolError::UnexpectedHandshake.into());
        }
        self.noise = Some(noise);
        self.stage = Stage::Done;
        Ok(())
    }

    fn write_noise(&mut self, noise: &mut snow::HandshakeState, now_us: u64) {
        let mut message = [0u8; NOISE_MAX_LEN];
        let len = noise.write_message(&[], &mut message).expect("an NNpsk0 message fits 256 bytes");
        let header = Header {
            kind: MessageKind::Handshake,
            format: None,
            body_len: len as u32,
            seq: 0,
            timestamp_us: now_us,
        };
        self.output.extend_from_slice(&header.encode());
        self.output.extend_from_slice(&message[..len]);
    }
}

/// Runs a connecting and a listening machine against each other in memory, with no
/// socket: each side's output is fed whole to the other until both are done or one
/// fails. For the selftest, the fuzz targets and tests.
pub fn run_in_memory(
    mut connecting: Handshake,
    mut listening: Handshake,
) -> (Result<Established, HandshakeError>, Result<Established, HandshakeError>) {
    fn deliver(from: &mut Handshake, to: &mut Handshake, failed: &mut Option<HandshakeError>) -> bool {
        let bytes = from.output().to_vec();
        from.sent();
        let mut at = 0;
        while failed.is_none() && at < bytes.len() && to.wants() > 0 {
            match to.receive(&bytes[at..], 0) {
                Ok(n) => at += n,
                Err(e) => *failed = Some(e),
            }
        }
        !bytes.is_empty()
    }
    let (mut c_failed, mut l_failed) = (None, None);
    loop {
        let moved = deliver(&mut connecting, &mut listening, &mut l_failed)
            | deliver(&mut listening, &mut connecting, &mut c_failed);
        if !moved {
            break;
        }
    }
    let outcome = |machine: Handshake, failed: Option<HandshakeError>| match failed {
        Some(e) => Err(e),
        None => machine.finish().ok_or(HandshakeError::Protocol(ProtocolError::Incomplete)),
    };
    (outcome(connecting, c_failed), outcome(listening, l_failed))
}

#[cfg(test)]
#[path = "handshake_tests.rs"]
mod tests;
