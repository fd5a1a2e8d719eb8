//! pistream's own protocol as an output: `protocol/` is the wire format without I/O (the
//! handshake machine, hellos, headers, formats, keyed records), `session/` drives it over a
//! socket (with its rules, sans I/O, in `session/rules.rs`), `adapt/` picks each viewer's
//! wire format (`--wire`, the `auto` ladder), `decode.rs` turns any agreed format back into
//! the BGR frame a receiver shows, and `connection.rs` runs one connection from its
//! handshake, through admission, to what follows it.

pub mod adapt;
mod connection;
pub mod decode;
pub mod protocol;
pub mod session;

pub use connection::{claim, connection};
