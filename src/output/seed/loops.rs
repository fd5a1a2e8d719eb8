//! The two loops of one seed session and what they share: the receive loop cuts frames
//! from the byte stream into the display's buffer, the send loop writes the hub's frames
//! whole, and `finished` goes out alone once everything before it has drained.

use std::io::{self, Read, Write};
use std::net::{Shutdown as SocketShutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::rules::{self, Cut, FrameCutter, SeedError, FINISHED, FRAME_LEN};
use crate::media::{now_us, Frame, Mailbox, PixelFormat};
use crate::net::tcp_info as link;
use crate::net::{self, POLL_INTERVAL};
use crate::output::deadlines::PEER_SILENCE_LIMIT;
use crate::output::ending::Ending;
use crate::pipeline::hub::{Delivery, Viewer};
use crate::pipeline::stats::Stats;
use crate::runtime::Shutdown;

/// Longest wait for the send queue to drain (every byte written acknowledged).
pub(super) const DRAIN_LIMIT: Duration = Duration::from_secs(2);
/// After the drain, before `finished`: an acknowledgement says the peer's kernel holds the
/// bytes, not that its program has read them; the Python reader takes a few ms per frame,
/// and `finished` must reach an empty receive queue to arrive alone in its `recv`.
pub(super) const SETTLE: Duration = Duration::from_millis(100);
/// After `finished`, how long this side reads on (and discards) while the peer closes.
pub(super) const LINGER: Duration = Duration::from_secs(2);

/// State the two loops of one seed session share.
pub(super) struct Shared<'a> {
    shutdown: &'a Shutdown,
    peer: SocketAddr,
    /// Set by the receive loop when it ends, and by the send loop when it fails.
    over: AtomicBool,
    /// When this side's `finished` went out (the receive loop reads on until LINGER).
    finished_at: Mutex<Option<Instant>>,
}

impl<'a> Shared<'a> {
    pub(super) fn new(shutdown: &'a Shutdown, peer: SocketAddr) -> Self {
        Shared { shutdown, peer, over: AtomicBool::new(false), finished_at: Mutex::new(None) }
    }

    pub(super) fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    pub(super) fn end(&self) {
        self.over.store(true, Ordering::SeqCst);
    }

