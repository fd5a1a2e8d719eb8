//! Frame sources: where pictures come from. Each fills the frame the capture stage hands it
//! in place; none knows about sockets or sinks.
//!
//! `capture.rs` is what every source is to the capture stage (the [`Source`] trait);
//! `spec.rs` names and opens them, with the settings every source takes (`settings.rs`). `pattern/` is the deterministic test pattern, `v4l2/`
//! captures from cameras (its `mode.rs` choosing the capture mode), `rpicam/` reads the
//! Raspberry Pi's camera modules through `rpicam-vid` run as a child process (`child.rs`),
//! `url.rs` reads network streams and files with OpenCV.

mod capture;
mod child;
pub mod pattern;
pub mod rpicam;
mod settings;
mod spec;
#[cfg(feature = "opencv")]
pub mod url;
pub mod v4l2;

pub use capture::{Captured, Source, SourceError, Target};
pub use settings::CameraSettings;
pub use spec::{open, SourceSpec};
