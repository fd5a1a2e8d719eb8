//! The network under every output: socket setup with socket2 (every option pistream sets,
//! with its value and why: `socket.rs`), what the kernel knows of a connection's link
//! (`tcp_info.rs`), and the demultiplexer of a listening port, which asks each output
//! whether a connection's first bytes are its own (`demux.rs`).

pub mod demux;
mod socket;
pub mod tcp_info;

pub use socket::{
    accept, accept_once, connect_once, connect_with_retry, is_timeout, listen, notsent_lowat_for_frame,
    sleep_unless, sndbuf_for_frame, tune_connected, tune_receiver, tune_seed_sender, tune_sender,
    BufferGrant, BufferSizes, POLL_INTERVAL,
};
pub use tcp_info::bytes_waiting;
