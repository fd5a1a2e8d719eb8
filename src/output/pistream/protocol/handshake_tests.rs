//! In-memory tests of the handshake machine: two machines wired together with no socket,
//! bytes delivered in every chunking and order, keys right and wrong, every refusal, and
//! the attacks a keyed session must stop.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::media::Geometry;
use crate::output::pistream::protocol::keys::{Cipher, CipherSet};
use crate::output::pistream::protocol::record::{sealed_body_len, SEALED_HEADER_LEN};
use crate::output::pistream::protocol::FormatSet;

fn camera() -> Hello {
    Hello { nonce: [1; 16], ..Hello::sender(Geometry::new(64, 48), 30.0) }
}

fn display() -> Hello {
    Hello { nonce: [2; 16], ..Hello::receiver() }
}

fn key(secret: &[u8], ciphers: &[Cipher]) -> Option<(Psk, CipherSet)> {
    Some((Psk::derive(secret).unwrap(), CipherSet::of(ciphers)))
}

/// One side of an in-memory connection: its machine and the bytes in flight towards it.
struct End {
    machine: Handshake,
    incoming: VecDeque<u8>,
    result: Option<Result<(), HandshakeError>>,
}

impl End {
    fn new(machine: Handshake) -> Self {
        End { machine, incoming: VecDeque::new(), result: None }
    }

    /// Feeds up to `chunk` waiting bytes; returns whether anything moved.
    fn step(&mut self, chunk: usize) -> bool {
        if self.result.is_some() {
            return false;
        }
        let n = chunk.min(self.incoming.len()).min(self.machine.wants());
        if n == 0 {
            return false;
        }
        let bytes: Vec<u8> = self.incoming.drain(..n).collect();
        match self.machine.receive(&bytes, 5) {
            Ok(used) => assert_eq!(used, n, "consumes what it asked for"),
            Err(e) => self.result = Some(Err(e)),
        }
        if self.result.is_none() && self.machine.is_done() {
            self.result = Some(Ok(()));
        }
        true
    }

    fn flush_into(&mut self, peer: &mut End) {
        peer.incoming.extend(self.machine.output());
        self.machine.sent();
    }
}

/// Runs a connecting and a listening machine against each other, delivering bytes in
/// chunks from `chunks` (cycled) and letting `order` pick which side moves next.
fn run(connecting: Handshake, listening: Handshake, chunks: &[usize], order: &[bool]) -> (End, End) {
    let (mut c, mut l) = (End::new(connecting), End::new(listening));
    let mut i = 0;
    loop {
        c.flush_into(&mut l);
        l.flush_into(&mut c);
        let chunk = chunks[i % chunks.len()].max(1);
        let first_c = order[i % order.len()];
        let (first, second) = if first_c { (&mut c, &mut l) } else { (&mut l, &mut c) };
        let moved = first.step(chunk) || second.step(chunk);
        i += 1;
        if !moved {
            c.flush_into(&mut l);
            l.flush_into(&mut c);
            if !(c.step(chunk) || l.step(chunk)) {
                return (c, l);
            }
        }
    }
}

fn pair(
    c_hello: Hello,
    c_key: Option<(Psk, CipherSet)>,
    l_hello: Hello,
    l_key: Option<(Psk, CipherSet)>,
) -> (End, End) {
    run(
        Handshake::new(Role::Connecting, c_hello, c_key, 1),
        Handshake::new(Role::Listening, l_hello, l_key, 2),
        &[usize::MAX],
        &[true],
    )
}

fn established(end: End) -> Established {
    assert_eq!(end.result, Some(Ok(())), "handshake should succeed");
    end.machine.finish().expect("done")
}

