//! RTP for H.264 (RFC 3550, RFC 6184): an access unit cut into packets. Pure: no I/O.
//!
//! Each NAL unit goes as a single NAL unit packet when it fits the payload limit, as FU-A
//! fragments when it does not; consecutive small NAL units (the SPS, PPS and SEI in front of
//! a keyframe) go together in one STAP-A. The marker bit is set on the access unit's last
//! packet; access unit delimiters are left out (RTP's timestamp and marker say as much).
//!
//! The payloads are not copied: a packet is its head (the 12-byte RTP header, an FU-A's two
//! bytes or a STAP-A's small NAL units, and in front of it all the 4-byte `$` frame of RTP
//! interleaved in the RTSP connection) in [`Packets::heads`], and a range of the access
//! unit itself. A sender writes head and payload with one vectored write. Both lists keep
//! their capacity from one unit to the next, so steady state allocates nothing.

use std::ops::Range;

use crate::codec::h264::{nal_units, NalType};

/// The RTP payload type of H.264 in pistream's SDP (dynamic).
pub const PAYLOAD_TYPE: u8 = 96;
/// The most bytes of payload in one packet: with the IP, UDP and RTP headers, under a
/// 1500-byte Ethernet MTU, with room for a VPN's or PPPoE's overhead.
pub const PAYLOAD_LIMIT: usize = 1400;
/// NAL units at most this long may be aggregated in a STAP-A (they are copied into its
/// head; parameter sets and SEI are tens of bytes).
const AGGREGATE_MAX: usize = 255;
const RTP_HEADER: usize = 12;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// One packet: `head` in [`Packets::heads`], then `payload` of the access unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketRef {
    pub head: Range<usize>,
    pub payload: Range<usize>,
}

/// The packets of one access unit.
#[derive(Debug, Default)]
pub struct Packets {
    pub heads: Vec<u8>,
    pub list: Vec<PacketRef>,
    /// Bytes of RTP payload in them (for RTCP's octet count).
    pub payload_bytes: usize,
}

impl Packets {
    /// Room for a keyframe's packets from the start.
    pub fn with_capacity(packets: usize) -> Packets {
        Packets {
            heads: Vec::with_capacity(packets * 20 + 512),
            list: Vec::with_capacity(packets),
            payload_bytes: 0,
        }
    }

    /// Packet `i`'s head and payload, from the unit it was cut from.
    pub fn parts<'a>(&'a self, unit: &'a [u8], i: usize) -> (&'a [u8], &'a [u8]) {
        let p = &self.list[i];
        (&self.heads[p.head.clone()], &unit[p.payload.clone()])
    }
}

/// Where packets go: their own UDP datagrams, or interleaved in the RTSP connection on a
/// channel (RFC 2326 10.12: `$`, the channel, the length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Datagram,
    Interleaved(u8),
}

/// One RTP stream's sender state: its SSRC and next sequence number.
#[derive(Clone, Debug)]
pub struct Packetizer {
    pub ssrc: u32,
    pub sequence: u16,
    /// Packets and payload bytes sent, for RTCP sender reports.
    pub packet_count: u32,
    pub octet_count: u32,
}

impl Packetizer {
    /// A stream starting at sequence number `sequence` with `ssrc` (both random, RFC 3550).
    pub fn new(ssrc: u32, sequence: u16) -> Packetizer {
        Packetizer { ssrc, sequence, packet_count: 0, octet_count: 0 }
    }