    pub(super) fn finished_at(&self) -> Option<Instant> {
        *self.finished_at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cuts the byte stream into frames, straight into `back`, and hands each to `display`
/// (when this side shows). Ends at the peer's `finished`, its close, or this side's end.
pub(super) fn receive_loop(
    stream: &TcpStream,
    display: Option<&Mailbox>,
    back: &mut Frame,
    shared: &Shared,
    stats: &Stats,
) -> Result<Ending, SeedError> {
    let mut cutter = FrameCutter::new();
    loop {
        if cutter.at_frame_start() {
            // The mailbox hands back the buffer it held: the right size after its first round.
            back.ensure_geometry(rules::GEOMETRY);
        }
        match (&*stream).read(&mut back.data[cutter.unfilled()]) {
            Ok(0) => return Ok(Ending::PeerEnded(closed_text(cutter.partial()))),
            Ok(n) => {
                Stats::add(&stats.received_bytes, n as u64);
                match cutter.advance(&back.data, n) {
                    Cut::More => {}
                    Cut::Finished => return Ok(Ending::PeerEnded("the peer sent finished".into())),
                    Cut::Frame => {
                        Stats::add(&stats.received_frames, 1);
                        if let Some(mailbox) = display.filter(|_| !shared.shutdown.requested()) {
                            // The wire carries no header: the pattern's stamp stands in for
                            // the sequence number, and latency counts from arrival.
                            back.seq = rules::stamp(&back.data);
                            back.captured_us = now_us();
                            back.arrived_as = PixelFormat::Bgr24;
                            mailbox.publish(back);
                        }
                    }
                }
            }
            Err(e) if is_wakeup(&e) => {
                if shared.is_over() {
                    return Ok(Ending::LocalStop);
                }
                if shared.finished_at().is_some_and(|at| at.elapsed() >= LINGER) {
                    return Ok(Ending::LocalStop);
                }
            }
            Err(_) if shared.finished_at().is_some() => return Ok(Ending::LocalStop),
            Err(source) => return Err(SeedError::Io { context: "reading from the peer", source }),
        }
    }
}

/// Why the peer's closing the connection ended the chat, `partial` bytes into a frame.
fn closed_text(partial: usize) -> String {
    match partial {
        0 => "the peer closed the connection".into(),
        partial => format!("the peer closed the connection {partial} bytes into a frame, which is dropped"),
    }
}

/// Writes the frames `viewer` takes from its slot, whole, until the session is over or
/// shutdown is requested; then says `finished`. Without a viewer it only waits for the end.
pub(super) fn send_loop(
    stream: &TcpStream,
    viewer: Option<&Viewer>,
    send_limit: Option<u64>,
    shared: &Shared,
    stats: &Stats,
) -> Result<(), SeedError> {
    loop {
        if shared.is_over() {
            return Ok(());
        }
        if shared.shutdown.requested() {
            return say_finished(stream, shared);
        }
        let Some(viewer) = viewer else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Some(frame) = viewer.take(POLL_INTERVAL) else { continue };
        if !frame.has_bgr || frame.bgr.len() != FRAME_LEN {
            continue; // never: the viewer asked for BGR of a 640x480 capture
        }
        if !write_all(stream, &frame.bgr, shared, "writing a frame")? {
            return Ok(());
        }
        drop(frame);
        viewer.sent_bytes.fetch_add(FRAME_LEN as u64, Ordering::Relaxed);
        viewer.set_delivery(Delivery::BGR);
        Stats::add(&stats.sent_frames, 1);
        Stats::add(&stats.sent_bytes, FRAME_LEN as u64);
        if send_limit.is_some_and(|limit| Stats::get(&stats.sent_frames) >= limit) {
            shared.shutdown.request(format!("sent {} frames", Stats::get(&stats.sent_frames)));
        }
    }
}

/// Ends the chat from this side: once every frame byte is acknowledged (and the peer's
/// program has had [`SETTLE`] to read it), `finished` goes out alone, then the write side
/// closes. Best effort: a peer that is gone or stuck is not waited for beyond the limits.
pub(super) fn say_finished(stream: &TcpStream, shared: &Shared) -> Result<(), SeedError> {
    if wait_drained(stream, DRAIN_LIMIT) {
        net::sleep_unless(&shared.over, SETTLE);
    }
    if shared.is_over() {
        return Ok(()); // the peer ended first
    }
    let sent = write_all(stream, FINISHED, shared, "sending \"finished\"");
    if wait_drained(stream, DRAIN_LIMIT) {
        log::info!(
            "sent \"finished\" to {} alone on the wire (every frame byte acknowledged first)",
            shared.peer
        );
    }
    *shared.finished_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    let _ = stream.shutdown(SocketShutdown::Write);
    sent.map(|_| ())
}

/// Writes all of `bytes`, riding out the socket's timeouts. `Ok(false)` if the session
/// ended first (the peer sent `finished` or closed); fails if nothing goes out for
/// [`PEER_SILENCE_LIMIT`] (a peer that stopped reading).
pub(super) fn write_all(
    mut stream: &TcpStream,
    mut bytes: &[u8],
    shared: &Shared,
    context: &'static str,
) -> Result<bool, SeedError> {
    let mut last_progress = Instant::now();
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(SeedError::Io { context, source: io::ErrorKind::WriteZero.into() }),
            Ok(n) => {
                bytes = &bytes[n..];
                last_progress = Instant::now();
            }
            Err(e) if is_wakeup(&e) => {
                if shared.is_over() {
                    return Ok(false);
                }
                if last_progress.elapsed() >= PEER_SILENCE_LIMIT {
                    return Err(SeedError::Stalled(PEER_SILENCE_LIMIT));
                }
            }
            Err(_) if shared.is_over() => return Ok(false),
            Err(source) => return Err(SeedError::Io { context, source }),
        }
    }
    Ok(true)
}

/// Waits (polling `TCP_INFO` each millisecond, at most `limit`) until nothing written is
/// unsent or unacknowledged; returns whether it got there.
pub(super) fn wait_drained(stream: &TcpStream, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match link::state(stream) {
            Ok(state) if state.idle() => return true,
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            _ => return false,
        }
    }
}

/// Whether an I/O error is the socket timeout's periodic wake-up (or a signal).
pub(super) fn is_wakeup(e: &io::Error) -> bool {
    net::is_timeout(e) || e.kind() == io::ErrorKind::Interrupted
}
