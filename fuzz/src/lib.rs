//! Checks shared by the fuzz targets: every reader agrees on every input, and whatever reads
//! successfully encodes again (in both encodings) and reads back to the same value.
//!
//! A check that fails panics, which libFuzzer reports as a crash with the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use scry_codec::{
    read_batch, read_batch_bytes, read_batch_with, read_event, read_event_bytes, reference,
    serialize_batch_with, serialize_event_with, BatchView, DecodeErrorKind, Encoding, EventView,
    ReadOptions, RelationView, RowView,
};
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta,
    Row, SequenceValue,
};

/// Reads `data` as a batch with every batch reader: all must agree (same value or same
/// error); a value read must equal the one rebuilt from every accessor of the view, and must
/// survive a round trip through both encodings.
pub fn check_batch(data: &[u8]) {
    let owned = read_batch(data);
    let shared = read_batch_bytes(&Bytes::copy_from_slice(data));
    let view = BatchView::parse(data);
    match (owned, shared, view) {
        (Ok(a), Ok(b), Ok(v)) => {
            assert_eq!(a, b, "read_batch != read_batch_bytes");
            assert_eq!(v.to_owned(), a, "BatchView::to_owned != read_batch");
            assert_eq!(scan_batch(&v), a, "accessors != read_batch");
            round_trip_batch(&a);
        }
        (Err(a), Err(b), Err(c)) => {
            assert_eq!(a, b, "read_batch and read_batch_bytes fail differently");
            assert_eq!(a, c, "read_batch and BatchView::parse fail differently");
            let _ = a.to_string();
        }
        (a, b, c) => panic!(
            "readers disagree: read_batch {:?}, read_batch_bytes {:?}, BatchView {:?}",
            a.map(|_| ()),
            b.map(|_| ()),
            c.map(|_| ())
        ),
    }
}

/// Reads `data` as a bare event with every event reader; as [`check_batch`].
pub fn check_event(data: &[u8]) {
    let owned = read_event(data);
    let shared = read_event_bytes(&Bytes::copy_from_slice(data));
    let view = EventView::parse(data);
    match (owned, shared, view) {
        (Ok(a), Ok(b), Ok(v)) => {
            assert_eq!(a, b, "read_event != read_event_bytes");
            assert_eq!(
                v.to_owned_event(),
                a,
                "EventView::to_owned_event != read_event"
            );
            assert_eq!(scan_event(&v), a, "accessors != read_event");
            round_trip_event(&a);
        }
        (Err(a), Err(b), Err(c)) => {
            assert_eq!(a, b, "read_event and read_event_bytes fail differently");
            assert_eq!(a, c, "read_event and EventView::parse fail differently");
            let _ = a.to_string();
        }
        (a, b, c) => panic!(
            "readers disagree: read_event {:?}, read_event_bytes {:?}, EventView {:?}",
            a.map(|_| ()),
            b.map(|_| ()),
            c.map(|_| ())
        ),
    }
}

/// Limits chosen by one input byte: each bit pair tightens one limit, so the fuzzer reaches
/// every `LimitExceeded` path.
#[must_use]
pub fn options(byte: u8) -> ReadOptions {
    let mut o = ReadOptions::DEFAULT;
    let pick = |bits: u8, small: usize, default: usize| match bits & 3 {
        0 => default,
        1 => small,
        2 => small / 2,
        _ => 0,
    };
    o.max_events = pick(byte, 4, o.max_events);
    o.max_columns = pick(byte >> 2, 4, o.max_columns);
    o.max_value_bytes = pick(byte >> 4, 64, o.max_value_bytes);
    o.max_string_bytes = pick(byte >> 6, 16, o.max_string_bytes);
    o.max_relations = pick(byte >> 1, 2, o.max_relations);
    o.max_sequence_values = pick(byte >> 3, 2, o.max_sequence_values);
    o.work_per_input_byte = u64::from(byte & 7);
    o
}

/// Reads `data` under tighter limits: a success must be the default reading; a failure must
/// be a default failure too unless it is a limit or the work budget.
pub fn check_batch_limited(options: &ReadOptions, data: &[u8]) {
    let limited = read_batch_with(data, options);
    let limited_shared = scry_codec::read_batch_bytes_with(&Bytes::copy_from_slice(data), options);
    assert_eq!(
        limited.as_ref().map_err(|e| e.clone()),
        limited_shared.as_ref().map_err(|e| e.clone()),
        "read_batch_with and read_batch_bytes_with disagree"
    );
    let full = read_batch(data);
    match (&limited, &full) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "limits changed the value read"),
        (Ok(_), Err(e)) => panic!("readable only under tighter limits: {e}"),
        (Err(e), Ok(_)) => assert!(
            matches!(
                e.kind(),
                DecodeErrorKind::LimitExceeded { .. } | DecodeErrorKind::WorkBudgetExceeded { .. }
            ),
            "valid input failed under limits with {e}"
        ),
        (Err(_), Err(_)) => {}
    }
}

