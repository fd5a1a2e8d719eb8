//! The process's plumbing, depending on nothing else in the crate: the shared stop flag
//! ([`Shutdown`]) and how a run ended ([`Finish`]), signal handling, the one exponential
//! [`Backoff`], named threads ([`stage`]), the logger, and the counting allocator behind
//! the allocation proof.

pub mod alloc_count;
mod backoff;
pub mod logging;
mod shutdown;
pub mod signal;
pub mod stage;

pub use backoff::Backoff;
pub use shutdown::{Finish, Limits, Shutdown};
