//! The media vocabulary every other module speaks, depending on nothing: the size of a
//! picture ([`Geometry`]), pixel formats with their layouts ([`PixelFormat`], [`Layout`]),
//! the packed BGR [`Frame`] a receiver shows and the [`Mailbox`] that hands frames between
//! two stages, the [`EncodedUnit`] of a stream with references, which way up a picture is
//! shown ([`Orientation`]), and the clock frames are stamped with ([`now_us`]).

mod clock;
mod format;
mod frame;
mod geometry;
mod layout;
mod mailbox;
mod orientation;
mod unit;

pub use clock::now_us;
pub use format::{PixelFormat, YuvMatrix, YuvRange};
pub use frame::Frame;
pub use geometry::{Geometry, MAX_DIMENSION};
pub use layout::Layout;
pub use mailbox::Mailbox;
pub use orientation::Orientation;
pub use unit::EncodedUnit;
