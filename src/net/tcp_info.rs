//! What the kernel knows about a connection's link (`TCP_INFO`), for `--wire auto`'s probes:
//! whether the link is idle, and how fast a probe frame drains from it.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::libc;

/// The start of Linux's `struct tcp_info` (include/uapi/linux/tcp.h) up to
/// `tcpi_delivery_rate` (Linux 4.9): the C library's declaration stops before the fields
/// needed here.
#[repr(C)]
#[derive(Default)]
struct RawTcpInfo {
    state: u8,
    ca_state: u8,
    retransmits: u8,
    probes: u8,
    backoff: u8,
    options: u8,
    wscale: u8,
    /// Bit 0: `tcpi_delivery_rate_app_limited`.
    flags: u8,
    rto: u32,
    ato: u32,
    snd_mss: u32,
    rcv_mss: u32,
    unacked: u32,
    sacked: u32,
    lost: u32,
    retrans: u32,
    fackets: u32,
    last_data_sent: u32,
    last_ack_sent: u32,
    last_data_recv: u32,
    last_ack_recv: u32,
    pmtu: u32,
    rcv_ssthresh: u32,
    rtt: u32,
    rttvar: u32,
    snd_ssthresh: u32,
    snd_cwnd: u32,
    advmss: u32,
    reordering: u32,
    rcv_rtt: u32,
    rcv_space: u32,
    total_retrans: u32,
    pacing_rate: u64,
    max_pacing_rate: u64,
    bytes_acked: u64,
    bytes_received: u64,
    segs_out: u32,
    segs_in: u32,
    notsent_bytes: u32,
    min_rtt: u32,
    data_segs_in: u32,
    data_segs_out: u32,
    delivery_rate: u64,
}

/// A connection's sending side, as the kernel sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Segments sent and not yet acknowledged.
    pub unacked: u32,
    /// Bytes written and not yet sent.
    pub notsent: u32,
    /// Bytes the peer has acknowledged, in all.
    pub bytes_acked: u64,
    /// The smallest round-trip time seen, µs (the path's own delay, without queues).
    pub min_rtt_us: u32,
}

impl LinkState {
    /// Nothing in flight and nothing waiting: a probe measures the link, not a queue.
    pub fn idle(&self) -> bool {
        self.unacked == 0 && self.notsent == 0
    }
}

/// Reads `TCP_INFO`.
pub fn state(stream: &TcpStream) -> io::Result<LinkState> {
    let mut info = RawTcpInfo::default();
    let mut len = std::mem::size_of::<RawTcpInfo>() as libc::socklen_t;
    // SAFETY: `info` is a plain C struct of `len` bytes that the kernel fills (it writes at
    // most `len` bytes and reports how many in `len`); the fd is the stream's, open.
    let status = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut RawTcpInfo).cast(),
            &mut len,
        )
    };
    if status != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(LinkState {
        unacked: info.unacked,
        notsent: info.notsent_bytes,
        bytes_acked: info.bytes_acked,
        min_rtt_us: info.min_rtt,
    })
}

/// After a probe of `bytes` was written when `before` was taken (on an idle link), waits
/// until the peer has acknowledged it all (polling each millisecond, at most `limit`);
/// returns the rate it drained at, bytes per second.
pub fn drain_rate(
    stream: &TcpStream,
    before: LinkState,
    started: Instant,
    bytes: usize,
    limit: Duration,
) -> Option<f64> {
    let target = before.bytes_acked + bytes as u64;
    loop {
        let now = state(stream).ok()?;
        let elapsed = started.elapsed();
        if now.bytes_acked >= target {
            // One round trip of the time is the ACK of the last byte coming back, not the
            // link carrying bytes: leave out the path's own (smallest) round trip, or a short
            // probe on a fast link looks slow. Not the smoothed one: queues inflate it.
            let rtt = Duration::from_micros(u64::from(before.min_rtt_us));
            let carrying = elapsed.saturating_sub(rtt).max(Duration::from_micros(500));
            return Some(bytes as f64 / carrying.as_secs_f64());
        }
        if elapsed >= limit {
            return Some((now.bytes_acked - before.bytes_acked) as f64 / elapsed.as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_loopback_connection_reports_acked_bytes_and_goes_idle() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let before = state(&client).unwrap();
        let reader = std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            server.read_exact(&mut buf).unwrap();
        });
        let started = Instant::now();
        client.write_all(&vec![7u8; 1 << 20]).unwrap();
        let rate = drain_rate(&client, before, started, 1 << 20, Duration::from_secs(5)).unwrap();
        reader.join().unwrap();
        assert!(rate > 10e6, "loopback drains fast: {rate} B/s");
        assert!(state(&client).unwrap().idle());
    }
}
