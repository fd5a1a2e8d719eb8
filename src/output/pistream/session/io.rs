//! Blocking socket reads and writes that ride out the socket's 100 ms timeouts, so loops
//! see shutdown requests, and report their progress to the session's rules, which say when
//! a peer that stops making progress is gone (`rules.rs`).

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::control::Control;
use crate::output::deadlines::HANDSHAKE_TIMEOUT;
use crate::output::ending::SessionError;

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

fn is_wakeup(e: &io::Error) -> bool {
    crate::net::is_timeout(e) || e.kind() == io::ErrorKind::Interrupted
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
    ctl.rules().read_progress(Instant::now());
    while filled < buf.len() {
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(SessionError::Closed),
            Ok(n) => {
                filled += n;
                ctl.rules().read_progress(Instant::now());
            }
            Err(e) if is_wakeup(&e) => {
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
                ctl.rules().handle_timeout(Instant::now())?;
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
    ctl.rules().write_progress(Instant::now(), true);
    while !parts.is_empty() {
        match stream.write_vectored(parts) {
            Ok(0) => return Err(SessionError::Closed),
            Ok(n) => {
                IoSlice::advance_slices(&mut parts, n);
                ctl.rules().write_progress(Instant::now(), !parts.is_empty());
            }
            Err(e) if is_wakeup(&e) => {
                if ctl.is_over() {
                    return Err(SessionError::Closed);
                }
                ctl.rules().handle_timeout(Instant::now())?;
            }
            Err(e) => return Err(SessionError::io("writing to the peer")(e)),
        }
    }
    Ok(())
}
