//! The one way the program starts a thread (a pipeline stage, a connection) and learns how
//! it ended: its own result, or a panic, reported with the thread's name and its message so
//! that the caller can call it a bug (exit status 3), never something a peer did.

use std::thread;

/// A running stage whose body returns `Result<T, E>`.
pub struct Stage<T, E> {
    name: String,
    handle: thread::JoinHandle<Result<T, E>>,
}

/// A stage that panicked: a bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// "the NAME thread panicked: MESSAGE".
    pub message: String,
}

/// Starts `body` on a thread called `name`.
pub fn spawn<T: Send + 'static, E: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> std::io::Result<Stage<T, E>> {
    let handle = thread::Builder::new().name(name.to_string()).spawn(body)?;
    Ok(Stage { name: name.to_string(), handle })
}

impl<T, E> Stage<T, E> {
    /// Waits for the stage: its own result, or [`Panicked`] naming the stage.
    pub fn join(self) -> Result<Result<T, E>, Panicked> {
        self.handle.join().map_err(|panic| Panicked {
            message: format!("the {} thread panicked: {}", self.name, panic_message(&*panic)),
        })
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// The text of a thread's panic, for the report.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
