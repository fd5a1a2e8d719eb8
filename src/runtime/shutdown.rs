//! The one shared "stop now" flag, why it was raised (the first reason wins), and how the
//! run ended ([`Finish`]).
//!
//! Signals, the window's keys, a `--frames/--seconds` bound and a peer's bye all end up
//! here; every loop checks [`Shutdown::requested`] and every blocking call has a timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Shutdown {
    flag: AtomicBool,
    why: Mutex<Option<String>>,
}

impl Shutdown {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Raises the flag; the first caller's reason is kept.
    pub fn request(&self, why: impl Into<String>) {
        let mut slot = self.why.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(why.into());
        }
        self.flag.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// The flag itself, for helpers that take an `&AtomicBool`.
    pub fn flag(&self) -> &AtomicBool {
        &self.flag
    }

    pub fn reason(&self) -> Option<String> {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// When to stop on our own (`--frames`, `--seconds`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    pub frames: Option<u64>,
    pub seconds: Option<f64>,
}

/// How a run ended without an error: the line `main` prints last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The peer said bye (`peer ended the stream`).
    PeerEnded(String),
    /// We stopped: a signal, the window, or a bound.
    Stopped(String),
}
