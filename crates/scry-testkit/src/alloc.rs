//! A counting global allocator, for tests that bound what a reader allocates.
//!
//! A test binary installs it with
//! `#[global_allocator] static GLOBAL: scry_testkit::alloc::Counting = scry_testkit::alloc::Counting;`
//! and measures a closure with [`measure`]. Counts are per thread: the test harness's own
//! threads allocate concurrently, so a process-wide count would be flaky.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to the system allocator, counting this thread's allocations and requested bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

fn note(bytes: usize) {
    // `try_with`: the slots are gone while the thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = BYTES.try_with(|n| n.set(n.get() + bytes));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What this thread asked of the allocator while a closure ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Allocations and reallocations.
    pub allocations: usize,
    /// Bytes requested (a reallocation counts its new size).
    pub bytes: usize,
}

/// Runs `f` and returns its result with what this thread allocated meanwhile. Counts only
/// when [`Counting`] is the test binary's global allocator (zero otherwise).
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    let (a, b) = (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get));
    let out = f();
    let usage = Usage {
        allocations: ALLOCATIONS.with(Cell::get) - a,
        bytes: BYTES.with(Cell::get) - b,
    };
    (out, usage)
}

/// Runs `f` and returns its result with the bytes this thread requested meanwhile.
pub fn requested<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, usage) = measure(f);
    (out, usage.bytes)
}
