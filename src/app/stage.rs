//! The one way an endpoint starts a thread (a pipeline stage, a connection) and learns how
//! it ended: its own error, or a panic reported as an internal error (exit status 3),
//! never as something the peer did.

use std::thread;

use crate::error::AppError;
use crate::session::panic_message;

/// A running stage.
pub(super) struct Stage<T> {
    name: String,
    handle: thread::JoinHandle<Result<T, AppError>>,
}

/// Starts `body` on a thread called `name`.
pub(super) fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<Stage<T>, AppError> {
    let handle = thread::Builder::new()
        .name(name.to_string())
        .spawn(body)
        .map_err(|e| AppError::Internal(format!("cannot start the {name} thread: {e}")))?;
    Ok(Stage { name: name.to_string(), handle })
}

impl<T> Stage<T> {
    /// Waits for the stage; a panic becomes [`AppError::Internal`] naming the stage.
    pub(super) fn join(self) -> Result<T, AppError> {
        self.handle.join().unwrap_or_else(|panic| {
            Err(AppError::Internal(format!("the {} thread panicked: {}", self.name, panic_message(&*panic))))
        })
    }

    pub(super) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}
