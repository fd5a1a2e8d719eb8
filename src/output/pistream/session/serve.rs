//! An established session's two loops: the receive loop on a second thread, the send loop
//! on this one, after the socket buffers are sized from the frames; the session's end is
//! what `rules::outcome` makes of both loops' results.

use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};

use super::control::Control;
use super::handshake::{handshake, LocalSide};
use super::messages::{MessageReader, MessageWriter};
use super::receive::receive_loop;
use super::rules::outcome;
use super::send::{send_loop, SendSide};
use crate::media::{Frame, Mailbox};
use crate::net::BufferGrant;
use crate::output::ending::{Ending, SessionError};
use crate::output::pistream::protocol::{Established, InboundState, Negotiated, Role};
use crate::pipeline::stats::Stats;
use crate::runtime::stage::panic_message;

/// What this side brings to an established session: the viewer place it sends from (with
/// its plan and H.264), the mailbox and buffer it receives into.
pub struct Sides<'m> {
    pub send: Option<SendSide<'m>>,
    pub receive: Option<(&'m Mailbox, &'m mut Frame)>,
}

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
) -> Result<Ending, SessionError> {
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
    if receive.is_some() {
        ctl.rules().receives_video();
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
    outcome(received, sent, ctl.shutdown.requested())
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
) -> Result<Ending, SessionError> {
    let Some(established) = handshake(stream, role, local, ctl)? else {
        let _ = stream.shutdown(SocketShutdown::Both);
        return Ok(Ending::LocalStop);
    };
    on_negotiated(&established.negotiated);
    serve(stream, established, sides, local.buffers, ctl, stats)
}

/// What the session negotiated, for the caller's logs.
pub type OnNegotiated<'f> = &'f mut dyn FnMut(&Negotiated);
