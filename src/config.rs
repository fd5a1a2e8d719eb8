//! Validated settings: what the rest of the program runs on. No argh types here; `cli.rs`
//! builds these from the command line and rejects anything invalid first.

use std::net::SocketAddr;

use crate::convert::InputFormat;
use crate::frame::Geometry;
use crate::net::BufferSizes;
use crate::protocol::keys::Psk;
use crate::sink::SinkSpec;
use crate::source::SourceSpec;
use crate::web::WebSettings;
use crate::wire::WireChoice;

pub const DEFAULT_PORT: u16 = 5678;
/// How many may watch one camera at once unless `--max-viewers` says otherwise.
pub const DEFAULT_MAX_VIEWERS: usize = 8;

/// Which side opens the TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Wait for peers on this address.
    Listen(SocketAddr),
    /// Connect (with retry) to this HOST:PORT.
    Connect(String),
}

/// What the other end of a camera's, display's or call's connection speaks (`--peer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerKind {
    /// pistream's own protocol (docs/PROTOCOL.md).
    #[default]
    Pistream,
    /// The seed wire of the Python chat pistream grew from (`crate::seed`): raw 640x480
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

/// When to stop on our own.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    pub frames: Option<u64>,
    pub seconds: Option<f64>,
}

/// The sending half: where frames come from.
#[derive(Clone, Debug, PartialEq)]
pub struct SendConfig {
    pub source: SourceSpec,
    pub geometry: Geometry,
    pub fps: f64,
    /// `--format FOURCC`: capture in this format (V4L2 sources; the test pattern emulates it).
    pub format: Option<InputFormat>,
    /// `--wire`: how frames go on the wire.
    pub wire: WireChoice,
}

/// The showing half: where received frames go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShowConfig {
    pub sink: SinkSpec,
    /// Check every frame against the test pattern.
    pub verify: bool,
    /// `--frame-log PATH`: one line per shown frame (`sink::frame_log`).
    pub frame_log: Option<String>,
}

/// A camera (send only), a display (show only) or a call (both).
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointConfig {
    pub endpoint: Endpoint,
    /// What the other end speaks.
    pub peer: PeerKind,
    pub send: Option<SendConfig>,
    pub show: Option<ShowConfig>,
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
}

/// Camera and display in one process over loopback.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    pub send: SendConfig,
    pub show: ShowConfig,
    pub limits: Limits,
    pub stats: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Config {
    Endpoint(EndpointConfig),
    Demo(DemoConfig),
    /// `pistream devices`: list capture devices and what `camera` would pick.
    Devices {
        geometry: Geometry,
        fps: f64,
    },
    /// `pistream selftest`: single-threaded checks of the arch-specific code.
    Selftest,
    /// `pistream keygen PATH`: write a new random key file.
    Keygen {
        path: std::path::PathBuf,
    },
    Version,
}
