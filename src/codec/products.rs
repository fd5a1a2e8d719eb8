//! The stateless products a viewer may ask of one captured picture, each made from that
//! picture alone (no state carried between pictures): tight I420, a JPEG at a quality, and
//! a camera's own JPEG with the standard Huffman tables browsers need. The pipeline's hub
//! memoises them per frame by [`Product::key`], so each is made at most once per frame
//! (`pipeline::hub::SharedFrame::product`); this module only makes them.

use std::fmt;

use super::convert::{convert_range, encode};
use super::jpeg::{self, Encoder, JpegError};
use crate::media::{Geometry, Layout, PixelFormat, YuvRange};

/// What a viewer may ask of a frame beyond its BGR and native bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// Tight I420 (from the native planes when they are Y'CbCr, else from BGR).
    I420,
    /// A JPEG at this quality (1..=100): from a Y'CbCr camera's planes, else from BGR.
    Jpeg(u8),
    /// The camera's own JPEG as browsers accept it: with Huffman tables.
    WebJpeg,
}

impl Product {
    /// A nonzero number naming this product, the key it is memoised by.
    pub fn key(self) -> u16 {
        match self {
            Product::I420 => 1 << 8,
            Product::Jpeg(q) => 2 << 8 | u16::from(q.clamp(1, 100)),
            Product::WebJpeg => 3 << 8,
        }
    }
}

/// Why a product could not be made.
#[derive(Clone, Copy, Debug)]
pub enum ProductError {
    Jpeg(JpegError),
    /// The frame lacks what the product is made from (a bug in the caller's demand).
    Missing(&'static str),
    /// More different products asked of one frame than it keeps.
    Full,
}

impl fmt::Display for ProductError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductError::Jpeg(e) => write!(f, "JPEG: {e}"),
            ProductError::Missing(what) => write!(f, "the frame has no {what}"),
            ProductError::Full => f.write_str("more products asked of one frame than it keeps"),
        }
    }
}

impl std::error::Error for ProductError {}

impl From<JpegError> for ProductError {
    fn from(e: JpegError) -> Self {
        ProductError::Jpeg(e)
    }
}

impl From<ProductError> for std::io::Error {
    fn from(e: ProductError) -> Self {
        std::io::Error::other(e)
    }
}

/// What a product is made from: one captured picture's packed BGR and/or its capture's
/// own bytes (tight raw planes, or the camera's JPEG), as far as the capture kept them.
#[derive(Clone, Copy, Debug)]
pub struct Picture<'a> {
    pub geometry: Geometry,
    pub bgr: Option<&'a [u8]>,
    pub native: Option<(PixelFormat, &'a [u8])>,
    /// The range of the native Y'CbCr planes.
    pub range: YuvRange,
    /// Bytes per luma row of the native planes when padded (0: tight).
    pub stride: usize,
}

impl Picture<'_> {
    /// The native bytes when they are Y'CbCr planes, with their layout.
    fn planes(&self) -> Option<(Layout, &[u8])> {
        let (format, bytes) = self.native.filter(|(format, _)| format.is_yuv())?;
        let tight = Layout::tight(format, self.geometry.width, self.geometry.height);
        let stride = if self.stride > 0 { self.stride } else { tight.stride };
        Some((Layout { stride, ..tight }, bytes))
    }
}

/// Makes `product` of `picture` into `out` (grown once to the largest size, kept across
/// frames); returns its length.
pub fn make(
    product: Product,
    picture: &Picture<'_>,
    encoder: &mut Encoder,
    out: &mut Vec<u8>,
) -> Result<usize, ProductError> {
    let g = picture.geometry;
    match product {
        Product::I420 => {
            let len = PixelFormat::I420.tight_len(g.width, g.height).expect("a raw format");
            grow(out, len);
            match (picture.planes(), picture.bgr) {
                (Some((layout, planes)), _) => {
                    encode::to_i420(&layout, planes, out);
                    // Receivers read I420 as limited range.
                    convert_range(
                        &mut out[..len],
                        (g.width * g.height) as usize,
                        picture.range,
                        YuvRange::Limited,
                    );
                }
                (None, Some(bgr)) => encode::bgr_to(PixelFormat::I420, g.width, g.height, bgr, out),
                (None, None) => return Err(ProductError::Missing("BGR or Y'CbCr planes")),
            }
            Ok(len)
        }
        // From the camera's own Y'CbCr planes when this frame kept them (no BGR needed, and
        // libjpeg skips its colour conversion), else from BGR.
        Product::Jpeg(quality) => match (picture.planes(), picture.bgr) {
            (Some((layout, planes)), _) => {
                let max = Encoder::max_len(g);
                let i420_len = PixelFormat::I420.tight_len(g.width, g.height).expect("a raw format");
                grow(out, max + i420_len);
                let (jpeg, i420) = out.split_at_mut(max);
                encode::to_i420(&layout, planes, &mut i420[..i420_len]);
                Ok(encoder.encode_i420(&mut i420[..i420_len], g, picture.range, quality, jpeg)?)
            }
            (None, Some(bgr)) => {
                grow(out, Encoder::max_len(g));
                Ok(encoder.encode(bgr, g, quality, out)?)
            }
            (None, None) => Err(ProductError::Missing("BGR or Y'CbCr planes")),
        },
        Product::WebJpeg => {
            let native = match picture.native {
                Some((PixelFormat::Mjpeg, native)) => native,
                _ => return Err(ProductError::Missing("JPEG")),
            };
            if !jpeg::with_standard_huffman_tables(native, out) {
                out.clear();
                out.extend_from_slice(native);
            }
            Ok(out.len())
        }
    }
}

fn grow(buffer: &mut Vec<u8>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0);
    }
}
