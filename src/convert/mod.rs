//! Pixel-format conversion (and scaling) of captured frames into packed BGR24, written
//! straight into the preallocated output frame.
//!
//! The public [`Converter`] validates sizes and strides once, at construction; per frame it
//! only checks the input length and runs the kernel. Kernels live in submodules:
//! `packed422` (YUYV, UYVY: our own one-pass fixed-point kernels), `ycbcr` (NV12, NV21,
//! YU12 through the `yuv` crate), `packed` (RGB24, BGR24, GREY), `jpeg` (MJPEG through `zune-jpeg`), `scale` (bilinear resize into the output size).
//! [`reference`] holds plain float versions of every conversion for tests and
//! [`selftest_cases`] runs the fast kernels against it (for on-device checks).
//! Stride rules and coefficient choices: `docs/CONVERSION.md`.

use std::fmt;

use crate::frame::{Geometry, MAX_DIMENSION};

pub mod encode;
mod isa;
mod jpeg;
mod packed;
mod packed422;
pub mod reference;
mod scale;
mod selftest;
mod ycbcr;

pub use isa::Isa;
pub use scale::Scaler;
pub use selftest::selftest_cases;

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

/// Converts frames of one input layout into BGR24 frames of one output geometry.
///
/// Everything a frame needs (the scaling scratch, the scaler's tables) is allocated in
/// [`Converter::new`]; [`Converter::convert`] allocates nothing for raw formats. MJPEG
/// decoding allocates inside `zune-jpeg` (its per-image component buffers).
pub struct Converter {
    input: InputLayout,
    output: Geometry,
    /// Input-size BGR frame when the output size differs (raw formats only).
    scratch: Vec<u8>,
    /// Bilinear resizer input size -> output size, when they differ (raw formats only).
    scaler: Option<Scaler>,
    jpeg: Option<jpeg::MjpegDecoder>,
    /// Instruction set of our own kernels, detected once.
    isa: Isa,
}

impl fmt::Debug for Converter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Converter")
            .field("input", &self.input)
            .field("output", &self.output)
            .field("scaling", &self.scaler.is_some())
            .finish_non_exhaustive()
    }
}

impl Converter {
    pub fn new(input: InputLayout, output: Geometry) -> Result<Self, ConvertError> {
        input.validate()?;
        if !output.is_valid() {
            return Err(ConvertError::Layout(format!(
                "output size {output} is outside 1..={MAX_DIMENSION} in width or height"
            )));
        }
        let same_size = input.width == output.width && input.height == output.height;
        let (scratch, scaler, jpeg) = if input.format == InputFormat::Mjpeg {
            (Vec::new(), None, Some(jpeg::MjpegDecoder::new(&input, output)))
        } else if same_size {
            (Vec::new(), None, None)
        } else {
            let scratch = vec![0u8; Geometry::bgr(input.width, input.height).frame_len()];
            let scaler = Scaler::new(input.width, input.height, output.width, output.height);
            (scratch, Some(scaler), None)
        };
        Ok(Converter { input, output, scratch, scaler, jpeg, isa: Isa::best() })
    }

    pub fn input(&self) -> &InputLayout {
        &self.input
    }

    pub fn output(&self) -> Geometry {
        self.output
    }

    /// Converts one captured frame (`src`, the driver's `bytesused` bytes) into `dst`
    /// (`output.frame_len()` bytes).
    pub fn convert(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        if dst.len() != self.output.frame_len() {
            return Err(ConvertError::OutputSize { got: dst.len(), expected: self.output.frame_len() });
        }
        if let Some(jpeg) = &mut self.jpeg {
            return jpeg.decode(src, dst);
        }
        let needed = self.input.min_frame_len();
        if src.len() < needed {
            return Err(ConvertError::ShortInput { format: self.input.format, got: src.len(), needed });
        }
        match &mut self.scaler {
            None => convert_raw(self.isa, &self.input, src, dst),
            Some(scaler) => {
                convert_raw(self.isa, &self.input, src, &mut self.scratch)?;
                scaler.resize(&self.scratch, dst);
                Ok(())
            }
        }
    }
}

/// Converts a raw (non-JPEG) frame of `layout` into a same-size packed BGR `dst`. The caller
/// has checked `src.len() >= layout.min_frame_len()` and `dst.len() == width * height * 3`.
fn convert_raw(isa: Isa, layout: &InputLayout, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
    match layout.format {
        InputFormat::Yuyv | InputFormat::Uyvy => {
            packed422::to_bgr(isa, layout, src, dst);
            Ok(())
        }
        InputFormat::Nv12 | InputFormat::Nv21 | InputFormat::Yu12 => ycbcr::to_bgr(layout, src, dst),
        InputFormat::Rgb24 => {
            packed::rgb_to_bgr(isa, layout, src, dst);
            Ok(())
        }
        InputFormat::Bgr24 => {
            packed::bgr_copy(layout, src, dst);
            Ok(())
        }
        InputFormat::Grey => {
            packed::grey_to_bgr(layout, src, dst);
            Ok(())
        }
        InputFormat::Mjpeg => Err(ConvertError::Unsupported { format: layout.format }),
    }
}

/// Converts one raw frame of `layout` (same size, no scaling) with our own kernels on a
/// chosen instruction set: how tests and the selftest run every path this CPU has against
/// the reference. Only YUYV, UYVY and RGB24 have per-instruction-set kernels; other formats
/// give [`ConvertError::Unsupported`]. Checks the layout, both buffer sizes and that the
/// CPU has `isa`.
pub fn convert_with_isa(
    isa: Isa,
    layout: &InputLayout,
    src: &[u8],
    dst: &mut [u8],
) -> Result<(), ConvertError> {
    layout.validate()?;
    if !matches!(layout.format, InputFormat::Yuyv | InputFormat::Uyvy | InputFormat::Rgb24) {
        return Err(ConvertError::Unsupported { format: layout.format });
    }
    if !isa.is_available() {
        return Err(ConvertError::Kernel {
            format: layout.format,
            message: format!("this CPU cannot run the {isa:?} kernels"),
        });
    }
    let needed = layout.min_frame_len();
    if src.len() < needed {
        return Err(ConvertError::ShortInput { format: layout.format, got: src.len(), needed });
    }
    let expected = Geometry::bgr(layout.width, layout.height).frame_len();
    if dst.len() != expected {
        return Err(ConvertError::OutputSize { got: dst.len(), expected });
    }
    convert_raw(isa, layout, src, dst)
}
