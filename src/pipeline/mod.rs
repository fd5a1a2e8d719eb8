//! The stages frames flow through inside one process: the capture stage (source → pooled
//! frame → hub), the [`hub`] that fans each frame out to every viewer (newest-wins slots,
//! stateful encoder stages with from-keyframe queues; `h264.rs` is the H.264 one), the
//! display stage (display mailbox → sink, on the main thread), and the counters and stats
//! line that watch them.

pub mod capture;
pub mod display;
pub mod h264;
pub mod hub;
pub mod stats;
