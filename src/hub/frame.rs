//! A captured frame as every viewer shares it, and the pool that recycles them.
//!
//! A [`SharedFrame`] holds what the capture stage made (packed BGR, and the capture's own
//! bytes when they were kept: tight raw planes, or the camera's JPEG) and, made on demand
//! by the first viewer that wants each and shared with every later one, its other
//! products: I420, JPEG at a quality, the camera's JPEG fixed up for browsers. Product
//! buffers are allocated the first time a pooled frame makes that product and kept across
//! the frame's reuses, so steady state allocates nothing.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};

use crate::convert::{encode, InputFormat, InputLayout};
use crate::frame::Geometry;
use crate::jpeg::{self, Encoder, JpegError};
use crate::protocol::WireFormat;

/// A captured frame shared by every viewer that wants it.
pub struct SharedFrame {
    pub geometry: Geometry,
    /// Sequence number given by the capture stage; increases by one per captured frame.
    pub seq: u64,
    /// Capture time in microseconds since the UNIX epoch.
    pub captured_us: u64,
    /// Packed BGR24, `geometry.frame_len()` bytes; holds this frame when `has_bgr`.
    pub bgr: Box<[u8]>,
    pub has_bgr: bool,
    /// The capture as it came, when kept: tight raw planes, or the camera's JPEG.
    pub native: Vec<u8>,
    pub native_len: usize,
    pub native_format: Option<InputFormat>,
    /// The format the capture's own bytes come in when kept (whether or not this frame kept
    /// them): formats made from them are never made from BGR instead, so every frame of a
    /// format is made the same way.
    pub source_native: Option<InputFormat>,
    /// Products made on demand (see [`Product`]).
    products: [ProductSlot; PRODUCTS],
}

/// What a viewer may ask of a frame beyond its BGR and native bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// Tight I420 (from the native planes when they are Y'CbCr, else from BGR).
    I420,
    /// A JPEG at this quality (1..=100), encoded from BGR.
    Jpeg(u8),
    /// The camera's own JPEG as browsers accept it: with Huffman tables.
    WebJpeg,
}