    /// Cuts `unit` (Annex B) into `out`'s packets, all at RTP time `timestamp`.
    pub fn cut(&mut self, unit: &[u8], timestamp: u32, framing: Framing, out: &mut Packets) {
        out.heads.clear();
        out.list.clear();
        out.payload_bytes = 0;
        let base = unit.as_ptr() as usize;
        let offset = |nal: &[u8]| nal.as_ptr() as usize - base;
        let mut nals = nal_units(unit).filter(|nal| NalType::of(nal[0]) != NalType::Aud).peekable();
        while let Some(nal) = nals.next() {
            // Aggregate this one and the small ones after it, when at least two fit.
            if nal.len() <= AGGREGATE_MAX {
                let mut size = 1 + 2 + nal.len();
                let mut count = 1;
                for next in nals.clone() {
                    if next.len() > AGGREGATE_MAX || size + 2 + next.len() > PAYLOAD_LIMIT {
                        break;
                    }
                    size += 2 + next.len();
                    count += 1;
                }
                if count >= 2 {
                    let head = self.begin(out, framing, size);
                    let nri = nal[0] & 0x60;
                    let mut max_nri = nri;
                    let indicator_at = out.heads.len();
                    out.heads.push(STAP_A);
                    for small in std::iter::once(nal).chain(nals.by_ref().take(count - 1)) {
                        max_nri = max_nri.max(small[0] & 0x60);
                        out.heads.extend_from_slice(&(small.len() as u16).to_be_bytes());
                        out.heads.extend_from_slice(small);
                    }
                    out.heads[indicator_at] = max_nri | STAP_A;
                    out.list.push(PacketRef { head: head..out.heads.len(), payload: 0..0 });
                    out.payload_bytes += size;
                    continue;
                }
            }
            let start = offset(nal);
            if nal.len() <= PAYLOAD_LIMIT {
                let head = self.begin(out, framing, nal.len());
                out.list.push(PacketRef { head: head..out.heads.len(), payload: start..start + nal.len() });
                out.payload_bytes += nal.len();
                continue;
            }
            // FU-A: the NAL header's F and NRI bits in the indicator, its type in the FU
            // header; the header byte itself is not sent.
            let chunk = PAYLOAD_LIMIT - 2;
            let mut at = 1;
            while at < nal.len() {
                let end = (at + chunk).min(nal.len());
                let head = self.begin(out, framing, 2 + end - at);
                let s = if at == 1 { 0x80 } else { 0 };
                let e = if end == nal.len() { 0x40 } else { 0 };
                out.heads.push(nal[0] & 0xE0 | FU_A);
                out.heads.push(s | e | nal[0] & 0x1F);
                out.list.push(PacketRef { head: head..out.heads.len(), payload: start + at..start + end });
                out.payload_bytes += 2 + end - at;
                at = end;
            }
        }
        // The marker on the last packet; then every packet's timestamp and sequence number.
        let count = out.list.len();
        for (i, packet) in out.list.iter().enumerate() {
            let rtp = packet.head.start + framing_len(framing);
            let header = &mut out.heads[rtp..rtp + RTP_HEADER];
            header[0] = 0x80;
            header[1] = PAYLOAD_TYPE | if i + 1 == count { 0x80 } else { 0 };
            header[2..4].copy_from_slice(&self.sequence.to_be_bytes());
            header[4..8].copy_from_slice(&timestamp.to_be_bytes());
            header[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
            self.sequence = self.sequence.wrapping_add(1);
        }
        self.packet_count = self.packet_count.wrapping_add(count as u32);
        self.octet_count = self.octet_count.wrapping_add(out.payload_bytes as u32);
    }

    /// Starts a packet's head: the `$` frame for `payload` bytes of payload and room for
    /// the RTP header (filled in once the unit's packets are known). Returns where it starts.
    fn begin(&self, out: &mut Packets, framing: Framing, payload: usize) -> usize {
        let start = out.heads.len();
        if let Framing::Interleaved(channel) = framing {
            out.heads.push(b'$');
            out.heads.push(channel);
            out.heads.extend_from_slice(&((RTP_HEADER + payload) as u16).to_be_bytes());
        }
        out.heads.extend_from_slice(&[0; RTP_HEADER]);
        start
    }
}

fn framing_len(framing: Framing) -> usize {
    match framing {
        Framing::Datagram => 0,
        Framing::Interleaved(_) => 4,
    }
}

/// RTP time (90 kHz) of a capture time in µs since the UNIX epoch, from a stream's random
/// `offset`.
pub fn timestamp(captured_us: u64, offset: u32) -> u32 {
    ((u128::from(captured_us) * 9 / 100) as u32).wrapping_add(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An access unit of NAL units `nals` with 4-byte start codes.
    fn annexb(nals: &[Vec<u8>]) -> Vec<u8> {
        nals.iter().flat_map(|n| [&[0, 0, 0, 1][..], n].concat()).collect()
    }

    fn nal(header: u8, len: usize) -> Vec<u8> {
        let mut n = vec![header];
        n.extend((1..len).map(|i| (i % 251) as u8 + 1));
        n
    }

    /// Reassembles the NAL units from packets as a receiver would (RFC 6184 5.7, 5.8).
    fn depacketize(packets: &Packets, unit: &[u8], framing: Framing) -> (Vec<Vec<u8>>, Vec<bool>) {
        let mut nals = Vec::new();
        let mut markers = Vec::new();
        let mut fu: Option<Vec<u8>> = None;
        for i in 0..packets.list.len() {
            let (head, payload) = packets.parts(unit, i);
            let packet = [head, payload].concat();
            let rtp = match framing {
                Framing::Interleaved(ch) => {
                    assert_eq!(packet[..2], [b'$', ch]);
                    assert_eq!(u16::from_be_bytes([packet[2], packet[3]]) as usize, packet.len() - 4);
                    &packet[4..]
                }
                Framing::Datagram => &packet[..],
            };
            assert_eq!(rtp[0], 0x80);
            assert_eq!(rtp[1] & 0x7f, PAYLOAD_TYPE);
            markers.push(rtp[1] & 0x80 != 0);
            let body = &rtp[12..];
            assert!(body.len() <= PAYLOAD_LIMIT);
            match body[0] & 0x1f {
                STAP_A => {
                    let mut rest = &body[1..];
                    while !rest.is_empty() {
                        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                        nals.push(rest[2..2 + len].to_vec());
                        rest = &rest[2 + len..];
                    }
                }
                FU_A => {
                    let (start, end) = (body[1] & 0x80 != 0, body[1] & 0x40 != 0);
                    if start {
                        fu = Some(vec![body[0] & 0xe0 | body[1] & 0x1f]);
                    }
                    fu.as_mut().unwrap().extend_from_slice(&body[2..]);
                    if end {
                        nals.push(fu.take().unwrap());
                    }
                }
                _ => nals.push(body.to_vec()),
            }
        }
        (nals, markers)
    }

    #[test]
    fn a_keyframe_comes_back_whole_from_its_packets_with_one_marker() {
        let nals = vec![nal(0x67, 12), nal(0x68, 4), nal(0x06, 30), nal(0x65, 5000), nal(0x65, 900)];
        let unit = annexb(&[vec![0x09, 0xf0]].into_iter().chain(nals.clone()).collect::<Vec<_>>());
        for framing in [Framing::Datagram, Framing::Interleaved(4)] {
            let mut p = Packetizer::new(0x1234_5678, 65534);
            let mut out = Packets::default();
            p.cut(&unit, 777, framing, &mut out);
            let (back, markers) = depacketize(&out, &unit, framing);
            assert_eq!(back, nals, "the NAL units, the delimiter left out");
            // SPS+PPS+SEI in one STAP-A, 5000 bytes in 4 FU-As, 900 in one packet.
            assert_eq!(out.list.len(), 1 + 4 + 1);
            assert_eq!(markers, [false, false, false, false, false, true]);
            assert_eq!(p.sequence, 4, "sequence numbers wrap");
            assert_eq!(p.packet_count, 6);
            let first = out.parts(&unit, 0).0;
            let rtp = &first[if framing == Framing::Datagram { 0 } else { 4 }..];
            assert_eq!(rtp[2..12], [0xff, 0xfe, 0, 0, 3, 9, 0x12, 0x34, 0x56, 0x78]);
        }
    }

    #[test]
    fn a_large_nal_unit_is_not_copied_into_the_heads() {
        let unit = annexb(&[nal(0x41, 100_000)]);
        let mut out = Packets::default();
        Packetizer::new(1, 0).cut(&unit, 0, Framing::Datagram, &mut out);
        assert!(out.heads.len() < 20 * out.list.len());
        assert_eq!(out.list.len(), 100_000usize.div_ceil(PAYLOAD_LIMIT - 2));
        let (back, _) = depacketize(&out, &unit, Framing::Datagram);
        assert_eq!(back, [nal(0x41, 100_000)]);
    }

    #[test]
    fn rtp_time_runs_at_90_khz_from_the_capture_time() {
        assert_eq!(timestamp(1_000_000, 5), 90_005);
        assert_eq!(timestamp(2_000_000, 5).wrapping_sub(timestamp(1_000_000, 5)), 90_000);
    }
}
