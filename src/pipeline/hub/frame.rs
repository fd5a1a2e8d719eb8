//! A captured frame as every viewer shares it.
//!
//! A [`SharedFrame`] holds what the capture stage made (packed BGR, and the capture's own
//! bytes when they were kept: tight raw planes, or the camera's JPEG) and its stateless
//! products (`codec::products`: I420, JPEG at a quality, the camera's JPEG fixed up for
//! browsers), each made by the first viewer that asks and shared with every later one,
//! memoised by the product's key. Product buffers are allocated the first time a pooled
//! frame makes that product and kept across the frame's reuses, so steady state allocates
//! nothing.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

use crate::codec::jpeg::Encoder;
use crate::codec::products::{self, Picture, Product, ProductError};
use crate::media::{Geometry, PixelFormat, YuvRange};

/// How many products one frame keeps at once (I420, the web's JPEG, the wire's JPEG steps).
const PRODUCTS: usize = 6;

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
    pub native_format: Option<PixelFormat>,
    /// The format the capture's own bytes come in when kept (whether or not this frame kept
    /// them): formats made from them are never made from BGR instead, so every frame of a
    /// format is made the same way.
    pub source_native: Option<PixelFormat>,
    /// The range of the native bytes when they are Y'CbCr (full for rpicam-vid's sYCC).
    pub native_range: YuvRange,
    /// Bytes per luma row of the native planes when they keep the camera's padding (0: tight).
    pub native_stride: usize,
    products: [ProductSlot; PRODUCTS],
}

impl SharedFrame {
    /// A frame of `geometry` that holds nothing yet (the pool makes them; tests too).
    pub fn new(geometry: Geometry) -> Self {
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
            native_range: YuvRange::Limited,
            native_stride: 0,
            products: Default::default(),
        }
    }

    /// The native bytes, if this frame kept them in `format`, as they may go out as they are:
    /// tight, and Y'CbCr in the limited range receivers assume (a camera module's padded,
    /// full-range planes are made into products instead, which fit them to the wire).
    pub fn native_as(&self, format: PixelFormat) -> Option<&[u8]> {
        let fits = !format.is_yuv() || (self.native_range == YuvRange::Limited && self.native_stride == 0);
        (self.native_format == Some(format) && fits).then(|| &self.native[..self.native_len])
    }

    /// What products are made from: this frame's BGR and native bytes, as far as it has them.
    pub fn picture(&self) -> Picture<'_> {
        Picture {
            geometry: self.geometry,
            bgr: self.has_bgr.then_some(&self.bgr[..]),
            native: self.native_format.map(|format| (format, &self.native[..self.native_len])),
            range: self.native_range,
            stride: self.native_stride,
        }
    }

    /// A product, made (with `encoder`, by `codec::products::make`) by the first caller
    /// that asks and shared with every later one; others asking meanwhile wait for it.
    pub fn product(&self, product: Product, encoder: &mut Encoder) -> Result<&[u8], ProductError> {
        let key = product.key();
        for slot in &self.products {
            let claimed = slot.key.compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire);
            if claimed.is_ok() || claimed == Err(key) {
                return slot.get(|bytes| products::make(product, &self.picture(), encoder, bytes));
            }
        }
        Err(ProductError::Full)
    }

    /// Forgets last cycle's products before the frame is reused (the pool owns it alone).
    pub(super) fn recycle(&mut self) {
        self.has_bgr = false;
        self.native_format = None;
        self.native_len = 0;
        for slot in &mut self.products {
            slot.recycle();
        }
    }
}

/// One product of a frame.
#[derive(Default)]
struct ProductSlot {
    /// Which product this slot holds this cycle (0: none; else [`Product::key`]).
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
