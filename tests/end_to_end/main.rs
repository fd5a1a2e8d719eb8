//! End-to-end tests: the real `pistream` binary, real sockets on loopback, asserting on
//! what a user sees (exit codes, stderr lines) and on bytes on the wire. Camera and display
//! processes (`e2e`), faults and leaks (`faults`), hostile peers (`bad_input`), keyed
//! sessions and attacks on them (`keys`), many viewers and the web side with real HTTP
//! clients (`web`), zero allocations per frame counted in the running processes (`alloc`),
//! the command line (`cli`), RTSP with real clients (`rtsp`), a slow link (`slow_link`), the wire formats and `--wire auto`
//! on changing links (`wire`), URL sources (`url_source`), camera modules through a fake
//! rpicam-vid (`rpicam`), the window (`window`), the
//! original Python chat on the seed wire (`seed`, with tests/seed/) and the deployment
//! files (`deploy`). What they share is `tests/support/`.
//!
//! Run this group alone with `cargo test --test end_to_end`.
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

#[path = "../support/mod.rs"]
mod support;

mod alloc;
mod bad_input;
mod cli;
mod deploy;
mod e2e;
mod faults;
mod h264;
mod keys;
mod rpicam;
mod rtsp;
mod seed;
mod slow_link;
mod url_source;
mod web;
mod webrtc;
mod window;
mod wire;
