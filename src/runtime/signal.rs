//! SIGINT/SIGTERM handling with nix: the signals are blocked in every thread (the mask is
//! set before any thread is spawned and inherited), and one thread waits for them with
//! `sigwait` and raises the shared [`Shutdown`] flag. No code runs in signal context, so
//! nothing there can allocate or lock. A second signal exits at once.

use std::sync::Arc;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use super::shutdown::Shutdown;

/// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it spawns
/// afterwards) and starts the waiting thread. Call first thing in `main`.
pub fn install(shutdown: Arc<Shutdown>) -> nix::Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut count = 0;
            while let Ok(signal) = set.wait() {
                count += 1;
                if count > 1 {
                    log::warn!("{signal} again, exiting now");
                    std::process::exit(130);
                }
                shutdown.request(format!("stopped by {signal}"));
            }
        })
        .map_err(|_| nix::Error::EAGAIN)?;
    Ok(())
}
