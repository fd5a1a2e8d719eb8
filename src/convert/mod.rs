//! Pixel-format conversion (and scaling) of captured frames into packed BGR24, written
//! straight into the preallocated output frame.
//!
//! The public [`Converter`] validates sizes and strides once, at construction; per frame it
//! only checks the input length and runs the kernel.
//! (Skeleton: BGR24 pass-through only; the full set of formats lands with the capture work.)

use std::fmt;

use crate::frame::Geometry;

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

    /// Bytes per row with no padding, for the first (or only) plane.
    pub fn min_stride(self, width: u32) -> usize {
        let w = width as usize;
        match self {
            InputFormat::Yuyv | InputFormat::Uyvy => w.div_ceil(2) * 4,
            InputFormat::Nv12 | InputFormat::Nv21 | InputFormat::Yu12 | InputFormat::Grey => w,
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
    /// use the same stride, YU12's U and V planes half of it (as V4L2 defines).
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
}

/// Converts frames of one input layout into BGR24 frames of one output geometry.
pub struct Converter {
    input: InputLayout,
    output: Geometry,
}

impl Converter {
    pub fn new(input: InputLayout, output: Geometry) -> Result<Self, ConvertError> {
        if input.format != InputFormat::Bgr24 || input.width != output.width || input.height != output.height
        {
            return Err(ConvertError::Unsupported { format: input.format });
        }
        if input.stride < input.format.min_stride(input.width) {
            return Err(ConvertError::Layout(format!("stride {} is less than a row", input.stride)));
        }
        Ok(Converter { input, output })
    }

    pub fn input(&self) -> &InputLayout {
        &self.input
    }

    /// Converts one captured frame (`src`, the driver's `bytesused` bytes) into `dst`
    /// (`output.frame_len()` bytes).
    pub fn convert(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        let row = self.output.stride();
        if dst.len() != self.output.frame_len() {
            return Err(ConvertError::OutputSize { got: dst.len(), expected: self.output.frame_len() });
        }
        let needed = self.input.stride * (self.input.height as usize - 1) + row;
        if src.len() < needed {
            return Err(ConvertError::ShortInput { format: self.input.format, got: src.len(), needed });
        }
        for (y, out) in dst.chunks_exact_mut(row).enumerate() {
            out.copy_from_slice(&src[y * self.input.stride..][..row]);
        }
        Ok(())
    }
}