/// The keys of two established ends work against each other in both directions.
fn assert_transport_pairs(a: Established, b: Established) {
    let (mut a_seal, mut a_open) = a.transport.expect("keyed");
    let (mut b_seal, mut b_open) = b.transport.expect("keyed");
    let header = [9u8; HEADER_LEN];
    assert_eq!(b_open.open_header(&a_seal.seal_header(&header).unwrap()), Ok(header));
    assert_eq!(a_open.open_header(&b_seal.seal_header(&header).unwrap()), Ok(header));
    let body = vec![5u8; 70_000];
    let mut wire = vec![0u8; sealed_body_len(body.len())];
    a_seal.seal_body(&body, &mut wire).unwrap();
    let mut out = vec![0u8; body.len()];
    b_open.open_body(&mut wire, &mut out).unwrap();
    assert_eq!(out, body);
    assert_eq!(SEALED_HEADER_LEN, 40);
}

#[test]
fn an_unkeyed_camera_and_display_agree_and_the_listener_speaks_second() {
    let listening = Handshake::new(Role::Listening, camera(), None, 2);
    assert!(listening.output().is_empty(), "a listener sends nothing before the peer's first bytes");
    assert_eq!(listening.wants(), HEADER_LEN);
    let (c, l) = pair(display(), None, camera(), None);
    let (c, l) = (established(c), established(l));
    assert_eq!(c.negotiated.receive, Some(Geometry::new(64, 48)));
    assert!(l.negotiated.sends());
    assert!(c.transport.is_none() && l.transport.is_none());
    assert_eq!(c.peer.nonce, [1; 16]);
}

#[test]
fn the_same_key_on_both_ends_gives_matching_record_keys_with_either_cipher() {
    for (ciphers, expected) in [(&[Cipher::AesGcm][..], Cipher::AesGcm), (&[][..], Cipher::ChaChaPoly)] {
        let (c, l) = pair(display(), key(b"k", ciphers), camera(), key(b"k", &[Cipher::AesGcm]));
        let (c, l) = (established(c), established(l));
        assert_eq!(c.negotiated.cipher, Some(expected));
        assert_eq!(l.negotiated.cipher, Some(expected));
        assert_transport_pairs(c, l);
    }
}

#[test]
fn a_wrong_key_fails_at_the_listener_and_the_connecting_side_gets_its_bye() {
    let (c, l) = pair(display(), key(b"right", &[]), camera(), key(b"wrong", &[]));
    assert_eq!(l.result, Some(Err(HandshakeError::Protocol(ProtocolError::AuthFailed))));
    match c.result {
        Some(Err(HandshakeError::PeerBye { reason: ByeReason::ProtocolError, text })) => {
            assert!(text.contains("authentication failed"), "{text}")
        }
        other => panic!("connecting side: {other:?}"),
    }
    assert!(l.machine.finish().is_none() && c.machine.finish().is_none());
}

#[test]
fn a_key_on_one_end_only_is_refused_by_both_from_their_own_side() {
    let (c, l) = pair(display(), None, camera(), key(b"k", &[]));
    assert_eq!(l.result, Some(Err(HandshakeError::Protocol(ProtocolError::PeerHasNoKey))));
    assert_eq!(c.result, Some(Err(HandshakeError::Protocol(ProtocolError::PeerRequiresKey))));
    let (c, l) = pair(display(), key(b"k", &[]), camera(), None);
    assert_eq!(l.result, Some(Err(HandshakeError::Protocol(ProtocolError::PeerRequiresKey))));
    assert_eq!(c.result, Some(Err(HandshakeError::Protocol(ProtocolError::PeerHasNoKey))));
}

#[test]
fn two_displays_are_refused_with_a_bye_naming_why() {
    let (c, l) = pair(display(), None, display(), None);
    for end in [&c, &l] {
        assert!(matches!(
            &end.result,
            Some(Err(HandshakeError::Protocol(ProtocolError::NothingToStream { .. })))
        ));
    }
}

/// What a listening machine answers to `bytes` sent by a hand-made peer.
fn listener_answer(bytes: &[u8], key: Option<(Psk, CipherSet)>) -> (Result<(), HandshakeError>, Vec<u8>) {
    let mut l = Handshake::new(Role::Listening, camera(), key, 2);
    let mut at = 0;
    while at < bytes.len() && l.wants() > 0 {
        match l.receive(&bytes[at..], 3) {
            Ok(n) => at += n,
            Err(e) => return (Err(e), l.output().to_vec()),
        }
    }
    (Ok(()), l.output().to_vec())
}

