//! The vocabulary of conversion: capture formats by fourcc ([`InputFormat`]), Y'CbCr range
//! and matrix, how a captured frame lies in memory ([`InputLayout`]: stride, planes, the
//! fewest bytes a frame may have) and [`ConvertError`]. No pixels are touched here.

use std::fmt;

use crate::frame::MAX_DIMENSION;

/// Capture formats we can convert from, named by their V4L2 fourcc.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// Packed 4:2:2, Y0 U Y1 V (`YUYV`).
    Yuyv,
    /// Packed 4:2:2, U Y0 V Y1 (`UYVY`).
    Uyvy,
    /// Semi-planar 4:2:0, Y plane then interleaved U V (`NV12`).
    Nv12,
    /// Semi-planar 4:2:0, Y plane then interleaved V U (`NV21`).
    Nv21,
    /// Planar 4:2:0, Y then U then V planes (`YU12`, I420).
    Yu12,
    /// Packed R G B (`RGB3`).
    Rgb24,
    /// Packed B G R (`BGR3`).
    Bgr24,
    /// 8-bit luma only (`GREY`).
    Grey,
    /// Motion JPEG, one JPEG image per frame (`MJPG`).
    Mjpeg,
}

impl InputFormat {
    pub const ALL: [InputFormat; 9] = [
        InputFormat::Yuyv,
        InputFormat::Uyvy,
        InputFormat::Nv12,
        InputFormat::Nv21,
        InputFormat::Yu12,
        InputFormat::Rgb24,
        InputFormat::Bgr24,
        InputFormat::Grey,
        InputFormat::Mjpeg,
    ];

    /// The formats our own kernels convert, with a path per instruction set
    /// ([`Isa`](super::Isa)).
    pub const PER_ISA: [InputFormat; 4] =
        [InputFormat::Yuyv, InputFormat::Uyvy, InputFormat::Rgb24, InputFormat::Grey];

    pub const fn fourcc(self) -> [u8; 4] {
        match self {
            InputFormat::Yuyv => *b"YUYV",
            InputFormat::Uyvy => *b"UYVY",
            InputFormat::Nv12 => *b"NV12",
            InputFormat::Nv21 => *b"NV21",
            InputFormat::Yu12 => *b"YU12",
            InputFormat::Rgb24 => *b"RGB3",
            InputFormat::Bgr24 => *b"BGR3",
            InputFormat::Grey => *b"GREY",
            InputFormat::Mjpeg => *b"MJPG",
        }
    }

    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.fourcc() == fourcc)
    }

    /// Whether the format carries Y'CbCr samples (so range and matrix apply).
    pub const fn is_yuv(self) -> bool {
        matches!(
            self,
            InputFormat::Yuyv | InputFormat::Uyvy | InputFormat::Nv12 | InputFormat::Nv21 | InputFormat::Yu12
        )
    }

    /// Bytes per row with no padding, for the first (or only) plane.
    pub fn min_stride(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            InputFormat::Yuyv | InputFormat::Uyvy => w.div_ceil(2) * 4,
            // An NV12/NV21 chroma row holds ceil(w/2) U V pairs: one byte more than w when w is odd.
            InputFormat::Nv12 | InputFormat::Nv21 => w.div_ceil(2) * 2,
            InputFormat::Yu12 | InputFormat::Grey => w,
            InputFormat::Rgb24 | InputFormat::Bgr24 => w * 3,
            InputFormat::Mjpeg => 0,
        }
    }
}

impl fmt::Display for InputFormat {
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

/// How a captured frame is laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputLayout {
    pub format: InputFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the first plane (V4L2 `bytesperline`); chroma planes of NV12/NV21
    /// use the same stride, YU12's U and V planes half of it, rounded up (as V4L2 defines).
    /// Ignored for MJPEG.
    pub stride: usize,
    pub range: YuvRange,
    pub matrix: YuvMatrix,
}

