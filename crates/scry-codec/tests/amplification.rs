//! Inputs that claim much more than they hold cannot make a reader work or allocate out of
//! proportion to their size: a shared (or overlapping) event, row, value, column list,
//! relation, column or sequence is an error at its second use, strings and data referenced
//! too often hit the work budget, cycles are errors, and huge claimed lengths fail before
//! anything is allocated for them (checked with a counting allocator).

mod common;

use bytes::Bytes;
use common::packed::{MAP, STRING, UINT, VECTOR};
use common::{Item, Raw};
use scry_codec::{
    read_batch, read_batch_bytes, read_event, serialize_batch_with, BatchView, DecodeError,
    DecodeErrorKind, Encoding, EventView, Limit,
};
use scry_testkit::alloc::requested;
use scry_testkit::workloads;
use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row};

#[global_allocator]
static GLOBAL: scry_testkit::alloc::Counting = scry_testkit::alloc::Counting;

const EVENT_KEYS: [&str; 8] = [
    "columns",
    "new_row",
    "operation",
    "position",
    "schema",
    "table",
    "timestamp_us",
    "transaction_id",
];

/// Packed type byte of a 4-byte Bool.
const BOOL: u8 = (26 << 2) | 2;
/// Packed type byte of a 4-byte Int.
const INT: u8 = (1 << 2) | 2;

/// An event map whose `new_row` is `row` (a map item); returns the event's position.
fn event_with_row(w: &mut Raw, row: Item) -> usize {
    event(
        w,
        Parts {
            new_row: Some(row),
            ..Parts::default()
        },
    )
}

/// The parts of a hand-made event that tests choose (the rest are fixed).
#[derive(Default)]
struct Parts {
    /// The `columns` vector (default: a fresh empty one).
    columns: Option<Item>,
    new_row: Option<Item>,
    old_row: Option<Item>,
    relation_meta: Option<Item>,
}

/// An event map of these parts, with schema and table "x" and zero numbers; returns the
/// position of its first value.
fn event(w: &mut Raw, p: Parts) -> usize {
    let name = w.string("x");
    let columns = match p.columns {
        Some(c) => c,
        None => Item::At(w.vector(&[]), VECTOR),
    };
    let mut entries = vec![(w.key("columns"), columns)];
    if let Some(row) = p.new_row {
        entries.push((w.key("new_row"), row));
    }
    if let Some(row) = p.old_row {
        entries.push((w.key("old_row"), row));
    }
    let insert = w.variant("Insert");
    entries.push((w.key("operation"), insert));
    entries.push((w.key("position"), Item::Inline(0, UINT)));
    if let Some(r) = p.relation_meta {
        entries.push((w.key("relation_meta"), r));
    }
    entries.push((w.key("schema"), Item::At(name, STRING)));
    entries.push((w.key("table"), Item::At(name, STRING)));
    entries.push((w.key("timestamp_us"), Item::Inline(0, UINT)));
    entries.push((w.key("transaction_id"), Item::Inline(0, UINT)));
    w.map(&entries)
}

/// A column value map (bytea, OID 17) whose data is `data` (value bytes), or none.
fn value(w: &mut Raw, data: Option<Item>) -> usize {
    let mut entries = Vec::new();
    if let Some(data) = data {
        entries.push((w.key("data"), data));
    }
    entries.push((w.key("type_oid"), Item::Inline(17, UINT)));
    let bytea = w.variant("Bytea");
    entries.push((w.key("type_tag"), bytea));
    w.map(&entries)
}

/// A row map whose `values` vector is at `values`.
fn row_of_vector(w: &mut Raw, values: usize) -> usize {
    let k = w.key("values");
    w.map(&[(k, Item::At(values, VECTOR))])
}

/// A row map of these value maps.
fn row(w: &mut Raw, values: &[usize]) -> usize {
    let items: Vec<Item> = values.iter().map(|&v| Item::At(v, MAP)).collect();
    let values = w.vector(&items);
    row_of_vector(w, values)
}

