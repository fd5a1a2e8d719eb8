//! The clock frames are stamped with: microseconds since the UNIX epoch on the wall clock,
//! so two hosts with synchronised clocks (or two processes on one) can compute latency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the UNIX epoch.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}
