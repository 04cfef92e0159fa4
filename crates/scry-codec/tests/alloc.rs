//! Parsing a batch view and reading every field of every event allocates a bounded number of
//! times, however many events the batch holds.

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
fn compat_batches_allocate_the_same_for_any_number_of_events() {
    // `BatchView::parse` sizes what it allocates from the counts it reads.
    let rel = RelationMeta::new(1, "public", "accounts", vec![ColumnMeta::new("id", 20)]);
    let counts: Vec<usize> = [1usize, 10, 100, 2000, 8000]
        .into_iter()
        .map(|n| {
            let batch = workloads::small_rows(n).with_relations(vec![rel.clone()]);
            count(&serialize_batch(&batch).unwrap())
        })
        .collect();
    // One event: the events table alone. More: that table, the tracer's two buffers, the
    // template's five (sized once for slots up to four times as wide as the first traced
    // event's, so the wider offsets of a longer batch need no more), and the layout table:
    // nine for 10 events or 8000.
    assert_eq!(counts, [1, 9, 9, 9, 9]);
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
