//! Parsing a batch view and reading every field of every event allocates a bounded number of
//! times, however many events the batch holds.

mod common;

use scry_codec::{serialize_batch, BatchView};
use scry_testkit::workloads;
use scry_types::{ColumnMeta, RelationMeta};

#[global_allocator]
static GLOBAL: scry_testkit::alloc::Counting = scry_testkit::alloc::Counting;

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
    let ((), usage) = scry_testkit::alloc::measure(|| {
        std::hint::black_box(parse_and_scan(bytes));
    });
    usage.allocations
}

#[test]
fn allocations_do_not_grow_with_events() {
    let rel = RelationMeta::new(1, "public", "accounts", vec![ColumnMeta::new("id", 20)]);
    let mut counts = Vec::new();
    for n in [1usize, 10, 100, 2000, 8000] {
        let batch = workloads::small_rows(n).with_relations(vec![rel.clone()]);
        let compat = serialize_batch(&batch).unwrap();
        let compact = common::compact_batch(&batch);
        counts.push((count(&compat), count(&compact)));
    }
    // The table of where each event's fields are, and the buffers of the event template
    // (its trace, its compiled checks, the table of where the values of the events it
    // validated lie): each allocated once, plus a few times more as the offsets to the keys
    // at the start of the input need wider entries (past 255 and 65,535 bytes). None of it
    // grows with the number of events.
    let (small, large) = (counts[1], counts[3]);
    assert_eq!(counts[4], large, "{counts:?}");
    assert_eq!(counts[0], (1, 1), "{counts:?}");
    assert!(
        small.0 <= 16 && small.1 <= 16 && large.0 <= 24 && large.1 <= 24,
        "{counts:?}"
    );
}

#[test]
fn compact_batches_allocate_the_same_for_any_number_of_events() {
    // The events table, sized from the event count the blob states, and the name and row
    // type tables, sized from the tables' counts: three allocations for 1 event or 8000.
    let rel = RelationMeta::new(1, "public", "accounts", vec![ColumnMeta::new("id", 20)]);
    let counts: Vec<usize> = [1usize, 10, 100, 2000, 8000]
        .into_iter()
        .map(|n| {
            let batch = workloads::small_rows(n).with_relations(vec![rel.clone()]);
            let bytes =
                scry_codec::serialize_batch_with(&batch, scry_codec::Encoding::Compact).unwrap();
            count(&bytes)
        })
        .collect();
    assert_eq!(counts, [3; 5]);
}
