//! MJPEG frames to BGR through libjpeg-turbo (`crate::codec::jpeg::Decoder`): baseline and
//! progressive JPEGs, 4:2:0, 4:2:2, 4:4:4 and greyscale, straight into the output frame.
//! A JPEG whose size differs from the output is decoded into a scratch frame and scaled. A
//! corrupt frame is a [`ConvertError::Jpeg`], never a panic.
//!
//! Chosen over `zune-jpeg` (pistream's decoder before) by measurement: on the same frames
//! in `benches/convert.rs` it decodes in about half the time (zune-jpeg / ours 1.93 at
//! 640x480 and at 1920x1080), it allocates nothing on the Rust side (zune-jpeg allocated
//! its component buffers for every image), it fills in the standard Huffman tables of MJPEG frames that omit them (ITU-T T.81 Annex K.3, as
//! many UVC cameras send), and it reports damaged scan data, which zune-jpeg decoded into
//! a wrong picture without a word.
//!
//! Damage: a frame whose scan data is damaged or cut short (a libjpeg warning, the picture
//! written but wrong) is an error, so it is skipped rather than shown; only the warning
//! about stray bytes between segments (padding some cameras add, the picture whole) is
//! let through.
//!
//! Allocation: the scratch frame grows (once) to the largest JPEG seen at a size other than
//! the output's; libjpeg-turbo keeps its own per-image memory pools (C `malloc`).

use super::error::ConvertError;
use super::scale::Scaler;
use crate::codec::jpeg::{Decoder, JpegError};
use crate::media::{Geometry, Layout};

pub(super) struct MjpegDecoder {
    output: Geometry,
    decoder: Decoder,
    /// A decoded frame whose size differs from the output.
    scratch: Vec<u8>,
    /// Scaler for the last JPEG size that differed from the output.
    scaler: Option<Scaler>,
}

/// A JPEG error as a conversion error, unless it is the harmless warning about stray bytes.
fn damage(error: JpegError) -> Result<(), ConvertError> {
    if error.warning && error.message().contains("extraneous bytes") {
        return Ok(());
    }
    Err(ConvertError::Jpeg(error.message().trim_end().to_string()))
}

impl MjpegDecoder {
    pub(super) fn new(input: &Layout, output: Geometry) -> Result<Self, ConvertError> {
        let decoder = Decoder::new().map_err(|e| ConvertError::Jpeg(e.message().to_string()))?;
        let mut scratch = Vec::new();
        // The usual case: the camera sends the size it was asked for; when that is not the
        // output size, size the scratch frame now so the first frame does not allocate it.
        if (input.width, input.height) != (output.width, output.height) {
            scratch.resize(Geometry::new(input.width, input.height).frame_len(), 0);
        }
        Ok(MjpegDecoder { output, decoder, scratch, scaler: None })
    }

    pub(super) fn decode(&mut self, src: &[u8], dst: &mut [u8]) -> Result<(), ConvertError> {
        let header =
            self.decoder.header(src).map_err(|e| ConvertError::Jpeg(e.message().trim_end().to_string()))?;
        let size = Geometry::new(header.width, header.height);
        if !size.is_valid() {
            return Err(ConvertError::Jpeg(format!(
                "a {}x{} JPEG is too large",
                header.width, header.height
            )));
        }
        if (size.width, size.height) == (self.output.width, self.output.height) {
            return self.decoder.decode(src, size, dst).or_else(damage);
        }
        if self.scratch.len() < size.frame_len() {
            self.scratch.resize(size.frame_len(), 0);
        }
        self.decoder.decode(src, size, &mut self.scratch[..size.frame_len()]).or_else(damage)?;
        let dims = (size.width, size.height);
        if self.scaler.as_ref().map(Scaler::src_size) != Some(dims) {
            self.scaler = Some(Scaler::new(dims.0, dims.1, self.output.width, self.output.height));
        }
        if let Some(scaler) = &mut self.scaler {
            scaler.resize(&self.scratch[..size.frame_len()], dst);
        }
        Ok(())
    }
}