/// Feeds all of `bytes` (as far as the machine takes them); returns how many it took.
fn feed(machine: &mut Handshake, bytes: &[u8], now_us: u64) -> Result<usize, HandshakeError> {
    let mut at = 0;
    while at < bytes.len() && machine.wants() > 0 {
        at += machine.receive(&bytes[at..], now_us)?;
    }
    Ok(at)
}

fn message(kind: u8, format: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![b'P', b'S', kind, format];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(body);
    out
}

#[test]
fn every_refusal_before_the_hello_names_the_problem_and_queues_a_bye() {
    let mut v1 = display().encode();
    v1[8..10].copy_from_slice(&1u16.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, ProtocolError)> = vec![
        ("a frame first", message(2, 1, &[0; 10]), ProtocolError::BeforeHello { kind: "frame" }),
        ("a heartbeat first", message(3, 0, &[]), ProtocolError::BeforeHello { kind: "heartbeat" }),
        ("a Noise message first", message(5, 0, &[0; 48]), ProtocolError::UnexpectedHandshake),
        ("a version-1 hello", message(1, 0, &v1), ProtocolError::UnsupportedVersion { got: 1, ours: 3 }),
    ];
    for (name, bytes, expected) in cases {
        let (result, output) = listener_answer(&bytes, None);
        assert_eq!(result, Err(HandshakeError::Protocol(expected.clone())), "{name}");
        assert_eq!(&output[..3], b"PS\x04", "{name}: the only answer is a bye");
        let text = String::from_utf8_lossy(&output[HEADER_LEN + 1..]);
        assert_eq!(text, expected.to_string(), "{name}");
    }
    // A length that cannot be a hello is refused before any body byte is asked for.
    let mut huge = message(1, 0, &[]);
    huge[4..8].copy_from_slice(&(1u32 << 30).to_be_bytes());
    let (result, _) = listener_answer(&huge, None);
    assert!(matches!(result, Err(HandshakeError::Protocol(ProtocolError::BadLength { .. }))));
}

#[test]
fn a_bye_instead_of_a_hello_ends_the_handshake_without_an_answer() {
    let mut bye = vec![2u8];
    bye.extend_from_slice(b"busy: already streaming");
    let (result, output) = listener_answer(&message(4, 0, &bye), None);
    assert_eq!(
        result,
        Err(HandshakeError::PeerBye { reason: ByeReason::Busy, text: "busy: already streaming".into() })
    );
    assert!(output.is_empty());
}

#[test]
fn during_the_key_handshake_only_noise_messages_and_byes_may_come() {
    let keyed_display = Hello { keyed: Some(CipherSet::of(&[])), ..display() };
    for (name, extra, expected) in [
        ("a second hello", message(1, 0, &keyed_display.encode()), ProtocolError::SecondHello),
        ("a frame", message(2, 1, &[0; 10]), ProtocolError::BeforeKeyHandshake { kind: "frame" }),
    ] {
        let bytes = [message(1, 0, &keyed_display.encode()), extra].concat();
        let (result, _) = listener_answer(&bytes, key(b"k", &[]));
        assert_eq!(result, Err(HandshakeError::Protocol(expected)), "{name}");
    }
}

