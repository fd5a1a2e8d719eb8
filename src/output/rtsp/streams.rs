//! The two H.264 streams RTSP serves and where their units come from: `/stream` is the
//! hub's H.264 stage at the capture's size and rate (the one pistream's own `--wire h264`
//! viewers share at the same bitrate), `/sub` a scaled stage at `--sub-size` and
//! `--sub-fps`. Each is encoded once, whatever the number of viewers.

use super::session::StreamName;
use crate::codec::h264::{default_bitrate, H264Settings};
use crate::output::Endpoint;
use crate::pipeline::h264;
use crate::pipeline::hub::{Subscription, ViewerGuard};

/// The H.264 settings of `name` on `endpoint`'s camera.
pub(super) fn settings(endpoint: &Endpoint, name: StreamName) -> Option<H264Settings> {
    let main = endpoint.h264_settings()?;
    Some(match name {
        StreamName::Main => main,
        StreamName::Sub => {
            let rtsp = &endpoint.rtsp.settings;
            let fps = rtsp.sub_fps.min(main.fps);
            H264Settings {
                geometry: rtsp.sub_geometry,
                fps,
                bitrate: default_bitrate(rtsp.sub_geometry, fps),
                // One keyframe a second, as detectors want.
                keyframe_interval: fps.round().max(1.0) as u32,
            }
        }
    })
}

/// A stream as `/state` lists it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StreamInfo {
    pub path: &'static str,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub bitrate: u32,
}

/// The RTSP streams of `endpoint`'s camera (none without one).
pub fn listed(endpoint: &Endpoint) -> Vec<StreamInfo> {
    [StreamName::Main, StreamName::Sub]
        .into_iter()
        .filter_map(|name| {
            let s = settings(endpoint, name)?;
            Some(StreamInfo {
                path: name.path(),
                width: s.geometry.width,
                height: s.geometry.height,
                fps: s.fps,
                bitrate: s.bitrate,
            })
        })
        .collect()
}

/// The bitrate of `name` (for the stats and `/state`).
pub(super) fn bitrate(endpoint: &Endpoint, name: StreamName) -> u32 {
    settings(endpoint, name).map_or(0, |s| s.bitrate)
}

/// Subscribes `viewer` to `name`'s units, from its next keyframe on.
pub(super) fn subscribe(
    endpoint: &Endpoint,
    viewer: &ViewerGuard,
    name: StreamName,
) -> Result<Subscription, String> {
    let hub = endpoint.hub.as_ref().ok_or("this endpoint has no camera")?;
    let settings = settings(endpoint, name).ok_or("the camera's size is not known yet")?;
    match name {
        StreamName::Main => h264::subscribe(hub, viewer, settings, endpoint.native),
        StreamName::Sub => h264::subscribe_scaled(hub, viewer, settings),
    }
}
