//! Blocking socket reads and writes that ride out the socket's 100 ms timeouts, so loops
//! see shutdown requests, and that give up on a peer that stops making progress.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::{Control, SessionError, HANDSHAKE_TIMEOUT, PEER_SILENCE_LIMIT};

/// Where a read may stop without an error.
#[derive(Clone, Copy)]
pub(super) enum ReadUntil {
    /// A message body: all of it, or an error.
    Body,
    /// A message header: may stop before its first byte once the session is over.
    Header,
    /// Part of the handshake: may also stop before the first byte on shutdown, and fails
    /// once the handshake deadline passes, however the peer trickles bytes.
    Handshake(Instant),
}

/// Fills `buf` from the socket. Returns `Ok(false)` if it stopped cleanly before the first
/// byte (see [`ReadUntil`]).
pub(super) fn read_full(
    mut stream: &TcpStream,
    buf: &mut [u8],
    ctl: &Control,
    until: ReadUntil,
) -> Result<bool, SessionError> {
    let mut filled = 0;
    let mut last_progress = Instant::now();
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(SessionError::Closed),
            Ok(n) => {
                filled += n;
                last_progress = Instant::now();
            }
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                let clean_stop = match until {
                    ReadUntil::Body => false,
                    ReadUntil::Header => ctl.is_over(),
                    ReadUntil::Handshake(_) => ctl.is_over() || ctl.shutdown.requested(),
                };
                if filled == 0 && clean_stop {
                    return Ok(false);
                }
                if let ReadUntil::Handshake(deadline) = until {
                    if Instant::now() >= deadline {
                        return Err(SessionError::Silent(HANDSHAKE_TIMEOUT));
                    }
                }
                if ctl.is_over() {
                    return Err(SessionError::Closed);
                }
                if last_progress.elapsed() >= PEER_SILENCE_LIMIT {
                    return Err(SessionError::Silent(PEER_SILENCE_LIMIT));
                }
            }
            Err(e) => return Err(SessionError::io("reading from the peer")(e)),
        }
    }
    Ok(true)
}

/// Writes every byte of `parts` with vectored writes.
pub(super) fn write_all(
    mut stream: &TcpStream,
    parts: &mut [IoSlice<'_>],
    ctl: &Control,
) -> Result<(), SessionError> {
    let mut parts = parts;
    let mut last_progress = Instant::now();
    while !parts.is_empty() {
        match stream.write_vectored(parts) {
            Ok(0) => return Err(SessionError::Closed),
            Ok(n) => {
                IoSlice::advance_slices(&mut parts, n);
                last_progress = Instant::now();
            }
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if ctl.is_over() {
                    return Err(SessionError::Closed);
                }
                if last_progress.elapsed() >= PEER_SILENCE_LIMIT {
                    return Err(SessionError::Silent(PEER_SILENCE_LIMIT));
                }
            }
            Err(e) => return Err(SessionError::io("writing to the peer")(e)),
        }
    }
    Ok(())
}
