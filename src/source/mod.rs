//! Frame sources: where pictures come from. Each fills a preallocated BGR [`Frame`] in
//! place; none knows about sockets or sinks.
//!
//! `pattern.rs` is the deterministic test pattern, `v4l2/` captures from cameras (with
//! `negotiate.rs` choosing the mode), `url.rs` reads network streams and files with OpenCV.

pub mod coded;
pub mod negotiate;
pub mod pattern;
#[cfg(feature = "opencv")]
pub mod url;
pub mod v4l2;
pub mod verify;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::convert::InputFormat;
use crate::frame::Geometry;
use negotiate::Request;

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
    /// The capture's own bytes, tightly packed (or the camera's JPEG), when wanted and the
    /// source has them ([`Source::native_format`]). Grows once to the largest frame.
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
    fn native_format(&self) -> Option<InputFormat> {
        None
    }

    /// The V4L2 fourcc of how frames are captured (the hello tells receivers).
    fn capture_fourcc(&self) -> [u8; 4] {
        self.native_format().map_or(*b"BGR3", InputFormat::fourcc)
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

/// A source as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// The first V4L2 capture device (`camera` without `--source`).
    Auto,
    Pattern,
    V4l2(PathBuf),
    /// A network stream or video file, opened with OpenCV (FFmpeg).
    Url(String),
}

impl SourceSpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "pattern" {
            return Ok(SourceSpec::Pattern);
        }
        if text == "auto" {
            return Ok(SourceSpec::Auto);
        }
        if let Some(path) = text.strip_prefix("v4l2:") {
            return Ok(SourceSpec::V4l2(PathBuf::from(path)));
        }
        if text.starts_with("/dev/") {
            return Ok(SourceSpec::V4l2(PathBuf::from(text)));
        }
        if let Ok(index) = text.parse::<u32>() {
            return Ok(SourceSpec::V4l2(PathBuf::from(format!("/dev/video{index}"))));
        }
        let is_url = ["http://", "https://", "rtsp://", "rtsps://", "rtmp://", "udp://", "tcp://", "file:"]
            .iter()
            .any(|scheme| text.starts_with(scheme));
        if is_url || Path::new(text).is_file() {
            return Ok(SourceSpec::Url(text.to_string()));
        }
        Err(format!(
            "unknown source '{text}': use pattern, a V4L2 device (/dev/video0, v4l2:/dev/video0 or 0), \
             a URL (http://PHONE:8080/video, rtsp://...) or a video file"
        ))
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Auto => f.write_str("auto"),
            SourceSpec::Pattern => f.write_str("pattern"),
            SourceSpec::V4l2(path) => write!(f, "v4l2:{}", path.display()),
            SourceSpec::Url(url) => f.write_str(url),
        }
    }
}

/// Opens the source a spec names, producing frames of `geometry` at `fps` (0 = unpaced),
/// capturing in `format` if given (`--format`).
pub fn open(
    spec: &SourceSpec,
    geometry: Geometry,
    fps: f64,
    format: Option<InputFormat>,
) -> Result<Box<dyn Source>, SourceError> {
    let request = Request { width: geometry.width, height: geometry.height, fps, forced: format };
    match spec {
        SourceSpec::Pattern => Ok(Box::new(pattern::PatternSource::new(geometry, fps, format)?)),
        SourceSpec::V4l2(path) => Ok(Box::new(v4l2::V4l2Source::open(path, request, geometry)?)),
        SourceSpec::Auto => match v4l2::first_capture_device() {
            Some(path) => {
                log::info!("using {} (the first V4L2 capture device)", path.display());
                Ok(Box::new(v4l2::V4l2Source::open(&path, request, geometry)?))
            }
            None => Err(SourceError::Failed(format!(
                "no camera found: looked for V4L2 capture devices at /dev/video* ({}). Connect a USB camera, \
                 or use --source pattern (test pattern) or --source http://PHONE:8080/video (IP Webcam app)",
                match v4l2::device_nodes().len() {
                    0 => "there are none".to_string(),
                    n => format!("{n} nodes, none of them a capture device"),
                }
            ))),
        },
        #[cfg(feature = "opencv")]
        SourceSpec::Url(url) => Ok(Box::new(url::UrlSource::open(url, geometry, fps)?)),
        #[cfg(not(feature = "opencv"))]
        SourceSpec::Url(url) => Err(SourceError::Failed(format!(
            "{url}: this pistream was built without OpenCV, which reads URLs and video files; \
             rebuild with the default features"
        ))),
    }
}
