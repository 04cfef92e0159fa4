//! The compact encoding reads to the value it encodes, through every reader, and is told
//! from the compatible one by its bytes alone.

use bytes::Bytes;
use scry_codec::{
    read_batch, read_batch_bytes, read_event, read_event_bytes, serialize_batch_with,
    serialize_event_with, BatchView, Encoding, EventView,
};
use scry_testkit::Gen;
use scry_types::{
    ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch, OperationType, Row, TypeTag,
};

fn compact_batch(batch: &DatabaseEventBatch) -> Vec<u8> {
    serialize_batch_with(batch, Encoding::Compact).unwrap()
}

fn compact_event(event: &DatabaseEvent) -> Vec<u8> {
    serialize_event_with(event, Encoding::Compact).unwrap()
}

#[test]
fn generated_batches_read_back_from_compact() {
    for seed in 0..2000u64 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = seed % 50 == 0;
        let batch = g.batch(4);
        let bytes = compact_batch(&batch);
        assert_eq!(
            read_batch(&bytes).unwrap(),
            batch,
            "seed {seed}: read_batch"
        );
        assert_eq!(
            read_batch_bytes(&Bytes::from(bytes.clone())).unwrap(),
            batch,
            "seed {seed}: read_batch_bytes"
        );
        let view = BatchView::parse(&bytes).unwrap();
        assert_eq!(view.to_owned(), batch, "seed {seed}: view");
    }
}

#[test]
fn generated_events_read_back_from_compact() {
    for seed in 0..2000u64 {
        let event = Gen::new(seed ^ 0xc0c0).event();
        let bytes = compact_event(&event);
        assert_eq!(read_event(&bytes).unwrap(), event, "seed {seed}");
        assert_eq!(
            read_event_bytes(&Bytes::from(bytes.clone())).unwrap(),
            event,
            "seed {seed}"
        );
        assert_eq!(EventView::parse(&bytes).unwrap().to_owned_event(), event);
    }
}

fn sample_event() -> DatabaseEvent {
    let mut e = DatabaseEvent::new(OperationType::Update, "public", "users");
    e.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 9]),
        ColumnValue::null(),
        ColumnValue::unchanged(25),
    ]));
    e.columns = vec!["id".into(), "note".into(), "body".into()];
    e
}

#[test]
fn encoding_is_detected() {
    let batch = DatabaseEventBatch::with_events(vec![sample_event()]);
    let compact = compact_batch(&batch);
    let compat = scry_codec::serialize_batch(&batch).unwrap();
    assert_eq!(
        BatchView::parse(&compact).unwrap().encoding(),
        Encoding::Compact
    );
    assert_eq!(
        BatchView::parse(&compat).unwrap().encoding(),
        Encoding::Compat
    );
    // The root map's `compact` key says it, whatever the batch holds.
    let empty = DatabaseEventBatch::new().with_source_id("s");
    let control = DatabaseEventBatch::control(ControlDirective::SyncSequences).with_source_id("s");
    for b in [empty, DatabaseEventBatch::new(), control] {
        assert_eq!(
            BatchView::parse(&compact_batch(&b)).unwrap().encoding(),
            Encoding::Compact
        );
        let compat = scry_codec::serialize_batch(&b).unwrap();
        assert_eq!(
            BatchView::parse(&compat).unwrap().encoding(),
            Encoding::Compat
        );
    }
}

#[test]
fn views_read_compact_fields_in_place() {
    let batch = DatabaseEventBatch::with_events(vec![sample_event()])
        .with_source_id("src")
        .with_batch_seq(5);
    let bytes = compact_batch(&batch);
    let view = BatchView::parse(&bytes).unwrap();
    assert_eq!(view.source_id(), Some("src"));
    assert_eq!(view.batch_seq(), 5);
    let e = view.event(0).unwrap();
    assert_eq!(e.operation(), OperationType::Update);
    assert_eq!(e.event_id(), None);
    assert_eq!(e.columns().collect::<Vec<_>>(), ["id", "note", "body"]);
    assert!(e.old_row().is_none());
    let row = e.new_row().unwrap();
    assert_eq!(row.len(), 3);
    let values: Vec<_> = row.values().collect();
    assert_eq!(values[0].type_tag(), TypeTag::Int32);
    assert_eq!(values[0].type_oid(), 23);
    assert_eq!(values[0].data().as_deref(), Some(&[0u8, 0, 0, 9][..]));
    assert!(matches!(
        values[0].data(),
        Some(std::borrow::Cow::Borrowed(_))
    ));
    assert!(values[1].is_null());
    assert_eq!(values[1].data(), None);
    assert!(values[2].is_unchanged());
    assert!(!values[2].is_null());
    assert_eq!(values[2].type_oid(), 25);
}
