//! Wire formats: which [`PixelFormat`]s a frame may travel in, and their codes, in one
//! table ([`WIRE_FORMATS`]): the code is byte 3 of a frame's header, and bit `code - 1`
//! stands for the format in a hello's format sets ([`FormatSet`]).
//!
//! Raw formats are tightly packed (no row padding) at the sender's geometry
//! ([`PixelFormat::tight_len`]); JPEG is one baseline JPEG image of that geometry; H.264 is
//! one access unit (Annex B) of a stream that starts at an IDR. The receiver converts or
//! decodes every one of them into the packed BGR frame it shows.

use std::fmt;

use crate::media::PixelFormat;

/// The wire's formats and their codes (docs/PROTOCOL.md §8).
pub const WIRE_FORMATS: [(PixelFormat, u8); 7] = [
    (PixelFormat::Bgr24, 1),
    (PixelFormat::Yuyv, 2),
    (PixelFormat::Uyvy, 3),
    (PixelFormat::Nv12, 4),
    (PixelFormat::I420, 5),
    (PixelFormat::Mjpeg, 6),
    (PixelFormat::H264, 7),
];

/// The wire code of `format`, if it can travel.
pub fn wire_code(format: PixelFormat) -> Option<u8> {
    WIRE_FORMATS.iter().find(|(f, _)| *f == format).map(|(_, code)| *code)
}

/// The format a wire code names.
pub fn from_wire_code(code: u8) -> Option<PixelFormat> {
    WIRE_FORMATS.iter().find(|(_, c)| *c == code).map(|(f, _)| *f)
}

/// The longest payload of `format` at `width` x `height`: a raw frame's exact tight size;
/// a JPEG may be at most as long as the raw BGR frame (a sender whose JPEG comes out
/// larger sends BGR instead); an H.264 unit as long as the raw BGR frame or
/// [`H264_MIN_BOUND`], whichever is more (its parameter sets and macroblock headers
/// outweigh a tiny picture; at any sane bitrate a unit stays far below the bound).
pub fn max_len(format: PixelFormat, width: u32, height: u32) -> usize {
    let bgr = PixelFormat::Bgr24.tight_len(width, height).unwrap_or(0);
    match format {
        PixelFormat::H264 => bgr.max(H264_MIN_BOUND),
        _ => format.tight_len(width, height).unwrap_or(bgr),
    }
}

/// The bound of an H.264 unit's length at any geometry.
pub const H264_MIN_BOUND: usize = 64 * 1024;

/// A set of wire formats, as carried in a hello (bit `code - 1` per format).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FormatSet(u16);

impl FormatSet {
    pub const EMPTY: FormatSet = FormatSet(0);
    /// Every bit a version-3 hello may set.
    pub const KNOWN_BITS: u16 = (1 << WIRE_FORMATS.len()) - 1;

    /// The set of one format (empty for a format the wire does not carry).
    pub fn only(format: PixelFormat) -> Self {
        FormatSet(wire_code(format).map_or(0, |code| 1 << (code - 1)))
    }

    pub fn of(formats: &[PixelFormat]) -> Self {
        formats.iter().fold(FormatSet::EMPTY, |set, &f| set.with(f))
    }

    /// Every format this version knows.
    pub fn all() -> Self {
        FormatSet(Self::KNOWN_BITS)
    }

    pub fn with(self, format: PixelFormat) -> Self {
        FormatSet(self.0 | FormatSet::only(format).0)
    }

    pub fn contains(self, format: PixelFormat) -> bool {
        let bit = FormatSet::only(format).0;
        bit != 0 && self.0 & bit != 0
    }

    pub fn intersect(self, other: FormatSet) -> Self {
        FormatSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The set a hello's bits name, if every bit is a known format.
    pub fn from_bits(bits: u16) -> Option<Self> {
        (bits & !Self::KNOWN_BITS == 0).then_some(FormatSet(bits))
    }

    pub fn iter(self) -> impl Iterator<Item = PixelFormat> {
        WIRE_FORMATS.into_iter().map(|(f, _)| f).filter(move |f| self.contains(*f))
    }
}

impl fmt::Display for FormatSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, format) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(format.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_bits_round_trip() {
        for (format, code) in WIRE_FORMATS {
            assert_eq!((wire_code(format), from_wire_code(code)), (Some(code), Some(format)));
            assert!(FormatSet::only(format).contains(format));
        }
        assert_eq!(from_wire_code(0), None);
        assert_eq!(from_wire_code(8), None);
        assert!(!FormatSet::all().contains(PixelFormat::Rgb24), "RGB3 does not travel");
        let set = FormatSet::of(&[PixelFormat::Bgr24, PixelFormat::Mjpeg]);
        assert_eq!(set.bits(), 0b100001);
        assert_eq!(set.to_string(), "BGR3,JPEG");
        assert_eq!(FormatSet::from_bits(0b1000_0000), None, "an unknown format bit is refused");
    }

    #[test]
    fn raw_lengths_are_tightly_packed_with_chroma_rounded_up() {
        assert_eq!(PixelFormat::Bgr24.tight_len(640, 480), Some(921_600));
        assert_eq!(PixelFormat::Yuyv.tight_len(640, 480), Some(614_400));
        assert_eq!(PixelFormat::Nv12.tight_len(640, 480), Some(460_800));
        assert_eq!(PixelFormat::I420.tight_len(640, 480), Some(460_800));
        // Odd sizes keep their last chroma sample.
        assert_eq!(PixelFormat::Yuyv.tight_len(3, 1), Some(8));
        assert_eq!(PixelFormat::I420.tight_len(3, 3), Some(9 + 2 * 4));
        assert_eq!(PixelFormat::Mjpeg.tight_len(640, 480), None);
        assert_eq!(max_len(PixelFormat::Mjpeg, 640, 480), 921_600);
    }
}
