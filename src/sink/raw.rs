//! The raw sink: appends every frame's packed BGR bytes to a file that ffplay can play.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::Duration;

use super::show::{Sink, SinkControl, SinkError};
use crate::media::{Frame, Geometry};

pub(super) struct RawSink {
    path: String,
    file: File,
    geometry: Option<Geometry>,
}

impl RawSink {
    pub(super) fn create(path: &str) -> Result<Self, SinkError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| SinkError(format!("cannot open raw output '{path}': {e}")))?;
        Ok(RawSink { path: path.to_string(), file, geometry: None })
    }

    /// The command that plays the file.
    pub(super) fn play_command(&self, geometry: Geometry) -> String {
        format!("ffplay -f rawvideo -pixel_format bgr24 -video_size {geometry} {}", self.path)
    }
}

impl Sink for RawSink {
    fn start(&mut self, geometry: Geometry, _: &str) -> Result<(), SinkError> {
        if self.geometry.is_some_and(|g| g != geometry) {
            log::warn!("frame size changed to {geometry}; {} now mixes two sizes", self.path);
        }
        self.geometry = Some(geometry);
        log::info!("writing raw BGR frames to {}; play with: {}", self.path, self.play_command(geometry));
        Ok(())
    }

    fn show(&mut self, frame: &Frame) -> Result<(), SinkError> {
        self.file.write_all(&frame.data).map_err(|e| SinkError(format!("writing {}: {e}", self.path)))
    }

    fn poll(&mut self, _: Duration) -> Result<SinkControl, SinkError> {
        Ok(SinkControl::Continue)
    }
}
