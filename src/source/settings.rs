//! What every source is asked besides its size and rate: which way up, rpicam-vid's
//! settings and V4L2 controls ([`CameraSettings`]), and which source may take which.

use super::capture::SourceError;
use super::rpicam::options::CameraOption;
use super::v4l2::controls::ControlSetting;
use crate::media::Orientation;

/// What every source is asked besides its size and rate: which way up
/// (`--rotate`/`--hflip`/`--vflip`), rpicam-vid's settings (`--camera-option`) and V4L2
/// controls (`--control`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CameraSettings {
    pub orientation: Orientation,
    pub options: Vec<CameraOption>,
    pub controls: Vec<ControlSetting>,
}

impl CameraSettings {
    /// Refuses settings that belong to another kind of source than `kind`.
    pub(super) fn only_for(&self, kind: &str) -> Result<(), SourceError> {
        if kind != "rpicam" && !self.options.is_empty() {
            return Err(SourceError::Failed(format!(
                "--camera-option sets rpicam-vid's settings, and this source is {kind}; {}",
                if kind == "V4L2" {
                    "use --control NAME=VALUE (`pistream devices` lists each camera's)"
                } else {
                    "leave it out"
                }
            )));
        }
        if kind != "V4L2" && !self.controls.is_empty() {
            return Err(SourceError::Failed(format!(
                "--control sets a V4L2 camera's controls, and this source is {kind}; {}",
                if kind == "rpicam" { "use --camera-option KEY=VALUE" } else { "leave it out" }
            )));
        }
        Ok(())
    }
}