/// Encodes `b` in both encodings and reads each back: both must give `b`; the Compat bytes
/// must be the serde reference path's (0.1.1's) bytes.
pub fn round_trip_batch(b: &DatabaseEventBatch) {
    let compat = serialize_batch_with(b, Encoding::Compat).expect("a batch read serializes");
    assert_eq!(
        compat,
        reference::serialize_batch(b).expect("the reference path serializes it"),
        "Compat bytes differ from the reference path's"
    );
    assert_eq!(
        &read_batch(&compat).expect("compat re-read"),
        b,
        "compat round trip"
    );
    let compact = serialize_batch_with(b, Encoding::Compact).expect("a batch read serializes");
    assert_eq!(
        &read_batch(&compact).expect("compact re-read"),
        b,
        "compact round trip"
    );
}

/// Encodes `e` in both encodings and reads each back: both must give `e`; the Compat bytes
/// must be the serde reference path's.
pub fn round_trip_event(e: &DatabaseEvent) {
    let compat = serialize_event_with(e, Encoding::Compat).expect("an event read serializes");
    assert_eq!(
        compat,
        reference::serialize_event(e).expect("the reference path serializes it"),
        "Compat bytes differ from the reference path's"
    );
    assert_eq!(
        &read_event(&compat).expect("compat re-read"),
        e,
        "compat round trip"
    );
    let compact = serialize_event_with(e, Encoding::Compact).expect("an event read serializes");
    assert_eq!(
        &read_event(&compact).expect("compact re-read"),
        e,
        "compact round trip"
    );
}

/// The batch rebuilt from the view's accessors alone (every accessor called, in both
/// iteration directions).
#[must_use]
pub fn scan_batch(v: &BatchView<'_>) -> DatabaseEventBatch {
    let events: Vec<DatabaseEvent> = v.events().map(|e| scan_event(&e)).collect();
    assert_eq!(events.len(), v.len());
    assert_eq!(v.is_empty(), events.is_empty());
    assert_eq!(v.events().rev().count(), events.len());
    for (i, e) in events.iter().enumerate() {
        assert_eq!(&v.event(i).map(|e| e.to_owned_event()).unwrap(), e);
    }
    assert!(v.event(events.len()).is_none());
    let _ = v.encoding();
    DatabaseEventBatch {
        events,
        source_id: v.source_id().map(str::to_owned),
        batch_seq: v.batch_seq(),
        relations: v.relations().map(|r| scan_relation(&r)).collect(),
        control_directive: v.control_directive(),
        sequence_values: v.sequence_values().map(|s| {
            s.map(|s| {
                let seq = SequenceValue {
                    schema: s.schema().to_owned(),
                    name: s.name().to_owned(),
                    last_value: s.last_value(),
                    is_called: s.is_called(),
                    increment_by: s.increment_by(),
                    min_value: s.min_value(),
                    max_value: s.max_value(),
                };
                assert_eq!(s.to_owned_sequence(), seq);
                seq
            })
            .collect()
        }),
        backfill_metadata: v.backfill_metadata().map(|b| BackfillMetadata {
            table_count: b.table_count,
            estimated_total_rows: b.estimated_total_rows,
        }),
    }
}

/// The event rebuilt from the view's accessors alone.
#[must_use]
pub fn scan_event(e: &EventView<'_>) -> DatabaseEvent {
    let columns: Vec<String> = e.columns().map(str::to_owned).collect();
    let back: Vec<String> = e.columns().rev().map(str::to_owned).collect();
    assert!(columns.iter().eq(back.iter().rev()));
    DatabaseEvent {
        event_id: e.event_id().map(str::to_owned),
        timestamp_us: e.timestamp_us(),
        operation: e.operation(),
        schema: e.schema().to_owned(),
        table: e.table().to_owned(),
        position: e.position(),
        transaction_id: e.transaction_id(),
        new_row: e.new_row().map(|r| scan_row(&r)),
        old_row: e.old_row().map(|r| scan_row(&r)),
        columns,
        relation_meta: e.relation_meta().map(|r| scan_relation(&r)),
        ddl_sql: e.ddl_sql().map(str::to_owned),
        ddl_object_type: e.ddl_object_type().map(str::to_owned),
    }
}

