//! MJPEG frames to BGR through `zune-jpeg` (pure Rust, AVX2/NEON IDCT and colour
//! conversion). Baseline and progressive JPEGs, 4:2:0, 4:2:2, 4:4:4 and greyscale. A JPEG
//! whose size differs from the output is decoded into a scratch frame and scaled. A corrupt
//! frame is a [`ConvertError::Jpeg`], never a panic.
//!
//! Many UVC cameras send JPEGs without Huffman tables (no DHT segment): the standard's
//! example tables (ITU-T T.81 Annex K.3) are implied. `zune-jpeg` supplies them only when
//! the frame carries an `AVI1` APP0 segment, so `crate::jpeg::with_standard_huffman_tables`
//! inserts them before the first scan of any frame that defines none.
//!
//! Allocation: the scratch frame grows (once) to the largest JPEG seen at a size other than
//! the output's, the copy with inserted tables to the largest such frame; `zune-jpeg`
//! itself allocates its component buffers for every image.

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{ConvertError, InputLayout, Scaler};
use crate::frame::{Geometry, MAX_DIMENSION};
use crate::jpeg::with_standard_huffman_tables;

pub(super) struct MjpegDecoder {
    output: Geometry,
    /// A decoded frame whose size differs from the output (or that came out grey).
    scratch: Vec<u8>,
    /// Scaler for the last JPEG size that differed from the output.
    scaler: Option<Scaler>,
    /// The last frame that had no Huffman tables, with the standard ones inserted.
    with_tables: Vec<u8>,
}

impl MjpegDecoder {
    pub(super) fn new(input: &InputLayout, output: Geometry) -> Self {
        let mut scratch = Vec::new();
        // The usual case: the camera sends the size it was asked for; when that is not the
        // output size, size the scratch frame now so the first frame does not allocate it.
        if (input.width, input.height) != (output.width, output.height) {
            scratch.resize(Geometry::bgr(input.width, input.height).frame_len(), 0);
        }
        MjpegDecoder { output, scratch, scaler: None, with_tables: Vec::new() }
    }

    pub(super) fn decode(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        // zune-jpeg aims never to panic on bad input; should a corrupt frame find a bug in it,
        // report that frame as bad rather than taking the capture thread down.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decode_inner(src, dst)))
            .unwrap_or_else(|_| Err(ConvertError::Jpeg("the decoder panicked on this frame".into())))
    }

    fn decode_inner(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        let jpeg_err = |e: zune_jpeg::errors::DecodeErrors| ConvertError::Jpeg(e.to_string());
        let src = if with_standard_huffman_tables(src, &mut self.with_tables) {
            &self.with_tables[..]
        } else {
            src
        };
        let options = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::BGR)
            .set_max_width(MAX_DIMENSION as usize)
            .set_max_height(MAX_DIMENSION as usize);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(src), options);
        decoder.decode_headers().map_err(jpeg_err)?;
        if decoder.input_colorspace() == Some(ColorSpace::Luma) {
            // zune-jpeg has no Luma -> BGR mapping: decode grey, expand below.
            decoder.set_options(options.jpeg_set_out_colorspace(ColorSpace::Luma));
        }
        let (w, h) = decoder.dimensions().ok_or_else(|| ConvertError::Jpeg("no frame header".into()))?;
        let channels = decoder.output_colorspace().map(|c| c.num_components()).unwrap_or(0);
        if channels != 3 && channels != 1 {
            return Err(ConvertError::Jpeg(format!("{channels}-channel JPEGs are not supported")));
        }
        let same_size = (w as u32, h as u32) == (self.output.width, self.output.height);
        if same_size && channels == 3 {
            return decoder.decode_into(dst).map_err(jpeg_err);
        }
        let len = w * h * channels;
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        decoder.decode_into(&mut self.scratch[..len]).map_err(jpeg_err)?;
        if channels == 1 {
            // Expand grey in place, back to front, so no second buffer is needed.
            if self.scratch.len() < w * h * 3 {
                self.scratch.resize(w * h * 3, 0);
            }
            for i in (0..w * h).rev() {
                let g = self.scratch[i];
                self.scratch[3 * i..3 * i + 3].copy_from_slice(&[g, g, g]);
            }
            if same_size {
                dst.copy_from_slice(&self.scratch[..dst.len()]);
                return Ok(());
            }
        }
        let size = (w as u32, h as u32);
        if self.scaler.as_ref().map(Scaler::src_size) != Some(size) {
            self.scaler = Some(Scaler::new(size.0, size.1, self.output.width, self.output.height));
        }
        if let Some(scaler) = &mut self.scaler {
            scaler.resize(&self.scratch[..w * h * 3], dst);
        }
        Ok(())
    }
}
