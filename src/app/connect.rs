//! A connecting endpoint: connects to its peer (retrying with backoff until it answers),
//! runs the session, and reconnects after a lost connection until the run ends.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::error::AppError;
use crate::net;
use crate::output::pistream::protocol::Role;
use crate::output::{peer_connection, Endpoint, Next};
use crate::runtime::{Backoff, Finish};

/// Connects to `target` and serves the peer there until the run ends.
pub(super) fn run(endpoint: &Endpoint, target: &str) -> Result<Finish, AppError> {
    let shutdown = &endpoint.shutdown;
    loop {
        let on_retry = |attempt: u32, e: &std::io::Error, delay: Duration| {
            log::info!(
                "{target} not reachable ({e}); retrying in {:.2} s (attempt {attempt})",
                delay.as_secs_f64()
            );
        };
        let Some((stream, peer)) = net::connect_with_retry(target, shutdown.flag(), on_retry) else { break };
        log::info!("connected to {peer}");
        match peer_connection(endpoint, &stream, peer, Role::Connecting, &AtomicBool::new(false)) {
            Next::Continue => {}
            Next::Finish(f) => return Ok(f),
            Next::Fail(failure) => return Err(failure.into()),
        }
        if shutdown.requested() {
            break;
        }
        net::sleep_unless(shutdown.flag(), Backoff::connect().failed());
    }
    Ok(Finish::Stopped(shutdown.reason().unwrap_or_else(|| "stopped".into())))
}