impl Product {
    fn key(self) -> u16 {
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

impl std::fmt::Display for ProductError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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

/// How many products one frame keeps at once (I420, the web's JPEG, the wire's JPEG steps).
const PRODUCTS: usize = 6;

impl SharedFrame {
    pub(super) fn new(geometry: Geometry) -> Self {
        SharedFrame {
            geometry,
            seq: 0,
            captured_us: 0,
            bgr: vec![0u8; geometry.frame_len()].into_boxed_slice(),
            has_bgr: false,
            native: Vec::new(),
            native_len: 0,
            native_format: None,
            source_native: None,
            products: Default::default(),
        }
    }

    /// The native bytes, if this frame kept them in `format`.
    pub fn native_as(&self, format: InputFormat) -> Option<&[u8]> {
        (self.native_format == Some(format)).then(|| &self.native[..self.native_len])
    }

    /// The bytes of this frame in a wire format: BGR and the native format as they are,
    /// I420 and JPEG made on first request (a camera's own JPEG goes out unchanged).
    pub fn wire(
        &self,
        format: WireFormat,
        quality: u8,
        encoder: &mut Encoder,
    ) -> Result<&[u8], ProductError> {
        match format {
            WireFormat::Bgr24 if self.has_bgr => Ok(&self.bgr),
            WireFormat::Bgr24 => Err(ProductError::Missing("BGR")),
            WireFormat::Yuyv => self.native_as(InputFormat::Yuyv).ok_or(ProductError::Missing("YUYV")),
            WireFormat::Uyvy => self.native_as(InputFormat::Uyvy).ok_or(ProductError::Missing("UYVY")),
            WireFormat::Nv12 => self.native_as(InputFormat::Nv12).ok_or(ProductError::Missing("NV12")),
            WireFormat::I420 => match self.native_as(InputFormat::Yu12) {
                Some(native) => Ok(native),
                None if self.source_native.is_some_and(|f| f.is_yuv()) && self.native_format.is_none() => {
                    Err(ProductError::Missing("the camera's planes"))
                }
                None => self.product(Product::I420, encoder),
            },
            WireFormat::Jpeg => match self.native_as(InputFormat::Mjpeg) {
                Some(native) => Ok(native),
                None if self.source_native == Some(InputFormat::Mjpeg) => {
                    Err(ProductError::Missing("the camera's JPEG"))
                }
                None => self.product(Product::Jpeg(quality), encoder),
            },
        }
    }

    /// This frame as a JPEG a browser shows: the camera's own (with Huffman tables) when it
    /// captured JPEG, else encoded at `quality`.
    pub fn web_jpeg(&self, quality: u8, encoder: &mut Encoder) -> Result<&[u8], ProductError> {
        match self.native_as(InputFormat::Mjpeg) {
            Some(native) if jpeg::has_huffman_tables(native) => Ok(native),
            Some(_) => self.product(Product::WebJpeg, encoder),
            None => self.product(Product::Jpeg(quality), encoder),
        }
    }

    /// A product, made by the first caller that asks and shared with every later one
    /// (others asking meanwhile wait for it).
    pub fn product(&self, product: Product, encoder: &mut Encoder) -> Result<&[u8], ProductError> {
        let key = product.key();
        for slot in &self.products {
            let claimed = slot.key.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire);
            if claimed.is_ok() || claimed == Err(key) {
                return slot.get(|bytes| self.make(product, encoder, bytes));
            }
        }
        Err(ProductError::Full)
    }

    fn make(
        &self,
        product: Product,
        encoder: &mut Encoder,
        out: &mut Vec<u8>,
    ) -> Result<usize, ProductError> {
        let g = self.geometry;
        match product {
            Product::I420 => {
                let len = encode::tight_len(InputFormat::Yu12, g.width, g.height).expect("a raw format");
                grow(out, len);
                match self.native_format.filter(|f| f.is_yuv()) {
                    Some(format) => {
                        let layout = InputLayout::packed(format, g.width, g.height);
                        let layout = InputLayout { stride: tight_stride(format, g.width), ..layout };
                        encode::to_i420(&layout, &self.native[..self.native_len], out);
                    }
                    None if self.has_bgr => {
                        encode::bgr_to(InputFormat::Yu12, g.width, g.height, &self.bgr, out)
                    }
                    None => return Err(ProductError::Missing("BGR or Y'CbCr planes")),
                }
                Ok(len)
            }
            // From the camera's own Y'CbCr planes when this frame kept them (no BGR needed,
            // and libjpeg skips its colour conversion), else from BGR.
            Product::Jpeg(quality) => match self.native_format.filter(|f| f.is_yuv()) {
                Some(format) => {
                    let max = Encoder::max_len(g);
                    let planes =
                        encode::tight_len(InputFormat::Yu12, g.width, g.height).expect("a raw format");
                    grow(out, max + planes);
                    let (jpeg, i420) = out.split_at_mut(max);
                    let layout = InputLayout::packed(format, g.width, g.height);
                    let layout = InputLayout { stride: tight_stride(format, g.width), ..layout };
                    encode::to_i420(&layout, &self.native[..self.native_len], &mut i420[..planes]);
                    Ok(encoder.encode_i420_limited(&mut i420[..planes], g, quality, jpeg)?)
                }
                None if self.has_bgr => {
                    grow(out, Encoder::max_len(g));
                    Ok(encoder.encode(&self.bgr, g, quality, out)?)
                }
                None => Err(ProductError::Missing("BGR or Y'CbCr planes")),
            },
            Product::WebJpeg => {
                let native = self.native_as(InputFormat::Mjpeg).ok_or(ProductError::Missing("JPEG"))?;
                if !jpeg::with_standard_huffman_tables(native, out) {
                    out.clear();
                    out.extend_from_slice(native);
                }
                Ok(out.len())
            }
        }
    }

    /// Forgets last cycle's products before the frame is reused (the pool owns it alone).
    fn recycle(&mut self) {
        self.has_bgr = false;
        self.native_format = None;
        self.native_len = 0;
        for slot in &mut self.products {
            slot.recycle();
        }
    }
}

/// The stride of a tight raw frame's first plane (what [`encode::pack_tight`] makes).
fn tight_stride(format: InputFormat, width: u32) -> usize {
    match format {
        InputFormat::Nv12 | InputFormat::Nv21 | InputFormat::Yu12 => width as usize,
        other => other.min_stride(width),
    }
}

fn grow(buffer: &mut Vec<u8>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0);
    }
}

