//! The coded formats the M2M layer drives, and what it must know of each bitstream: its
//! fourcc, how a keyframe shows, and whether a buffer holds only stream headers. H.264 is
//! what the Pi's bcm2835-codec makes; FWHT is what the kernel's test codec, vicodec, makes,
//! so the rig runs the same code path as a Pi.

use crate::codec::h264::{nal_units, NalType};

use super::sys::{FLAG_KEYFRAME, FOURCC_FWHT, FOURCC_H264};

/// A coded format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coded {
    H264,
    /// vicodec's Fast Walsh-Hadamard Transform codec.
    Fwht,
}

/// FWHT's frame header: 44 bytes, big-endian fields, flags at byte 20 (`fwht_cframe_hdr`,
/// drivers/media/test-drivers/vicodec/codec-fwht.h); `V4L2_FWHT_FL_I_FRAME` is bit 10.
const FWHT_HEADER: usize = 44;
const FWHT_FLAGS_AT: usize = 20;
const FWHT_I_FRAME: u32 = 1 << 10;

impl Coded {
    pub fn fourcc(self) -> u32 {
        match self {
            Coded::H264 => FOURCC_H264,
            Coded::Fwht => FOURCC_FWHT,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Coded::H264 => "H.264",
            Coded::Fwht => "FWHT",
        }
    }

    /// Whether a coded buffer is a picture a decoder can start at: the driver's
    /// `V4L2_BUF_FLAG_KEYFRAME` (bcm2835 sets it), else the bitstream's own mark (an IDR
    /// slice; FWHT's I-frame flag, as vicodec sets no flag).
    pub fn is_keyframe(self, flags: u32, bytes: &[u8]) -> bool {
        if flags & FLAG_KEYFRAME != 0 {
            return true;
        }
        match self {
            Coded::H264 => nal_units(bytes).any(|nal| NalType::of(nal[0]) == NalType::Idr),
            Coded::Fwht => {
                bytes.len() >= FWHT_HEADER
                    && u32::from_be_bytes([
                        bytes[FWHT_FLAGS_AT],
                        bytes[FWHT_FLAGS_AT + 1],
                        bytes[FWHT_FLAGS_AT + 2],
                        bytes[FWHT_FLAGS_AT + 3],
                    ]) & FWHT_I_FRAME
                        != 0
            }
        }
    }

    /// Whether a buffer holds stream headers and no picture (H.264 SPS/PPS alone, as an
    /// encoder in `HEADER_MODE_SEPARATE` gives them): kept and put in front of the next
    /// picture, so every unit pistream passes on is a whole access unit.
    pub fn headers_only(self, bytes: &[u8]) -> bool {
        match self {
            Coded::H264 => {
                let mut units = nal_units(bytes).peekable();
                units.peek().is_some()
                    && units.all(|nal| matches!(NalType::of(nal[0]), NalType::Sps | NalType::Pps))
            }
            Coded::Fwht => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_and_header_buffers_are_told_from_the_bitstream() {
        let sps_pps = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3];
        let idr = [0, 0, 0, 1, 0x65, 9, 9];
        let slice = [0, 0, 0, 1, 0x41, 9, 9];
        assert!(Coded::H264.headers_only(&sps_pps));
        assert!(!Coded::H264.headers_only(&[&sps_pps[..], &idr[..]].concat()));
        assert!(!Coded::H264.headers_only(&[]));
        assert!(Coded::H264.is_keyframe(0, &[&sps_pps[..], &idr[..]].concat()));
        assert!(!Coded::H264.is_keyframe(0, &slice));
        assert!(Coded::H264.is_keyframe(FLAG_KEYFRAME, &slice), "the driver's flag wins");
        let mut fwht = vec![0u8; 60];
        assert!(!Coded::Fwht.is_keyframe(0, &fwht));
        fwht[22] = 0x04; // bit 10 of the big-endian flags at 20
        assert!(Coded::Fwht.is_keyframe(0, &fwht));
        assert!(!Coded::Fwht.is_keyframe(0, &fwht[..40]), "a cut header is no keyframe");
    }
}
