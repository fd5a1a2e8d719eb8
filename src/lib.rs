//! pistream: low-latency live video from a camera to a window over tuned TCP.
//!
//! The binary (`main.rs`) is thin; everything lives in these modules so tests and
//! benchmarks can drive the real pieces. Start reading at `app/mod.rs`, which wires them.

pub mod alloc_count;
pub mod app;
pub mod backoff;
pub mod cli;
pub mod config;
pub mod convert;
pub mod devices;
pub mod error;
pub mod frame;
pub mod hub;
pub mod jpeg;
pub mod keyfile;
pub mod logging;
pub mod mailbox;
pub mod net;
pub mod protocol;
pub mod seed;
pub mod selftest;
pub mod session;
pub mod shutdown;
pub mod signal;
pub mod sink;
pub mod source;
pub mod stats;
pub mod web;
pub mod wire;
