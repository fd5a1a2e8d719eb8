//! H.264: the stateful codec every viewer beyond pistream's own speaks (NVRs, relays, VLC,
//! browsers over WebRTC), and pistream's own smallest wire format.
//!
//! `encoder.rs` is the one small interface an encoder has to the rest of pistream
//! ([`H264Encoder`]: I420 planes in, an Annex B access unit out, a keyframe on request),
//! with the software encoder (Cisco's OpenH264 through the `openh264` crate: Constrained
//! Baseline, no B-frames, SPS and PPS before every IDR); `decoder.rs` turns access units
//! back into I420 (the display's side); `annexb.rs` reads the NAL units of a stream (keyframes,
//! parameter sets, where access units begin); `settings.rs` holds the bitrate and keyframe
//! interval and their defaults.

mod annexb;
mod decoder;
mod encoder;
mod settings;

pub use annexb::{nal_units, AccessUnits, NalType};
pub use decoder::{DecodeError, Decoder};
pub use encoder::{Encoded, H264Encoder, H264Error, Planes, SoftwareEncoder};
pub use settings::{auto_ceiling, default_bitrate, H264Settings};