/// A row of `n` value slots that all point at one value map holding `data_len` bytes.
fn shared_row(w: &mut Raw, n: usize, data_len: usize) -> usize {
    let data = w.bytes(&vec![7; data_len]);
    let value = value(w, Some(data));
    row(w, &vec![value; n])
}

/// A relation map whose `columns` are these column maps.
fn relation(w: &mut Raw, columns: &[usize]) -> usize {
    let items: Vec<Item> = columns.iter().map(|&c| Item::At(c, MAP)).collect();
    let columns = w.vector(&items);
    let name = w.string("r");
    let default = w.variant("Default");
    let entries = [
        (w.key("columns"), Item::At(columns, VECTOR)),
        (w.key("rel_id"), Item::Inline(1, UINT)),
        (w.key("replica_identity"), default),
        (w.key("schema"), Item::At(name, STRING)),
        (w.key("table"), Item::At(name, STRING)),
    ];
    w.map(&entries)
}

/// A relation column map named "c".
fn column(w: &mut Raw) -> usize {
    let name = w.string("c");
    let entries = [
        (w.key("is_key"), Item::Inline(0, BOOL)),
        (w.key("name"), Item::At(name, STRING)),
        (w.key("type_modifier"), Item::Inline(0, INT)),
        (w.key("type_oid"), Item::Inline(23, UINT)),
    ];
    w.map(&entries)
}

/// A sequence value map.
fn sequence(w: &mut Raw) -> usize {
    let name = w.string("s");
    let entries = [
        (w.key("increment_by"), Item::Inline(1, INT)),
        (w.key("is_called"), Item::Inline(1, BOOL)),
        (w.key("last_value"), Item::Inline(5, INT)),
        (w.key("max_value"), Item::Inline(100, INT)),
        (w.key("min_value"), Item::Inline(1, INT)),
        (w.key("name"), Item::At(name, STRING)),
        (w.key("schema"), Item::At(name, STRING)),
    ];
    w.map(&entries)
}

/// A batch map with these `events` (a vector item) and no relations.
fn batch_of(w: &mut Raw, events: Item) -> Item {
    batch_with(w, events, &[], None)
}

/// A batch map with these `events` (a vector item), relation maps and sequence maps.
fn batch_with(w: &mut Raw, events: Item, relations: &[usize], sequences: Option<&[usize]>) -> Item {
    let items: Vec<Item> = relations.iter().map(|&r| Item::At(r, MAP)).collect();
    let relations = w.vector(&items);
    let mut entries = vec![
        (w.key("batch_seq"), Item::Inline(1, UINT)),
        (w.key("events"), events),
        (w.key("relations"), Item::At(relations, VECTOR)),
    ];
    if let Some(sequences) = sequences {
        let items: Vec<Item> = sequences.iter().map(|&s| Item::At(s, MAP)).collect();
        let sequences = w.vector(&items);
        entries.push((w.key("sequence_values"), Item::At(sequences, VECTOR)));
    }
    Item::At(w.map(&entries), MAP)
}

/// A batch of these event maps.
fn batch_of_events(w: &mut Raw, events: &[usize]) -> Item {
    let items: Vec<Item> = events.iter().map(|&e| Item::At(e, MAP)).collect();
    let events = w.vector(&items);
    batch_of(w, Item::At(events, VECTOR))
}

/// Every batch reader fails with the same error; returns it.
fn batch_error(bytes: &[u8]) -> DecodeError {
    let e = read_batch(bytes).unwrap_err();
    assert_eq!(
        read_batch_bytes(&Bytes::copy_from_slice(bytes)).unwrap_err(),
        e
    );
    assert_eq!(BatchView::parse(bytes).unwrap_err(), e);
    e
}

/// The kind of error for an object of kind `what` at `target` after one at `previous`.
fn shared(what: &'static str, target: usize, previous: usize) -> DecodeErrorKind {
    DecodeErrorKind::SharedObject {
        what,
        target,
        previous,
    }
}

