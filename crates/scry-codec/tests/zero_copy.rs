//! `read_batch_bytes` and the views share value bytes with the input wherever the wire stores
//! them contiguously, and copy them only out of wider slots.

use std::borrow::Cow;

use bytes::Bytes;
use scry_codec::{
    read_batch_bytes, read_event_bytes, serialize_batch, serialize_batch_with, serialize_event,
    BatchView, Encoding,
};
use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row, TypeTag};

const LENS: &[usize] = &[1, 2, 3, 4, 5, 200, 255, 256, 1000, 70_000];

fn batch() -> DatabaseEventBatch {
    let mut e = DatabaseEvent::new(OperationType::Insert, "public", "blobs");
    e.new_row = Some(Row::new(
        LENS.iter()
            .map(|&n| ColumnValue::from_pg_binary(TypeTag::Bytea, 17, vec![0xAB; n]))
            .collect(),
    ));
    DatabaseEventBatch::with_events(vec![e])
}

fn inside(input: &Bytes, data: &[u8]) -> bool {
    let start = input.as_ptr() as usize;
    let p = data.as_ptr() as usize;
    p >= start && p + data.len() <= start + input.len()
}

fn shared_lengths(input: &Bytes, batch: &DatabaseEventBatch) -> Vec<(usize, bool)> {
    batch.events[0]
        .new_row
        .as_ref()
        .unwrap()
        .values
        .iter()
        .map(|v| {
            let d = v.data.as_ref().unwrap();
            (d.len(), inside(input, d))
        })
        .collect()
}

#[test]
fn compat_values_up_to_255_bytes_are_slices_of_the_input() {
    let expected = batch();
    let input = Bytes::from(serialize_batch(&expected).unwrap());
    let read = read_batch_bytes(&input).unwrap();
    assert_eq!(read, expected);
    let want: Vec<(usize, bool)> = LENS.iter().map(|&n| (n, n <= 255)).collect();
    assert_eq!(shared_lengths(&input, &read), want);

    let view = BatchView::parse(&input).unwrap();
    let row = view.event(0).unwrap().new_row().unwrap();
    let borrowed: Vec<bool> = row
        .values()
        .map(|v| matches!(v.data(), Some(Cow::Borrowed(_))))
        .collect();
    assert_eq!(borrowed, LENS.iter().map(|&n| n <= 255).collect::<Vec<_>>());
}

#[test]
fn compact_values_of_any_length_are_slices_of_the_input() {
    let expected = batch();
    let input = Bytes::from(serialize_batch_with(&expected, Encoding::Compact).unwrap());
    let read = read_batch_bytes(&input).unwrap();
    assert_eq!(read, expected);
    let want: Vec<(usize, bool)> = LENS.iter().map(|&n| (n, true)).collect();
    assert_eq!(shared_lengths(&input, &read), want);

    let view = BatchView::parse(&input).unwrap();
    let row = view.event(0).unwrap().new_row().unwrap();
    assert!(row
        .values()
        .all(|v| matches!(v.data(), Some(Cow::Borrowed(_)))));
}

#[test]
fn bare_events_share_too() {
    let event = batch().events.remove(0);
    let input = Bytes::from(serialize_event(&event).unwrap());
    let read = read_event_bytes(&input).unwrap();
    assert_eq!(read, event);
    let d = read.new_row.as_ref().unwrap().values[0]
        .data
        .as_ref()
        .unwrap();
    assert!(inside(&input, d));
}