/// One product of a frame.
#[derive(Default)]
struct ProductSlot {
    /// Which product this slot holds this cycle (0: none).
    key: AtomicU16,
    /// Set once the product is made: its length, or why it failed.
    done: OnceLock<Result<usize, ProductError>>,
    /// The product's bytes: written only inside `done`'s one initialisation, read only after.
    bytes: UnsafeCell<Vec<u8>>,
}

// SAFETY: `bytes` is written only by the closure `done.get_or_init` runs, which runs at most
// once per cycle while every other caller blocks on the OnceLock; it is read only after
// `done` is set (the OnceLock orders that write before every read); and it is reset only
// through `&mut self` (`recycle`), when no one else can hold the frame.
unsafe impl Sync for ProductSlot {}

impl ProductSlot {
    fn get(
        &self,
        make: impl FnOnce(&mut Vec<u8>) -> Result<usize, ProductError>,
    ) -> Result<&[u8], ProductError> {
        let done = self.done.get_or_init(|| {
            // SAFETY: see the Sync impl: this closure is the only writer, and runs alone.
            make(unsafe { &mut *self.bytes.get() })
        });
        let len = (*done)?;
        // SAFETY: `done` is set, so the write has happened and no further write comes
        // before `recycle`, which needs `&mut self`.
        let bytes: &Vec<u8> = unsafe { &*self.bytes.get() };
        Ok(&bytes[..len])
    }

    fn recycle(&mut self) {
        *self.key.get_mut() = 0;
        self.done.take();
    }
}

/// The capture stage's frames: reused once every viewer has let go of them.
pub struct FramePool {
    frames: Vec<Arc<SharedFrame>>,
    geometry: Geometry,
    limit: usize,
}

impl FramePool {
    /// A pool of frames of `geometry`, growing on demand to at most `limit` frames.
    pub fn new(geometry: Geometry, limit: usize) -> Self {
        let frames = (0..2.min(limit)).map(|_| Arc::new(SharedFrame::new(geometry))).collect();
        FramePool { frames, geometry, limit: limit.max(1) }
    }

    /// A frame nobody else holds, to fill (growing the pool if all are held and it is below
    /// its limit); `None` when every frame is held and the pool is full.
    pub fn free(&mut self) -> Option<PoolIndex> {
        if let Some(i) = self.frames.iter().position(|f| Arc::strong_count(f) == 1) {
            return Some(PoolIndex(i));
        }
        if self.frames.len() < self.limit {
            self.frames.push(Arc::new(SharedFrame::new(self.geometry)));
            return Some(PoolIndex(self.frames.len() - 1));
        }
        None
    }

    /// The free frame at `index`, to fill (its products from its last use forgotten).
    pub fn frame_mut(&mut self, index: PoolIndex) -> &mut SharedFrame {
        let frame =
            Arc::get_mut(&mut self.frames[index.0]).expect("PoolIndex names a frame nobody else holds");
        frame.recycle();
        frame
    }

    /// A reference to the frame at `index`, to publish.
    pub fn share(&self, index: PoolIndex) -> Arc<SharedFrame> {
        self.frames[index.0].clone()
    }

    /// Frames allocated so far.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// A frame of a [`FramePool`] that was free when [`FramePool::free`] returned it.
#[derive(Clone, Copy, Debug)]
pub struct PoolIndex(usize);

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
