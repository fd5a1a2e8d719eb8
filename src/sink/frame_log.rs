//! `--frame-log PATH`: one line per shown frame, for measuring latency and rate over any
//! window (the stats line covers fixed one-second windows, whose edges fall wherever the
//! stats thread happens to wake).
//!
//! ```text
//! # shown_us seq captured_us latency_us wire
//! 1733331234567890 42 1733331234561234 6656 BGR3
//! ```
//! Times are microseconds since the UNIX epoch on this machine's wall clock (the clock
//! frames are stamped with), so another program on the same machine (or one with a
//! synchronised clock) can line the frames up with its own events. Lines are formatted
//! straight into a buffered writer (no allocation per frame) and flushed about once a
//! second and at the end.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use crate::media::Frame;

/// How often buffered lines reach the file while frames flow.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The header line, naming the columns.
pub const HEADER: &str = "# shown_us seq captured_us latency_us wire";

/// A file of shown frames.
pub struct FrameLog {
    path: String,
    out: BufWriter<File>,
    flushed: Instant,
    /// The first write error, reported once (the display goes on without the log).
    failed: bool,
}

impl FrameLog {
    /// Creates (or truncates) `path` and writes the header line.
    pub fn create(path: &str) -> Result<FrameLog, String> {
        let file = File::create(path).map_err(|e| format!("--frame-log {path}: {e}"))?;
        let mut out = BufWriter::with_capacity(64 * 1024, file);
        writeln!(out, "{HEADER}").map_err(|e| format!("--frame-log {path}: {e}"))?;
        Ok(FrameLog { path: path.to_string(), out, flushed: Instant::now(), failed: false })
    }

    /// Records `frame`, shown at `shown_us`.
    pub fn record(&mut self, frame: &Frame, shown_us: u64) {
        if self.failed {
            return;
        }
        let latency = shown_us.saturating_sub(frame.captured_us);
        let mut result = writeln!(
            self.out,
            "{shown_us} {} {} {latency} {}",
            frame.seq,
            frame.captured_us,
            frame.arrived_as.name()
        );
        if result.is_ok() && self.flushed.elapsed() >= FLUSH_EVERY {
            self.flushed = Instant::now();
            result = self.out.flush();
        }
        if let Err(e) = result {
            self.failed = true;
            log::warn!("--frame-log {}: {e}; no more frames are logged", self.path);
        }
    }
}

impl Drop for FrameLog {
    fn drop(&mut self) {
        if !self.failed {
            if let Err(e) = self.out.flush() {
                log::warn!("--frame-log {}: {e}", self.path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Geometry;
    use crate::media::PixelFormat;

    #[test]
    fn each_frame_is_one_line_of_times_seq_and_format() {
        let path = std::env::temp_dir().join(format!("pistream-frame-log-{}", std::process::id()));
        let path = path.to_str().unwrap().to_string();
        let mut log = FrameLog::create(&path).unwrap();
        let mut frame = Frame::new(Geometry::new(2, 2));
        frame.seq = 7;
        frame.captured_us = 1_000;
        frame.arrived_as = PixelFormat::Mjpeg;
        log.record(&frame, 1_250);
        frame.seq = 8;
        frame.captured_us = 2_000;
        log.record(&frame, 1_900); // a clock that went back: latency 0, not a wrap
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(text, format!("{HEADER}\n1250 7 1000 250 JPEG\n1900 8 2000 0 JPEG\n"));
    }
}