#[test]
fn ten_thousand_event_slots_pointing_at_one_event_are_rejected_at_once() {
    // One event whose row holds one value; 10,000 event slots point at that event. Writers
    // never share an event, so the second slot is an error before any work is spent on it.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1, 16);
    let event = event_with_row(&mut w, Item::At(row, MAP));
    let events = w.vector(&vec![Item::At(event, MAP); 10_000]);
    let root = batch_of(&mut w, Item::At(events, VECTOR));
    let bytes = w.finish(root);
    assert!(bytes.len() < 60_000, "{}", bytes.len());
    let (e, allocated) = requested(|| read_batch(&bytes).unwrap_err());
    assert_eq!(batch_error(&bytes), e);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::SharedEvent {
            target: event,
            previous: event
        }
    );
    assert_eq!(e.event_index(), Some(1));
    assert_eq!(e.path(), "events[1]");
    // The table of events is sized by what the input can hold, not by the claimed 10,000.
    assert!(allocated < 4 * bytes.len(), "{allocated}");
}

#[test]
fn a_row_shared_by_distinct_events_is_rejected_at_the_second() {
    // 2,000 distinct events whose rows all point at one row of 1000 distinct values: 2 M
    // values claimed by about 250 KB. The second event's row is an error.
    let mut w = Raw::default();
    let values: Vec<usize> = (0..1000).map(|_| value(&mut w, None)).collect();
    let row = row(&mut w, &values);
    let events: Vec<usize> = (0..2000)
        .map(|_| event_with_row(&mut w, Item::At(row, MAP)))
        .collect();
    let root = batch_of_events(&mut w, &events);
    let bytes = w.finish(root);
    let (e, allocated) = requested(|| read_batch(&bytes).unwrap_err());
    assert_eq!(batch_error(&bytes), e);
    assert_eq!(e.kind(), &shared("row map", row, row));
    assert_eq!(e.path(), "events[1].new_row");
    assert_eq!(e.offset(), row);
    // What was allocated before: the first event's 1000 values and the event table.
    assert!(
        allocated < 2 * bytes.len(),
        "{allocated} for {}",
        bytes.len()
    );
}

#[test]
fn value_maps_shared_within_a_row_are_rejected() {
    // 1500 value slots (under max_columns) pointing at one 4 KiB value (8 KiB as 2-byte
    // elements): 6 MB of data from a 16 KB event. The second slot is an error.
    let mut w = Raw::default();
    let data = w.bytes(&[7; 4096]);
    let value = value(&mut w, Some(data));
    let row = row(&mut w, &[value; 1500]);
    let event = event_with_row(&mut w, Item::At(row, MAP));
    let bytes = w.finish(Item::At(event, MAP));
    assert!(bytes.len() < 16_500, "{}", bytes.len());
    let (e, allocated) = requested(|| read_event(&bytes).unwrap_err());
    assert_eq!(EventView::parse(&bytes).unwrap_err(), e);
    assert_eq!(e.kind(), &shared("column value map", value, value));
    assert_eq!(e.path(), "new_row.values[1]");
    assert!(allocated < 64 * 1024, "{allocated}");
}

#[test]
fn a_value_map_in_two_rows_is_rejected() {
    // new_row and old_row are distinct maps, but both list the same two value maps.
    let mut w = Raw::default();
    let first = value(&mut w, None);
    let second = value(&mut w, None);
    let new_row = row(&mut w, &[first, second]);
    let old_row = row(&mut w, &[first, second]);
    let event = event(
        &mut w,
        Parts {
            new_row: Some(Item::At(new_row, MAP)),
            old_row: Some(Item::At(old_row, MAP)),
            ..Parts::default()
        },
    );
    let bytes = w.finish(Item::At(event, MAP));
    let e = read_event(&bytes).unwrap_err();
    assert_eq!(EventView::parse(&bytes).unwrap_err(), e);
    assert_eq!(e.kind(), &shared("column value map", first, second));
    assert_eq!(e.path(), "old_row.values[0]");
}