fn scan_row(r: &RowView<'_>) -> Row {
    let values: Vec<ColumnValue> = r
        .values()
        .map(|v| {
            let data = v.data().map(|d| Bytes::copy_from_slice(&d));
            assert_eq!(v.has_data(), data.is_some());
            let value = ColumnValue {
                type_tag: v.type_tag(),
                type_oid: v.type_oid(),
                data,
            };
            assert_eq!(v.is_null(), value.is_null());
            assert_eq!(v.is_unchanged(), value.is_unchanged());
            assert_eq!(v.to_owned_value(), value);
            value
        })
        .collect();
    assert_eq!(values.len(), r.len());
    assert_eq!(r.is_empty(), values.is_empty());
    for (i, value) in values.iter().enumerate() {
        assert_eq!(&r.get(i).unwrap().to_owned_value(), value);
    }
    assert!(r.get(values.len()).is_none());
    let row = Row { values };
    assert_eq!(r.to_owned_row(), row);
    row
}

fn scan_relation(r: &RelationView<'_>) -> RelationMeta {
    let rel = RelationMeta {
        rel_id: r.rel_id(),
        schema: r.schema().to_owned(),
        table: r.table().to_owned(),
        columns: r
            .columns()
            .map(|c| {
                let col = ColumnMeta {
                    name: c.name().to_owned(),
                    type_oid: c.type_oid(),
                    type_modifier: c.type_modifier(),
                    is_key: c.is_key(),
                };
                assert_eq!(c.to_owned_column(), col);
                col
            })
            .collect(),
        replica_identity: r.replica_identity(),
    };
    assert_eq!(r.to_owned_relation(), rel);
    rel
}

/// A frame read from `stream` must be exactly what `encode_frame` writes for its kind,
/// encoding and payload, found at its offset.
pub fn check_frame(stream: &[u8], frame: &scry_codec::frame::Frame) {
    let mut wire = bytes::BytesMut::new();
    scry_codec::frame::encode_frame(frame.kind, frame.encoding, &frame.payload, &mut wire)
        .expect("a frame read encodes");
    let start = usize::try_from(frame.offset).unwrap();
    assert_eq!(frame.wire_len(), wire.len() as u64);
    assert_eq!(
        stream.get(start..start + wire.len()),
        Some(&wire[..]),
        "frame {} at offset {start} is not what encode_frame writes",
        frame.index
    );
}

/// The column type OIDs of the `scry-pg/fixtures/all_types` table, in column order (the
/// second field of each line after the first of `all_types.relation`).
#[must_use]
pub fn fixture_oids() -> &'static [u32] {
    static OIDS: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    OIDS.get_or_init(|| {
        include_str!("../../crates/scry-pg/fixtures/all_types.relation")
            .lines()
            .skip(1)
            .filter_map(|line| line.split('\t').nth(1)?.parse().ok())
            .collect()
    })
}

/// Splits a `pg_decode` input into the OID and the value bytes: a first byte below 0xF0
/// indexes the OIDs the crate knows, one of 0xF0 or above is followed by a raw 4-byte OID.
#[must_use]
pub fn split_oid(data: &[u8]) -> Option<(u32, &[u8])> {
    let (&first, rest) = data.split_first()?;
    if first < 0xF0 {
        let known = known_oids();
        Some((known[usize::from(first) % known.len()], rest))
    } else {
        let (oid, rest) = rest.split_first_chunk::<4>()?;
        Some((u32::from_le_bytes(*oid), rest))
    }
}

/// Every OID that `scry_pg::oid::type_name` knows, ascending.
#[must_use]
pub fn known_oids() -> &'static [u32] {
    static KNOWN: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        (0..20_000)
            .filter(|&oid| scry_pg::oid::type_name(oid).is_some())
            .collect()
    })
}

/// The `pg_decode` input that selects `oid`: its index byte when it is known, else the raw
/// form.
#[must_use]
pub fn oid_prefix(oid: u32) -> Vec<u8> {
    match known_oids().iter().position(|&k| k == oid) {
        Some(i) if i < 0xF0 => vec![i as u8],
        _ => {
            let mut v = vec![0xF0];
            v.extend_from_slice(&oid.to_le_bytes());
            v
        }
    }
}