impl InputLayout {
    /// A tightly packed layout with BT.601 limited range.
    pub fn packed(format: InputFormat, width: u32, height: u32) -> Self {
        InputLayout {
            format,
            width,
            height,
            stride: format.min_stride(width),
            range: YuvRange::Limited,
            matrix: YuvMatrix::Bt601,
        }
    }

    /// The same layout with `pad` more bytes per row (drivers pad rows to an alignment).
    pub fn padded(mut self, pad: usize) -> Self {
        self.stride += pad;
        self
    }

    /// The same layout with another Y'CbCr range and matrix.
    pub fn with_yuv(mut self, range: YuvRange, matrix: YuvMatrix) -> Self {
        self.range = range;
        self.matrix = matrix;
        self
    }

    /// Bytes per row of YU12's U and V planes: half the luma stride, rounded up (so an odd
    /// width with an unpadded luma row still holds its last chroma sample).
    pub fn chroma_stride(&self) -> usize {
        self.stride.div_ceil(2)
    }

    /// Rows in a 4:2:0 chroma plane.
    pub fn chroma_rows(&self) -> usize {
        (self.height as usize).div_ceil(2)
    }

    /// Byte offset of the (first) chroma plane for NV12/NV21/YU12: right after the luma plane.
    pub fn chroma_offset(&self) -> usize {
        self.stride * self.height as usize
    }

    /// Byte offset of YU12's V plane.
    pub fn v_offset(&self) -> usize {
        self.chroma_offset() + self.chroma_stride() * self.chroma_rows()
    }

    /// The fewest bytes a captured frame of this layout may have (0 for MJPEG, whose frames
    /// vary). Y'CbCr formats need every row of every plane whole, padding included (what
    /// V4L2 reports as `sizeimage`: the `yuv` crate reads whole chroma rows); RGB24, BGR24
    /// and GREY may end right after the last pixel.
    pub fn min_frame_len(&self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        if w == 0 || h == 0 {
            return 0;
        }
        match self.format {
            InputFormat::Yuyv | InputFormat::Uyvy => self.stride * h,
            InputFormat::Nv12 | InputFormat::Nv21 => self.chroma_offset() + self.stride * self.chroma_rows(),
            InputFormat::Yu12 => self.v_offset() + self.chroma_stride() * self.chroma_rows(),
            InputFormat::Rgb24 | InputFormat::Bgr24 => self.stride * (h - 1) + 3 * w,
            InputFormat::Grey => self.stride * (h - 1) + w,
            InputFormat::Mjpeg => 0,
        }
    }

    /// Checks dimensions and strides; the message names the field and value at fault.
    pub fn validate(&self) -> Result<(), ConvertError> {
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if !(1..=MAX_DIMENSION).contains(&v) {
                return Err(ConvertError::Layout(format!(
                    "{} input {name} {v} is outside 1..={MAX_DIMENSION}",
                    self.format
                )));
            }
        }
        if self.format == InputFormat::Mjpeg {
            return Ok(());
        }
        let min = self.format.min_stride(self.width);
        if self.stride < min {
            return Err(ConvertError::Layout(format!(
                "{} stride (bytesperline) {} is less than a {}-pixel row ({min} bytes)",
                self.format, self.stride, self.width
            )));
        }
        if self.stride > u32::MAX as usize / 4 || self.stride.checked_mul(self.height as usize * 2).is_none()
        {
            return Err(ConvertError::Layout(format!("{} stride {} is too large", self.format, self.stride)));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{0}")]
    Layout(String),
    #[error("captured frame has {got} bytes, the {format} layout needs at least {needed}")]
    ShortInput { format: InputFormat, got: usize, needed: usize },
    #[error("output buffer has {got} bytes, expected {expected}")]
    OutputSize { got: usize, expected: usize },
    #[error("{format} is not supported yet")]
    Unsupported { format: InputFormat },
    #[error("bad JPEG frame: {0}")]
    Jpeg(String),
    /// A kernel refused checked input: a bug here, reported rather than panicking.
    #[error("{format} conversion failed: {message}")]
    Kernel { format: InputFormat, message: String },
}
