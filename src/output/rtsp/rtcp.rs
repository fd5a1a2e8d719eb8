//! RTCP (RFC 3550 section 6): the sender report pistream sends about once a second, which
//! maps the stream's RTP time to wall-clock time (NVRs timestamp recordings by it), with
//! the SDES CNAME a compound packet must carry; and what a receiver report says. Pure.

/// Seconds from 1900 (NTP's epoch) to 1970 (UNIX's).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
/// The canonical name in every report.
const CNAME: &[u8] = b"pistream";

/// A sender report and SDES chunk for a stream: `at_us` (wall clock, µs since the UNIX
/// epoch) is RTP time `rtp_time`. Written into `out` (cleared first), ready to send.
pub(super) fn sender_report(
    ssrc: u32,
    at_us: u64,
    rtp_time: u32,
    packets: u32,
    octets: u32,
    out: &mut Vec<u8>,
) {
    out.clear();
    let seconds = at_us / 1_000_000 + NTP_UNIX_OFFSET;
    let fraction = ((at_us % 1_000_000) << 32) / 1_000_000;
    out.extend_from_slice(&[0x80, SR, 0, 6]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&(seconds as u32).to_be_bytes());
    out.extend_from_slice(&(fraction as u32).to_be_bytes());
    out.extend_from_slice(&rtp_time.to_be_bytes());
    out.extend_from_slice(&packets.to_be_bytes());
    out.extend_from_slice(&octets.to_be_bytes());
    // SDES: one chunk (the SSRC, CNAME, the end item), padded to 32 bits.
    let items = 2 + CNAME.len() + 1;
    let chunk = 4 + items.div_ceil(4) * 4;
    out.extend_from_slice(&[0x81, SDES]);
    out.extend_from_slice(&((chunk / 4) as u16).to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(1);
    out.push(CNAME.len() as u8);
    out.extend_from_slice(CNAME);
    out.resize(out.len() + (chunk - 4 - 2 - CNAME.len()), 0);
}

/// What a receiver's RTCP packet said, as far as pistream cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ReceiverReport {
    /// Its report blocks' cumulative number of packets lost (the first block).
    pub lost: Option<u32>,
    /// Whether the packet was a well-formed RTCP compound packet with a receiver report.
    pub is_report: bool,
}

/// Reads an RTCP compound packet from a receiver (anything else is not a report).
pub(super) fn read_report(mut packet: &[u8]) -> ReceiverReport {
    let mut report = ReceiverReport::default();
    while packet.len() >= 4 {
        if packet[0] >> 6 != 2 {
            return ReceiverReport::default();
        }
        let len = (usize::from(u16::from_be_bytes([packet[2], packet[3]])) + 1) * 4;
        if len > packet.len() {
            return ReceiverReport::default();
        }
        let (this, rest) = packet.split_at(len);
        if this[1] == RR {
            report.is_report = true;
            let blocks = this[0] & 0x1f;
            if blocks > 0 && this.len() >= 8 + 24 {
                let b = &this[8..];
                report.lost = Some(u32::from_be_bytes([0, b[5], b[6], b[7]]));
            }
        }
        packet = rest;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_report_maps_rtp_time_to_ntp_time() {
        let mut out = Vec::new();
        sender_report(0xaabbccdd, 1_700_000_000_500_000, 12345, 7, 9000, &mut out);
        assert_eq!(out.len() % 4, 0);
        assert_eq!(&out[..4], &[0x80, 200, 0, 6]);
        assert_eq!(
            u32::from_be_bytes(out[8..12].try_into().unwrap()),
            (1_700_000_000u64 + NTP_UNIX_OFFSET) as u32
        );
        assert_eq!(u32::from_be_bytes(out[12..16].try_into().unwrap()), 1 << 31, "half a second");
        assert_eq!(u32::from_be_bytes(out[16..20].try_into().unwrap()), 12345);
        assert_eq!(u32::from_be_bytes(out[20..24].try_into().unwrap()), 7);
        assert_eq!(u32::from_be_bytes(out[24..28].try_into().unwrap()), 9000);
        // SDES after the 28-byte SR, its length in words minus one.
        assert_eq!(out[28..30], [0x81, 202]);
        let sdes_words = u16::from_be_bytes([out[30], out[31]]) as usize;
        assert_eq!(28 + (sdes_words + 1) * 4, out.len());
        assert_eq!(&out[38..46], CNAME);
    }

    #[test]
    fn receiver_reports_are_read_and_junk_is_not_one() {
        let mut rr = vec![0x81, RR, 0, 7, 0, 0, 0, 1];
        rr.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd, 5, 0, 0, 42]);
        rr.extend_from_slice(&[0; 16]);
        assert_eq!(read_report(&rr), ReceiverReport { lost: Some(42), is_report: true });
        assert!(!read_report(&rr[..20]).is_report, "truncated");
        assert!(!read_report(b"\x00\x01\x02\x03").is_report);
        assert!(!read_report(&[]).is_report);
    }
}
