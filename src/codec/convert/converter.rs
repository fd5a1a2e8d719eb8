//! The [`Converter`]: one input layout to BGR24 frames of one output geometry, through our
//! kernels on the instruction set detected once; and [`convert_with_isa`], the same
//! conversion on a chosen [`Isa`] for tests and the selftest. Both go through
//! `Converter::convert`, the one place buffer sizes are checked.

use std::fmt;

use super::error::ConvertError;
use super::isa::Isa;
use super::scale::Scaler;
use super::{mjpeg, packed, packed422, ycbcr};
use crate::media::{Geometry, Layout, PixelFormat, MAX_DIMENSION};

/// Converts frames of one input layout into BGR24 frames of one output geometry.
///
/// Everything a frame needs (the scaling scratch, the scaler's tables) is allocated in
/// [`Converter::new`]; [`Converter::convert`] allocates nothing on the Rust side (MJPEG's
/// libjpeg-turbo keeps its own per-image pools).
pub struct Converter {
    input: Layout,
    output: Geometry,
    /// Input-size BGR frame when the output size differs (raw formats only).
    scratch: Vec<u8>,
    /// Bilinear resizer input size -> output size, when they differ (raw formats only).
    scaler: Option<Scaler>,
    jpeg: Option<mjpeg::MjpegDecoder>,
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
    pub fn new(input: Layout, output: Geometry) -> Result<Self, ConvertError> {
        Self::on(Isa::best(), input, output)
    }

    /// A converter whose own kernels run on `isa` (the fastest this CPU has, for `new`).
    fn on(isa: Isa, input: Layout, output: Geometry) -> Result<Self, ConvertError> {
        input.validate().map_err(ConvertError::Layout)?;
        if !output.is_valid() {
            return Err(ConvertError::Layout(format!(
                "output size {output} is outside 1..={MAX_DIMENSION} in width or height"
            )));
        }
        let same_size = input.width == output.width && input.height == output.height;
        let (scratch, scaler, jpeg) = if input.format == PixelFormat::Mjpeg {
            (Vec::new(), None, Some(mjpeg::MjpegDecoder::new(&input, output)?))
        } else if same_size {
            (Vec::new(), None, None)
        } else {
            let scratch = vec![0u8; Geometry::new(input.width, input.height).frame_len()];
            let scaler = Scaler::new(input.width, input.height, output.width, output.height);
            (scratch, Some(scaler), None)
        };
        Ok(Converter { input, output, scratch, scaler, jpeg, isa })
    }

    pub fn input(&self) -> &Layout {
        &self.input
    }

    pub fn output(&self) -> Geometry {
        self.output
    }

    /// Converts one captured frame (`src`, the driver's `bytesused` bytes) into `dst`
    /// (`output.frame_len()` bytes).
    pub fn convert(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        self.check_sizes(src, dst)?;
        if let Some(jpeg) = &mut self.jpeg {
            return jpeg.decode(src, dst);
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

    /// The one check of buffer sizes before any kernel runs: `dst` holds exactly one output
    /// frame, `src` at least [`Layout::min_frame_len`] bytes (0 for MJPEG, whose
    /// frames vary and whose decoder checks them).
    fn check_sizes(&self, src: &[u8], dst: &[u8]) -> Result<(), ConvertError> {
        let expected = self.output.frame_len();
        if dst.len() != expected {
            return Err(ConvertError::OutputSize { got: dst.len(), expected });
        }
        let needed = self.input.min_frame_len();
        if src.len() < needed {
            return Err(ConvertError::ShortInput { format: self.input.format, got: src.len(), needed });
        }
        Ok(())
    }
}

/// Converts a raw (non-JPEG) frame of `layout` into a same-size packed BGR `dst`, sizes
/// checked by [`Converter::check_sizes`].
fn convert_raw(isa: Isa, layout: &Layout, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
    match layout.format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            packed422::to_bgr(isa, layout, src, dst);
            Ok(())
        }
        PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420 => ycbcr::to_bgr(layout, src, dst),
        PixelFormat::Rgb24 => {
            packed::rgb_to_bgr(isa, layout, src, dst);
            Ok(())
        }
        PixelFormat::Bgr24 => {
            packed::bgr_copy(layout, src, dst);
            Ok(())
        }
        PixelFormat::Grey => {
            packed::grey_to_bgr(isa, layout, src, dst);
            Ok(())
        }
        PixelFormat::Mjpeg => Err(ConvertError::Unsupported { format: layout.format }),
    }
}

/// Converts one raw frame of `layout` (same size, no scaling) with our own kernels on a
/// chosen instruction set: how tests and the selftest run every path this CPU has against
/// the reference. Only [`PixelFormat::PER_ISA`] formats have per-instruction-set kernels;
/// other formats give [`ConvertError::Unsupported`]. The layout and both buffer sizes are
/// checked as [`Converter`] checks them; an [`Isa`] is always one this CPU has.
pub fn convert_with_isa(isa: Isa, layout: &Layout, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
    let mut converter = Converter::on(isa, *layout, Geometry::new(layout.width, layout.height))?;
    if !PixelFormat::PER_ISA.contains(&layout.format) {
        return Err(ConvertError::Unsupported { format: layout.format });
    }
    converter.convert(src, dst)
}
