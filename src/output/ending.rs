//! How a connection's session ended, and what follows it, the same for every output that
//! has sessions (pistream peers, seed peers):
//!
//! - [`Ending`]: the session ended without an error (the peer said bye, or this side
//!   stopped);
//! - [`SessionError`]: it failed (a protocol error, a refusal, a silent or vanished peer,
//!   a bug);
//! - [`Next`], decided by [`after`]: keep serving, reconnect, end the run (the shown peer
//!   hung up: a [`Finish`]) or fail it ([`Failure`]).
//!
//! With [`Finish`] (how a whole run ended, `runtime`) that is the whole set of "how it
//! ended" types.

use std::net::SocketAddr;
use std::time::Duration;

use super::endpoint::Endpoint;
use super::pistream::protocol::{ProtocolError, Role};
use super::seed::rules::SeedError;
use crate::runtime::Finish;

/// How a session ended without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The peer ended it: a bye (pistream), `finished` or a close (the seed wire); why.
    PeerEnded(String),
    /// This side was asked to stop (and said bye when it could).
    LocalStop,
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("the peer refused the connection: {0}")]
    Refused(String),
    #[error("the peer reports a protocol error in what this side sent: {0}")]
    PeerReported(String),
    #[error("connection closed by the peer without a bye")]
    Closed,
    #[error("no data from the peer for {} s; connection considered dead", .0.as_secs())]
    Silent(Duration),
    #[error("{context}: {source}")]
    Io { context: &'static str, source: std::io::Error },
    /// A session on the seed wire.
    #[error("{0}")]
    Seed(#[from] SeedError),
    /// A bug: a thread of this session panicked.
    #[error("internal error: a session thread panicked: {0}")]
    Panicked(String),
}

impl SessionError {
    /// A mapper for I/O errors that names what was being done (an early end of file is the
    /// peer closing).
    pub fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> SessionError {
        move |source| match source.kind() {
            std::io::ErrorKind::UnexpectedEof => SessionError::Closed,
            _ => SessionError::Io { context, source },
        }
    }

    /// Whether a connecting side should give up rather than reconnect: the peer is not one
    /// it can talk to (another protocol, another key), or it said no.
    fn is_final_for_connecting(&self) -> bool {
        matches!(self, SessionError::Protocol(_) | SessionError::Refused(_) | SessionError::PeerReported(_))
    }
}

/// Why a connection ends the run with an error.
#[derive(Debug)]
pub enum Failure {
    /// The session with `peer` failed.
    Session { peer: String, source: SessionError },
    /// A bug (a session thread panicked).
    Internal(String),
}

/// What to do after a session.
#[derive(Debug)]
pub enum Next {
    Continue,
    Finish(Finish),
    Fail(Failure),
}

/// Decides what follows a session with `peer`: `result` says how it ended and `showed`
/// whether this side was showing the peer's video. The peer ending a shown stream ends the
/// run; a watcher leaving does not; a connecting side reconnects after a lost connection,
/// and gives up on a peer it cannot talk to.
pub fn after(
    endpoint: &Endpoint,
    peer: SocketAddr,
    role: Role,
    showed: bool,
    result: Result<Ending, SessionError>,
) -> Next {
    let connecting = role == Role::Connecting;
    match result {
        Ok(Ending::PeerEnded(why)) if showed => {
            endpoint.shutdown.request("peer ended the stream");
            Next::Finish(Finish::PeerEnded(why))
        }
        Ok(Ending::PeerEnded(why)) => {
            log::info!("{peer} left: {why}");
            Next::Continue
        }
        Ok(Ending::LocalStop) => Next::Continue,
        Err(SessionError::Panicked(panic)) => Next::Fail(Failure::Internal(format!(
            "{peer}: internal error: a session thread panicked: {panic}"
        ))),
        Err(source) if connecting && source.is_final_for_connecting() => {
            Next::Fail(Failure::Session { peer: peer.to_string(), source })
        }
        Err(source) if connecting => {
            log::warn!("connection to {peer} lost: {source}; reconnecting");
            Next::Continue
        }
        Err(source) => Next::Fail(Failure::Session { peer: peer.to_string(), source }),
    }
}
