//! A frame as browsers take it: the camera's own JPEG when it captured JPEG (with the
//! standard Huffman tables added once per frame when the camera left them out), else one
//! JPEG per quality, made once per frame and shared with every other viewer; and what an
//! HTTP viewer therefore needs the capture stage to make.

use std::sync::Arc;

use crate::codec::jpeg::{self, Encoder};
use crate::codec::products::{Product, ProductError};
use crate::media::PixelFormat;
use crate::pipeline::hub::{Hub, Needs, SharedFrame};

/// `frame` as a JPEG a browser shows: the camera's own (with Huffman tables) when it
/// captured JPEG, else encoded at `quality`.
pub fn web_jpeg<'f>(
    frame: &'f SharedFrame,
    quality: u8,
    encoder: &mut Encoder,
) -> Result<&'f [u8], ProductError> {
    match frame.native_as(PixelFormat::Mjpeg) {
        Some(native) if jpeg::has_huffman_tables(native) => Ok(native),
        Some(_) => frame.product(Product::WebJpeg, encoder),
        None => frame.product(Product::Jpeg(quality), encoder),
    }
}

/// What a web client needs of each frame: the camera's JPEGs when it captures JPEG, its
/// planes when it captures Y'CbCr (JPEG is encoded from them), else BGR.
pub fn web_needs(hub: &Arc<Hub>) -> Needs {
    if hub.native().is_some_and(|f| f == PixelFormat::Mjpeg || f.is_yuv()) {
        Needs::NATIVE
    } else {
        Needs::BGR
    }
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
