//! Sinks: where received frames go. Each shows or stores a [`Frame`](crate::media::Frame)
//! it is lent; none knows about sockets or sources. `show.rs` is what a sink is, `spec.rs`
//! names and opens them: `window.rs` (OpenCV), `null.rs`, `raw.rs` (a file ffplay plays).
//! Beside whichever sink shows a frame: `verify.rs` checks it against the test pattern
//! (`--verify`) and `frame_log.rs` records when it was shown (`--frame-log`).

pub mod frame_log;
mod null;
mod raw;
mod show;
mod spec;
pub mod verify;
#[cfg(feature = "opencv")]
mod window;

pub use show::{Sink, SinkControl, SinkError};
pub use spec::{open, SinkSpec};
