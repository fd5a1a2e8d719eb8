//! Hardware codecs reached as V4L2 memory-to-memory devices: the Pi 4's (and 3's, Zero 2
//! W's) bcm2835-codec H.264 encoder, `/dev/video11`, and decoder, `/dev/video10`; in the VM
//! rig, the kernel's vicodec test codec (FWHT), through the same code.
//!
//! `sys.rs` is the thin typed layer over libc's `ioctl`/`mmap`/`poll`, behind one seam
//! ([`Driver`]) a unit test can fake; `queue.rs` one queue's format and mapped buffers;
//! `coded.rs` what the layer must know of each bitstream; `encoder.rs` the stateful
//! encoder's protocol (set-up, one picture in and one unit out, drain, restart);
//! `decoder.rs` the stateful decoder's, for checks; `discovery.rs` finds codecs by their
//! capabilities; `h264.rs` is the hardware encoder as pistream's H.264 stage uses it.

mod coded;
mod decoder;
mod discovery;
mod encoder;
#[cfg(test)]
mod encoder_tests;
#[cfg(test)]
mod fake;
mod h264;
mod queue;
pub mod sys;

pub use coded::Coded;
pub use decoder::M2mDecoder;
pub use discovery::{find, probe, video_nodes, Direction, Found};
pub use encoder::{write_picture, EncoderSettings, M2mEncoder, M2mError, Unit};
pub use h264::HardwareEncoder;
pub use queue::PlaneFormat;
pub use sys::{Driver, Kernel, Mapping};