#[test]
fn a_values_vector_in_two_rows_is_rejected() {
    // Two distinct row maps whose `values` is one vector: its values come round again.
    let mut w = Raw::default();
    let first = value(&mut w, None);
    let values = w.vector(&[Item::At(first, MAP)]);
    let new_row = row_of_vector(&mut w, values);
    let old_row = row_of_vector(&mut w, values);
    let event = event(
        &mut w,
        Parts {
            new_row: Some(Item::At(new_row, MAP)),
            old_row: Some(Item::At(old_row, MAP)),
            ..Parts::default()
        },
    );
    let bytes = w.finish(Item::At(event, MAP));
    let e = read_event(&bytes).unwrap_err();
    assert_eq!(e.kind(), &shared("column value map", first, first));
    assert_eq!(e.path(), "old_row.values[0]");
}

#[test]
fn new_row_and_old_row_cannot_be_one_map() {
    let mut w = Raw::default();
    let v = value(&mut w, None);
    let r = row(&mut w, &[v]);
    let event = event(
        &mut w,
        Parts {
            new_row: Some(Item::At(r, MAP)),
            old_row: Some(Item::At(r, MAP)),
            ..Parts::default()
        },
    );
    let bytes = w.finish(Item::At(event, MAP));
    let e = read_event(&bytes).unwrap_err();
    assert_eq!(EventView::parse(&bytes).unwrap_err(), e);
    assert_eq!(e.kind(), &shared("row map", r, r));
    assert_eq!(e.path(), "old_row");
    assert_eq!(
        e.to_string(),
        format!(
            "row map at byte {r} does not lie after the previous row map (byte {r}) at old_row \
             (byte {r})"
        )
    );
}

#[test]
fn an_old_row_written_before_its_new_row_is_rejected() {
    // Every writer writes `new_row` first; reading in key order meets it first too.
    let mut w = Raw::default();
    let v1 = value(&mut w, None);
    let old_row = row(&mut w, &[v1]);
    let v2 = value(&mut w, None);
    let new_row = row(&mut w, &[v2]);
    let event = event(
        &mut w,
        Parts {
            new_row: Some(Item::At(new_row, MAP)),
            old_row: Some(Item::At(old_row, MAP)),
            ..Parts::default()
        },
    );
    let bytes = w.finish(Item::At(event, MAP));
    let e = read_event(&bytes).unwrap_err();
    assert_eq!(e.kind(), &shared("row map", old_row, new_row));
    assert_eq!(e.path(), "old_row");
}

#[test]
fn a_column_name_list_shared_by_events_is_rejected() {
    // 1000 events of distinct maps all listing one vector of 1000 column names.
    let mut w = Raw::default();
    let name = w.string("id");
    let columns = w.vector(&vec![Item::At(name, STRING); 1000]);
    let events: Vec<usize> = (0..1000)
        .map(|_| {
            event(
                &mut w,
                Parts {
                    columns: Some(Item::At(columns, VECTOR)),
                    ..Parts::default()
                },
            )
        })
        .collect();
    let root = batch_of_events(&mut w, &events);
    let bytes = w.finish(root);
    let (e, allocated) = requested(|| read_batch(&bytes).unwrap_err());
    assert_eq!(batch_error(&bytes), e);
    assert_eq!(e.kind(), &shared("column name list", columns, columns));
    assert_eq!(e.path(), "events[1].columns");
    assert!(
        allocated < 2 * bytes.len(),
        "{allocated} for {}",
        bytes.len()
    );
}

