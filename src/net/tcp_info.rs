//! What the kernel knows about a connection's link (`TCP_INFO`), for `--wire auto`: whether
//! the link is idle (a probe waits for that) and how many bytes the next hop acknowledged;
//! and how many bytes wait to be read (`FIONREAD`), for the receiver's reports.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;

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

/// Bytes that have arrived on `stream` and wait to be read (0 if the kernel will not say).
pub fn bytes_waiting(stream: &TcpStream) -> usize {
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which is valid for the call.
    let result = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut waiting) };
    if result == 0 {
        usize::try_from(waiting).unwrap_or(0)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    #[test]
    fn a_loopback_connection_reports_acked_bytes_goes_idle_and_counts_bytes_waiting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let before = state(&client).unwrap();
        client.write_all(&[7u8; 1000]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while bytes_waiting(&server) < 1000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(bytes_waiting(&server), 1000);
        let mut buf = [0u8; 600];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(bytes_waiting(&server), 400);
        while !state(&client).unwrap().idle() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let after = state(&client).unwrap();
        assert!(after.idle());
        assert_eq!(after.bytes_acked - before.bytes_acked, 1000);
    }
}
