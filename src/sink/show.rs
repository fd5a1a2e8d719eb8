//! What a sink is: the [`Sink`] trait the display stage drives, what the user asked for
//! through it ([`SinkControl`]), and [`SinkError`].

use std::time::Duration;

use crate::media::{Frame, Geometry};

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