#[test]
fn relations_columns_and_sequences_are_not_shared() {
    // One relation as two events' relation_meta.
    let mut w = Raw::default();
    let c = column(&mut w);
    let r = relation(&mut w, &[c]);
    let events: Vec<usize> = (0..2)
        .map(|_| {
            event(
                &mut w,
                Parts {
                    relation_meta: Some(Item::At(r, MAP)),
                    ..Parts::default()
                },
            )
        })
        .collect();
    let root = batch_of_events(&mut w, &events);
    let e = batch_error(&w.finish(root));
    assert_eq!(e.kind(), &shared("relation map", r, r));
    assert_eq!(e.path(), "events[1].relation_meta");

    // An event's relation_meta again in the batch's relations.
    let mut w = Raw::default();
    let c = column(&mut w);
    let r = relation(&mut w, &[c]);
    let ev = event(
        &mut w,
        Parts {
            relation_meta: Some(Item::At(r, MAP)),
            ..Parts::default()
        },
    );
    let events = w.vector(&[Item::At(ev, MAP)]);
    let root = batch_with(&mut w, Item::At(events, VECTOR), &[r], None);
    let e = batch_error(&w.finish(root));
    assert_eq!(e.kind(), &shared("relation map", r, r));
    assert_eq!(e.path(), "relations[0]");

    // One column map twice in a relation.
    let mut w = Raw::default();
    let c = column(&mut w);
    let r = relation(&mut w, &[c, c]);
    let events = w.vector(&[]);
    let root = batch_with(&mut w, Item::At(events, VECTOR), &[r], None);
    let e = batch_error(&w.finish(root));
    assert_eq!(e.kind(), &shared("column map", c, c));
    assert_eq!(e.path(), "relations[0].columns[1]");

    // One sequence value twice.
    let mut w = Raw::default();
    let s = sequence(&mut w);
    let events = w.vector(&[]);
    let root = batch_with(&mut w, Item::At(events, VECTOR), &[], Some(&[s, s]));
    let e = batch_error(&w.finish(root));
    assert_eq!(e.kind(), &shared("sequence value map", s, s));
    assert_eq!(e.path(), "sequence_values[1]");

    // Each written afresh, the same shapes read.
    let mut w = Raw::default();
    let c1 = column(&mut w);
    let c2 = column(&mut w);
    let r1 = relation(&mut w, &[c1, c2]);
    let ev = event(
        &mut w,
        Parts {
            relation_meta: Some(Item::At(r1, MAP)),
            ..Parts::default()
        },
    );
    let events = w.vector(&[Item::At(ev, MAP)]);
    let c3 = column(&mut w);
    let r2 = relation(&mut w, &[c3]);
    let s1 = sequence(&mut w);
    let s2 = sequence(&mut w);
    let root = batch_with(&mut w, Item::At(events, VECTOR), &[r2], Some(&[s1, s2]));
    let batch = read_batch(&w.finish(root)).unwrap();
    assert_eq!(
        batch.events[0]
            .relation_meta
            .as_ref()
            .unwrap()
            .columns
            .len(),
        2
    );
    assert_eq!(batch.relations[0].columns[0].name, "c");
    assert_eq!(batch.sequence_values.as_ref().unwrap()[1].last_value, 5);
}

/// A batch of `events` events, each with a fresh `columns` vector of `refs` slots that all
/// point at one `len`-byte string.
fn events_sharing_one_column_name(len: usize, events: usize, refs: usize) -> Vec<u8> {
    let mut w = Raw::default();
    let name = w.string(&"n".repeat(len));
    let events: Vec<usize> = (0..events)
        .map(|_| {
            let columns = w.vector(&vec![Item::At(name, STRING); refs]);
            event(
                &mut w,
                Parts {
                    columns: Some(Item::At(columns, VECTOR)),
                    ..Parts::default()
                },
            )
        })
        .collect();
    let root = batch_of_events(&mut w, &events);
    w.finish(root)
}

/// A batch of `events` events, each with a row of `values` fresh value maps whose data is
/// the same `len` value bytes.
fn values_sharing_one_data(len: usize, events: usize, values: usize) -> Vec<u8> {
    let mut w = Raw::default();
    let data = w.bytes(&vec![7; len]);
    let events: Vec<usize> = (0..events)
        .map(|_| {
            let maps: Vec<usize> = (0..values).map(|_| value(&mut w, Some(data))).collect();
            let row = row(&mut w, &maps);
            event_with_row(&mut w, Item::At(row, MAP))
        })
        .collect();
    let root = batch_of_events(&mut w, &events);
    w.finish(root)
}

