//! Sources as the command line names them ([`SourceSpec`]: a V4L2 device, a URL or file, the
//! test pattern, or the first camera) and opening the one named.

use std::fmt;
use std::path::{Path, PathBuf};

use super::capture::{Source, SourceError};
#[cfg(feature = "opencv")]
use super::url;
use super::v4l2::mode::Request;
use super::{pattern, v4l2};
use crate::media::{Geometry, PixelFormat};

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
    format: Option<PixelFormat>,
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
