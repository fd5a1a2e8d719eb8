//! The null sink: accepts frames and does nothing (stats and `--verify` still count them).

use std::time::Duration;

use super::show::{Sink, SinkControl, SinkError};
use crate::media::{Frame, Geometry};

pub(super) struct NullSink;

impl Sink for NullSink {
    fn start(&mut self, _: Geometry, _: &str) -> Result<(), SinkError> {
        Ok(())
    }

    fn show(&mut self, _: &Frame) -> Result<(), SinkError> {
        Ok(())
    }

    fn poll(&mut self, _: Duration) -> Result<SinkControl, SinkError> {
        Ok(SinkControl::Continue)
    }
}
