//! The one UDP socket every WebRTC session shares: bound to all IPv4 addresses on the
//! WebRTC port, non-blocking, and told (IP_PKTINFO) which local address each datagram was
//! sent to, which ICE needs to match a check to the candidate it was sent to.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use nix::libc;
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn};
use socket2::{Domain, MsgHdr, Protocol, SockAddr, SockRef, Socket, Type};

/// Send buffer: a 1080p keyframe (100 to 200 KB) leaves at once, unpaced, for every session.
const SEND_BUFFER: usize = 4 << 20;
const RECEIVE_BUFFER: usize = 1 << 20;

/// Bytes of one IP_PKTINFO control message: its `cmsghdr` and the `in_pktinfo` after it,
/// padded (`CMSG_SPACE`); `PKTINFO_LEN` without the padding (`CMSG_LEN`).
// SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic on their argument; nothing is read.
const PKTINFO_SPACE: usize = unsafe { libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) } as usize;
// SAFETY: as above.
const PKTINFO_LEN: usize = unsafe { libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) } as usize;
// SAFETY: as above. Where the `in_pktinfo` starts (`CMSG_DATA`'s offset).
const PKTINFO_DATA: usize = unsafe { libc::CMSG_LEN(0) } as usize;
// glibc's `cmsghdr`: a `size_t` length, then level and type; the data follows at CMSG_LEN(0).
const _: () = assert!(size_of::<libc::cmsghdr>() == size_of::<usize>() + 8);

/// A datagram read: its length, who sent it, and the local address it was sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Datagram {
    pub(super) len: usize,
    pub(super) source: SocketAddr,
    pub(super) local_ip: IpAddr,
}

/// The shared socket.
pub(super) struct MediaSocket {
    socket: UdpSocket,
    pub(super) port: u16,
}

impl MediaSocket {
    /// Binds `0.0.0.0:port` (0: any free port).
    pub(super) fn bind(port: u16) -> io::Result<MediaSocket> {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        socket.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())?;
        socket.set_nonblocking(true)?;
        // Best effort: the kernel caps them at net.core.[rw]mem_max.
        let _ = socket.set_send_buffer_size(SEND_BUFFER);
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
        let socket: UdpSocket = socket.into();
        setsockopt(&socket, sockopt::Ipv4PacketInfo, &true).map_err(io::Error::from)?;
        let port = socket.local_addr()?.port();
        Ok(MediaSocket { socket, port })
    }

    pub(super) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.socket.as_fd()
    }

    /// Room for one datagram's IP_PKTINFO, made once by its reader and reused (nix's
    /// `cmsg_space!` is a `Vec`: made per read, it would allocate on every wake-up).
    pub(super) fn control_space() -> Vec<u8> {
        nix::cmsg_space!(nix::libc::in_pktinfo)
    }

    /// The next datagram waiting, if any; `control` from [`MediaSocket::control_space`].
    #[allow(clippy::ptr_arg)] // nix's recvmsg takes the Vec itself: it reads its capacity.
    pub(super) fn receive(&self, buf: &mut [u8], control: &mut Vec<u8>) -> io::Result<Option<Datagram>> {
        let mut iov = [io::IoSliceMut::new(buf)];
        let message = match recvmsg::<SockaddrIn>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(control),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(message) => message,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(source) = message.address else { return Ok(None) };
        let mut local_ip = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        if let Ok(cmsgs) = message.cmsgs() {
            for cmsg in cmsgs {
                if let ControlMessageOwned::Ipv4PacketInfo(info) = cmsg {
                    local_ip = IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                }
            }
        }
        let source = SocketAddr::from((source.ip(), source.port()));
        Ok(Some(Datagram { len: message.bytes, source, local_ip }))
    }

    /// Sends one datagram from local address `from` (ICE wants the answer to a check to
    /// come from the address the check went to; the kernel alone would pick the route's
    /// address); from any address when `from` is not this machine's (a NAT's public one).
    /// A full buffer or an unreachable peer loses it, as UDP does (the receiver asks again:
    /// NACK, PLI). Whether it went.
    pub(super) fn send(&self, data: &[u8], from: SocketAddr, to: SocketAddr) -> bool {
        let (IpAddr::V4(source), SocketAddr::V4(to4)) = (from.ip(), to) else {
            return self.socket.send_to(data, to).is_ok();
        };
        let control = pktinfo_control(source);
        let iov = [io::IoSlice::new(data)];
        let address = SockAddr::from(to4);
        let message = MsgHdr::new().with_addr(&address).with_buffers(&iov).with_control(&control);
        match SockRef::from(&self.socket).sendmsg(&message, libc::MSG_DONTWAIT) {
            Ok(_) => true,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.socket.send_to(data, to).is_ok(),
            Err(_) => false,
        }
    }
}

/// The IP_PKTINFO control message asking the kernel to send from `source`
/// (`ipi_spec_dst`), laid out as `CMSG_FIRSTHDR` and `CMSG_DATA` place it. Built on the
/// stack for each datagram: nix's `sendmsg` builds the same in a `Vec`, an allocation per
/// packet on the media path.
fn pktinfo_control(source: Ipv4Addr) -> [u8; PKTINFO_SPACE] {
    let mut control = [0u8; PKTINFO_SPACE];
    let word = size_of::<usize>();
    control[..word].copy_from_slice(&PKTINFO_LEN.to_ne_bytes());
    control[word..word + 4].copy_from_slice(&libc::IPPROTO_IP.to_ne_bytes());
    control[word + 4..word + 8].copy_from_slice(&libc::IP_PKTINFO.to_ne_bytes());
    // in_pktinfo: ifindex 0 (any interface), spec_dst the source, addr unused on send.
    let spec_dst = PKTINFO_DATA + std::mem::offset_of!(libc::in_pktinfo, ipi_spec_dst);
    control[spec_dst..spec_dst + 4].copy_from_slice(&source.octets());
    control
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_says_which_local_address_it_was_sent_to() {
        let socket = MediaSocket::bind(0).unwrap();
        let mut control = MediaSocket::control_space();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        // 127.0.0.2 is loopback too: the local address is the one the client sent to.
        for to in ["127.0.0.1", "127.0.0.2"] {
            client.send_to(b"hello", (to, socket.port)).unwrap();
            let mut buf = [0u8; 64];
            let got = loop {
                if let Some(d) = socket.receive(&mut buf, &mut control).unwrap() {
                    break d;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            assert_eq!(
                got,
                Datagram { len: 5, source: client.local_addr().unwrap(), local_ip: to.parse().unwrap() }
            );
        }
        let mut buf = [0u8; 64];
        assert_eq!(socket.receive(&mut buf, &mut control).unwrap(), None);
    }

    #[test]
    fn a_datagram_leaves_from_the_local_address_asked() {
        let socket = MediaSocket::bind(0).unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let to = peer.local_addr().unwrap();
        // Left to itself the kernel answers 127.0.0.1 from 127.0.0.1; asked, from 127.0.0.2.
        for from in ["127.0.0.2", "127.0.0.1", "127.0.0.3"] {
            let from: SocketAddr = (from.parse::<IpAddr>().unwrap(), socket.port).into();
            assert!(socket.send(b"answer", from, to));
            let mut buf = [0u8; 64];
            let (len, source) = peer.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..len], source), (&b"answer"[..], from));
        }
    }
}
