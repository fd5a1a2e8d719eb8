//! Frames and their geometry: the unit that flows from a source, over the wire, to a sink.
//!
//! A [`Frame`] owns one packed BGR24 pixel buffer that is allocated once (when the geometry
//! is known) and then reused for every frame; stages hand frames to each other by swapping
//! them through a [`crate::mailbox::Mailbox`], never by copying pixels.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::WireFormat;

/// Largest width or height we accept from the command line or a peer (8K is 7680).
pub const MAX_DIMENSION: u32 = 8192;

/// Pixel layout of a frame on the wire and in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// Packed 8-bit blue, green, red: OpenCV's native layout, V4L2 fourcc `BGR3`.
    Bgr24,
}

impl PixelFormat {
    /// The V4L2 fourcc naming this layout, as sent in the hello.
    pub const fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Bgr24 => *b"BGR3",
        }
    }

    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Bgr24 => 3,
        }
    }
}

/// Width, height and pixel format of a stream. Rows are tightly packed (stride = width * 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
}

impl Geometry {
    pub const fn bgr(width: u32, height: u32) -> Self {
        Geometry { width, height, format: PixelFormat::Bgr24 }
    }

    /// Bytes in one row.
    pub fn stride(&self) -> usize {
        self.width as usize * self.format.bytes_per_pixel()
    }

    /// Bytes in one frame.
    pub fn frame_len(&self) -> usize {
        self.stride() * self.height as usize
    }

    /// Whether both dimensions are in `1..=MAX_DIMENSION`.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_DIMENSION).contains(&self.width) && (1..=MAX_DIMENSION).contains(&self.height)
    }
}

impl fmt::Display for Geometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

/// One video frame: geometry, sequence number, capture time and the pixels.
pub struct Frame {
    pub geometry: Geometry,
    /// Sequence number given by the producer; increases by one per captured frame.
    pub seq: u64,
    /// Capture time in microseconds since the UNIX epoch (wall clock, so two hosts with
    /// synchronised clocks can compute latency).
    pub captured_us: u64,
    /// `geometry.frame_len()` bytes of packed pixels.
    pub data: Box<[u8]>,
    /// The wire format it arrived in (a receiver's `--verify` judges lossy formats apart).
    pub wire: WireFormat,
}

impl Frame {
    /// Allocates a zeroed frame: at start-up or when a session begins, never per frame
    /// (frames are reused; the hub's shared frames come from a fixed pool).
    pub fn new(geometry: Geometry) -> Self {
        Frame {
            geometry,
            seq: 0,
            captured_us: 0,
            data: vec![0u8; geometry.frame_len()].into_boxed_slice(),
            wire: WireFormat::Bgr24,
        }
    }

    /// Reallocates the pixel buffer if the geometry changed (only around a handshake).
    pub fn ensure_geometry(&mut self, geometry: Geometry) {
        if self.geometry != geometry || self.data.len() != geometry.frame_len() {
            *self = Frame::new(geometry);
        }
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("geometry", &self.geometry)
            .field("seq", &self.seq)
            .field("captured_us", &self.captured_us)
            .finish_non_exhaustive()
    }
}

/// Microseconds since the UNIX epoch, the clock frames are stamped with.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}
