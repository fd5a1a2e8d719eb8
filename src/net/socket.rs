//! TCP setup with socket2: every socket option pistream sets, with its value and why, plus
//! listening, accepting and connecting with retry.
//!
//! | option | value | why |
//! | --- | --- | --- |
//! | `TCP_NODELAY` | on | a frame's last segment leaves at once instead of waiting for an ACK (Nagle) |
//! | `SO_SNDBUF` | 4 frames, 1..64 MiB (`--sndbuf`); HTTP `/stream`: 1 MiB | frames in flight while the next is written: full throughput on fast links |
//! | `TCP_NOTSENT_LOWAT` | 1/4 frame, 128 KiB..1 MiB; HTTP `/stream`: 128 KiB; not set on the seed wire | bounds the bytes queued but *not yet sent*: on a slow link frames wait in the viewer's slot (where newer ones replace them) rather than in the kernel, so latency stays bounded. The seed wire (`--peer seed`) leaves it unset: its Python receiver takes each `recv` for a frame, and quarter-frame pieces are more chances to wake that `recv` mid-frame |
//! | `SO_RCVBUF` | not set: kernel autotuning (`--rcvbuf` sets it) | a fixed receive buffer also fixes the window: slower than autotuning on loopback, and much slower on a long, slow link (BENCHMARKS.md, "Measurements behind choices in the code") |
//! | `SO_KEEPALIVE` + `TCP_KEEPIDLE/INTVL/CNT` | 2 s, 1 s, 3 | a silent, vanished peer is detected in about 5 s |
//! | `TCP_USER_TIMEOUT` | 5 s | data unacknowledged for 5 s (peer gone mid-stream) fails the connection |
//! | `SO_RCVTIMEO` / `SO_SNDTIMEO` | 100 ms | blocking calls return regularly so loops see shutdown requests |
//! | `SO_REUSEADDR` | on (listening) | a restarted camera can listen again at once despite TIME_WAIT |
//! | `IPV6_V6ONLY` | off (listening on `[::]`) | one listener serves IPv4 and IPv6 viewers |
//!
//! Setting `SO_SNDBUF`/`SO_RCVBUF` turns off the kernel's buffer autotuning for that socket
//! (and the kernel doubles the value asked for); we size them from the frame size on
//! purpose for the send side (`--sndbuf 0` leaves autotuning in charge), and leave the
//! receive side to autotuning unless `--rcvbuf` asks otherwise.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::runtime::Backoff;

/// How often blocking socket calls return to check for shutdown.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
const KEEPALIVE_IDLE: Duration = Duration::from_secs(2);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
const KEEPALIVE_PROBES: u32 = 3;
const USER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const MIB: usize = 1024 * 1024;

/// Socket buffer sizes asked for on the command line (`None`: size from the frame).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferSizes {
    pub sndbuf: Option<usize>,
    pub rcvbuf: Option<usize>,
}

/// SO_SNDBUF for frames of `frame_len` bytes: four frames, clamped.
pub fn sndbuf_for_frame(frame_len: usize) -> usize {
    frame_len.saturating_mul(4).clamp(MIB, 64 * MIB)
}

/// TCP_NOTSENT_LOWAT for frames of `frame_len` bytes: a quarter frame, 128 KiB..1 MiB.
/// Unsent bytes in the kernel delay every newer frame on a slow link (at 10 frames/s of
/// 640x480, a whole frame of backlog would add 100 ms); anything newer waits in the
/// viewer's slot instead, where it can be replaced.
pub fn notsent_lowat_for_frame(frame_len: usize) -> u32 {
    (frame_len / 4).clamp(128 * 1024, MIB) as u32
}

/// Options every connected socket gets, whichever way it was made.
pub fn tune_connected(stream: &TcpStream) -> io::Result<()> {
    let socket = SockRef::from(stream);
    socket.set_tcp_nodelay(true)?;
    socket.set_keepalive(true)?;
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    socket.set_tcp_keepalive(&keepalive)?;
    socket.set_tcp_user_timeout(Some(USER_TIMEOUT))?;
    socket.set_read_timeout(Some(POLL_INTERVAL))?;
    socket.set_write_timeout(Some(POLL_INTERVAL))?;
    Ok(())
}

