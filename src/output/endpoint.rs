//! What one endpoint (camera, display, call) brings to each of its connections, whatever
//! the output: its camera (the hub) and what it is, where shown frames go, the one display
//! place, its settings per output, the counters and the stop flag.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use super::http::settings::WebSettings;
use super::pistream::adapt::choice::WireChoice;
use super::pistream::protocol::keys::Psk;
use super::pistream::protocol::Hello;
use super::rtsp::RtspSide;
use super::webrtc::WebrtcSide;
use crate::codec::h264::H264Settings;
use crate::media::{Mailbox, PixelFormat};
use crate::net::BufferSizes;
use crate::pipeline::display::PeerName;
use crate::pipeline::hub::Hub;
use crate::pipeline::stats::Stats;
use crate::runtime::Shutdown;

/// What the other end of a camera's, display's or call's connection speaks (`--peer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerKind {
    /// pistream's own protocol (docs/PROTOCOL.md).
    #[default]
    Pistream,
    /// The seed wire of the Python chat pistream grew from (`output::seed`): raw 640x480
    /// BGR, no framing, no key.
    Seed,
}

impl PeerKind {
    /// Parses `--peer`'s value.
    pub fn parse(text: &str) -> Result<PeerKind, String> {
        match text {
            "pistream" => Ok(PeerKind::Pistream),
            "seed" => Ok(PeerKind::Seed),
            _ => Err(format!(
                "--peer '{text}': use pistream (the default) or seed (the original Python chat script)"
            )),
        }
    }
}

/// What one endpoint brings to each of its connections.
pub struct Endpoint {
    /// What the other end speaks.
    pub peer: PeerKind,
    /// This side's hello when it may show the peer's video (pistream peers).
    pub hello: Hello,
    /// `--key-file`: keyed, encrypted sessions with peers holding the same key only.
    pub key: Option<Psk>,
    pub buffers: BufferSizes,
    /// Stop the run once this many frames were sent (`--frames` on a camera).
    pub send_limit: Option<u64>,
    /// This side's camera, when it sends, and what it is (for `/state`).
    pub hub: Option<Arc<Hub>>,
    pub source: String,
    /// The format of the capture's own bytes, and what `--wire` asks for.
    pub native: Option<PixelFormat>,
    pub wire: WireChoice,
    /// `--h264-bitrate`, `--keyframe-interval`.
    pub h264: H264Options,
    /// Where received frames go, when it shows.
    pub display: Option<Arc<Mailbox>>,
    pub peer_name: Arc<PeerName>,
    /// The peer whose video is shown now: one at a time.
    pub showing: Mutex<Option<SocketAddr>>,
    /// HTTP on the camera's port: password, JPEG quality, an extra address.
    pub web: WebSettings,
    /// RTSP on the camera's port: an extra address, the `/sub` stream, the session timeout.
    pub rtsp: RtspSide,
    /// WebRTC (WHEP) on the camera's HTTP side and a UDP port.
    pub webrtc: WebrtcSide,
    pub stats: Arc<Stats>,
    pub shutdown: Arc<Shutdown>,
}

/// What `--h264-bitrate` and `--keyframe-interval` ask for (the defaults follow the size and
/// rate: `codec::h264::H264Settings::new`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct H264Options {
    pub bitrate: Option<u32>,
    pub keyframe_interval: Option<u32>,
    /// `--h264-encoder`.
    pub encoder: crate::codec::select::EncoderChoice,
}

impl Endpoint {
    pub(super) fn lock_showing(&self) -> MutexGuard<'_, Option<SocketAddr>> {
        self.showing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most H.264 bitrate `--wire auto` gives a viewer: `--h264-bitrate`, else
    /// [`auto_ceiling`](crate::codec::h264::auto_ceiling).
    pub fn h264_ceiling(&self) -> Option<u32> {
        let geometry = self.hello.geometry?;
        let fps = self.hello.fps_millihz as f64 / 1000.0;
        Some(self.h264.bitrate.unwrap_or_else(|| crate::codec::h264::auto_ceiling(geometry, fps)))
    }

    /// The H.264 settings of this side's camera: its size and rate, the options' bitrate and
    /// keyframe interval or their defaults.
    pub fn h264_settings(&self) -> Option<H264Settings> {
        let geometry = self.hello.geometry?;
        let fps = self.hello.fps_millihz as f64 / 1000.0;
        let defaults = H264Settings::new(geometry, fps);
        Some(H264Settings {
            bitrate: self.h264.bitrate.unwrap_or(defaults.bitrate),
            keyframe_interval: self.h264.keyframe_interval.unwrap_or(defaults.keyframe_interval),
            ..defaults
        })
    }
}
