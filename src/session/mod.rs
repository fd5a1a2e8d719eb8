//! One connection's life: socket I/O, deadlines and two loops. The handshake's order and
//! rules live in `protocol::Handshake`; this module only moves its bytes (`handshake`),
//! then runs a receive loop and a send loop that join the mailboxes, the protocol and the
//! socket. This is the only place they meet.
//!
//! Both loops run for every connection (a camera still reads heartbeats and the bye, a
//! display still writes them), on two threads sharing the socket. Whichever loop ends
//! first marks the session over and the other follows within [`POLL_INTERVAL`].
//! Steady state allocates nothing: headers live on the stack, bodies go out from the frame
//! buffer (or, keyed, from the writer's sealed buffer) and come in straight into the
//! buffer that will be shown (`wire.rs`).

mod io;
mod receive;
mod send;
mod wire;

use std::io::{ErrorKind, IoSlice, Read};
use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use io::{read_full, write_all, ReadUntil};
pub use receive::receive_loop;
pub use send::send_loop;
pub use wire::{MessageReader, MessageWriter};

use crate::frame::{now_us, Frame};
use crate::hub::Viewer;
use crate::mailbox::Mailbox;
use crate::net::BufferGrant;
use crate::protocol::keys::{CipherSet, Psk};
use crate::protocol::{
    ByeReason, Established, Handshake, HandshakeError, Hello, InboundState, Negotiated, ProtocolError, Role,
    HEADER_LEN, HELLO_MAX_LEN,
};
use crate::shutdown::Shutdown;
use crate::stats::Stats;
use crate::wire::send::SendPlan;

/// No byte from the peer for this long means it is gone (it sends at least a heartbeat a second).
pub const PEER_SILENCE_LIMIT: Duration = Duration::from_secs(5);
/// A side with nothing else to send sends a heartbeat this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait for the peer's hello.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How a session ended without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// The peer said bye.
    PeerBye { reason: ByeReason, text: String },
    /// This side was asked to stop and said bye.
    LocalStop,
}

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
    /// A bug: a thread of this session panicked.
    #[error("internal error: a session thread panicked: {0}")]
    Panicked(String),
}

impl SessionError {
    fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> SessionError {
        move |source| match source.kind() {
            std::io::ErrorKind::UnexpectedEof => SessionError::Closed,
            _ => SessionError::Io { context, source },
        }
    }
}

/// State the two loops of one session share.
pub struct Control<'a> {
    pub shutdown: &'a Shutdown,
    /// Set by whichever loop ends first.
    over: AtomicBool,
    /// A bye the send loop must deliver before it ends (a protocol error found by the receiver).
    pending_bye: Mutex<Option<(ByeReason, String)>>,
    /// Stop the whole process once this many frames were sent (`--frames` on a camera).
    pub send_limit: Option<u64>,
}

impl<'a> Control<'a> {
    pub fn new(shutdown: &'a Shutdown, send_limit: Option<u64>) -> Self {
        Control { shutdown, over: AtomicBool::new(false), pending_bye: Mutex::new(None), send_limit }
    }

    pub fn end(&self) {
        self.over.store(true, Ordering::SeqCst);
    }

    pub fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    fn end_with_bye(&self, reason: ByeReason, text: String) {
        *self.pending_bye.lock().unwrap_or_else(|p| p.into_inner()) = Some((reason, text));
        self.end();
    }
}

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

