//! `SnapshotEncoder` holds a chunk, a tuple and a batch, whatever the table's size: the peak
//! of live heap bytes while it encodes a 200 MB stream is the same as for a 20 MB one, and a
//! few MiB. (Heap bytes, counted by this binary's allocator; the process's peak RSS on a
//! real server is the CLI's measurement.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use scry_codec::Encoding;
use scry_pg::oid;
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder};
use scry_types::{ColumnMeta, RelationMeta};

/// The system allocator, keeping count of the bytes live and their peak.
struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grew(new_size);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Peak = Peak;

/// The peak of live heap bytes above the start while `rows` rows of 10,000 bytes are
/// encoded (and the batches dropped as they come).
fn peak_while_encoding(rows: u64, encoding: Encoding) -> usize {
    let rel = RelationMeta::new(
        1,
        "public",
        "big",
        vec![
            ColumnMeta::new("body", oid::BYTEA),
            ColumnMeta::new("note", oid::TEXT),
            ColumnMeta::new("tag", oid::TEXT),
        ],
    );
    let adapter = SnapshotAdapter::new(rel).timestamp_us(1);
    let mut encoder = SnapshotEncoder::new(encoding);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let (mut batches, mut bytes) = (0u64, 0usize);
    let summary = encoder
        .encode_table(&adapter, common::Endless::new(rows, 10_000), |b| {
            batches += 1;
            bytes += b.len();
            Ok(())
        })
        .unwrap();
    assert_eq!(summary.rows, rows);
    assert_eq!(summary.batches, batches);
    assert!(bytes as u64 > rows * 10_000);
    PEAK.load(Ordering::Relaxed) - before
}

#[test]
fn a_table_ten_times_larger_takes_no_more_memory() {
    for encoding in [Encoding::Compact, Encoding::Compat] {
        let small = peak_while_encoding(2_000, encoding);
        let large = peak_while_encoding(20_000, encoding);
        // A 256 KiB chunk, a batch of about 1 MB (its buffer grown by doubling), the
        // writer's tables: a few MiB, and not a byte more for ten times the rows.
        assert!(large < 8 << 20, "{encoding:?}: {large} bytes at the peak");
        assert!(
            large <= small + (64 << 10),
            "{encoding:?}: {small} then {large}"
        );
    }
}
