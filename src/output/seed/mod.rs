//! The seed wire as an output (`--peer seed`): the Python video chat pistream grew from.
//! `rules.rs` is the wire without I/O (the opening, frames cut from the byte stream,
//! `finished`); `connection.rs` runs one connection, from the opening through admission to
//! what follows it; `loops.rs` its two loops.

mod connection;
mod loops;
pub mod rules;

pub use connection::{claim, connection};
