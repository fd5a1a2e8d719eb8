//! What WebRTC serves with: `--webrtc-port` (UDP; by default the camera's own port number)
//! and `--webrtc-candidate` (the addresses a browser is told to send to).

use std::net::{IpAddr, SocketAddr};

/// One `--webrtc-candidate`: the machine's own addresses, or an address it cannot see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateSpec {
    /// `auto`: every address of this machine's interfaces that are up (loopback only for a
    /// client on loopback), read at each offer, so addresses DHCP gives later count.
    Auto,
    /// An address that leads to this machine's WebRTC port: a NAT's public address and its
    /// forwarded port, a container's host. Without a port, the WebRTC port.
    Address(IpAddr, Option<u16>),
}

impl CandidateSpec {
    /// Parses one `--webrtc-candidate` value: `auto`, `IP` or `IP:PORT`.
    pub fn parse(text: &str) -> Result<CandidateSpec, String> {
        if text == "auto" {
            return Ok(CandidateSpec::Auto);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Self::checked(text, ip, None);
        }
        match text.parse::<SocketAddr>() {
            Ok(addr) if addr.port() != 0 => Self::checked(text, addr.ip(), Some(addr.port())),
            _ => Err(format!(
                "--webrtc-candidate {text}: give auto (this machine's addresses), an IP address or IP:PORT (e.g. 203.0.113.7:5678, a router's forwarded port)"
            )),
        }
    }

    fn checked(text: &str, ip: IpAddr, port: Option<u16>) -> Result<CandidateSpec, String> {
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(format!(
                "--webrtc-candidate {text}: give an address a browser can send to, not {ip}"
            ));
        }
        if ip.is_ipv6() {
            return Err(format!("--webrtc-candidate {text}: WebRTC here is IPv4 only for now"));
        }
        Ok(CandidateSpec::Address(ip, port))
    }
}

/// The WebRTC settings of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebrtcSettings {
    /// `--webrtc-port`: the UDP port (None: the camera's own port number).
    pub port: Option<u16>,
    /// `--webrtc-candidate`, in order (default: `auto` alone).
    pub candidates: Vec<CandidateSpec>,
    /// `--webrtc off`: no WHEP, the page plays MJPEG.
    pub enabled: bool,
}

impl Default for WebrtcSettings {
    fn default() -> Self {
        WebrtcSettings { port: None, candidates: vec![CandidateSpec::Auto], enabled: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_parse_and_bad_ones_say_what_to_give() {
        assert_eq!(CandidateSpec::parse("auto"), Ok(CandidateSpec::Auto));
        assert_eq!(
            CandidateSpec::parse("203.0.113.7:40000"),
            Ok(CandidateSpec::Address([203, 0, 113, 7].into(), Some(40000)))
        );
        assert_eq!(CandidateSpec::parse("10.0.0.2"), Ok(CandidateSpec::Address([10, 0, 0, 2].into(), None)));
        for bad in ["pi.local", "0.0.0.0", "10.0.0.2:0", "224.0.0.1", ""] {
            let e = CandidateSpec::parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("--webrtc-candidate {bad}: give")), "{e}");
        }
    }
}
