//! The one pixel-format vocabulary: [`PixelFormat`] names how a picture's bytes are laid
//! out, by its V4L2 fourcc, wherever it is (a camera's capture, a frame on the wire, a
//! product made for a viewer), with the sizes of its tight layout; and the Y'CbCr range and
//! matrix that go with it. The pistream protocol's wire codes for these formats are one
//! table in `output::pistream::protocol::formats`. No pixels are touched here.

use std::fmt;

/// A pixel format, named by its V4L2 fourcc. `Display` prints the fourcc (what V4L2 tools
/// print: `YU12`, `MJPG`); [`PixelFormat::name`] the name the wire and the stats line use
/// (`I420`, `JPEG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed 4:2:2, Y0 U Y1 V (`YUYV`).
    Yuyv,
    /// Packed 4:2:2, U Y0 V Y1 (`UYVY`).
    Uyvy,
    /// Semi-planar 4:2:0, Y plane then interleaved U V (`NV12`).
    Nv12,
    /// Semi-planar 4:2:0, Y plane then interleaved V U (`NV21`).
    Nv21,
    /// Planar 4:2:0, Y then U then V planes (`YU12`, I420).
    I420,
    /// Packed R G B (`RGB3`).
    Rgb24,
    /// Packed B G R (`BGR3`).
    Bgr24,
    /// 8-bit luma only (`GREY`).
    Grey,
    /// 32-bit B G R and an unused byte, in memory order (`XR24`, DRM's XRGB8888; what
    /// libcamera's V4L2 adapter offers on many pipelines). `AR24` (alpha instead of the unused
    /// byte) is read the same way.
    Xrgb32,
    /// 32-bit R G B and an unused byte (`XB24`, XBGR8888; `AB24` likewise).
    Xbgr32,
    /// One baseline JPEG image per frame (`MJPG`: a camera's motion JPEG, the wire's JPEG).
    Mjpeg,
    /// H.264 access units, Annex B (`H264`: a camera's own, the wire's, an encoder's): not
    /// pictures that stand alone, but a stream whose pictures refer to earlier ones.
    H264,
}

impl PixelFormat {
    pub const ALL: [PixelFormat; 12] = [
        PixelFormat::Yuyv,
        PixelFormat::Uyvy,
        PixelFormat::Nv12,
        PixelFormat::Nv21,
        PixelFormat::I420,
        PixelFormat::Rgb24,
        PixelFormat::Bgr24,
        PixelFormat::Grey,
        PixelFormat::Mjpeg,
        PixelFormat::Xrgb32,
        PixelFormat::Xbgr32,
        PixelFormat::H264,
    ];

    /// The formats our own kernels convert, with a path per instruction set
    /// ([`Isa`](super::Isa)).
    pub const PER_ISA: [PixelFormat; 4] =
        [PixelFormat::Yuyv, PixelFormat::Uyvy, PixelFormat::Rgb24, PixelFormat::Grey];

    pub const fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Uyvy => *b"UYVY",
            PixelFormat::Nv12 => *b"NV12",
            PixelFormat::Nv21 => *b"NV21",
            PixelFormat::I420 => *b"YU12",
            PixelFormat::Rgb24 => *b"RGB3",
            PixelFormat::Bgr24 => *b"BGR3",
            PixelFormat::Grey => *b"GREY",
            PixelFormat::Mjpeg => *b"MJPG",
            PixelFormat::Xrgb32 => *b"XR24",
            PixelFormat::Xbgr32 => *b"XB24",
            PixelFormat::H264 => *b"H264",
        }
    }

    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        match &fourcc {
            b"AR24" => Some(PixelFormat::Xrgb32),
            b"AB24" => Some(PixelFormat::Xbgr32),
            _ => Self::ALL.into_iter().find(|f| f.fourcc() == fourcc),
        }
    }

    /// The name the wire, the stats line and `--wire` use: the fourcc, but `I420` for
    /// `YU12` and `JPEG` for `MJPG`.
    pub const fn name(self) -> &'static str {
        match self {
            PixelFormat::Bgr24 => "BGR3",
            PixelFormat::Rgb24 => "RGB3",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Uyvy => "UYVY",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Nv21 => "NV21",
            PixelFormat::I420 => "I420",
            PixelFormat::Grey => "GREY",
            PixelFormat::Mjpeg => "JPEG",
            PixelFormat::Xrgb32 => "XR24",
            PixelFormat::Xbgr32 => "XB24",
            PixelFormat::H264 => "H264",
        }
    }

    /// Whether the format is coded (JPEG, H.264): frames of varying length that must be
    /// decoded to be seen.
    pub const fn is_coded(self) -> bool {
        matches!(self, PixelFormat::Mjpeg | PixelFormat::H264)
    }

    /// Whether the format carries Y'CbCr samples (so range and matrix apply).
    pub const fn is_yuv(self) -> bool {
        matches!(
            self,
            PixelFormat::Yuyv | PixelFormat::Uyvy | PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420
        )
    }

    /// Bytes per row with no padding, for the first (or only) plane.
    pub fn min_stride(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            PixelFormat::Yuyv | PixelFormat::Uyvy => w.div_ceil(2) * 4,
            // An NV12/NV21 chroma row holds ceil(w/2) U V pairs: one byte more than w when w is odd.
            PixelFormat::Nv12 | PixelFormat::Nv21 => w.div_ceil(2) * 2,
            PixelFormat::I420 | PixelFormat::Grey => w,
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => w * 3,
            PixelFormat::Xrgb32 | PixelFormat::Xbgr32 => w * 4,
            PixelFormat::Mjpeg | PixelFormat::H264 => 0,
        }
    }

    /// The stride of this format's first plane when tightly packed: the luma width for the
    /// 4:2:0 formats (whose chroma rows [`PixelFormat::min_stride`] sizes), the whole row
    /// for the others.
    pub fn tight_stride(self, width: u32) -> usize {
        match self {
            PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420 => width as usize,
            other => other.min_stride(width),
        }
    }

    /// The length of a tightly packed frame (no row padding; chroma of odd sizes rounded
    /// up), or `None` for JPEG and H.264, whose frames vary.
    pub fn tight_len(self, width: u32, height: u32) -> Option<usize> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match self {
            PixelFormat::Yuyv | PixelFormat::Uyvy => Some(cw * 4 * h),
            PixelFormat::Nv12 | PixelFormat::Nv21 => Some(w * h + cw * 2 * ch),
            PixelFormat::I420 => Some(w * h + 2 * cw * ch),
            PixelFormat::Bgr24 | PixelFormat::Rgb24 => Some(w * h * 3),
            PixelFormat::Grey => Some(w * h),
            PixelFormat::Xrgb32 | PixelFormat::Xbgr32 => Some(w * h * 4),
            PixelFormat::Mjpeg | PixelFormat::H264 => None,
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.fourcc()).unwrap_or("????"))
    }
}

/// Quantization range of Y'CbCr samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YuvRange {
    /// Y in 16..=235, Cb/Cr in 16..=240 (the default for YUV webcams).
    #[default]
    Limited,
    /// 0..=255 (JPEG, some drivers say so).
    Full,
}

/// Y'CbCr to R'G'B' matrix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum YuvMatrix {
    #[default]
    Bt601,
    Bt709,
}