/// What `read_batch`, `read_batch_bytes` and `BatchView::parse` allocate, the largest.
fn most_allocated(bytes: &[u8]) -> usize {
    let shared = Bytes::copy_from_slice(bytes);
    let (_, a) = requested(|| read_batch(bytes).map(drop));
    let (_, b) = requested(|| read_batch_bytes(&shared).map(drop));
    let (_, c) = requested(|| BatchView::parse(bytes).map(drop));
    a.max(b).max(c)
}

#[test]
fn strings_shared_within_the_budget_read_with_bounded_memory() {
    // Strings are shared legitimately, so sharing one is no error: 30,000 references to one
    // 24-byte name from 300 distinct column lists read, each reference charged its length.
    let bytes = events_sharing_one_column_name(24, 300, 100);
    let batch = read_batch(&bytes).unwrap();
    assert_eq!(batch.events.len(), 300);
    assert_eq!(batch.events[299].columns.len(), 100);
    assert_eq!(batch.events[299].columns[99], "n".repeat(24));
    assert_eq!(
        read_batch_bytes(&Bytes::from(bytes.clone())).unwrap(),
        batch
    );
    // A `String` (24 bytes and its heap copy) per 5-byte reference, and the record.
    let allocated = most_allocated(&bytes);
    assert!(
        allocated < 12 * bytes.len(),
        "{allocated} for {}",
        bytes.len()
    );
}

#[test]
fn a_long_string_referenced_too_often_hits_the_work_budget() {
    // 300 column lists of 100 references to one 1000-byte name: 30 MB of names from 200 KB.
    let bytes = events_sharing_one_column_name(1000, 300, 100);
    assert!(bytes.len() < 210_000, "{}", bytes.len());
    let e = batch_error(&bytes);
    let budget = 8 * bytes.len() as u64 + 4096;
    assert_eq!(e.kind(), &DecodeErrorKind::WorkBudgetExceeded { budget });
    assert!(e.path().starts_with("events[16].columns["), "{e}");
    // It stops before the copy: what is allocated is the record of the names so far.
    let allocated = most_allocated(&bytes);
    assert!(allocated < bytes.len(), "{allocated} for {}", bytes.len());
}

#[test]
fn data_shared_within_the_budget_reads_with_bounded_memory() {
    // 10,000 distinct value maps whose data is one vector of 64 bytes.
    let bytes = values_sharing_one_data(64, 100, 100);
    let batch = read_batch(&bytes).unwrap();
    let values = &batch.events[99].new_row.as_ref().unwrap().values;
    assert_eq!(values.len(), 100);
    assert_eq!(values[99].data.as_deref(), Some(&[7u8; 64][..]));
    let allocated = most_allocated(&bytes);
    assert!(
        allocated < 4 * bytes.len(),
        "{allocated} for {}",
        bytes.len()
    );
}

#[test]
fn data_referenced_too_often_hits_the_work_budget() {
    // 10,000 distinct value maps whose data is one vector of 4 KiB: 40 MB of data from 880 KB.
    let bytes = values_sharing_one_data(4096, 100, 100);
    assert!(bytes.len() < 890_000, "{}", bytes.len());
    let e = batch_error(&bytes);
    let budget = 8 * bytes.len() as u64 + 4096;
    assert_eq!(e.kind(), &DecodeErrorKind::WorkBudgetExceeded { budget });
    assert!(e.path().starts_with("events[17].new_row.values["), "{e}");
    assert!(e.path().ends_with("].data"), "{e}");
    let allocated = most_allocated(&bytes);
    assert!(allocated < bytes.len(), "{allocated} for {}", bytes.len());
}

