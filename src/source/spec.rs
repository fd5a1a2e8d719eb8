//! Sources as the command line names them ([`SourceSpec`]: a V4L2 device, a camera module
//! through rpicam-vid, a URL or file, the test pattern, or the first camera), the camera
//! settings every source takes ([`CameraSettings`], in `settings.rs`), and opening the one named.

use std::fmt;
use std::path::{Path, PathBuf};

use super::capture::{Source, SourceError};
use super::rpicam;
use super::settings::CameraSettings;
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
    /// A libcamera camera (a Raspberry Pi camera module) through rpicam-vid: its index in
    /// `rpicam-vid --list-cameras`.
    Rpicam(u32),
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
        if text == "rpicam" {
            return Ok(SourceSpec::Rpicam(0));
        }
        if let Some(index) = text.strip_prefix("rpicam:") {
            return index.parse().map(SourceSpec::Rpicam).map_err(|_| {
                format!(
                    "--source '{text}': give rpicam or rpicam:N, N the camera's number in `pistream devices`"
                )
            });
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
             rpicam (a Raspberry Pi camera module; rpicam:1 for the second), a URL (http://PHONE:8080/video, \
             rtsp://...) or a video file"
        ))
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Auto => f.write_str("auto"),
            SourceSpec::Pattern => f.write_str("pattern"),
            SourceSpec::V4l2(path) => write!(f, "v4l2:{}", path.display()),
            SourceSpec::Rpicam(index) => write!(f, "rpicam:{index}"),
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
    camera: &CameraSettings,
) -> Result<Box<dyn Source>, SourceError> {
    let request = Request { width: geometry.width, height: geometry.height, fps, forced: format };
    let rpicam_request = |index: u32| rpicam::Request {
        camera: index,
        width: geometry.width,
        height: geometry.height,
        fps,
        orientation: camera.orientation,
        options: camera.options.clone(),
    };
    match spec {
        SourceSpec::Pattern => {
            camera.only_for("the test pattern")?;
            Ok(Box::new(pattern::PatternSource::new(geometry, fps, format)?.oriented(camera.orientation)?))
        }
        SourceSpec::V4l2(path) => {
            camera.only_for("V4L2")?;
            Ok(Box::new(v4l2::V4l2Source::open(path, request, geometry, camera)?))
        }
        SourceSpec::Rpicam(index) => {
            camera.only_for("rpicam")?;
            refuse_format(format)?;
            Ok(Box::new(rpicam::RpicamSource::open(rpicam_request(*index))?))
        }
        SourceSpec::Auto => match v4l2::first_usable_capture_device() {
            Some(path) => {
                log::info!("using {} (the first V4L2 camera)", path.display());
                camera.only_for("V4L2")?;
                Ok(Box::new(v4l2::V4l2Source::open(&path, request, geometry, camera)?))
            }
            None => match auto_camera_module()? {
                Some(index) => {
                    camera.only_for("rpicam")?;
                    refuse_format(format)?;
                    Ok(Box::new(rpicam::RpicamSource::open(rpicam_request(index))?))
                }
                None => Err(SourceError::Failed(format!(
                    "no camera found: looked for V4L2 capture devices at /dev/video* ({}) and for camera \
                     modules with rpicam-vid ({}). Connect a camera, or use --source pattern (test pattern) or \
                     --source http://PHONE:8080/video (IP Webcam app)",
                    match v4l2::device_nodes().len() {
                        0 => "there are none".to_string(),
                        n => format!("{n} nodes, none of them a camera pistream can read"),
                    },
                    if rpicam::program().is_some() { "it lists none" } else { "not installed" }
                ))),
            },
        },
        #[cfg(feature = "opencv")]
        SourceSpec::Url(url) => {
            camera.only_for("a URL")?;
            Ok(Box::new(url::UrlSource::open(url, geometry, fps)?.oriented(camera.orientation)))
        }
        #[cfg(not(feature = "opencv"))]
        SourceSpec::Url(url) => Err(SourceError::Failed(format!(
            "{url}: this pistream was built without OpenCV, which reads URLs and video files; \
             rebuild with the default features"
        ))),
    }
}

/// `--format` picks a V4L2 capture format; rpicam-vid always sends YUV420.
fn refuse_format(format: Option<PixelFormat>) -> Result<(), SourceError> {
    match format {
        None | Some(PixelFormat::I420) => Ok(()),
        Some(other) => Err(SourceError::Failed(format!(
            "--format {other}: rpicam-vid sends YUV420 (YU12) only; leave --format out"
        ))),
    }
}

/// The camera module to use when no V4L2 camera pistream can read is there: camera 0 of
/// `rpicam-vid --list-cameras` (a CSI camera's own V4L2 node gives only raw Bayer). Says
/// which it picked, or why it cannot use one that is there.
fn auto_camera_module() -> Result<Option<u32>, SourceError> {
    let bayer = v4l2::bayer_only_device();
    let Some(program) = rpicam::program() else {
        return match bayer {
            Some((path, card)) => Err(SourceError::Failed(format!(
                "{} ({card}) is a camera module giving only raw Bayer, which libcamera's rpicam-vid turns into \
                 pictures, and it is not installed: {}",
                path.display(),
                rpicam::PACKAGE_HINT
            ))),
            None => Ok(None),
        };
    };
    let cameras = rpicam::list::list(&program).map_err(SourceError::Failed)?;
    match cameras.first() {
        Some(first) => {
            log::info!(
                "using rpicam-vid camera {} ({}, {}): the camera module, through libcamera{}",
                first.index,
                first.sensor,
                first.model(),
                if first.has_autofocus() { "; continuous autofocus" } else { "" }
            );
            Ok(Some(first.index))
        }
        None if bayer.is_some() => Err(SourceError::Failed(format!(
            "{} lists no camera although {} is a camera module's node: check `rpicam-hello --list-cameras` \
             and the camera's ribbon cable",
            program.display(),
            bayer.map(|(p, _)| p.display().to_string()).unwrap_or_default()
        ))),
        None => Ok(None),
    }
}
