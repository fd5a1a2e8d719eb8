//! What the tests share: starting and watching processes (`process.rs`), holding the
//! machine while measuring (`machine.rs`), reading a display's frame log (`frame_log.rs`),
//! a display built from the library that records every frame (`latency_display.rs`), a
//! throttling TCP proxy (`slow_link.rs`), HTTP clients (`http.rs`), an X server
//! (`xvfb.rs`), the system tools some tests need (`tools.rs`), and the fake `rpicam-vid`
//! with the frames it sends (`fake_rpicam.rs`, `camera_module.rs`). The benchmarks include
//! some of these files too (and `stderr_lines.rs`, theirs).

pub mod camera_module;
pub mod fake_rpicam;
pub mod frame_log;
pub mod h264_pictures;
pub mod http;
pub mod latency_display;
pub mod machine;
pub mod process;
pub mod slow_link;
pub mod tools;
pub mod webrtc;
pub mod xvfb;

pub use frame_log::{frame_log_path, read_frame_log, ShownFrame};
pub use machine::{exclusive, shared};
pub use process::{free_port, pattern_camera, summary_counts, Proc, BIN, SECS};
