//! Errors that end the program, one variant per concern, each a line a user can act on.

use std::io;
use std::net::SocketAddr;

use crate::output::{Failure, SessionError};
use crate::runtime::stage::Panicked;
use crate::sink::SinkError;
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Usage(String),
    #[error(
        "cannot listen on {addr}: {source} (is another pistream running there? try another --listen port)"
    )]
    Listen { addr: SocketAddr, source: io::Error },
    #[error(
        "cannot use UDP port {port} for WebRTC: {source} (give another with --webrtc-port, or --webrtc off)"
    )]
    WebrtcPort { port: u16, source: io::Error },
    #[error("network: {0}")]
    Net(#[from] io::Error),
    #[error("{peer}: {source}")]
    Session { peer: String, source: SessionError },
    #[error("source: {0}")]
    Source(#[from] SourceError),
    #[error("sink: {0}")]
    Sink(#[from] SinkError),
    #[error("{corrupt} of {total} frames failed pattern verification")]
    Corrupt { corrupt: u64, total: u64 },
    #[error("cannot set up signal handling: {0}")]
    Signal(#[from] nix::Error),
    /// A bug in pistream (a thread panicked, a thread could not start): please report it.
    #[error("internal error: {0} (a bug in pistream: please report it with the lines above)")]
    Internal(String),
}

impl From<Failure> for AppError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Session { peer, source } => AppError::Session { peer, source },
            Failure::Internal(what) => AppError::Internal(what),
        }
    }
}

impl From<Panicked> for AppError {
    fn from(panic: Panicked) -> Self {
        AppError::Internal(panic.message)
    }
}

impl AppError {
    /// The process exit code for this error: 2 for usage errors, 3 for internal errors
    /// (bugs), 1 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            AppError::Usage(_) => 2,
            AppError::Internal(_) => 3,
            _ => 1,
        }
    }
}
