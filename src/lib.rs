//! pistream: low-latency live video from a camera to a window, browsers and NVRs.
//!
//! The binary (`main.rs`) is thin; everything lives in these modules so tests and
//! benchmarks can drive the real pieces. Each depends only on those above it here:
//!
//! - `media`: the vocabulary (geometry, pixel formats, frames, encoded units), depending on nothing;
//! - `runtime`: the process's plumbing (shutdown, signals, backoff, threads, logging);
//! - `codec`: pixel conversion and JPEG (and, with H.264, the stateful codecs);
//! - `source`: where frames come from (V4L2, URLs, the test pattern);
//! - `sink`: where received frames go (window, null, raw), `--verify`, `--frame-log`;
//! - `net`: sockets, `TCP_INFO`, and the demultiplexer of a listening port;
//! - `pipeline`: the capture stage, the hub that fans frames out to viewers, the display
//!   stage, the stats;
//! - `output`: one folder per way of watching (the pistream protocol, the seed wire, HTTP),
//!   behind one admission guard;
//! - `app`: the wiring, with the validated settings; `cli`: the command line;
//!   `commands`: `devices`, `selftest`, `keygen`.

pub mod app;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod media;
pub mod net;
pub mod output;
pub mod pipeline;
pub mod runtime;
pub mod sink;
pub mod source;
