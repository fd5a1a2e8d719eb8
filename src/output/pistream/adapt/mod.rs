//! `--wire`: how a pistream viewer's frames travel. What `--wire` asks for (`choice.rs`),
//! the formats offered and the ladder `auto` climbs down and up (`ladder.rs`), one viewer's
//! plan: the format of each frame and the bandwidth probes (`plan.rs`), and the `auto`
//! controller's decisions, without I/O (`controller.rs`). Each step is a
//! [`Delivery`](crate::pipeline::hub::Delivery), as the viewer's stats show it.

pub mod choice;
pub mod controller;
pub mod ladder;
pub mod link;
pub mod plan;

pub use choice::{WireChoice, DEFAULT_JPEG_QUALITY};
pub use ladder::{decodable_formats, fixed_level, ladder, native_wire_format, needs, offered_formats};
