//! Sinks: where received frames go. Each shows or stores a [`Frame`] it is lent; none
//! knows about sockets or sources. `frame_log.rs` records when each frame was shown
//! (`--frame-log`), beside whichever sink shows it.

pub mod frame_log;
pub mod null;
pub mod raw;
#[cfg(feature = "opencv")]
pub mod window;

use std::fmt;
use std::time::Duration;

use crate::frame::{Frame, Geometry};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// What the user asked for through the sink (a window's keys or close button).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkControl {
    Continue,
    Quit,
}

pub trait Sink {
    /// A (new) stream of frames of this geometry from `peer` begins.
    fn start(&mut self, geometry: Geometry, peer: &str) -> Result<(), SinkError>;
    /// Shows or stores one frame.
    fn show(&mut self, frame: &Frame) -> Result<(), SinkError>;
    /// Handles pending user events for up to `wait`.
    fn poll(&mut self, wait: Duration) -> Result<SinkControl, SinkError>;
}

/// A sink as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SinkSpec {
    Window,
    Null,
    Raw(String),
}

impl SinkSpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "window" => Ok(SinkSpec::Window),
            "null" => Ok(SinkSpec::Null),
            _ => match text.strip_prefix("raw:") {
                Some("") => Err("raw: needs a file path, e.g. raw:/tmp/stream.bgr".into()),
                Some(path) => Ok(SinkSpec::Raw(path.to_string())),
                None => Err(format!("unknown sink '{text}': use window, null or raw:PATH")),
            },
        }
    }
}

impl fmt::Display for SinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Window => f.write_str("window"),
            SinkSpec::Null => f.write_str("null"),
            SinkSpec::Raw(path) => write!(f, "raw:{path}"),
        }
    }
}

/// Opens the sink a spec names.
pub fn open(spec: &SinkSpec) -> Result<Box<dyn Sink>, SinkError> {
    match spec {
        SinkSpec::Null => Ok(Box::new(null::NullSink)),
        SinkSpec::Raw(path) => Ok(Box::new(raw::RawSink::create(path)?)),
        #[cfg(feature = "opencv")]
        SinkSpec::Window => Ok(Box::new(window::WindowSink::new())),
        #[cfg(not(feature = "opencv"))]
        SinkSpec::Window => Err(SinkError(
            "this pistream was built without OpenCV, so it cannot open a window: use --sink null or raw:PATH, \
             or rebuild with the default features"
                .into(),
        )),
    }
}
