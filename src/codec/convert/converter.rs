//! The [`Converter`]: one input layout to BGR24 frames of one output geometry, through our
//! kernels on the instruction set detected once; and [`convert_with_isa`], the same
//! conversion on a chosen [`Isa`] for tests and the selftest. Both go through
//! `Converter::convert`, the one place buffer sizes are checked.

use std::fmt;

use super::error::ConvertError;
use super::isa::Isa;
use super::scale::Scaler;
use super::{mjpeg, packed, packed422, ycbcr};
use crate::media::{Geometry, Layout, Orientation, PixelFormat, MAX_DIMENSION};

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
    /// Mirrors applied while converting ([`Converter::oriented`]).
    orientation: Orientation,
    /// One band of converted rows (two for 4:2:0), when mirroring.
    band: Vec<u8>,
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
        Ok(Converter {
            input,
            output,
            scratch,
            scaler,
            jpeg,
            isa,
            orientation: Orientation::UPRIGHT,
            band: Vec::new(),
        })
    }

    /// The same converter, mirroring every frame as `orientation` says (a camera whose
    /// driver cannot). Raw formats are converted a band of rows at a time (one row, two for
    /// 4:2:0) into a small buffer that stays in cache and copied from there into their
    /// mirrored place, so mirroring adds no pass over the frame; MJPEG is mirrored in place
    /// after libjpeg-turbo decodes it (one pass more).
    pub fn oriented(mut self, orientation: Orientation) -> Self {
        self.orientation = orientation;
        self.band =
            if orientation.is_upright() { Vec::new() } else { vec![0; 2 * self.input.width as usize * 3] };
        self
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
            jpeg.decode(src, dst)?;
            mirror_in_place(dst, self.output, self.orientation);
            return Ok(());
        }
        let (isa, input, orientation) = (self.isa, self.input, self.orientation);
        match &mut self.scaler {
            None => convert_oriented(isa, &input, orientation, &mut self.band, src, dst),
            Some(scaler) => {
                convert_oriented(isa, &input, orientation, &mut self.band, src, &mut self.scratch)?;
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
        PixelFormat::Xrgb32 | PixelFormat::Xbgr32 => {
            packed::rgb32_to_bgr(layout, src, dst);
            Ok(())
        }
        PixelFormat::Grey => {
            packed::grey_to_bgr(isa, layout, src, dst);
            Ok(())
        }
        PixelFormat::Mjpeg | PixelFormat::H264 => Err(ConvertError::Unsupported { format: layout.format }),
    }
}

/// Converts a raw frame of `layout` into a same-size packed BGR `dst`, mirrored as
/// `orientation` says: band by band through `band` (see [`Converter::oriented`]).
fn convert_oriented(
    isa: Isa,
    layout: &Layout,
    orientation: Orientation,
    band: &mut [u8],
    src: &[u8],
    dst: &mut [u8],
) -> Result<(), ConvertError> {
    if orientation.is_upright() {
        return convert_raw(isa, layout, src, dst);
    }
    let (w, h) = (layout.width as usize, layout.height as usize);
    let row = w * 3;
    let planar = matches!(layout.format, PixelFormat::Nv12 | PixelFormat::Nv21 | PixelFormat::I420);
    let band_rows = if planar { 2 } else { 1 };
    for y0 in (0..h).step_by(band_rows) {
        let rows = band_rows.min(h - y0);
        let out = &mut band[..rows * row];
        if planar {
            ycbcr::rows_to_bgr(layout, src, y0, rows, out)?;
        } else {
            let sub = Layout { height: rows as u32, ..*layout };
            convert_raw(isa, &sub, &src[y0 * layout.stride..], out)?;
        }
        for (r, converted) in out.chunks_exact(row).enumerate() {
            let y = if orientation.vflip { h - 1 - (y0 + r) } else { y0 + r };
            copy_row(converted, &mut dst[y * row..][..row], orientation.hflip);
        }
    }
    Ok(())
}