/// The attack that broke version 1: an attacker without the key talks to two keyed
/// listeners at once and relays whatever one of them says to the other.
#[test]
fn relaying_between_two_keyed_listeners_gets_nothing_past_either() {
    let mut a = Handshake::new(Role::Listening, Hello { nonce: [0xa; 16], ..camera() }, key(b"k", &[]), 1);
    let mut b = Handshake::new(Role::Listening, Hello { nonce: [0xb; 16], ..camera() }, key(b"k", &[]), 1);
    // The attacker's own keyed hello (it can make one: hellos are not secret)...
    let attacker = message(1, 0, &Hello { keyed: Some(CipherSet::of(&[])), ..display() }.encode());
    for end in [&mut a, &mut b] {
        assert_eq!(feed(end, &attacker, 1), Ok(attacker.len()));
        assert!(!end.is_done(), "a keyed listener waits for the Noise message");
    }
    // ...then it forwards each listener's answer to the other.
    let (from_a, from_b) = (a.output().to_vec(), b.output().to_vec());
    let a_result = feed(&mut a, &from_b, 2);
    let b_result = feed(&mut b, &from_a, 2);
    assert!(a_result.is_err() && b_result.is_err(), "{a_result:?} {b_result:?}");
    assert!(!a.is_done() && !b.is_done());
    // And the Noise message it would need, it cannot make: a forged one fails the key check.
    let mut c = Handshake::new(Role::Listening, camera(), key(b"k", &[]), 1);
    feed(&mut c, &attacker, 1).unwrap();
    let forged = message(5, 0, &[0x42; 48]);
    assert_eq!(feed(&mut c, &forged, 2), Err(HandshakeError::Protocol(ProtocolError::AuthFailed)));
}

#[test]
fn a_recording_of_an_earlier_keyed_session_is_refused() {
    // Record everything a real keyed display sent to a real camera...
    let mut c = Handshake::new(Role::Connecting, display(), key(b"k", &[]), 1);
    let mut l = Handshake::new(Role::Listening, camera(), key(b"k", &[]), 1);
    let mut recording = c.output().to_vec();
    c.sent();
    feed(&mut l, &recording, 2).unwrap();
    feed(&mut c, l.output(), 3).unwrap();
    l.sent();
    recording.extend_from_slice(c.output());
    feed(&mut l, &recording[HELLO_MESSAGE_LEN..], 4).unwrap();
    assert!(l.is_done());
    // ...and replay it to the same camera later: its new hello has a new nonce.
    let mut again = Handshake::new(Role::Listening, Hello { nonce: [9; 16], ..camera() }, key(b"k", &[]), 9);
    assert_eq!(feed(&mut again, &recording, 10), Err(HandshakeError::Protocol(ProtocolError::AuthFailed)));
}

#[test]
fn a_hello_changed_in_transit_fails_the_keyed_handshake() {
    // The man in the middle lowers the camera's frame size in its hello.
    let mut c = Handshake::new(Role::Connecting, display(), key(b"k", &[]), 1);
    let mut l = Handshake::new(Role::Listening, camera(), key(b"k", &[]), 1);
    feed(&mut l, c.output(), 2).unwrap();
    c.sent();
    let mut answer = l.output().to_vec();
    l.sent();
    answer[HEADER_LEN + 15] ^= 1; // width 64 -> 65
    feed(&mut c, &answer, 3).unwrap();
    assert_eq!(feed(&mut l, c.output(), 4), Err(HandshakeError::Protocol(ProtocolError::AuthFailed)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// However the bytes are cut and whichever side moves first, the outcome is the same.
    #[test]
    fn every_order_and_chunking_of_arrival_gives_the_same_session(
        chunks in proptest::collection::vec(1usize..80, 1..8),
        order in proptest::collection::vec(any::<bool>(), 1..8),
        keyed in any::<bool>(),
        formats in 1u16..128,
    ) {
        let k = || if keyed { key(b"same", &[Cipher::AesGcm]) } else { None };
        // Any non-empty set a display accepts (H.264 alone, say).
        let offered = FormatSet::from_bits(formats).unwrap();
        let (c, l) = run(
            Handshake::new(Role::Connecting, display().decoding(offered), k(), 1),
            Handshake::new(Role::Listening, camera().sending(FormatSet::all()), k(), 2),
            &chunks,
            &order,
        );
        let (c, l) = (established(c), established(l));
        prop_assert_eq!(c.negotiated.receive_formats, offered);
        prop_assert_eq!(l.negotiated.send_formats, offered);
        prop_assert_eq!(c.transport.is_some(), keyed);
        if keyed {
            assert_transport_pairs(c, l);
        }
    }
}
