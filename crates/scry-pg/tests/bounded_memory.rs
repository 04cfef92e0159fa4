//! A COPY BINARY tuple that claims 32767 fields does not make `CopyReader` allocate for them
//! before their bytes are there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use scry_pg::copy::{CopyError, CopyReader, SIGNATURE};

/// Counts the bytes each thread requests from the allocator.
struct Counting;

thread_local! {
    static REQUESTED: Cell<usize> = const { Cell::new(0) };
}

fn count(n: usize) {
    // `try_with`: the slot is gone while the thread shuts down.
    let _ = REQUESTED.try_with(|r| r.set(r.get() + n));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes this thread requested from the allocator while `f` ran.
fn requested<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = REQUESTED.with(Cell::get);
    let out = f();
    (out, REQUESTED.with(Cell::get) - before)
}

#[test]
fn a_claimed_field_count_is_not_allocated_up_front() {
    // Header, then a tuple claiming 32767 fields and holding one NULL.
    let mut input = SIGNATURE.to_vec();
    input.extend_from_slice(&[0; 8]);
    input.extend_from_slice(&i16::MAX.to_be_bytes());
    input.extend_from_slice(&(-1i32).to_be_bytes());
    let (rows, allocated) =
        requested(|| CopyReader::new(input.clone()).unwrap().collect::<Vec<_>>());
    assert_eq!(
        rows,
        vec![Err(CopyError::Truncated {
            what: "field length",
            offset: 25,
            needed: 4,
            available: 0,
        })]
    );
    // 32767 fields would be about 1 MiB of slots; the input is 25 bytes.
    assert!(allocated < 4096, "{allocated}");
}
