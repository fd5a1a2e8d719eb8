//! Sinks as the command line names them ([`SinkSpec`]) and opening the one named.

use std::fmt;

use super::show::{Sink, SinkError};
#[cfg(feature = "opencv")]
use super::window;
use super::{null, raw};

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
