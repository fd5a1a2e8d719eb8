//! What the two loops of one session share: the run's stop flag, whether the session is
//! over (whichever loop ends first says so, and the other follows within a poll interval),
//! the session's [`Rules`], and the camera's `--frames` bound.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::rules::Rules;
use crate::runtime::Shutdown;

/// State the two loops of one session share.
pub struct Control<'a> {
    pub shutdown: &'a Shutdown,
    /// Set by whichever loop ends first.
    over: AtomicBool,
    rules: Mutex<Rules>,
    /// Stop the whole process once this many frames were sent (`--frames` on a camera).
    pub send_limit: Option<u64>,
}

impl<'a> Control<'a> {
    pub fn new(shutdown: &'a Shutdown, send_limit: Option<u64>) -> Self {
        Control {
            shutdown,
            over: AtomicBool::new(false),
            rules: Mutex::new(Rules::new(Instant::now())),
            send_limit,
        }
    }

    pub fn end(&self) {
        self.over.store(true, Ordering::SeqCst);
    }

    pub fn is_over(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    /// The session's rules, to report to and ask.
    pub fn rules(&self) -> MutexGuard<'_, Rules> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run's shutdown reason, once it stops.
    pub fn stopping(&self) -> Option<String> {
        self.shutdown.requested().then(|| self.shutdown.reason().unwrap_or_else(|| "stopped".into()))
    }
}
