//! The session description DESCRIBE answers with (RFC 4566, RFC 6184 section 8): one H.264
//! video track, packetization mode 1, its profile and level and its parameter sets from the
//! stream's own SPS and PPS. Pure.

use base64::Engine as _;

use super::rtp::PAYLOAD_TYPE;
use crate::codec::h264::{nal_units, NalType};

/// The SPS and PPS of a stream, as its encoder makes them (NAL units without start codes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterSets {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
}

impl ParameterSets {
    /// The first SPS and PPS in an access unit (a keyframe has them in front).
    pub fn of(unit: &[u8]) -> Option<ParameterSets> {
        let sps = nal_units(unit).find(|n| NalType::of(n[0]) == NalType::Sps)?;
        let pps = nal_units(unit).find(|n| NalType::of(n[0]) == NalType::Pps)?;
        (sps.len() >= 4).then(|| ParameterSets { sps: sps.to_vec(), pps: pps.to_vec() })
    }

    /// `profile-level-id`: the SPS's profile_idc, constraint flags and level_idc, in hex.
    pub fn profile_level_id(&self) -> String {
        format!("{:02X}{:02X}{:02X}", self.sps[1], self.sps[2], self.sps[3])
    }
}

/// The SDP of a stream: `server_ip` is the address the client reached (for `o=`), `fps`
/// the stream's frame rate (0 when unknown).
pub fn describe(sets: &ParameterSets, server_ip: std::net::IpAddr, session_id: u64, fps: f64) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let family = if server_ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut sdp = format!(
        "v=0\r\n\
         o=- {session_id} 1 IN {family} {server_ip}\r\n\
         s=pistream\r\n\
         c=IN {family} {any}\r\n\
         t=0 0\r\n\
         a=tool:pistream {version}\r\n\
         a=range:npt=now-\r\n\
         a=control:*\r\n\
         m=video 0 RTP/AVP {pt}\r\n\
         a=rtpmap:{pt} H264/90000\r\n\
         a=fmtp:{pt} packetization-mode=1;profile-level-id={pli};sprop-parameter-sets={sps},{pps}\r\n",
        any = if server_ip.is_ipv4() { "0.0.0.0" } else { "::" },
        version = env!("CARGO_PKG_VERSION"),
        pt = PAYLOAD_TYPE,
        pli = sets.profile_level_id(),
        sps = b64.encode(&sets.sps),
        pps = b64.encode(&sets.pps),
    );
    if fps > 0.0 {
        sdp.push_str(&format!("a=framerate:{}\r\n", (fps * 1000.0).round() / 1000.0));
    }
    sdp.push_str(&format!("a=control:{TRACK}\r\n"));
    sdp
}

/// The one track's control URL, relative to the stream's (`rtsp://pi:8554/stream/trackID=0`).
pub const TRACK: &str = "trackID=0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdp_carries_the_stream_s_own_parameter_sets() {
        let unit = [
            &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda][..],
            &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80],
            &[0, 0, 1, 0x65, 1, 2, 3],
        ]
        .concat();
        let sets = ParameterSets::of(&unit).unwrap();
        assert_eq!(sets.profile_level_id(), "42C01F");
        let sdp = describe(&sets, "10.0.0.2".parse().unwrap(), 7, 30.0);
        assert!(sdp.contains("o=- 7 1 IN IP4 10.0.0.2\r\n"), "{sdp}");
        assert!(sdp.contains("m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"), "{sdp}");
        assert!(
            sdp.contains("a=fmtp:96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH9o=,aM48gA==\r\n"),
            "{sdp}"
        );
        assert!(sdp.ends_with("a=framerate:30\r\na=control:trackID=0\r\n"), "{sdp}");
        assert_eq!(ParameterSets::of(&unit[18..]), None, "no SPS");
    }
}