/// What the kernel granted for a socket buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferGrant {
    /// Left to the kernel's autotuning (asked for 0).
    Autotuned,
    /// Set; the kernel reports `granted` bytes usable (it doubles the request internally
    /// for bookkeeping, and without CAP_NET_ADMIN caps it at net.core.[wr]mem_max).
    Set { asked: usize, granted: usize },
}

impl BufferGrant {
    /// Whether the kernel gave less than asked (net.core.wmem_max/rmem_max too small).
    pub fn capped(&self) -> bool {
        matches!(self, BufferGrant::Set { asked, granted } if granted < asked)
    }
}

/// Sets SO_SNDBUF or SO_RCVBUF. As root (CAP_NET_ADMIN) the `*FORCE` variant lifts the
/// sysctl cap, which is tiny on Raspberry Pi OS (208 KiB); otherwise the plain option.
fn set_buffer(stream: &TcpStream, size: usize, send: bool) -> io::Result<BufferGrant> {
    use nix::sys::socket::{setsockopt, sockopt};
    if size == 0 {
        return Ok(BufferGrant::Autotuned);
    }
    let socket = SockRef::from(stream);
    let forced = if send {
        setsockopt(stream, sockopt::SndBufForce, &size)
    } else {
        setsockopt(stream, sockopt::RcvBufForce, &size)
    };
    if forced.is_err() {
        if send {
            socket.set_send_buffer_size(size)?;
        } else {
            socket.set_recv_buffer_size(size)?;
        }
    }
    // Linux reports twice the usable size.
    let reported = if send { socket.send_buffer_size()? } else { socket.recv_buffer_size()? };
    Ok(BufferGrant::Set { asked: size, granted: reported / 2 })
}

/// Sizes the send side for frames of `frame_len` bytes (`sndbuf` 0 = kernel autotuning)
/// and bounds the unsent backlog with TCP_NOTSENT_LOWAT.
pub fn tune_sender(stream: &TcpStream, frame_len: usize, sndbuf: Option<usize>) -> io::Result<BufferGrant> {
    let grant = set_buffer(stream, sndbuf.unwrap_or_else(|| sndbuf_for_frame(frame_len)), true)?;
    SockRef::from(stream).set_tcp_notsent_lowat(notsent_lowat_for_frame(frame_len))?;
    Ok(grant)
}

/// Sizes the send side of a seed-wire connection (`--peer seed`) like [`tune_sender`]'s
/// SO_SNDBUF, so a whole frame goes into the kernel in one write, and leaves
/// TCP_NOTSENT_LOWAT unset (see the table above).
pub fn tune_seed_sender(
    stream: &TcpStream,
    frame_len: usize,
    sndbuf: Option<usize>,
) -> io::Result<BufferGrant> {
    set_buffer(stream, sndbuf.unwrap_or_else(|| sndbuf_for_frame(frame_len)), true)
}

/// Sets the receive buffer if `--rcvbuf` asked for one; by default the kernel autotunes it.
pub fn tune_receiver(stream: &TcpStream, rcvbuf: Option<usize>) -> io::Result<BufferGrant> {
    set_buffer(stream, rcvbuf.unwrap_or(0), false)
}

/// Binds a listening socket (SO_REUSEADDR; dual-stack when the address is `[::]`). Accept
/// calls on it return every [`POLL_INTERVAL`] so the caller can check for shutdown.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(8)?;
    // Linux honours SO_RCVTIMEO on accept(2).
    socket.set_read_timeout(Some(POLL_INTERVAL))?;
    Ok(socket.into())
}

