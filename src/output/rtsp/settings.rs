//! What RTSP serves with: `--rtsp ADDR`, the `/sub` stream's size and rate (`--sub-size`,
//! `--sub-fps`), the session timeout (`--rtsp-timeout`), and each stream's parameter sets
//! once known (for DESCRIBE's SDP).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::sdp::ParameterSets;
use super::session::StreamName;
use crate::media::Geometry;

/// Default `--sub-size`: 640x360, what detectors' models take (Frigate's own default).
pub const DEFAULT_SUB_SIZE: Geometry = Geometry { width: 640, height: 360 };
/// Default `--sub-fps`: 5, Frigate's advice for detection.
pub const DEFAULT_SUB_FPS: f64 = 5.0;
/// Default `--rtsp-timeout`: the RFC's 60 s.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60);

/// The RTSP settings of an endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct RtspSettings {
    /// `--rtsp ADDR`: also serve RTSP there (8554 is what relays and NVRs expect).
    pub extra_address: Option<SocketAddr>,
    /// `--sub-size`, `--sub-fps`.
    pub sub_geometry: Geometry,
    pub sub_fps: f64,
    /// `--rtsp-timeout`: a session that says nothing this long (no request, no RTCP over
    /// UDP; over TCP, no byte taken) is ended.
    pub session_timeout: Duration,
}

impl Default for RtspSettings {
    fn default() -> Self {
        RtspSettings {
            extra_address: None,
            sub_geometry: DEFAULT_SUB_SIZE,
            sub_fps: DEFAULT_SUB_FPS,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
        }
    }
}

/// An endpoint's RTSP side: its settings and what it learned of its streams.
#[derive(Debug, Default)]
pub struct RtspSide {
    pub settings: RtspSettings,
    parameter_sets: Mutex<HashMap<StreamName, ParameterSets>>,
}

impl RtspSide {
    pub fn new(settings: RtspSettings) -> RtspSide {
        RtspSide { settings, parameter_sets: Mutex::default() }
    }

    /// A stream's parameter sets, if an earlier client saw them.
    pub fn parameter_sets(&self, stream: StreamName) -> Option<ParameterSets> {
        self.parameter_sets.lock().unwrap_or_else(|p| p.into_inner()).get(&stream).cloned()
    }

    /// Remembers a stream's parameter sets (the encoder makes the same ones for its
    /// settings every time).
    pub fn learn(&self, stream: StreamName, sets: ParameterSets) {
        self.parameter_sets.lock().unwrap_or_else(|p| p.into_inner()).insert(stream, sets);
    }
}
