//! One pistream connection's I/O: where socket, protocol, viewer slot and display mailbox
//! meet. The protocol's order and rules live without I/O in `protocol::Handshake` (the
//! handshake) and `rules.rs` (after it: heartbeats, silence, the bye owed, how it ended);
//! these files only move bytes and keep time:
//!
//! - `handshake.rs`: the handshake over the socket, and refusing a peer before or after it;
//! - `serve.rs`: an established session's two loops, on two threads sharing the socket
//!   (`receive.rs`, `send.rs`), whichever ends first marking it over (`control.rs`);
//! - `messages.rs`: plain or sealed messages, bodies in place; `io.rs`: reads and writes
//!   that ride out the socket's timeouts.
//!
//! Steady state allocates nothing: headers live on the stack, bodies go out from the frame
//! buffer (or, keyed, from the writer's sealed buffer) and come in straight into the buffer
//! that will be shown.

mod control;
mod handshake;
mod io;
mod messages;
mod receive;
pub mod rules;
mod send;
mod serve;

pub use control::Control;
pub use handshake::{handshake, refuse, turn_away, LocalSide};
pub use messages::{MessageReader, MessageWriter};
pub use receive::receive_loop;
pub use send::{send_loop, H264Source, SendSide};
pub use serve::{run, serve, OnNegotiated, Sides};
