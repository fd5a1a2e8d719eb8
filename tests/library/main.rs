//! Library tests: the `pistream` crate's pieces called directly, with no process, socket or
//! device. Pixel conversion against the float reference and OpenCV (`convert`), capture-mode
//! negotiation on format lists recorded from real cameras (`negotiate`), property tests of
//! the protocol decoder and handshake machine (`protocol_props`), and docs/PROTOCOL.md
//! checked against the constants (`protocol_doc`).
//!
//! Run this group alone with `cargo test --test library`.
// A test or bench crate has no public API: `pub` in its modules only shares items among them.
#![allow(unreachable_pub)]

mod convert;
mod negotiate;
mod protocol_doc;
mod protocol_props;
