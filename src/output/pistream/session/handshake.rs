//! The handshake over the socket: drives the I/O-free machine (`protocol::Handshake`),
//! writing what it queues and reading exactly what it asks for, within the handshake
//! deadline; and the two ways of telling a peer no: before a handshake ([`refuse`]) and
//! after one ([`turn_away`]).

use std::io::{ErrorKind, IoSlice, Read};
use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::time::{Duration, Instant};

use super::control::Control;
use super::io::{read_full, write_all, ReadUntil};
use super::messages::MessageWriter;
use crate::media::now_us;
use crate::output::deadlines::HANDSHAKE_TIMEOUT;
use crate::output::ending::SessionError;
use crate::output::pistream::protocol::keys::{CipherSet, Psk};
use crate::output::pistream::protocol::{
    ByeReason, Established, Handshake, HandshakeError, Hello, Role, HEADER_LEN, HELLO_MAX_LEN,
};
use crate::runtime::Shutdown;

/// Tells a peer this side will not serve it, and why (best effort, then closes). Only
/// before a handshake: the bye is plain.
pub fn refuse(stream: &TcpStream, reason: ByeReason, text: &str, shutdown: &Shutdown) {
    let ctl = Control::new(shutdown, None);
    let _ = MessageWriter::new(None, 0).bye(stream, reason, text, &ctl);
    let _ = stream.shutdown(SocketShutdown::Both);
}

/// What this side brings to every connection.
#[derive(Clone, Copy, Debug)]
pub struct LocalSide<'k> {
    pub hello: Hello,
    /// `--key-file`: a keyed session with this pre-shared key, or none at all.
    pub key: Option<&'k Psk>,
    pub buffers: crate::net::BufferSizes,
    /// A listening side already showing a peer: see [`Handshake::watch_only`].
    pub watch_only: bool,
}

impl LocalSide<'_> {
    /// A side without a key and with buffers sized from the frames.
    pub fn plain(hello: Hello) -> LocalSide<'static> {
        LocalSide { hello, key: None, buffers: Default::default(), watch_only: false }
    }
}

/// Drives the handshake machine over the socket: writes what it queues, reads exactly
/// what it asks for, until it hands over the session. `Ok(None)` if shutdown came first.
/// A protocol error's bye (queued by the machine) is sent before the error is returned.
pub fn handshake(
    stream: &TcpStream,
    role: Role,
    local: &LocalSide<'_>,
    ctl: &Control,
) -> Result<Option<Established>, SessionError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| SessionError::io("drawing a random nonce")(e.into()))?;
    let hello = Hello { nonce, ..local.hello };
    let key = local.key.map(|psk| (psk.clone(), CipherSet::this_cpu()));
    let mut machine = Handshake::new(role, hello, key, now_us());
    if local.watch_only {
        machine = machine.watch_only();
    }
    let until = ReadUntil::Handshake(Instant::now() + HANDSHAKE_TIMEOUT);
    let mut buf = [0u8; HEADER_LEN + HELLO_MAX_LEN];
    loop {
        if !machine.output().is_empty() {
            write_all(stream, &mut [IoSlice::new(machine.output())], ctl)?;
            machine.sent();
        }
        if machine.is_done() {
            return Ok(machine.finish());
        }
        let wanted = &mut buf[..machine.wants()];
        if !read_full(stream, wanted, ctl, until)? {
            return Ok(None);
        }
        match machine.receive(wanted, now_us()) {
            Ok(_) => {}
            Err(HandshakeError::Protocol(e)) => {
                let _ = write_all(stream, &mut [IoSlice::new(machine.output())], ctl);
                return Err(SessionError::Protocol(e));
            }
            Err(HandshakeError::PeerBye { reason: ByeReason::ProtocolError, text }) => {
                return Err(SessionError::PeerReported(text))
            }
            Err(HandshakeError::PeerBye { text, .. }) => return Err(SessionError::Refused(text)),
        }
    }
}

/// Tells a peer that completed the handshake that it cannot be served now (busy), in a
/// bye sealed like the rest of its session, then closes.
pub fn turn_away(stream: &TcpStream, established: Established, text: &str, ctl: &Control) {
    let sealer = established.transport.map(|(sealer, _)| sealer);
    let _ = MessageWriter::new(sealer, 0).bye(stream, ByeReason::Busy, text, ctl);
    let _ = stream.shutdown(SocketShutdown::Write);
    // A peer that sends (a camera) may already be writing frames: closing now, with them
    // unread, would reset the connection, and its writes could fail before it reads the
    // bye ("connection lost; reconnecting" instead of "busy"). Read and drop what it sends
    // until it closes on the bye, for at most TURN_AWAY_LINGER.
    let until = Instant::now() + TURN_AWAY_LINGER;
    let mut discard = [0u8; 16 * 1024];
    while Instant::now() < until && !ctl.shutdown.requested() {
        match (&*stream).read(&mut discard) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(SocketShutdown::Both);
}

/// The longest [`turn_away`] waits for a refused peer to close.
const TURN_AWAY_LINGER: Duration = Duration::from_secs(2);
