//! One connection's life: the handshake, then a receive loop and a send loop that join the
//! mailboxes, the protocol and the socket. This is the only place they meet.
//!
//! Both loops run for every connection (a camera still reads heartbeats and the bye, a
//! display still writes them), on two threads sharing the socket. Whichever loop ends
//! first marks the session over and the other follows within [`POLL_INTERVAL`].
//! Steady state allocates nothing: headers live on the stack, the payload is written with
//! one `writev` straight from the frame buffer and read with `read` straight into the
//! buffer that will be shown.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::frame::{now_us, Frame};
use crate::mailbox::Mailbox;
use crate::net::POLL_INTERVAL;
use crate::protocol::{
    auth, encode_auth, encode_bye, encode_frame_header, encode_heartbeat, encode_hello, negotiate, ByeReason,
    Hello, Inbound, InboundState, Negotiated, ProtocolError, BYE_MAX_LEN, HEADER_LEN, HELLO_MAX_LEN,
};
use crate::shutdown::Shutdown;
use crate::stats::Stats;

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
    Io { context: &'static str, source: io::Error },
}

impl SessionError {
    fn io(context: &'static str) -> impl FnOnce(io::Error) -> SessionError {
        move |source| match source.kind() {
            io::ErrorKind::UnexpectedEof => SessionError::Closed,
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

/// Where a read may stop without an error.
#[derive(Clone, Copy)]
enum ReadUntil {
    /// A message body: all of it, or an error.
    Body,
    /// A message header: may stop before its first byte once the session is over.
    Header,
    /// Part of the peer's hello: may also stop before the first byte on shutdown, and
    /// fails once the handshake deadline passes, however the peer trickles bytes.
    Handshake(Instant),
}

/// Fills `buf` from the socket, riding out the socket's poll timeouts. Returns `Ok(false)`
/// if it stopped cleanly before the first byte (see [`ReadUntil`]).
fn read_full(
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

/// Writes every byte of `parts` with vectored writes, riding out poll timeouts.
fn write_all(mut stream: &TcpStream, parts: &mut [IoSlice<'_>], ctl: &Control) -> Result<(), SessionError> {
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

/// Tells a peer this side will not serve it, and why (best effort, then closes).
pub fn refuse(stream: &TcpStream, reason: ByeReason, text: &str, shutdown: &Shutdown) {
    let ctl = Control::new(shutdown, None);
    let _ = send_bye(stream, reason, text, &ctl);
    let _ = stream.shutdown(SocketShutdown::Both);
}

fn send_bye(stream: &TcpStream, reason: ByeReason, text: &str, ctl: &Control) -> Result<(), SessionError> {
    let mut buf = [0u8; HEADER_LEN + BYE_MAX_LEN];
    let n = encode_bye(reason, text, now_us(), &mut buf);
    write_all(stream, &mut [IoSlice::new(&buf[..n])], ctl)
}

/// What this side brings to every connection.
#[derive(Clone, Copy, Debug)]
pub struct LocalSide<'k> {
    pub hello: Hello,
    /// `--key-file`: authenticate the peer with this shared key before any frame flows.
    pub key: Option<&'k [u8]>,
    pub buffers: crate::net::BufferSizes,
}

impl LocalSide<'_> {
    /// A side without a key and with buffers sized from the frames.
    pub fn plain(hello: Hello) -> LocalSide<'static> {
        LocalSide { hello, key: None, buffers: Default::default() }
    }
}

/// Reads a bye body and turns it into the error it reports (a bye in place of a hello or
/// an auth message).
fn refused_by_bye(
    stream: &TcpStream,
    len: usize,
    ctl: &Control,
    until: ReadUntil,
) -> Result<Option<()>, SessionError> {
    let mut body = [0u8; BYE_MAX_LEN];
    if !read_full(stream, &mut body[..len], ctl, until)? {
        return Ok(None);
    }
    let (reason, text) = ByeReason::decode(&body[..len]);
    Err(match reason {
        ByeReason::ProtocolError => SessionError::PeerReported(text),
        _ => SessionError::Refused(text),
    })
}

/// Exchanges hellos (and, with a key, auth messages) and decides what flows each way;
/// `Ok(None)` if shutdown came first. A peer whose hello or MAC is wrong is told why in a
/// bye before the error is returned; no frame is sent or accepted before this returns.
pub fn handshake(
    stream: &TcpStream,
    local: &LocalSide<'_>,
    ctl: &Control,
) -> Result<Option<(Negotiated, InboundState)>, SessionError> {
    let mut hello = local.hello;
    if local.key.is_some() {
        hello.auth = true;
        hello.nonce = auth::fresh_nonce();
    }
    write_all(stream, &mut [IoSlice::new(&encode_hello(&hello, now_us()))], ctl)?;
    let mut inbound = InboundState::new();
    let until = ReadUntil::Handshake(Instant::now() + HANDSHAKE_TIMEOUT);
    let result = (|| {
        let mut header = [0u8; HEADER_LEN];
        if !read_full(stream, &mut header, ctl, until)? {
            return Ok(None);
        }
        let negotiated = match inbound.on_header(&header)? {
            Inbound::Hello { len } => {
                let mut body = [0u8; HELLO_MAX_LEN];
                if !read_full(stream, &mut body[..len], ctl, until)? {
                    return Ok(None);
                }
                let peer = Hello::decode(&body[..len])?;
                negotiate(&hello, &peer)?
            }
            Inbound::Bye { len } => return refused_by_bye(stream, len, ctl, until).map(|_| None),
            // on_header allows only hello and bye before the handshake.
            Inbound::Frame { .. } | Inbound::Heartbeat | Inbound::Auth => {
                return Err(ProtocolError::BeforeHello { kind: "frame" }.into())
            }
        };
        inbound.on_negotiated(&negotiated);
        if let (true, Some(key)) = (negotiated.authenticate, local.key) {
            let tag = auth::auth_tag(key, &hello.nonce, &negotiated.peer_nonce);
            write_all(stream, &mut [IoSlice::new(&encode_auth(&tag, now_us()))], ctl)?;
            if !read_full(stream, &mut header, ctl, until)? {
                return Ok(None);
            }
            match inbound.on_header(&header)? {
                Inbound::Auth => {
                    let mut peer_tag = [0u8; auth::AUTH_LEN];
                    if !read_full(stream, &mut peer_tag, ctl, until)? {
                        return Ok(None);
                    }
                    if !auth::verify_peer_tag(key, &hello.nonce, &negotiated.peer_nonce, &peer_tag) {
                        return Err(ProtocolError::AuthFailed.into());
                    }
                }
                Inbound::Bye { len } => return refused_by_bye(stream, len, ctl, until).map(|_| None),
                _ => return Err(ProtocolError::UnexpectedAuth.into()),
            }
        }
        Ok(Some(negotiated))
    })();
    match result {
        Ok(Some(negotiated)) => Ok(Some((negotiated, inbound))),
        Ok(None) => Ok(None),
        Err(SessionError::Protocol(e)) => {
            let _ = send_bye(stream, ByeReason::ProtocolError, &e.to_string(), ctl);
            Err(SessionError::Protocol(e))
        }
        Err(e) => Err(e),
    }
}

/// Reads messages until the peer says bye, the session is over, or something fails.
/// Frames go into `back` and are published to `mailbox` (when this side receives video).
pub fn receive_loop(
    stream: &TcpStream,
    inbound: &mut InboundState,
    mut frames: Option<(&Mailbox, &mut Frame)>,
    negotiated: &Negotiated,
    ctl: &Control,
    stats: &Stats,
) -> Result<SessionEnd, SessionError> {
    let result = (|| loop {
        let mut header = [0u8; HEADER_LEN];
        if !read_full(stream, &mut header, ctl, ReadUntil::Header)? {
            return Ok(SessionEnd::LocalStop);
        }
        match inbound.on_header(&header)? {
            Inbound::Frame { seq, captured_us, len } => {
                let (mailbox, back) = frames.as_mut().ok_or(ProtocolError::UnexpectedFrame)?;
                if let Some(geometry) = negotiated.receive {
                    back.ensure_geometry(geometry);
                }
                read_full(stream, &mut back.data[..len], ctl, ReadUntil::Body)?;
                back.seq = seq;
                back.captured_us = captured_us;
                mailbox.publish(back);
                Stats::add(&stats.received_frames, 1);
                Stats::add(&stats.received_bytes, (HEADER_LEN + len) as u64);
            }
            Inbound::Heartbeat => {}
            Inbound::Bye { len } => {
                let mut body = [0u8; BYE_MAX_LEN];
                read_full(stream, &mut body[..len], ctl, ReadUntil::Body)?;
                let (reason, text) = ByeReason::decode(&body[..len]);
                if reason == ByeReason::ProtocolError {
                    return Err(SessionError::PeerReported(text));
                }
                return Ok(SessionEnd::PeerBye { reason, text });
            }
            Inbound::Hello { .. } => return Err(ProtocolError::SecondHello.into()),
            Inbound::Auth => return Err(ProtocolError::UnexpectedAuth.into()),
        }
    })();
    match &result {
        Err(SessionError::Protocol(e)) => ctl.end_with_bye(ByeReason::ProtocolError, e.to_string()),
        _ => ctl.end(),
    }
    result
}

/// Sends frames from `mailbox` (when this side sends video) and heartbeats, until the
/// session is over or shutdown is requested, then says bye.
pub fn send_loop(
    stream: &TcpStream,
    mut frames: Option<(&Mailbox, &mut Frame)>,
    ctl: &Control,
    stats: &Stats,
) -> Result<SessionEnd, SessionError> {
    let result = (|| {
        let mut last_sent = Instant::now();
        loop {
            let pending = ctl.pending_bye.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some((reason, text)) = pending {
                send_bye(stream, reason, &text, ctl).ok();
                return Ok(SessionEnd::LocalStop);
            }
            if ctl.shutdown.requested() {
                let why = ctl.shutdown.reason().unwrap_or_else(|| "stopped".into());
                // Best effort: the peer may already be gone.
                send_bye(stream, ByeReason::Finished, &why, ctl).ok();
                return Ok(SessionEnd::LocalStop);
            }
            if ctl.is_over() {
                return Ok(SessionEnd::LocalStop);
            }
            let sent_frame = match frames.as_mut() {
                Some((mailbox, front)) => {
                    if mailbox.take(front, POLL_INTERVAL) {
                        let header = encode_frame_header(front.seq, front.captured_us, front.data.len());
                        write_all(stream, &mut [IoSlice::new(&header), IoSlice::new(&front.data)], ctl)?;
                        Stats::add(&stats.sent_frames, 1);
                        Stats::add(&stats.sent_bytes, (HEADER_LEN + front.data.len()) as u64);
                        if ctl.send_limit.is_some_and(|limit| Stats::get(&stats.sent_frames) >= limit) {
                            ctl.shutdown.request(format!("sent {} frames", Stats::get(&stats.sent_frames)));
                        }
                        true
                    } else {
                        false
                    }
                }
                None => {
                    std::thread::sleep(POLL_INTERVAL);
                    false
                }
            };
            if sent_frame {
                last_sent = Instant::now();
            } else if last_sent.elapsed() >= HEARTBEAT_INTERVAL {
                write_all(stream, &mut [IoSlice::new(&encode_heartbeat(now_us()))], ctl)?;
                last_sent = Instant::now();
            }
        }
    })();
    ctl.end();
    result
}

/// The buffers one side brings to a session: what it sends from, what it receives into.
pub struct Sides<'m> {
    pub send: Option<(&'m Mailbox, &'m mut Frame)>,
    pub receive: Option<(&'m Mailbox, &'m mut Frame)>,
}

/// What the session negotiated, for the caller's logs.
pub type OnNegotiated<'f> = &'f mut dyn FnMut(&Negotiated);

/// Runs one connection from handshake to end: the receive loop on a second thread, the
/// send loop on this one. Socket buffers are sized once the frame sizes are known.
pub fn run(
    stream: &TcpStream,
    local: &LocalSide<'_>,
    sides: Sides<'_>,
    ctl: &Control,
    stats: &Stats,
    on_negotiated: OnNegotiated<'_>,
) -> Result<SessionEnd, SessionError> {
    let buffers = local.buffers;
    let Some((negotiated, mut inbound)) = handshake(stream, local, ctl)? else {
        let _ = stream.shutdown(SocketShutdown::Both);
        return Ok(SessionEnd::LocalStop);
    };
    if negotiated.send {
        if let Some((_, front)) = &sides.send {
            crate::net::tune_sender(stream, front.data.len(), buffers.sndbuf)
                .map_err(SessionError::io("sizing the send buffer"))?;
        }
    }
    if negotiated.receive.is_some() {
        crate::net::tune_receiver(stream, buffers.rcvbuf)
            .map_err(SessionError::io("sizing the receive buffer"))?;
    }
    on_negotiated(&negotiated);
    let send = if negotiated.send { sides.send } else { None };
    let receive = if negotiated.receive.is_some() { sides.receive } else { None };
    let (sent, received) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| receive_loop(stream, &mut inbound, receive, &negotiated, ctl, stats));
        let sent = send_loop(stream, send, ctl, stats);
        let received = reader.join().unwrap_or(Err(SessionError::Closed));
        (sent, received)
    });
    let _ = stream.shutdown(SocketShutdown::Both);
    // The receiver's view decides: a peer's bye or a protocol error is what happened; a
    // send error matters when the receiver only saw the consequences.
    match (received, sent) {
        (Ok(SessionEnd::PeerBye { reason, text }), _) => Ok(SessionEnd::PeerBye { reason, text }),
        (Err(e @ SessionError::Protocol(_)), _) => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) if !ctl.shutdown.requested() => Err(e),
        _ => Ok(SessionEnd::LocalStop),
    }
}