#[test]
fn compact_batches_read_and_stay_bounded() {
    // The compact layout states each (schema, table, column names) once per batch: 2000
    // events hold one copy of each name.
    let batch = workloads::small_rows(2000);
    let production = serialize_batch_with(&batch, Encoding::Compact).unwrap();
    let copies = production
        .windows(10)
        .filter(|w| w == b"account_id")
        .count();
    assert_eq!(copies, 1);
    // The owned batch holds every event's five names and values: about 11.5 times the
    // compact bytes, which spend 4 bytes a value and about 10 an event.
    assert_eq!(read_batch(&production).unwrap(), batch);
    let allocated = most_allocated(&production);
    assert!(
        allocated < 12 * production.len(),
        "{allocated} for {}",
        production.len()
    );
}

/// A batch of `n` events with empty names, zero numbers and no rows, changed by `f`.
fn bare_events(n: usize, f: impl Fn(&mut DatabaseEvent)) -> DatabaseEventBatch {
    let events = (0..n)
        .map(|_| {
            let mut e = DatabaseEvent::new(OperationType::Insert, "", "");
            e.timestamp_us = 0;
            f(&mut e);
            e
        })
        .collect();
    DatabaseEventBatch::with_events(events)
}

/// The densest shapes of events: what reading allocates for them is what the owned batch
/// holds for each object (and the record of it).
fn densest_cases() -> Vec<(&'static str, DatabaseEventBatch)> {
    vec![
        ("no rows", bare_events(5000, |_| {})),
        (
            "null values",
            bare_events(200, |e| {
                e.new_row = Some(Row::new(vec![ColumnValue::null(); 50]));
            }),
        ),
        (
            "one-letter column names",
            bare_events(200, |e| e.columns = vec!["a".to_owned(); 100]),
        ),
        (
            "a shared 16-letter column name",
            bare_events(300, |e| e.columns = vec!["n".repeat(16); 100]),
        ),
        (
            "column names shared by rows of NULLs",
            bare_events(300, |e| {
                e.columns = vec!["n".repeat(16); 100];
                e.new_row = Some(Row::new(vec![ColumnValue::null(); 100]));
            }),
        ),
    ]
}

#[test]
fn the_densest_compact_shapes_allocate_a_bounded_multiple() {
    // In the compact layout an event takes at least 6 bytes and costs a `DatabaseEvent`; a
    // value at least 4 bytes and costs a `ColumnValue`; a column name shared through the
    // name table is copied into every event's `columns`, which the writer keeps within
    // twice the event's own bytes (else it states them inline, a byte a name at least).
    let event = std::mem::size_of::<DatabaseEvent>();
    let value = std::mem::size_of::<ColumnValue>();
    let bound = (event / 6).max(value / 4) + 2 * (24 + 1) + 8;
    for (name, batch) in densest_cases() {
        let bytes = serialize_batch_with(&batch, Encoding::Compact).unwrap();
        assert_eq!(read_batch(&bytes).unwrap(), batch, "{name}");
        let allocated = most_allocated(&bytes);
        assert!(
            allocated < bound * bytes.len(),
            "{name}: {allocated} for {} (bound {bound}x)",
            bytes.len()
        );
    }
}

#[test]
fn a_cycle_is_an_error_not_a_loop() {
    // The event's `new_row` points at the event itself: a map without `values`.
    let mut w = Raw::default();
    let keys: Vec<usize> = EVENT_KEYS.iter().map(|k| w.key(k)).collect();
    let name = w.string("x");
    let columns = w.vector(&[]);
    let insert = w.variant("Insert");
    // Build the event by hand so `new_row` can point at the map's own position: the map's
    // first value is at `at`, and the `new_row` slot is its second value.
    let at = w.map(&[
        (keys[0], Item::At(columns, VECTOR)),
        (keys[1], Item::Inline(0, MAP)),
        (keys[2], insert),
        (keys[3], Item::Inline(0, UINT)),
        (keys[4], Item::At(name, STRING)),
        (keys[5], Item::At(name, STRING)),
        (keys[6], Item::Inline(0, UINT)),
        (keys[7], Item::Inline(0, UINT)),
    ]);
    // Offset 4 from slot `at + 4` points at `at`: the map itself.
    w.buf[at + 4..at + 8].copy_from_slice(&4u32.to_le_bytes());
    let bytes = w.finish(Item::At(at, MAP));
    let e = read_event(&bytes).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::MissingField { field: "values" });
    assert_eq!(e.path(), "new_row");
    assert_eq!(EventView::parse(&bytes).unwrap_err(), e);
}

