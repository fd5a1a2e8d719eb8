//! Validated settings: what the rest of the program runs on. No argh types here; `cli/`
//! builds these from the command line and rejects anything invalid first. Each part's own
//! settings are its module's types (the sink's [`ShowConfig`], the web's [`WebSettings`],
//! `--wire`'s [`WireChoice`]...); these gather them per command.

use std::net::SocketAddr;

use crate::media::{Geometry, PixelFormat};
use crate::net::BufferSizes;
use crate::output::http::WebSettings;
use crate::output::pistream::adapt::WireChoice;
use crate::output::pistream::protocol::keys::Psk;
use crate::output::pistream::protocol::FormatSet;
use crate::output::rtsp::RtspSettings;
use crate::output::webrtc::WebrtcSettings;
use crate::output::H264Options;
pub use crate::output::PeerKind;
pub use crate::pipeline::display::ShowConfig;
pub use crate::runtime::Limits;
use crate::source::{CameraSettings, SourceSpec};

pub const DEFAULT_PORT: u16 = 5678;
/// How many may watch one camera at once unless `--max-viewers` says otherwise.
pub const DEFAULT_MAX_VIEWERS: usize = 8;

/// Which side opens the TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Wait for peers on this address.
    Listen(SocketAddr),
    /// Connect (with retry) to this HOST:PORT.
    Connect(String),
}

/// The sending half: where frames come from.
#[derive(Clone, Debug, PartialEq)]
pub struct SendConfig {
    pub source: SourceSpec,
    pub geometry: Geometry,
    pub fps: f64,
    /// `--format FOURCC`: capture in this format (V4L2 sources; the test pattern emulates it).
    pub format: Option<PixelFormat>,
    /// `--wire`: how frames go on the wire.
    pub wire: WireChoice,
    /// `--rotate`, `--hflip`, `--vflip`, `--camera-option`, `--control`.
    pub camera: CameraSettings,
    /// `--h264-bitrate`, `--keyframe-interval`.
    pub h264: H264Options,
}

/// A camera (send only), a display (show only) or a call (both).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    pub connection: Connection,
    /// What the other end speaks.
    pub peer: PeerKind,
    pub send: Option<SendConfig>,
    pub show: Option<ShowConfig>,
    /// `--accept`: the wire formats this side accepts when it shows a peer's video.
    pub accept: FormatSet,
    pub limits: Limits,
    pub stats: bool,
    pub buffers: BufferSizes,
    /// The pre-shared key derived from `--key-file`: a keyed, encrypted session with peers
    /// that hold the same key, and none with anyone else.
    pub key: Option<Psk>,
    /// `--max-viewers`: how many may watch this side's camera at once.
    pub max_viewers: usize,
    /// HTTP on the camera's port: password, JPEG quality, an extra address.
    pub web: WebSettings,
    /// RTSP on the camera's port: an extra address, the `/sub` stream, the session timeout.
    pub rtsp: RtspSettings,
    /// WebRTC: the UDP port, the candidates, on or off.
    pub webrtc: WebrtcSettings,
}

/// Camera and display in one process over loopback.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    pub send: SendConfig,
    pub show: ShowConfig,
    pub limits: Limits,
    pub stats: bool,
}

// Made once per run and moved a few times: boxing the larger variant would gain nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Config {
    Endpoint(EndpointConfig),
    Demo(DemoConfig),
    /// `pistream devices`: list capture devices and what `camera` would pick.
    Devices {
        geometry: Geometry,
        fps: f64,
    },
    /// `pistream encoders`: list the hardware codecs; with `check`, drive each.
    Encoders {
        check: bool,
        geometry: Geometry,
        frames: u32,
    },
    /// `pistream selftest`: single-threaded checks of the arch-specific code.
    Selftest,
    /// `pistream keygen PATH`: write a new random key file.
    Keygen {
        path: std::path::PathBuf,
    },
    Version,
}