/// What this side brings to an established session: the viewer slot it sends from, the
/// mailbox and buffer it receives into.
pub struct Sides<'m> {
    /// The viewer slot frames come from, and how they go on the wire.
    pub send: Option<(&'m Viewer, SendPlan)>,
    pub receive: Option<(&'m Mailbox, &'m mut Frame)>,
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

/// Warns, once per run, when the kernel gave a socket buffer less than asked (without
/// CAP_NET_ADMIN it caps the request at `net.core.wmem_max`/`rmem_max`, 208 KiB on
/// Raspberry Pi OS): fast links may then fall short of the frame rate.
fn warn_once_if_capped(grant: BufferGrant, side: &str, sysctl: &str, option: &str) {
    static WARNED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
    let BufferGrant::Set { asked, granted } = grant else { return };
    let warned = &WARNED[usize::from(side == "receive")];
    if granted < asked && !warned.swap(true, Ordering::Relaxed) {
        log::warn!(
            "the kernel capped the {side} buffer at {} KiB (asked {} KiB): fast links may not reach \
             the frame rate; raise it with `sysctl -w net.core.{sysctl}={}` (or run with \
             CAP_NET_ADMIN), or set {option} 0 to leave it to the kernel's autotuning",
            granted / 1024,
            asked / 1024,
            asked * 2
        );
    }
}

/// Runs an established session to its end: the receive loop on a second thread, the send
/// loop on this one. Socket buffers are sized from the frames first.
pub fn serve(
    stream: &TcpStream,
    established: Established,
    sides: Sides<'_>,
    buffers: crate::net::BufferSizes,
    ctl: &Control,
    stats: &Stats,
) -> Result<SessionEnd, SessionError> {
    let Established { negotiated, local, transport, .. } = established;
    let (sealer, opener) = transport.map_or((None, None), |(s, o)| (Some(s), Some(o)));
    let send = if negotiated.sends() { sides.send } else { None };
    let receive = if negotiated.receive.is_some() { sides.receive } else { None };
    // The largest frame this side sends: its geometry in BGR3, the largest format.
    let frame_len = local.geometry.map_or(0, |g| g.frame_len());
    if send.is_some() {
        let grant = crate::net::tune_sender(stream, frame_len, buffers.sndbuf)
            .map_err(SessionError::io("sizing the send buffer"))?;
        warn_once_if_capped(grant, "send", "wmem_max", "--sndbuf");
    }
    if negotiated.receive.is_some() {
        let grant = crate::net::tune_receiver(stream, buffers.rcvbuf)
            .map_err(SessionError::io("sizing the receive buffer"))?;
        warn_once_if_capped(grant, "receive", "rmem_max", "--rcvbuf");
    }
    let mut writer = MessageWriter::new(sealer, frame_len);
    let mut reader = MessageReader::new(opener, InboundState::new(&negotiated));
    let (sent, received) = std::thread::scope(|scope| {
        let receiver = std::thread::Builder::new()
            .name("receive".into())
            .spawn_scoped(scope, || receive_loop(stream, &mut reader, receive, &negotiated, ctl, stats))
            .map_err(SessionError::io("starting the receive thread"));
        let sent = send_loop(stream, &mut writer, send, ctl, stats);
        let received = match receiver {
            Ok(handle) => {
                handle.join().unwrap_or_else(|panic| Err(SessionError::Panicked(panic_message(&*panic))))
            }
            Err(e) => Err(e),
        };
        (sent, received)
    });
    let _ = stream.shutdown(SocketShutdown::Both);
    // The receiver's view decides: a peer's bye or a protocol error is what happened; a
    // send error matters when the receiver only saw the consequences.
    match (received, sent) {
        (Err(e @ SessionError::Panicked(_)), _) | (_, Err(e @ SessionError::Panicked(_))) => Err(e),
        (Ok(SessionEnd::PeerBye { reason, text }), _) => Ok(SessionEnd::PeerBye { reason, text }),
        (Err(e @ SessionError::Protocol(_)), _) => Err(e),
        // A refusal read after the handshake explains a failed write (the peer closed).
        (Err(e @ (SessionError::Refused(_) | SessionError::PeerReported(_))), _) => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) if !ctl.shutdown.requested() => Err(e),
        _ => Ok(SessionEnd::LocalStop),
    }
}

/// Runs one connection from handshake to end (`handshake`, then `serve`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    stream: &TcpStream,
    role: Role,
    local: &LocalSide<'_>,
    sides: Sides<'_>,
    ctl: &Control,
    stats: &Stats,
    on_negotiated: OnNegotiated<'_>,
) -> Result<SessionEnd, SessionError> {
    let Some(established) = handshake(stream, role, local, ctl)? else {
        let _ = stream.shutdown(SocketShutdown::Both);
        return Ok(SessionEnd::LocalStop);
    };
    on_negotiated(&established.negotiated);
    serve(stream, established, sides, local.buffers, ctl, stats)
}

/// What the session negotiated, for the caller's logs.
pub type OnNegotiated<'f> = &'f mut dyn FnMut(&Negotiated);

/// The text of a thread's panic, for the report.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
