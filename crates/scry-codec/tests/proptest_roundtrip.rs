//! Property: any batch or event, written in either encoding, reads back equal through every
//! reader. The strategies below cover every field and variant, NULL and unchanged-TOAST
//! values, empty and long (over 255 bytes: the compat encoding's wide slots) data, and any
//! Unicode in strings; proptest shrinks a failure to a minimal batch.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use scry_codec::{
    read_batch, read_batch_bytes, read_event, read_event_bytes, serialize_batch,
    serialize_batch_with, serialize_event, serialize_event_with, BatchView, Encoding, EventView,
};
use scry_testkit::reference;
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z_]{0,12}",
        1 => any::<String>(),
    ]
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..16),
        1 => vec(any::<u8>(), 250..600),
    ]
}

fn column_value() -> impl Strategy<Value = ColumnValue> {
    prop_oneof![
        6 => (select(TypeTag::ALL), any::<u32>(), option::weighted(0.9, data())).prop_map(
            |(type_tag, type_oid, data)| ColumnValue {
                type_tag,
                type_oid,
                data: data.map(Bytes::from),
            }
        ),
        1 => Just(ColumnValue::null()),
        1 => any::<u32>().prop_map(|oid| ColumnValue {
            type_tag: TypeTag::ToastUnchanged,
            type_oid: oid,
            data: None,
        }),
    ]
}

fn row() -> impl Strategy<Value = Row> {
    vec(column_value(), 0..6).prop_map(|values| Row { values })
}

fn relation() -> impl Strategy<Value = RelationMeta> {
    let column = (text(), any::<u32>(), any::<i32>(), any::<bool>()).prop_map(
        |(name, type_oid, type_modifier, is_key)| ColumnMeta {
            name,
            type_oid,
            type_modifier,
            is_key,
        },
    );
    (
        any::<u32>(),
        text(),
        text(),
        vec(column, 0..4),
        select(ReplicaIdentity::ALL),
    )
        .prop_map(
            |(rel_id, schema, table, columns, replica_identity)| RelationMeta {
                rel_id,
                schema,
                table,
                columns,
                replica_identity,
            },
        )
}

fn event() -> impl Strategy<Value = DatabaseEvent> {
    (
        (
            option::of(text()),
            any::<u64>(),
            select(OperationType::ALL),
            text(),
            text(),
            any::<u64>(),
            any::<u64>(),
        ),
        (
            option::of(row()),
            option::of(row()),
            vec(text(), 0..4),
            option::weighted(0.3, relation()),
            option::weighted(0.2, text()),
            option::weighted(0.2, text()),
        ),
    )
        .prop_map(
            |(
                (event_id, timestamp_us, operation, schema, table, position, transaction_id),
                (new_row, old_row, columns, relation_meta, ddl_sql, ddl_object_type),
            )| DatabaseEvent {
                event_id,
                timestamp_us,
                operation,
                schema,
                table,
                position,
                transaction_id,
                new_row,
                old_row,
                columns,
                relation_meta,
                ddl_sql,
                ddl_object_type,
            },
        )
}

fn sequence() -> impl Strategy<Value = SequenceValue> {
    (
        text(),
        text(),
        any::<i64>(),
        any::<bool>(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(
            |(schema, name, last_value, is_called, increment_by, min_value, max_value)| {
                SequenceValue {
                    schema,
                    name,
                    last_value,
                    is_called,
                    increment_by,
                    min_value,
                    max_value,
                }
            },
        )
}

fn batch() -> impl Strategy<Value = DatabaseEventBatch> {
    (
        vec(event(), 0..5),
        option::of(text()),
        any::<u64>(),
        vec(relation(), 0..3),
        option::weighted(0.3, select(ControlDirective::ALL)),
        option::weighted(0.3, vec(sequence(), 0..3)),
        option::weighted(0.3, (any::<u32>(), any::<u64>())),
    )
        .prop_map(
            |(events, source_id, batch_seq, relations, control_directive, seqs, backfill)| {
                DatabaseEventBatch {
                    events,
                    source_id,
                    batch_seq,
                    relations,
                    control_directive,
                    sequence_values: seqs,
                    backfill_metadata: backfill.map(|(table_count, estimated_total_rows)| {
                        BackfillMetadata {
                            table_count,
                            estimated_total_rows,
                        }
                    }),
                }
            },
        )
}

/// Every batch reader gives `expected` for `bytes`.
fn assert_batch_reads(bytes: &[u8], expected: &DatabaseEventBatch) -> Result<(), TestCaseError> {
    prop_assert_eq!(&read_batch(bytes).unwrap(), expected);
    prop_assert_eq!(
        &read_batch_bytes(&Bytes::copy_from_slice(bytes)).unwrap(),
        expected
    );
    prop_assert_eq!(&BatchView::parse(bytes).unwrap().to_owned(), expected);
    Ok(())
}

/// Every event reader gives `expected` for `bytes`.
fn assert_event_reads(bytes: &[u8], expected: &DatabaseEvent) -> Result<(), TestCaseError> {
    prop_assert_eq!(&read_event(bytes).unwrap(), expected);
    prop_assert_eq!(
        &read_event_bytes(&Bytes::copy_from_slice(bytes)).unwrap(),
        expected
    );
    prop_assert_eq!(&EventView::parse(bytes).unwrap().to_owned_event(), expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn batches_round_trip_in_compat_with_the_reference_bytes(b in batch()) {
        let bytes = serialize_batch(&b).unwrap();
        prop_assert_eq!(&bytes, &reference::serialize_batch(&b).unwrap());
        assert_batch_reads(&bytes, &b)?;
    }

    #[test]
    fn batches_round_trip_in_compact(b in batch()) {
        assert_batch_reads(&serialize_batch_with(&b, Encoding::Compact).unwrap(), &b)?;
    }

    #[test]
    fn events_round_trip_in_both_encodings(e in event()) {
        let bytes = serialize_event(&e).unwrap();
        prop_assert_eq!(&bytes, &reference::serialize_event(&e).unwrap());
        assert_event_reads(&bytes, &e)?;
        assert_event_reads(&serialize_event_with(&e, Encoding::Compact).unwrap(), &e)?;
    }
}
