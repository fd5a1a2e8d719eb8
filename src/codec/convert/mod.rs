//! Pixel-format conversion (and scaling) of captured frames into packed BGR24, written
//! straight into the preallocated output frame.
//!
//! What a frame is comes from `crate::media` ([`PixelFormat`](crate::media::PixelFormat),
//! [`Layout`](crate::media::Layout)); `error` says why a conversion failed
//! ([`ConvertError`]); `converter` holds the public [`Converter`], which validates
//! the layout once, at construction, and per frame checks the buffer sizes and runs the
//! kernel. Kernels live in submodules: `packed422` (YUYV, UYVY: our own one-pass
//! fixed-point kernels), `ycbcr` (NV12, NV21, YU12 through the `yuv` crate), `packed`
//! (RGB24, BGR24, GREY), `mjpeg` (MJPEG through libjpeg-turbo), `scale` (bilinear resize into
//! the output size). Our own SIMD kernels run on an [`Isa`], a token only CPU detection
//! hands out (`isa`). `reference` holds plain float versions of every conversion for tests
//! (public only with the `testing` feature) and [`selftest_cases`] runs the fast kernels
//! against it (for on-device checks). Stride rules and coefficient choices:
//! `docs/CONVERSION.md`.

mod converter;
pub mod encode;
mod error;
mod isa;
mod mjpeg;
mod packed;
mod packed422;
mod range;
// The float oracle of the tests and of `pistream selftest`: always in the crate, public only
// with the `testing` feature (tests/ and benches/ turn it on), never in the shipped API.
#[cfg(feature = "testing")]
pub mod reference;
#[cfg(not(feature = "testing"))]
#[allow(unreachable_pub)] // `pub` for the `testing` build; crate-private here
mod reference;
mod scale;
mod selftest;
mod ycbcr;

pub use converter::{convert_with_isa, mirror_in_place, Converter};
pub use error::ConvertError;
pub use isa::Isa;
pub use range::convert_range;
pub use scale::Scaler;
pub use selftest::selftest_cases;