/// A batch whose `events` vector claims `len` elements but holds none.
fn batch_claiming_events(len: u32) -> Vec<u8> {
    let mut w = Raw::default();
    let events = w.vector(&[]);
    w.buf[events - 4..events].copy_from_slice(&len.to_le_bytes());
    let root = batch_of(&mut w, Item::At(events, VECTOR));
    w.finish(root)
}

#[test]
fn a_claimed_u32_max_events_vector_fails_without_allocating() {
    let bytes = batch_claiming_events(u32::MAX);
    // The events vector's bytes start at byte 4, after its length.
    let (e, allocated) = requested(|| batch_error(&bytes));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: u64::from(u32::MAX) + 4,
            input_len: bytes.len(),
        }
    );
    assert_eq!((e.path().as_str(), e.offset()), ("events", 0));
    assert!(allocated < 64 * 1024, "{allocated}");
    // A claim that fits in the input is then held to the events limit...
    let bytes = batch_claiming_events(10);
    let o = scry_codec::ReadOptions {
        max_events: 5,
        ..scry_codec::ReadOptions::DEFAULT
    };
    let e = BatchView::parse_with(&bytes, &o).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::LimitExceeded {
            limit: Limit::Events,
            max: 5,
            actual: 10,
        }
    );
    // ...and one that does not (60 five-byte slots) fails on the input's bounds.
    let bytes = batch_claiming_events(60);
    let (e, allocated) = requested(|| batch_error(&bytes));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: 4 + 300,
            input_len: bytes.len(),
        }
    );
    assert!(allocated < 64 * 1024, "{allocated}");
}

#[test]
fn a_claimed_value_length_beyond_the_input_fails_without_allocating() {
    // 300 value bytes in 2-byte elements, whose length prefix is made to claim 65,535.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1, 300);
    let data_at = w
        .buf
        .windows(6)
        .position(|x| x == [7, 0, 7, 0, 7, 0])
        .unwrap();
    w.buf[data_at - 2..data_at].copy_from_slice(&u16::MAX.to_le_bytes());
    let event = event_with_row(&mut w, Item::At(row, MAP));
    let bytes = w.finish(Item::At(event, MAP));
    let (e, allocated) = requested(|| read_event(&bytes).unwrap_err());
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            // The length alone is checked against the input first (an element at least a
            // byte), before it is multiplied by the element width.
            end: u64::from(u16::MAX) + data_at as u64,
            input_len: bytes.len(),
        }
    );
    assert_eq!(e.path(), "new_row.values[0].data");
    assert_eq!(e.offset(), data_at - 2);
    assert!(allocated < 64 * 1024, "{allocated}");
}

#[test]
fn a_claimed_u32_max_string_length_fails_without_allocating() {
    let mut w = Raw::default();
    let k_values = w.key("values");
    let values = w.vector(&[]);
    let row = w.map(&[(k_values, Item::At(values, VECTOR))]);
    let event = event_with_row(&mut w, Item::At(row, MAP));
    // The one string, "x", is the event's schema and table.
    let x = w.buf.windows(2).position(|s| s == b"x\0").unwrap();
    w.buf[x - 4..x].copy_from_slice(&u32::MAX.to_le_bytes());
    let bytes = w.finish(Item::At(event, MAP));
    let (e, allocated) = requested(|| read_event(&bytes).unwrap_err());
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: u64::from(u32::MAX) + x as u64,
            input_len: bytes.len(),
        }
    );
    assert_eq!(e.path(), "schema");
    assert!(allocated < 64 * 1024, "{allocated}");
}
