//! The test pattern as a camera of another capture format would deliver it (`--source
//! pattern --format YUYV|UYVY|NV12|I420|MJPG`), so every wire format runs on loopback:
//! each pattern frame is encoded into that format (`convert::encode`, integer BT.601 for the
//! raw ones; libjpeg-turbo at quality 90 for MJPEG), and turned back into BGR by the same
//! converter a real camera of that format gets (for MJPEG, the same libjpeg-turbo decoder). A receiver's `--verify` builds the expected
//! frames the same way ([`CodedPattern::expected_bgr`]).

use super::picture::Renderer;
use crate::codec::convert::{encode, Converter};
use crate::codec::jpeg::{Decoder, Encoder};
use crate::media::{Geometry, Layout, PixelFormat};

/// Quality of the pattern's MJPEG frames.
const MJPEG_QUALITY: u8 = 90;

/// Pattern frames in one capture format.
pub struct CodedPattern {
    format: PixelFormat,
    geometry: Geometry,
    renderer: Renderer,
    /// The BGR pattern frame being encoded.
    scratch: Vec<u8>,
    converter: Option<Converter>,
    encoder: Option<Encoder>,
    decoder: Option<Decoder>,
}

impl CodedPattern {
    /// The formats the pattern can be delivered in.
    pub const FORMATS: [PixelFormat; 5] =
        [PixelFormat::Yuyv, PixelFormat::Uyvy, PixelFormat::Nv12, PixelFormat::I420, PixelFormat::Mjpeg];

    pub fn new(format: PixelFormat, geometry: Geometry) -> Result<CodedPattern, String> {
        if !Self::FORMATS.contains(&format) {
            return Err(format!(
                "--format {format} with the test pattern: use YUYV, UYVY, NV12, I420 or MJPG"
            ));
        }
        if format == PixelFormat::Nv12 && geometry.width % 2 == 1 {
            return Err(format!("--format NV12 needs an even width, not {geometry}"));
        }
        let jpeg_error = |e: crate::codec::jpeg::JpegError| e.to_string();
        let (converter, encoder, decoder) = if format == PixelFormat::Mjpeg {
            (None, Some(Encoder::new().map_err(jpeg_error)?), Some(Decoder::new().map_err(jpeg_error)?))
        } else {
            let layout = Layout::tight(format, geometry.width, geometry.height);
            (Some(Converter::new(layout, geometry).map_err(|e| e.to_string())?), None, None)
        };
        Ok(CodedPattern {
            format,
            geometry,
            renderer: Renderer::new(geometry),
            scratch: vec![0u8; geometry.frame_len()],
            converter,
            encoder,
            decoder,
        })
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Writes pattern frame `seq`, in this format, into `native` (grown once); returns its
    /// length.
    pub fn native(&mut self, seq: u64, native: &mut Vec<u8>) -> usize {
        let g = self.geometry;
        self.renderer.render(&mut self.scratch, seq);
        if let Some(encoder) = &mut self.encoder {
            let max = Encoder::max_len(g);
            if native.len() < max {
                native.resize(max, 0);
            }
            return encoder.encode(&self.scratch, g, MJPEG_QUALITY, native).expect("encoding the pattern");
        }
        let len = self.format.tight_len(g.width, g.height).expect("a raw format");
        if native.len() < len {
            native.resize(len, 0);
        }
        encode::bgr_to(self.format, g.width, g.height, &self.scratch, &mut native[..len]);
        len
    }

    /// Turns this format's bytes back into BGR, as a camera of this format would.
    pub fn to_bgr(&mut self, native: &[u8], bgr: &mut [u8]) -> Result<(), String> {
        match (&mut self.converter, &mut self.decoder) {
            (Some(converter), _) => converter.convert(native, bgr).map_err(|e| e.to_string()),
            (None, Some(decoder)) => decoder.decode(native, self.geometry, bgr).map_err(|e| e.to_string()),
            (None, None) => unreachable!("one of the two is made in new()"),
        }
    }

    /// What a receiver shows for pattern frame `seq` of a camera of this format (raw
    /// formats exactly; MJPEG within JPEG's loss).
    pub fn expected_bgr(&mut self, seq: u64, native: &mut Vec<u8>, bgr: &mut [u8]) {
        let len = self.native(seq, native);
        self.to_bgr(&native[..len], bgr).expect("the pattern's own bytes convert");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::pattern;

    #[test]
    fn each_format_brings_the_pattern_back_close_to_itself() {
        let g = Geometry::new(64, 48);
        let mut original = vec![0u8; g.frame_len()];
        pattern::fill(&mut original, g, 5);
        for format in CodedPattern::FORMATS {
            let mut coded = CodedPattern::new(format, g).unwrap();
            let (mut native, mut bgr) = (Vec::new(), vec![0u8; g.frame_len()]);
            coded.expected_bgr(5, &mut native, &mut bgr);
            let mse = original
                .iter()
                .zip(&bgr)
                .skip(24)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>()
                / (original.len() - 24) as f64;
            let psnr = 10.0 * (255.0f64 * 255.0 / mse).log10();
            assert!(psnr > 20.0, "{format}: {psnr:.1} dB");
        }
        assert!(CodedPattern::new(PixelFormat::Nv12, Geometry::new(63, 48)).is_err());
        assert!(CodedPattern::new(PixelFormat::Rgb24, g).is_err());
    }
}
