//! Frame sources: where pictures come from. Each fills a preallocated BGR [`Frame`] in
//! place; none knows about sockets or sinks.
//!
//! `pattern.rs` is the deterministic test pattern. V4L2 and URL sources plug in here by
//! implementing [`Source`] and adding a [`SourceSpec`] variant.

pub mod negotiate;
pub mod pattern;

use std::fmt;

use crate::frame::{Frame, Geometry};

/// Why a source could not produce a frame.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Failed(String),
}

/// A producer of frames of a fixed geometry.
pub trait Source: Send {
    /// The geometry of every frame this source produces.
    fn geometry(&self) -> Geometry;

    /// Fills `frame` (already of [`Source::geometry`]) with the next frame, setting its
    /// `seq` and `captured_us`. Returns `Ok(false)` when no frame is ready within about
    /// 100 ms, so the caller can check for shutdown and call again.
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError>;

    /// One line for logs: what this source is and how it was set up.
    fn describe(&self) -> String;
}

/// A source as named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    Pattern,
}

impl SourceSpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "pattern" => Ok(SourceSpec::Pattern),
            other => Err(format!(
                "unknown source '{other}': this build knows 'pattern' (a moving test pattern); \
                 V4L2 devices (/dev/videoN) and URLs are not supported yet"
            )),
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Pattern => f.write_str("pattern"),
        }
    }
}

/// Opens the source a spec names, producing frames of `geometry` at `fps` (0 = unpaced).
pub fn open(spec: &SourceSpec, geometry: Geometry, fps: f64) -> Result<Box<dyn Source>, SourceError> {
    match spec {
        SourceSpec::Pattern => Ok(Box::new(pattern::PatternSource::new(geometry, fps))),
    }
}
