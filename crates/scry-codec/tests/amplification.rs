//! Inputs that claim much more than they hold cannot make a reader work or allocate out of
//! proportion to their size: offsets that all point at one shared subtree hit the work
//! budget, cycles are errors, and huge claimed lengths fail before anything is allocated for
//! them (checked with a counting allocator).

mod common;

use bytes::Bytes;
use common::packed::{BLOB, MAP, STRING, UINT, VECTOR};
use common::{Item, Raw};
use scry_codec::{
    read_batch, read_batch_bytes, read_event, BatchView, DecodeError, DecodeErrorKind, EventView,
    Limit,
};
use scry_testkit::alloc::requested;

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

/// An event map whose `new_row` is `row` (a map item); returns the event's position.
fn event_with_row(w: &mut Raw, row: Item) -> usize {
    let keys: Vec<usize> = EVENT_KEYS.iter().map(|k| w.key(k)).collect();
    let name = w.string("x");
    let columns = w.vector(&[]);
    w.map(&[
        (keys[0], Item::At(columns, VECTOR)),
        (keys[1], row),
        (keys[2], Item::Inline(0, UINT)),
        (keys[3], Item::Inline(0, UINT)),
        (keys[4], Item::At(name, STRING)),
        (keys[5], Item::At(name, STRING)),
        (keys[6], Item::Inline(0, UINT)),
        (keys[7], Item::Inline(0, UINT)),
    ])
}

/// A row of `n` value slots that all point at one value map holding `data_len` bytes.
fn shared_row(w: &mut Raw, n: usize, data_len: usize) -> usize {
    let k_data = w.key("data");
    let k_oid = w.key("type_oid");
    let k_tag = w.key("type_tag");
    let blob = w.blob(&vec![7; data_len]);
    let value = w.map(&[
        (k_data, Item::At(blob, BLOB)),
        (k_oid, Item::Inline(17, UINT)),
        (k_tag, Item::Inline(8, UINT)),
    ]);
    let k_values = w.key("values");
    let values = w.vector(&vec![Item::At(value, MAP); n]);
    w.map(&[(k_values, Item::At(values, VECTOR))])
}

/// A batch map with these `events` (a vector item) and no relations.
fn batch_of(w: &mut Raw, events: Item) -> Item {
    let k_batch_seq = w.key("batch_seq");
    let k_events = w.key("events");
    let k_relations = w.key("relations");
    let relations = w.vector(&[]);
    let batch = w.map(&[
        (k_batch_seq, Item::Inline(1, UINT)),
        (k_events, events),
        (k_relations, Item::At(relations, VECTOR)),
    ]);
    Item::At(batch, MAP)
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

#[test]
fn ten_thousand_event_slots_pointing_at_one_event_are_rejected_at_once() {
    // One event whose row holds 1000 slots pointing at one 16-byte value; 10,000 event slots
    // point at that event. About 50 KB of input claiming 10 M values. Writers never share an
    // event, so the second slot is an error before any work is spent on it.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1000, 16);
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
fn distinct_events_sharing_one_thousand_value_row_hit_the_work_budget() {
    // 2,000 distinct events whose rows all point at one row of 1000 slots sharing one value:
    // each event costs about 17,000 units of work, so the budget runs out early.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1000, 16);
    let events: Vec<Item> = (0..2000)
        .map(|_| Item::At(event_with_row(&mut w, Item::At(row, MAP)), MAP))
        .collect();
    let events = w.vector(&events);
    let root = batch_of(&mut w, Item::At(events, VECTOR));
    let bytes = w.finish(root);
    let (e, allocated) = requested(|| read_batch(&bytes).unwrap_err());
    assert_eq!(batch_error(&bytes), e);
    let budget = 8 * bytes.len() as u64 + 4096;
    assert_eq!(e.kind(), &DecodeErrorKind::WorkBudgetExceeded { budget });
    let at = e.event_index().unwrap();
    assert!(at < 2000, "{e}");
    // Nothing like the 2 M values the input claims is allocated; what is allocated grows
    // linearly with the input (the record of the values visited before the budget ran out,
    // about 90 bytes per value).
    assert!(
        allocated < 100 * bytes.len(),
        "{allocated} for {} bytes",
        bytes.len()
    );
}

#[test]
fn one_event_whose_row_shares_one_large_value() {
    // 1500 value slots (under max_columns) pointing at one 4 KiB value: 6 MB of data from a
    // 10 KB event.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1500, 4096);
    let event = event_with_row(&mut w, Item::At(row, MAP));
    let bytes = w.finish(Item::At(event, MAP));
    assert!(bytes.len() < 12_000, "{}", bytes.len());
    let (e, allocated) = requested(|| read_event(&bytes).unwrap_err());
    assert_eq!(EventView::parse(&bytes).unwrap_err(), e);
    let budget = 8 * bytes.len() as u64 + 4096;
    assert_eq!(e.kind(), &DecodeErrorKind::WorkBudgetExceeded { budget });
    assert!(e.path().starts_with("new_row.values["), "{e}");
    assert!(allocated < 1 << 20, "{allocated}");
}

#[test]
fn sharing_within_the_budget_reads_with_bounded_work() {
    // Light sharing (a 4-value row shared by 3 events) is not an error: the budget is about
    // work, not about sharing itself.
    let mut w = Raw::default();
    let row = shared_row(&mut w, 4, 2);
    let events: Vec<Item> = (0..3)
        .map(|_| Item::At(event_with_row(&mut w, Item::At(row, MAP)), MAP))
        .collect();
    let events = w.vector(&events);
    let root = batch_of(&mut w, Item::At(events, VECTOR));
    let bytes = w.finish(root);
    let batch = read_batch(&bytes).unwrap();
    assert_eq!(batch.events.len(), 3);
    assert_eq!(batch.events[2].new_row.as_ref().unwrap().values.len(), 4);
    assert_eq!(
        batch.events[2].new_row.as_ref().unwrap().values[3]
            .data
            .as_deref(),
        Some(&[7u8, 7][..])
    );
}

#[test]
fn a_cycle_is_an_error_not_a_loop() {
    // The event's `new_row` points at the event itself: a map without `values`.
    let mut w = Raw::default();
    let keys: Vec<usize> = EVENT_KEYS.iter().map(|k| w.key(k)).collect();
    let name = w.string("x");
    let columns = w.vector(&[]);
    // Build the event by hand so `new_row` can point at the map's own position: the map's
    // first value is at `at`, and the `new_row` slot is its second value.
    let at = w.map(&[
        (keys[0], Item::At(columns, VECTOR)),
        (keys[1], Item::Inline(0, MAP)),
        (keys[2], Item::Inline(0, UINT)),
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
fn a_claimed_u32_max_blob_length_fails_without_allocating() {
    let mut w = Raw::default();
    let row = shared_row(&mut w, 1, 3);
    let blob_at = w.buf.windows(3).position(|x| x == [7, 7, 7]).unwrap();
    w.buf[blob_at - 4..blob_at].copy_from_slice(&u32::MAX.to_le_bytes());
    let event = event_with_row(&mut w, Item::At(row, MAP));
    let bytes = w.finish(Item::At(event, MAP));
    let (e, allocated) = requested(|| read_event(&bytes).unwrap_err());
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: u64::from(u32::MAX) + blob_at as u64,
            input_len: bytes.len(),
        }
    );
    assert_eq!(e.path(), "new_row.values[0].data");
    assert_eq!(e.offset(), blob_at - 4);
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
