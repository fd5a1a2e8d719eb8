//! Which addresses a session's browser is told to send to (its local ICE candidates): the
//! `--webrtc-candidate` list with `auto` standing for this machine's own addresses, read
//! at each offer. [`candidates`] decides (pure); [`interface_addresses`] reads the
//! interfaces.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::settings::CandidateSpec;

/// The candidates of one session, in order, without repeats: for `auto`, the address the
/// client reached the camera's HTTP side on first, then the interfaces' (loopback ones only
/// for a client on loopback, link-local ones never); given addresses as they are, on
/// `port` when they name none.
pub fn candidates(
    specs: &[CandidateSpec],
    port: u16,
    client: IpAddr,
    reached_on: IpAddr,
    interfaces: &[Ipv4Addr],
) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    let mut push = |addr: SocketAddr| {
        if !out.contains(&addr) {
            out.push(addr);
        }
    };
    for spec in specs {
        match *spec {
            CandidateSpec::Auto => {
                let loopback_client = client.is_loopback();
                let reached_on = match reached_on {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
                    v4 => Some(v4),
                };
                let usable = |ip: &Ipv4Addr| {
                    !ip.is_link_local() && !ip.is_unspecified() && ip.is_loopback() == loopback_client
                };
                if let Some(IpAddr::V4(ip)) =
                    reached_on.filter(|ip| matches!(ip, IpAddr::V4(v4) if usable(v4)))
                {
                    push(SocketAddr::from((ip, port)));
                }
                for ip in interfaces.iter().filter(|ip| usable(ip)) {
                    push(SocketAddr::from((*ip, port)));
                }
            }
            CandidateSpec::Address(ip, given_port) => push(SocketAddr::new(ip, given_port.unwrap_or(port))),
        }
    }
    out
}

/// The IPv4 addresses of this machine's interfaces that are up.
pub fn interface_addresses() -> Vec<Ipv4Addr> {
    use nix::net::if_::InterfaceFlags;
    let Ok(addresses) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    addresses
        .filter(|a| a.flags.contains(InterfaceFlags::IFF_UP))
        .filter_map(|a| a.address?.as_sockaddr_in().map(|s| s.ip()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAN: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 5);
    const DOCKER: Ipv4Addr = Ipv4Addr::new(172, 17, 0, 1);
    const LINK_LOCAL: Ipv4Addr = Ipv4Addr::new(169, 254, 3, 4);
    const INTERFACES: [Ipv4Addr; 4] = [Ipv4Addr::LOCALHOST, LINK_LOCAL, DOCKER, LAN];

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn auto_puts_the_address_the_client_used_first_and_skips_loopback_and_link_local() {
        let got = candidates(
            &[CandidateSpec::Auto],
            5678,
            "192.168.1.20".parse().unwrap(),
            LAN.into(),
            &INTERFACES,
        );
        assert_eq!(got, addrs(&["192.168.1.5:5678", "172.17.0.1:5678"]));
    }

    #[test]
    fn a_loopback_client_gets_loopback_only() {
        let got = candidates(
            &[CandidateSpec::Auto],
            5678,
            "127.0.0.1".parse().unwrap(),
            Ipv4Addr::LOCALHOST.into(),
            &INTERFACES,
        );
        assert_eq!(got, addrs(&["127.0.0.1:5678"]));
    }

    #[test]
    fn given_addresses_take_the_webrtc_port_unless_they_name_one_and_replace_auto_unless_it_is_listed() {
        let nat = CandidateSpec::Address("203.0.113.7".parse().unwrap(), Some(40000));
        let host = CandidateSpec::Address("10.0.0.9".parse().unwrap(), None);
        let client = "198.51.100.1".parse().unwrap();
        assert_eq!(
            candidates(&[nat, host], 5678, client, LAN.into(), &INTERFACES),
            addrs(&["203.0.113.7:40000", "10.0.0.9:5678"])
        );
        assert_eq!(
            candidates(&[CandidateSpec::Auto, nat], 5678, client, LAN.into(), &INTERFACES),
            addrs(&["192.168.1.5:5678", "172.17.0.1:5678", "203.0.113.7:40000"])
        );
    }
}
