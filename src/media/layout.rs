//! How a frame of a [`PixelFormat`] lies in memory: its stride (V4L2 `bytesperline`), its
//! planes, its Y'CbCr range and matrix, and the fewest bytes a frame may have.

use super::format::{PixelFormat, YuvMatrix, YuvRange};
use super::geometry::MAX_DIMENSION;

/// How a captured frame is laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row of the first plane (V4L2 `bytesperline`); chroma planes of NV12/NV21
    /// use the same stride, YU12's U and V planes half of it, rounded up (as V4L2 defines).
    /// Ignored for MJPEG.
    pub stride: usize,
    pub range: YuvRange,
    pub matrix: YuvMatrix,
}

impl Layout {
    /// A layout with the shortest rows V4L2 allows for this format (for NV12/NV21 of odd
    /// width, one byte more than the width, so a chroma row fits) and BT.601 limited range.
    pub fn packed(format: PixelFormat, width: u32, height: u32) -> Self {
        Layout {
            format,
            width,
            height,
            stride: format.min_stride(width),
            range: YuvRange::Limited,
            matrix: YuvMatrix::Bt601,
        }
    }

    /// A tightly packed layout (what the wire carries, what [`PixelFormat::tight_len`]
    /// sizes): the first plane's stride is [`PixelFormat::tight_stride`].
    pub fn tight(format: PixelFormat, width: u32, height: u32) -> Self {
        Layout { stride: format.tight_stride(width), ..Layout::packed(format, width, height) }
    }

    /// The tight layout of a Y'CbCr format (raw planes converted with a [`Layout`]), or
    /// `None` for the others (BGR, RGB, grey, JPEG).
    pub fn tight_yuv(format: PixelFormat, width: u32, height: u32) -> Option<Self> {
        format.is_yuv().then(|| Layout::tight(format, width, height))
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
            PixelFormat::Yuyv | PixelFormat::Uyvy => self.stride * h,
            PixelFormat::Nv12 | PixelFormat::Nv21 => self.chroma_offset() + self.stride * self.chroma_rows(),
            PixelFormat::I420 => self.v_offset() + self.chroma_stride() * self.chroma_rows(),
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => self.stride * (h - 1) + 3 * w,
            PixelFormat::Grey => self.stride * (h - 1) + w,
            PixelFormat::Xrgb32 | PixelFormat::Xbgr32 => self.stride * (h - 1) + 4 * w,
            PixelFormat::Mjpeg | PixelFormat::H264 => 0,
        }
    }

    /// Checks dimensions and strides; the message names the field and value at fault.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("width", self.width), ("height", self.height)] {
            if !(1..=MAX_DIMENSION).contains(&v) {
                return Err(format!("{} input {name} {v} is outside 1..={MAX_DIMENSION}", self.format));
            }
        }
        if self.format.is_coded() {
            return Ok(());
        }
        let min = self.format.min_stride(self.width);
        if self.stride < min {
            return Err(format!(
                "{} stride (bytesperline) {} is less than a {}-pixel row ({min} bytes)",
                self.format, self.stride, self.width
            ));
        }
        if self.stride > u32::MAX as usize / 4 || self.stride.checked_mul(self.height as usize * 2).is_none()
        {
            return Err(format!("{} stride {} is too large", self.format, self.stride));
        }
        Ok(())
    }
}
