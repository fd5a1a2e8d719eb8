//! The machine the tests share: [`exclusive`] for a test that measures time or the whole
//! process, [`shared`] for the others (see [`MACHINE`]).

use std::cell::Cell;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The machine, shared by the tests of this binary (cargo runs two at a time). A test whose
/// assertions are about time (latency, frame rates, "within N s") or about the whole
/// process (memory, allocations per frame) takes it [`exclusive`]ly; every other test takes
/// it [`shared`]. Shared tests run beside each other, never beside an exclusive one: an
/// unpaced 1080p stream in one of them would otherwise take the cores a latency bound is
/// measured on, and the bound would hold only when the scheduler happened to be kind.
static MACHINE: RwLock<()> = RwLock::new(());

thread_local! {
    /// Whether this test thread holds [`MACHINE`] (checked before any process starts).
    static HOLDS_MACHINE: Cell<bool> = const { Cell::new(false) };
}

/// A test's hold on the machine; released when dropped.
pub struct MachineGuard {
    _guard: Result<RwLockReadGuard<'static, ()>, RwLockWriteGuard<'static, ()>>,
}

impl Drop for MachineGuard {
    fn drop(&mut self) {
        HOLDS_MACHINE.with(|h| h.set(false));
    }
}

/// For a test that measures time or the whole process: it runs with no other test beside it.
pub fn exclusive() -> MachineGuard {
    let guard = MACHINE.write().unwrap_or_else(|p| p.into_inner());
    HOLDS_MACHINE.with(|h| h.set(true));
    MachineGuard { _guard: Err(guard) }
}

/// For every other test: it may run beside another shared one, never beside an exclusive one.
pub fn shared() -> MachineGuard {
    let guard = MACHINE.read().unwrap_or_else(|p| p.into_inner());
    HOLDS_MACHINE.with(|h| h.set(true));
    MachineGuard { _guard: Ok(guard) }
}

/// Whether this test thread holds the machine (checked before any process starts).
pub fn held() -> bool {
    HOLDS_MACHINE.with(Cell::get)
}
