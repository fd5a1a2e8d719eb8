//! What a source is to the capture stage: the [`Source`] trait, the [`Target`] a frame is
//! captured into (BGR and/or the capture's own bytes, as the viewers need), what one call
//! produced ([`Captured`]), and [`SourceError`].

use crate::media::{Geometry, PixelFormat, YuvRange};

/// Why a source could not produce a frame.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Failed(String),
}

/// Where a source writes the frame it captures: what the viewers need of it.
pub struct Target<'a> {
    /// The sequence number the capture stage gives this frame (the test pattern draws it).
    pub seq: u64,
    /// Packed BGR24 of the source's geometry, when wanted.
    pub bgr: Option<&'a mut [u8]>,
    /// The capture's own bytes, tightly packed (or with the rows [`Source::native_stride`]
    /// says; or the camera's JPEG), when wanted and the source has them
    /// ([`Source::native_format`]). Grows once to the largest frame.
    pub native: Option<&'a mut Vec<u8>>,
}

/// What one call to [`Source::next_frame`] produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Captured {
    /// A frame was written: BGR if asked for, and `native_len` bytes of native if asked
    /// for. `driver_time` is when the driver captured it on CLOCK_MONOTONIC, when it says
    /// so (V4L2); otherwise the capture stage stamps the time it got the frame.
    Frame { driver_time: Option<std::time::Duration>, native_len: usize },
    /// No frame within about 100 ms (the caller checks for shutdown and calls again).
    NotYet,
    /// A frame came but cannot be used: the driver flagged an error, it is shorter than its
    /// format needs, a JPEG without its start/end markers or that does not decode. It was
    /// skipped; the capture stage counts it.
    Bad(String),
}

/// A producer of frames of a fixed geometry.
pub trait Source: Send {
    /// The geometry of every frame this source produces.
    fn geometry(&self) -> Geometry;

    /// Captures the next frame into `target`.
    fn next_frame(&mut self, target: &mut Target<'_>) -> Result<Captured, SourceError>;

    /// The format of the bytes this source can hand over as they came (YUYV, UYVY, NV12,
    /// YU12 planes or MJPEG, unscaled): what a viewer may get without any conversion.
    fn native_format(&self) -> Option<PixelFormat> {
        None
    }

    /// The quantization range of the native bytes when they are Y'CbCr: limited (16..235)
    /// as webcams send them, or full (rpicam-vid's sYCC).
    fn native_range(&self) -> YuvRange {
        YuvRange::Limited
    }

    /// Bytes per luma row of the native bytes when they keep the camera's row padding (a
    /// camera module's frames, as its ISP laid them out); `None` when they are tight.
    fn native_stride(&self) -> Option<usize> {
        None
    }

    /// The V4L2 fourcc of how frames are captured (the hello tells receivers).
    fn capture_fourcc(&self) -> [u8; 4] {
        self.native_format().map_or(*b"BGR3", PixelFormat::fourcc)
    }

    /// One line for logs: what this source is and how it was set up.
    fn describe(&self) -> String;

    /// Whether the source must be read even while nobody watches (network streams keep
    /// their own queues, which would otherwise hand out stale frames later).
    fn read_continuously(&self) -> bool {
        false
    }

    /// Whether the source has no pace of its own (an unpaced test pattern): it should then
    /// make a frame only when the previous one was taken, instead of spending a core on
    /// frames that would only be dropped.
    fn paced_by_consumer(&self) -> bool {
        false
    }
}
