//! [`Frame`]: one packed BGR24 picture as a receiver shows it, with its sequence number,
//! capture time and the format it travelled in. Its buffer is allocated once (when the
//! geometry is known) and reused for every frame; stages hand frames to each other by
//! swapping them through a [`super::Mailbox`], never by copying pixels.

use std::fmt;

use super::format::PixelFormat;
use super::geometry::Geometry;

/// One video frame: geometry, sequence number, capture time and the pixels.
pub struct Frame {
    pub geometry: Geometry,
    /// Sequence number given by the producer; increases by one per captured frame.
    pub seq: u64,
    /// Capture time in microseconds since the UNIX epoch (wall clock, so two hosts with
    /// synchronised clocks can compute latency).
    pub captured_us: u64,
    /// `geometry.frame_len()` bytes of packed BGR pixels.
    pub data: Box<[u8]>,
    /// The format it travelled in (a receiver's `--verify` judges lossy formats apart).
    pub arrived_as: PixelFormat,
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
            arrived_as: PixelFormat::Bgr24,
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