/// Waits up to [`POLL_INTERVAL`] for one connection (`None` if none came), tuned.
pub fn accept_once(listener: &TcpListener) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    match listener.accept() {
        Ok((stream, peer)) => {
            tune_connected(&stream)?;
            Ok(Some((stream, peer)))
        }
        Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(None),
        // The peer gave up between SYN and accept: not our problem.
        Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => Ok(None),
        // Out of file descriptors or memory (a flood of connections): wait for some to
        // close rather than end the run; said at most once a second.
        Err(e) if is_resource_shortage(&e) => {
            static LAST_WARNED_S: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let now_s = crate::media::now_us() / 1_000_000;
            if LAST_WARNED_S.swap(now_s, Ordering::Relaxed) != now_s {
                log::warn!("cannot accept connections now: {e}; waiting for some to close");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether `accept` failed for want of file descriptors or memory, which closing
/// connections gives back.
fn is_resource_shortage(e: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM)
    )
}

/// Waits for one connection, or `None` once `stop` is set.
pub fn accept(listener: &TcpListener, stop: &AtomicBool) -> io::Result<Option<(TcpStream, SocketAddr)>> {
    while !stop.load(Ordering::Relaxed) {
        if let Some(connection) = accept_once(listener)? {
            return Ok(Some(connection));
        }
    }
    Ok(None)
}

/// Whether an I/O error is the periodic wake-up of a socket timeout.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// One attempt: resolve `target` (HOST:PORT) and connect to the first address that answers.
pub fn connect_once(target: &str) -> io::Result<(TcpStream, SocketAddr)> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("'{target}' resolves to no address"));
    for addr in target.to_socket_addrs()? {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        match socket.connect_timeout(&addr.into(), CONNECT_TIMEOUT) {
            Ok(()) => {
                let stream: TcpStream = socket.into();
                tune_connected(&stream)?;
                return Ok((stream, addr));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Connects to `target`, retrying with backoff until it answers or `stop` is set; calls
/// `on_retry(attempt, error, delay)` once per failed attempt so the user sees why.
pub fn connect_with_retry(
    target: &str,
    stop: &AtomicBool,
    mut on_retry: impl FnMut(u32, &io::Error, Duration),
) -> Option<(TcpStream, SocketAddr)> {
    let mut backoff = Backoff::connect();
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match connect_once(target) {
            Ok(connected) => return Some(connected),
            Err(e) => {
                let delay = backoff.failed();
                on_retry(backoff.attempts(), &e, delay);
                sleep_unless(stop, delay);
            }
        }
    }
}

/// Sleeps for `duration`, waking early once `stop` is set.
pub fn sleep_unless(stop: &AtomicBool, duration: Duration) {
    let end = Instant::now() + duration;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_scale_with_the_frame_within_bounds() {
        assert_eq!(sndbuf_for_frame(1920 * 1080 * 3), 4 * 6_220_800);
        assert_eq!(sndbuf_for_frame(10), MIB);
        assert_eq!(notsent_lowat_for_frame(921_600), 230_400);
        assert_eq!(notsent_lowat_for_frame(6_220_800), MIB as u32);
        assert_eq!(notsent_lowat_for_frame(100), 128 * 1024);
    }

    #[test]
    fn tuned_sockets_carry_the_options() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, _) = connect_once(&addr.to_string()).unwrap();
        let stop = AtomicBool::new(false);
        let (server, _) = accept(&listener, &stop).unwrap().unwrap();
        let sent = tune_sender(&client, 921_600, None).unwrap();
        assert!(matches!(sent, BufferGrant::Set { asked: 3_686_400, .. }), "{sent:?}");
        assert_eq!(tune_receiver(&server, None).unwrap(), BufferGrant::Autotuned);
        let received = tune_receiver(&server, Some(4_194_304)).unwrap();
        assert!(matches!(received, BufferGrant::Set { asked: 4_194_304, .. }), "{received:?}");
        let c = SockRef::from(&client);
        assert!(c.tcp_nodelay().unwrap());
        assert!(c.keepalive().unwrap());
        assert_eq!(c.tcp_user_timeout().unwrap(), Some(USER_TIMEOUT));
        assert_eq!(c.tcp_notsent_lowat().unwrap(), 230_400);
        // Uncapped (root, or a large net.core.wmem_max) the kernel reports double the request.
        if !sent.capped() {
            assert!(c.send_buffer_size().unwrap() >= 2 * 3_686_400);
        }
        if !received.capped() {
            assert!(SockRef::from(&server).recv_buffer_size().unwrap() >= 2 * 4_194_304);
        }
    }

    #[test]
    fn accept_returns_none_once_stopped() {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let stop = AtomicBool::new(true);
        assert!(accept(&listener, &stop).unwrap().is_none());
    }
}
