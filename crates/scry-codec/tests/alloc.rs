//! Parsing a batch view and reading every field of every event allocates a constant number of
//! times, however many events the batch holds.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use scry_codec::{serialize_batch, BatchView};
use scry_testkit::workloads;
use scry_types::{ColumnMeta, RelationMeta};

struct Counting;

thread_local! {
    /// Allocations made by this thread: the test harness's own threads allocate concurrently,
    /// so a process-wide count would be flaky.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc() {
    // `try_with`: the slot may already be gone while a thread is being torn down.
    let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Parses and reads every field; returns a checksum so nothing is optimised away.
fn parse_and_scan(bytes: &[u8]) -> usize {
    let view = BatchView::parse(bytes).unwrap();
    let mut sum = view.batch_seq() as usize + view.source_id().map_or(0, str::len);
    for r in view.relations() {
        sum += r.rel_id() as usize + r.schema().len() + r.table().len();
        sum += r
            .columns()
            .map(|c| c.name().len() + c.type_oid() as usize)
            .sum::<usize>();
    }
    for e in view.events() {
        sum += e.operation() as usize + e.schema().len() + e.table().len();
        sum += (e.position() ^ e.transaction_id() ^ e.timestamp_us()) as usize & 0xFF;
        sum += e.event_id().map_or(0, str::len) + e.ddl_sql().map_or(0, str::len);
        sum += e.columns().map(str::len).sum::<usize>();
        for row in [e.new_row(), e.old_row()].into_iter().flatten() {
            for v in row.values() {
                sum += v.type_tag() as usize + v.type_oid() as usize + usize::from(v.is_null());
                sum += v.data().map_or(0, |d| d.len());
            }
        }
        if let Some(r) = e.relation_meta() {
            sum += r.columns().len();
        }
    }
    sum
}

fn count(bytes: &[u8]) -> usize {
    let before = ALLOCS.with(Cell::get);
    std::hint::black_box(parse_and_scan(bytes));
    ALLOCS.with(Cell::get) - before
}

#[test]
fn allocations_do_not_grow_with_events() {
    let rel = RelationMeta::new(1, "public", "accounts", vec![ColumnMeta::new("id", 20)]);
    let mut counts = Vec::new();
    for n in [1usize, 10, 100, 2000] {
        let batch = workloads::small_rows(n).with_relations(vec![rel.clone()]);
        let compat = serialize_batch(&batch).unwrap();
        let compact = common::compact_batch(&batch);
        counts.push((n, count(&compat), count(&compact)));
    }
    // One allocation: the table of where each event's fields are.
    assert_eq!(
        counts,
        vec![(1, 1, 1), (10, 1, 1), (100, 1, 1), (2000, 1, 1)]
    );
}
