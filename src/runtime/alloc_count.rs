//! Counts the process's Rust heap allocations, for the proof that steady state allocates
//! nothing per frame (tests/end_to_end/alloc.rs runs the real binary twice, N and 10 N frames,
//! and compares). The binary installs [`CountingAllocator`] as its global allocator; with
//! `PISTREAM_COUNT_ALLOCATIONS=1` it prints the count when it exits. Counting is one relaxed
//! atomic add per allocation, next to the allocation's own cost. C libraries' `malloc` calls
//! are not seen here; the test counts those with an `LD_PRELOAD` counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting `alloc` and `realloc` calls.
pub struct CountingAllocator;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// GlobalAlloc contract; counting touches only an atomic.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for alloc.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from this allocator (that is, the system's) with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for alloc and dealloc.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Rust allocations (and reallocations) so far in this process.
pub fn rust_allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// The line the binary prints at exit when `PISTREAM_COUNT_ALLOCATIONS` is set.
pub fn report_if_asked() {
    if std::env::var_os("PISTREAM_COUNT_ALLOCATIONS").is_some() {
        log::info!("allocations: {} by Rust code", rust_allocations());
    }
}
