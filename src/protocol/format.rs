//! Wire formats: how a frame's pixels travel, named in each frame header (byte 3) and
//! offered in the hellos as bit sets.
//!
//! Raw formats are tightly packed (no row padding) at the sender's geometry; JPEG is one
//! baseline JPEG image of that geometry. The receiver converts every one of them into the
//! packed BGR frame it shows.

use std::fmt;

/// One wire format. The discriminant is the code in a frame header's byte 3; bit
/// `code - 1` stands for it in a hello's format sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// Packed B, G, R bytes (V4L2 `BGR3`): what every receiver shows.
    Bgr24 = 1,
    /// Packed 4:2:2, Y0 U Y1 V (`YUYV`).
    Yuyv = 2,
    /// Packed 4:2:2, U Y0 V Y1 (`UYVY`).
    Uyvy = 3,
    /// Semi-planar 4:2:0: Y plane, then interleaved U V (`NV12`).
    Nv12 = 4,
    /// Planar 4:2:0: Y, then U, then V planes (`I420`, V4L2 `YU12`).
    I420 = 5,
    /// One baseline JPEG image per frame.
    Jpeg = 6,
}

impl WireFormat {
    pub const ALL: [WireFormat; 6] = [
        WireFormat::Bgr24,
        WireFormat::Yuyv,
        WireFormat::Uyvy,
        WireFormat::Nv12,
        WireFormat::I420,
        WireFormat::Jpeg,
    ];

    pub const fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == code)
    }

    pub const fn name(self) -> &'static str {
        match self {
            WireFormat::Bgr24 => "BGR3",
            WireFormat::Yuyv => "YUYV",
            WireFormat::Uyvy => "UYVY",
            WireFormat::Nv12 => "NV12",
            WireFormat::I420 => "I420",
            WireFormat::Jpeg => "JPEG",
        }
    }

    /// The exact payload length of a raw frame of `width` x `height`, tightly packed;
    /// `None` for JPEG, whose length varies (bounded by [`WireFormat::max_len`]).
    pub fn exact_len(self, width: u32, height: u32) -> Option<usize> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match self {
            WireFormat::Bgr24 => Some(w * h * 3),
            WireFormat::Yuyv | WireFormat::Uyvy => Some(cw * 4 * h),
            WireFormat::Nv12 => Some(w * h + cw * 2 * ch),
            WireFormat::I420 => Some(w * h + 2 * cw * ch),
            WireFormat::Jpeg => None,
        }
    }

    /// The longest payload of this format at `width` x `height`: a JPEG may be at most as
    /// long as the raw BGR frame (a sender whose encode comes out larger sends BGR instead).
    pub fn max_len(self, width: u32, height: u32) -> usize {
        self.exact_len(width, height).unwrap_or_else(|| WireFormat::Bgr24.max_len(width, height))
    }
}

impl fmt::Display for WireFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of wire formats, as carried in a hello (bit `code - 1` per format).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FormatSet(u16);

impl FormatSet {
    pub const EMPTY: FormatSet = FormatSet(0);
    /// Every bit a version-2 hello may set.
    pub const KNOWN_BITS: u16 = (1 << WireFormat::ALL.len()) - 1;

    pub fn only(format: WireFormat) -> Self {
        FormatSet(1 << (format.code() - 1))
    }

    pub fn of(formats: &[WireFormat]) -> Self {
        formats.iter().fold(FormatSet::EMPTY, |set, &f| set.with(f))
    }

    /// Every format this version knows.
    pub fn all() -> Self {
        FormatSet(Self::KNOWN_BITS)
    }

    pub fn with(self, format: WireFormat) -> Self {
        FormatSet(self.0 | FormatSet::only(format).0)
    }

    pub fn contains(self, format: WireFormat) -> bool {
        self.0 & FormatSet::only(format).0 != 0
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

    pub fn iter(self) -> impl Iterator<Item = WireFormat> {
        WireFormat::ALL.into_iter().filter(move |f| self.contains(*f))
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
        for format in WireFormat::ALL {
            assert_eq!(WireFormat::from_code(format.code()), Some(format));
            assert!(FormatSet::only(format).contains(format));
        }
        assert_eq!(WireFormat::from_code(0), None);
        assert_eq!(WireFormat::from_code(7), None);
        let set = FormatSet::of(&[WireFormat::Bgr24, WireFormat::Jpeg]);
        assert_eq!(set.bits(), 0b100001);
        assert_eq!(set.to_string(), "BGR3,JPEG");
        assert_eq!(FormatSet::from_bits(0b1000000), None, "an unknown format bit is refused");
    }

    #[test]
    fn raw_lengths_are_tightly_packed_with_chroma_rounded_up() {
        assert_eq!(WireFormat::Bgr24.exact_len(640, 480), Some(921_600));
        assert_eq!(WireFormat::Yuyv.exact_len(640, 480), Some(614_400));
        assert_eq!(WireFormat::Nv12.exact_len(640, 480), Some(460_800));
        assert_eq!(WireFormat::I420.exact_len(640, 480), Some(460_800));
        // Odd sizes keep their last chroma sample.
        assert_eq!(WireFormat::Yuyv.exact_len(3, 1), Some(8));
        assert_eq!(WireFormat::I420.exact_len(3, 3), Some(9 + 2 * 4));
        assert_eq!(WireFormat::Jpeg.exact_len(640, 480), None);
        assert_eq!(WireFormat::Jpeg.max_len(640, 480), 921_600);
    }
}
