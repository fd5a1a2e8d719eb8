//! How long a peer may keep this side waiting, whatever it speaks.

use std::time::Duration;

/// Longest wait for a new connection's opening (its first bytes, a pistream hello, the
/// seed client's `connected`, an HTTP request head).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// No byte from the peer (or none taken by it) for this long means it is gone; a pistream
/// peer sends at least a heartbeat a second.
pub const PEER_SILENCE_LIMIT: Duration = Duration::from_secs(5);
