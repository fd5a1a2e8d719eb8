//! What HTTP serves from ([`Site`]): an endpoint's camera, settings and counters.

use std::sync::Arc;

use super::settings::WebSettings;
use crate::media::Geometry;
use crate::pipeline::hub::Hub;
use crate::pipeline::stats::Stats;
use crate::runtime::Shutdown;

/// What the web side serves from.
pub struct Site<'a> {
    /// The camera's frames (none on an endpoint that only shows video).
    pub hub: Option<&'a Arc<Hub>>,
    /// What the camera is (`/state`'s source), its geometry and nominal rate.
    pub source: &'a str,
    pub geometry: Option<Geometry>,
    pub nominal_fps: f64,
    pub settings: &'a WebSettings,
    /// The camera's RTSP streams, for `/state`.
    pub rtsp: Vec<crate::output::rtsp::streams::StreamInfo>,
    /// The endpoint has `--key-file`: without a password file, HTTP is refused.
    pub keyed: bool,
    /// The endpoint itself, for WebRTC (none in tests that serve a bare site).
    pub endpoint: Option<&'a crate::output::Endpoint>,
    pub stats: &'a Stats,
    pub shutdown: &'a Shutdown,
}
