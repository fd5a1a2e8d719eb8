//! The receiving side of the wire formats: a frame in any agreed format becomes the packed
//! BGR frame that is shown. BGR is read straight into that frame; every other format into
//! one receive buffer, sized once from the largest frame the agreed formats allow (the raw
//! BGR size: a JPEG or an H.264 unit may be no larger), then converted with the same
//! kernels a camera uses (`convert::Converter`), decoded (`jpeg::Decoder`) straight into the
//! frame, or decoded (`h264::Decoder`) into I420 and converted from there.
//!
//! An H.264 unit that does not decode (its reference was lost) is not a protocol error: it
//! is counted, not shown, and the caller asks the sender for a keyframe ([`Decoded::Lost`]).

use crate::codec::convert::Converter;
use crate::codec::h264;
use crate::codec::jpeg::Decoder;
use crate::media::{Geometry, Layout, PixelFormat};
use crate::output::pistream::protocol::{FormatSet, ProtocolError};

/// What a received frame became.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A picture, in the BGR frame.
    Picture,
    /// Nothing to show (an H.264 unit of parameter sets only).
    Nothing,
    /// An H.264 unit that did not decode: count it, show nothing, ask for a keyframe.
    Lost(String),
}

/// H.264's decoder and the I420 it decodes into.
struct H264Side {
    decoder: h264::Decoder,
    i420: Vec<u8>,
    converter: Converter,
}

/// Turns received frames of one geometry into BGR.
pub struct WireDecoder {
    geometry: Geometry,
    buffer: Vec<u8>,
    /// Converters for the raw formats agreed, made once per session.
    converters: Vec<(PixelFormat, Converter)>,
    jpeg: Option<Decoder>,
    h264: Option<H264Side>,
}

impl WireDecoder {
    /// A decoder for frames of `geometry` in any of `formats`.
    pub fn new(geometry: Geometry, formats: FormatSet) -> Result<WireDecoder, ProtocolError> {
        let mut converters = Vec::new();
        for format in formats.iter() {
            let Some(layout) = Layout::tight_yuv(format, geometry.width, geometry.height) else { continue };
            if format == PixelFormat::Nv12 && geometry.width % 2 == 1 {
                continue;
            }
            let converter = Converter::new(layout, geometry)
                .map_err(|e| ProtocolError::Undecodable { format, why: e.to_string() })?;
            converters.push((format, converter));
        }
        let jpeg =
            if formats.contains(PixelFormat::Mjpeg) {
                Some(Decoder::new().map_err(|e| ProtocolError::Undecodable {
                    format: PixelFormat::Mjpeg,
                    why: e.to_string(),
                })?)
            } else {
                None
            };
        let h264 = if formats.contains(PixelFormat::H264) {
            let undecodable = |why: String| ProtocolError::Undecodable { format: PixelFormat::H264, why };
            let layout = Layout::tight(PixelFormat::I420, geometry.width, geometry.height);
            Some(H264Side {
                decoder: h264::Decoder::new().map_err(|e| undecodable(e.to_string()))?,
                i420: vec![0u8; layout.min_frame_len()],
                converter: Converter::new(layout, geometry).map_err(|e| undecodable(e.to_string()))?,
            })
        } else {
            None
        };
        let needs_buffer = formats.iter().any(|f| f != PixelFormat::Bgr24);
        let buffer = if needs_buffer { vec![0u8; geometry.frame_len()] } else { Vec::new() };
        Ok(WireDecoder { geometry, buffer, converters, jpeg, h264 })
    }

    /// Where the body of a `len`-byte frame in a format other than BGR is read to.
    pub fn buffer(&mut self, len: usize) -> &mut [u8] {
        &mut self.buffer[..len]
    }

    /// Converts the `len` bytes just read into the buffer, in `format`, into `bgr`.
    pub fn to_bgr(
        &mut self,
        format: PixelFormat,
        len: usize,
        bgr: &mut [u8],
    ) -> Result<Decoded, ProtocolError> {
        let undecodable = |why: String| ProtocolError::Undecodable { format, why };
        let data = &self.buffer[..len];
        if format == PixelFormat::Mjpeg {
            let decoder = self.jpeg.as_mut().ok_or_else(|| undecodable("JPEG was not agreed".into()))?;
            decoder.decode(data, self.geometry, bgr).map_err(|e| undecodable(e.to_string()))?;
            return Ok(Decoded::Picture);
        }
        if format == PixelFormat::H264 {
            let side = self.h264.as_mut().ok_or_else(|| undecodable("H.264 was not agreed".into()))?;
            return match side.decoder.decode(data, &mut side.i420) {
                Ok(Some((w, h))) if (w, h) == (self.geometry.width, self.geometry.height) => {
                    side.converter.convert(&side.i420, bgr).map_err(|e| undecodable(e.to_string()))?;
                    Ok(Decoded::Picture)
                }
                Ok(Some((w, h))) => {
                    Err(undecodable(format!("a {w}x{h} picture in a {} stream", self.geometry)))
                }
                Ok(None) => Ok(Decoded::Nothing),
                Err(h264::DecodeError::Undecodable(why)) => Ok(Decoded::Lost(why)),
                Err(e) => Ok(Decoded::Lost(e.to_string())),
            };
        }
        let (_, converter) = self
            .converters
            .iter_mut()
            .find(|(f, _)| *f == format)
            .ok_or_else(|| undecodable("that format was not agreed".into()))?;
        converter.convert(data, bgr).map_err(|e| undecodable(e.to_string()))?;
        Ok(Decoded::Picture)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::convert::encode;
    use crate::codec::jpeg::Encoder;
    use crate::source::pattern;

    #[test]
    fn every_format_comes_back_as_the_picture_and_garbage_is_an_error() {
        let g = Geometry::new(64, 48);
        let mut original = vec![0u8; g.frame_len()];
        pattern::fill(&mut original, g, 9);
        let mut decoder = WireDecoder::new(g, FormatSet::all()).unwrap();
        let mut shown = vec![0u8; g.frame_len()];
        for format in [PixelFormat::Yuyv, PixelFormat::Uyvy, PixelFormat::Nv12, PixelFormat::I420] {
            let layout = Layout::tight_yuv(format, g.width, g.height).unwrap();
            let len = layout.format.tight_len(g.width, g.height).unwrap();
            assert_eq!(Some(len), format.tight_len(g.width, g.height));
            encode::bgr_to(layout.format, g.width, g.height, &original, decoder.buffer(len));
            assert_eq!(decoder.to_bgr(format, len, &mut shown).unwrap(), Decoded::Picture);
            let close = original.iter().zip(&shown).skip(24).filter(|(a, b)| a.abs_diff(**b) <= 64).count();
            assert!(close > original.len() * 9 / 10, "{format}");
        }
        let mut jpeg = vec![0u8; Encoder::max_len(g)];
        let len = Encoder::new().unwrap().encode(&original, g, 90, &mut jpeg).unwrap();
        decoder.buffer(len).copy_from_slice(&jpeg[..len]);
        decoder.to_bgr(PixelFormat::Mjpeg, len, &mut shown).unwrap();
        decoder.buffer(100).fill(0x42);
        let err = decoder.to_bgr(PixelFormat::Mjpeg, 100, &mut shown).unwrap_err();
        assert!(err.to_string().contains("JPEG frame that does not decode"), "{err}");
    }
}
