//! A listening endpoint: accepts connections and gives each its own thread, which reads
//! the first bytes to tell a pistream peer from an HTTP client and serves it. A connection
//! holds no place until its handshake has completed; pending ones are cheap, bounded in
//! number (past the bound the oldest pending one is closed) and limited by the handshake
//! deadline, so idle or keyless connections can neither lock out nor delay a real viewer
//! for long.

use std::io;
use std::net::{Shutdown as SocketShutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::convert::Infallible;

use super::error::AppError;
use crate::net;
use crate::net::demux::{Opening, OPENING_MAX};
use crate::output::deadlines::HANDSHAKE_TIMEOUT;
use crate::output::{classify_opening, Accepts, Endpoint, Next, Output};
use crate::runtime::stage::{self, Stage};
use crate::runtime::Finish;

/// Connections allowed to be mid-handshake at once.
pub(super) const MAX_PENDING: usize = 16;

/// One accepted connection's thread.
struct Accepted {
    peer: SocketAddr,
    /// To close it from here (the oldest pending one, when too many are).
    stream: TcpStream,
    /// Raised once it has a place (a viewer, the shown peer).
    admitted: Arc<AtomicBool>,
    /// Closed here as the oldest of too many pending ones (its thread may not have seen
    /// it yet): no longer counted as pending.
    closed: bool,
    /// When it was accepted (the list is reordered as connections end).
    accepted_at: Instant,
    stage: Stage<Next, Infallible>,
}

/// Serves everyone who connects to `listener` until shutdown (or until a session ends the
/// run, e.g. the shown peer of a call hangs up).
pub(super) fn serve(
    endpoint: &Arc<Endpoint>,
    listener: &TcpListener,
    bound: SocketAddr,
    accepts: Accepts,
) -> Result<Finish, AppError> {
    let shutdown = endpoint.shutdown.clone();
    let mut connections: Vec<Accepted> = Vec::new();
    let mut finish = None;
    loop {
        let mut i = 0;
        while i < connections.len() {
            if !connections[i].stage.is_finished() {
                i += 1;
                continue;
            }
            let Accepted { peer, stream, stage, .. } = connections.swap_remove(i);
            drop(stream);
            match stage.join() {
                Ok(Ok(Next::Continue)) => {}
                Ok(Ok(Next::Finish(f))) => finish = finish.or(Some(f)),
                // A panic, in the connection's thread or in one its session started, is a bug:
                // it ends the run with exit status 3 (under systemd, a restart), as on the
                // connecting side.
                Ok(Ok(Next::Fail(failure))) => match AppError::from(failure) {
                    e @ AppError::Internal(_) => return Err(e),
                    e => log::warn!("{e}"),
                },
                Err(panic) => return Err(AppError::Internal(format!("{peer}: {}", panic.message))),
            }
            if !shutdown.requested()
                && finish.is_none()
                && connections.is_empty()
                && matches!(accepts, Accepts::Peers(_))
            {
                log::info!("waiting for the next peer on {bound}");
            }
        }
        if let Some(finish) = finish.take() {
            shutdown.request("finished");
            close_all(connections);
            return Ok(finish);
        }
        if shutdown.requested() {
            // A session that ended the run (the shown peer hung up) requested the shutdown
            // just before returning: its own account of the end wins over the bare reason.
            let ended = close_all(connections);
            return Ok(ended
                .unwrap_or_else(|| Finish::Stopped(shutdown.reason().unwrap_or_else(|| "stopped".into()))));
        }
        let Some((stream, peer)) = net::accept_once(listener)? else { continue };
        let pending: Vec<usize> = (0..connections.len())
            .filter(|&i| !connections[i].closed && !connections[i].admitted.load(Ordering::Relaxed))
            .collect();
        if pending.len() >= MAX_PENDING {
            let first =
                pending.iter().copied().min_by_key(|&i| connections[i].accepted_at).expect("pending is full");
            let oldest = &mut connections[first];
            log::debug!("closing {}, the oldest of {MAX_PENDING} unfinished handshakes", oldest.peer);
            let _ = oldest.stream.shutdown(SocketShutdown::Both);
            oldest.closed = true;
        }
        let admitted = Arc::new(AtomicBool::new(false));
        let stage = {
            let (endpoint, admitted, stream) = (endpoint.clone(), admitted.clone(), stream.try_clone()?);
            stage::spawn(&format!("peer {peer}"), move || {
                Ok(serve_connection(&endpoint, &stream, peer, &admitted, accepts))
            })
            .map_err(|e| AppError::Internal(format!("cannot start the thread of {peer}: {e}")))?
        };
        connections.push(Accepted {
            peer,
            stream,
            admitted,
            closed: false,
            accepted_at: Instant::now(),
            stage,
        });
    }
}

/// Ends every connection (their sessions see the shutdown and say bye) and waits for them;
/// returns how the first session that ended the run said it ended.
fn close_all(connections: Vec<Accepted>) -> Option<Finish> {
    let mut finish = None;
    for connection in connections {
        if !connection.admitted.load(Ordering::Relaxed) {
            let _ = connection.stream.shutdown(SocketShutdown::Both);
        }
        match connection.stage.join() {
            Ok(Ok(Next::Fail(failure))) => log::warn!("{}", AppError::from(failure)),
            Ok(Ok(Next::Finish(f))) => finish = finish.or(Some(f)),
            _ => {}
        }
    }
    finish
}

/// One accepted connection: handed to the output its first bytes belong to.
fn serve_connection(
    endpoint: &Endpoint,
    stream: &TcpStream,
    peer: SocketAddr,
    admitted: &AtomicBool,
    accepts: Accepts,
) -> Next {
    let output = match opening(stream, accepts, &endpoint.shutdown) {
        Ok(Opening::Claimed(output)) => output,
        // No one's: the peer protocol's handshake names what arrived.
        Ok(Opening::Unknown) => Output::Pistream,
        Ok(Opening::NeedMore) | Err(_) => return Next::Continue,
    };
    crate::output::serve(endpoint, output, stream, peer, admitted)
}

/// Peeks at the first bytes (without taking them) until they tell what the peer speaks,
/// within the handshake deadline.
fn opening(
    stream: &TcpStream,
    accepts: Accepts,
    shutdown: &crate::runtime::Shutdown,
) -> io::Result<Opening<Output>> {
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let mut first = [0u8; OPENING_MAX];
    loop {
        match stream.peek(&mut first) {
            Ok(0) => return Ok(Opening::NeedMore),
            Ok(n) => match classify_opening(&first[..n], accepts) {
                Opening::NeedMore if n == first.len() => return Ok(Opening::Unknown),
                Opening::NeedMore => std::thread::sleep(Duration::from_millis(5)),
                known => return Ok(known),
            },
            Err(e) if net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline || shutdown.requested() {
            return Ok(Opening::NeedMore);
        }
    }
}
