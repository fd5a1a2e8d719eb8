//! One connection on the seed wire (`--peer seed`; the wire's rules are `crate::output::seed::rules`):
//! the opening (`connected`), admission (a viewer place in the hub when this side sends,
//! the display when it shows), then, as in a pistream session, a receive loop on a second
//! thread and a send loop on this one: frames cut from the byte stream straight into the
//! display's buffer, frames from the hub written whole, and at the end `finished`, alone
//! on the wire. Stats, the mailbox and shutdown work as for a pistream session; what
//! follows the session (keep serving, reconnect, end the run) follows the same rules.
//!
//! `loops.rs` holds the two loops and the writes they share; `rules.rs` the wire's rules,
//! without I/O.

use std::io::Read;
use std::net::{Shutdown as SocketShutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::loops::{is_wakeup, receive_loop, send_loop, wait_drained, write_all, Shared, DRAIN_LIMIT};
use super::rules::{self, SeedError, CONNECTED, FRAME_LEN};
use crate::media::{Frame, Mailbox};
use crate::net;
use crate::net::demux::Claim;
use crate::output::deadlines::HANDSHAKE_TIMEOUT;
use crate::output::ending::{after, Ending, Next, SessionError};
use crate::output::endpoint::Endpoint;
use crate::output::pistream::protocol::Role;
use crate::pipeline::hub::{Needs, Viewer, ViewerKind};
use crate::runtime::stage::panic_message;
use crate::runtime::Shutdown;

/// A connecting side that sends waits this long at most for the server's first byte
/// before its own first frame: that byte proves the server's one `recv(2046)` has taken
/// `connected`, so no frame byte joins it there.
const FIRST_BYTE_WAIT: Duration = Duration::from_secs(2);

/// Whether a connection's first bytes are the seed client's `connected`.
pub fn claim(first: &[u8]) -> Claim {
    if first.starts_with(CONNECTED) {
        Claim::Mine
    } else if CONNECTED.starts_with(first) {
        Claim::NeedMore
    } else {
        Claim::NotMine
    }
}

/// Runs one seed connection to its end; `admitted` is raised once it holds its places.
pub fn connection(
    endpoint: &Endpoint,
    stream: &TcpStream,
    peer: SocketAddr,
    role: Role,
    admitted: &AtomicBool,
) -> Next {
    // The seed wire has no way to say why: a peer that cannot be served is closed on.
    let refuse = |why: &dyn std::fmt::Display| {
        log::info!("refused {peer}: {why}");
        let _ = stream.shutdown(SocketShutdown::Both);
        Next::Continue
    };
    if let Some(refusal) = endpoint.camera_full().filter(|_| role == Role::Listening) {
        return refuse(&refusal);
    }
    match open(stream, peer, role, endpoint.hub.is_some(), &endpoint.shutdown) {
        Ok(true) => {}
        Ok(false) => return Next::Continue,
        Err(e) => return after(endpoint, peer, role, false, Err(e.into())),
    }
    let watcher = match endpoint.watch(peer.to_string(), ViewerKind::Seed, Needs::BGR) {
        Ok(watcher) => watcher,
        Err(refusal) => return refuse(&refusal),
    };
    let display = endpoint.display.as_deref();
    let shower = match display {
        Some(_) => match endpoint.show(peer, *b"BGR3") {
            Ok(shower) => Some(shower),
            Err(refusal) => return refuse(&refusal),
        },
        None => None,
    };
    admitted.store(true, Ordering::Relaxed);
    let what = match (watcher.is_some(), display.is_some()) {
        (true, true) => "sending our video, receiving 640x480",
        (true, false) => "sending our video",
        _ => "receiving 640x480",
    };
    log::info!("streaming with {peer} on the seed wire: {what} (raw BGR, 921600-byte frames)");
    let result = serve(endpoint, stream, peer, watcher.as_deref().map(|w| &**w), display);
    let showed = shower.is_some();
    drop((shower, watcher));
    after(endpoint, peer, role, showed, result)
}

/// The opening: a listening side reads the client's `connected`; a connecting side sends
/// it (and, when it will send frames, waits for the server's first byte). `Ok(false)` if
/// shutdown came first.
fn open(
    stream: &TcpStream,
    peer: SocketAddr,
    role: Role,
    sends: bool,
    shutdown: &Shutdown,
) -> Result<bool, SeedError> {
    match role {
        Role::Listening => {
            let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
            let mut first = [0u8; CONNECTED.len()];
            let mut filled = 0;
            while filled < first.len() {
                match (&*stream).read(&mut first[filled..]) {
                    Ok(0) => {
                        return Err(SeedError::Opening(
                            "the peer closed the connection before sending \"connected\"".into(),
                        ))
                    }
                    Ok(n) => filled += n,
                    Err(e) if is_wakeup(&e) => {
                        if shutdown.requested() {
                            return Ok(false);
                        }
                        if Instant::now() >= deadline {
                            return Err(SeedError::Silent(HANDSHAKE_TIMEOUT));
                        }
                    }
                    Err(source) => return Err(SeedError::Io { context: "reading the opening", source }),
                }
            }
            rules::check_connected(&first).map_err(SeedError::Opening)?;
        }
        Role::Connecting => {
            write_all(stream, CONNECTED, &Shared::new(shutdown, peer), "sending \"connected\"")?;
            if sends {
                wait_for_first_byte(stream, shutdown);
            }
        }
    }
    Ok(!shutdown.requested())
}

/// Waits until the peer has sent something (without taking it), the connection closed,
/// [`FIRST_BYTE_WAIT`] passed or shutdown came.
fn wait_for_first_byte(stream: &TcpStream, shutdown: &Shutdown) {
    let deadline = Instant::now() + FIRST_BYTE_WAIT;
    let mut byte = [0u8; 1];
    while Instant::now() < deadline && !shutdown.requested() {
        match stream.peek(&mut byte) {
            Ok(_) => return,
            Err(e) if is_wakeup(&e) => {}
            Err(_) => return,
        }
    }
    // The server's camera gave nothing yet: at least let `connected` leave alone.
    wait_drained(stream, DRAIN_LIMIT);
}

/// Runs the two loops of an admitted session.
fn serve(
    endpoint: &Endpoint,
    stream: &TcpStream,
    peer: SocketAddr,
    viewer: Option<&Viewer>,
    display: Option<&Mailbox>,
) -> Result<Ending, SessionError> {
    let buffers = endpoint.buffers;
    let tuned = match viewer {
        Some(_) => net::tune_seed_sender(stream, FRAME_LEN, buffers.sndbuf).map(|_| ()),
        None => Ok(()),
    }
    .and_then(|()| net::tune_receiver(stream, buffers.rcvbuf).map(|_| ()));
    if let Err(source) = tuned {
        return Err(SeedError::Io { context: "sizing the socket buffers", source }.into());
    }
    let shared = Shared::new(&endpoint.shutdown, peer);
    let send_limit = endpoint.send_limit;
    let stats = &endpoint.stats;
    // Allocated once per session; the mailbox swaps buffers of the same size back.
    let mut back = Frame::new(rules::GEOMETRY);
    let (sent, received) = std::thread::scope(|scope| {
        let receiver = std::thread::Builder::new()
            .name("receive".into())
            .spawn_scoped(scope, || {
                let result = receive_loop(stream, display, &mut back, &shared, stats);
                shared.end();
                result
            })
            .map_err(|source| SeedError::Io { context: "starting the receive thread", source });
        if receiver.is_err() {
            shared.end(); // the send loop stops at once
        }
        let sent = send_loop(stream, viewer, send_limit, &shared, stats);
        if sent.is_err() {
            shared.end();
        }
        let received = receiver.map(|handle| handle.join().map_err(|panic| panic_message(&*panic)));
        (sent, received)
    });
    let _ = stream.shutdown(SocketShutdown::Both);
    let received = match received {
        Ok(Ok(received)) => received,
        Ok(Err(panic)) => return Err(SessionError::Panicked(panic)),
        Err(e) => return Err(e.into()),
    };
    if shared.finished_at().is_some() {
        // This side said `finished`; whatever the peer did next is its answer.
        return Ok(Ending::LocalStop);
    }
    match (received, sent) {
        (Ok(Ending::PeerEnded(why)), _) => Ok(Ending::PeerEnded(why)),
        (Err(e), _) | (_, Err(e)) if !endpoint.shutdown.requested() => Err(e.into()),
        _ => Ok(Ending::LocalStop),
    }
}