/// Copies one BGR row, mirrored left to right if asked.
fn copy_row(src: &[u8], dst: &mut [u8], hflip: bool) {
    if hflip {
        for (out, pixel) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3).rev()) {
            out.copy_from_slice(pixel);
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// Mirrors a packed BGR frame in place (sources without a cheaper place to do it: a decoded
/// MJPEG, OpenCV's pictures, the test pattern).
pub fn mirror_in_place(frame: &mut [u8], geometry: Geometry, orientation: Orientation) {
    let (w, h) = (geometry.width as usize, geometry.height as usize);
    let row = w * 3;
    if orientation.hflip {
        for line in frame.chunks_exact_mut(row) {
            for x in 0..w / 2 {
                let (left, right) = line.split_at_mut((w - 1 - x) * 3);
                left[x * 3..x * 3 + 3].swap_with_slice(&mut right[..3]);
            }
        }
    }
    if orientation.vflip {
        for y in 0..h / 2 {
            let (top, bottom) = frame.split_at_mut((h - 1 - y) * row);
            top[y * row..][..row].swap_with_slice(&mut bottom[..row]);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::convert::reference;

    /// `picture` mirrored as `orientation` says, by plain indexing.
    fn mirrored(picture: &[u8], w: usize, h: usize, orientation: Orientation) -> Vec<u8> {
        let mut out = vec![0; picture.len()];
        for y in 0..h {
            for x in 0..w {
                let (sx, sy) = orientation.source_of(x, y, w, h);
                out[(y * w + x) * 3..][..3].copy_from_slice(&picture[(sy * w + sx) * 3..][..3]);
            }
        }
        out
    }

    #[test]
    fn a_mirrored_conversion_is_the_conversion_mirrored_in_every_format() {
        let orientations = [
            Orientation::new(true, false, false),
            Orientation::new(false, true, false),
            Orientation::new(false, false, true),
        ];
        for (w, h) in [(16u32, 10u32), (14, 7), (6, 5)] {
            for format in [
                PixelFormat::Yuyv,
                PixelFormat::Uyvy,
                PixelFormat::Nv12,
                PixelFormat::Nv21,
                PixelFormat::I420,
                PixelFormat::Rgb24,
                PixelFormat::Bgr24,
                PixelFormat::Grey,
            ] {
                if w % 2 == 1 && matches!(format, PixelFormat::Nv12 | PixelFormat::Nv21) {
                    continue;
                }
                let layout = Layout::packed(format, w, h).padded(4);
                let src = reference::random_frame(&layout, u64::from(w * 31 + h));
                let g = Geometry::new(w, h);
                let mut upright = vec![0u8; g.frame_len()];
                Converter::new(layout, g).unwrap().convert(&src, &mut upright).unwrap();
                for orientation in orientations {
                    let mut turned = vec![0u8; g.frame_len()];
                    Converter::new(layout, g)
                        .unwrap()
                        .oriented(orientation)
                        .convert(&src, &mut turned)
                        .unwrap();
                    let (w, h) = (w as usize, h as usize);
                    assert_eq!(
                        turned,
                        mirrored(&upright, w, h, orientation),
                        "{format} {w}x{h} {orientation}"
                    );
                }
                // Scaled as well: mirrored before the scaler.
                let half = Geometry::new(w / 2, h / 2);
                let mut scaled = vec![0u8; half.frame_len()];
                Converter::new(layout, half).unwrap().convert(&src, &mut scaled).unwrap();
                let mut turned = vec![0u8; half.frame_len()];
                let half_turn = Orientation::new(true, false, false);
                Converter::new(layout, half).unwrap().oriented(half_turn).convert(&src, &mut turned).unwrap();
                let (hw, hh) = (half.width as usize, half.height as usize);
                if w % 2 == 0 && h % 2 == 0 {
                    assert_eq!(turned, mirrored(&scaled, hw, hh, half_turn), "{format} scaled");
                }
            }
        }
    }
}
