//! The fast Compat writer gives exactly the bytes of the serde reference path, which are
//! scry-protocol 0.1.1's bytes.

use scry_codec::{
    serialize_batch, serialize_batch_with, serialize_event, serialize_event_with, Encoding,
};
use scry_testkit::reference;
use scry_testkit::{workloads, Gen};
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

/// Asserts the fast and reference bytes of `batch` are equal, naming the first difference.
fn assert_batch_matches(batch: &DatabaseEventBatch, case: &str) {
    let fast = serialize_batch(batch).expect("fast encoder never fails");
    let slow = reference::serialize_batch(batch).expect("reference encodes");
    if fast != slow {
        let at = fast.iter().zip(&slow).position(|(a, b)| a != b);
        panic!(
            "{case}: fast ({} bytes) and reference ({} bytes) differ, first at {at:?}",
            fast.len(),
            slow.len()
        );
    }
    assert_eq!(
        serialize_batch_with(batch, Encoding::Compat).expect("encodes"),
        slow,
        "{case}: serialize_batch_with(Compat)"
    );
}

fn assert_event_matches(event: &DatabaseEvent, case: &str) {
    let fast = serialize_event(event).expect("fast encoder never fails");
    let slow = reference::serialize_event(event).expect("reference encodes");
    assert!(fast == slow, "{case}: event bytes differ");
    assert_eq!(
        serialize_event_with(event, Encoding::Compat).expect("encodes"),
        slow,
        "{case}: serialize_event_with(Compat)"
    );
}

/// Data lengths at which Compat changes shape (typed vectors of 2, 3 and 4; slot widths of
/// 1, 2 and 4 bytes), and their neighbours (the testkit's edge lengths).
const EDGE_DATA_LENS: &[usize] = &[0, 1, 2, 3, 4, 5, 255, 256, 65_535, 65_536];

fn event_with_values(values: Vec<ColumnValue>) -> DatabaseEvent {
    let mut e = DatabaseEvent::new(OperationType::Update, "public", "t");
    e.new_row = Some(Row::new(values));
    e
}

#[test]
fn generated_batches_match_reference() {
    for seed in 0..1500 {
        let batch = Gen::new(seed).batch(4);
        assert_batch_matches(&batch, &format!("batch seed {seed}"));
    }
}

#[test]
fn generated_events_match_reference() {
    for seed in 10_000..13_000 {
        let event = Gen::new(seed).event();
        assert_event_matches(&event, &format!("event seed {seed}"));
    }
}

#[test]
fn large_generated_batches_match_reference() {
    // Many events push key offsets and vector slots past one and two bytes.
    for seed in 20_000..20_040 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        let batch = g.batch(200);
        assert_batch_matches(&batch, &format!("large batch seed {seed}"));
    }
}

#[test]
fn every_edge_data_length_matches_reference() {
    for &len in EDGE_DATA_LENS {
        let data: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
        let event = event_with_values(vec![ColumnValue::from_pg_binary(TypeTag::Bytea, 17, data)]);
        assert_event_matches(&event, &format!("data length {len}"));
        assert_batch_matches(
            &DatabaseEventBatch::with_events(vec![event]),
            &format!("batch with data length {len}"),
        );
    }
}

#[test]
fn edge_lengths_have_the_documented_shapes() {
    use flexbuffers::{BitWidth, FlexBufferType as T};
    let expected = [
        (0, T::Vector, BitWidth::W8),
        (1, T::VectorUInt, BitWidth::W8),
        (2, T::VectorUInt2, BitWidth::W8),
        (3, T::VectorUInt3, BitWidth::W8),
        (4, T::VectorUInt4, BitWidth::W8),
        (5, T::VectorUInt, BitWidth::W8),
        (255, T::VectorUInt, BitWidth::W8),
        (256, T::VectorUInt, BitWidth::W16),
        (65_535, T::VectorUInt, BitWidth::W16),
        (65_536, T::VectorUInt, BitWidth::W32),
    ];
    for (len, ty, width) in expected {
        let event = event_with_values(vec![ColumnValue::from_pg_binary(
            TypeTag::Bytea,
            17,
            vec![7u8; len],
        )]);
        let bytes = serialize_event(&event).expect("encodes");
        let root = flexbuffers::Reader::get_root(bytes.as_slice()).expect("valid");
        let data = root
            .as_map()
            .idx("new_row")
            .as_map()
            .idx("values")
            .as_vector()
            .idx(0);
        let data = data.as_map().idx("data");
        assert_eq!(data.flexbuffer_type(), ty, "length {len}");
        assert_eq!(data.bitwidth(), width, "length {len}");
        assert_eq!(data.length(), len, "length {len}");
    }
}

#[test]
fn every_enum_variant_matches_reference() {
    let values = TypeTag::ALL
        .iter()
        .map(|&t| ColumnValue::from_pg_binary(t, t.as_u8().into(), vec![t.as_u8()]))
        .collect();
    let mut events: Vec<DatabaseEvent> = OperationType::ALL
        .iter()
        .map(|&op| DatabaseEvent::new(op, "s", "t"))
        .collect();
    events.push(event_with_values(values));
    let relations: Vec<RelationMeta> = ReplicaIdentity::ALL
        .iter()
        .map(|&ri| {
            RelationMeta::new(1, "s", "t", vec![ColumnMeta::new("id", 23).key()])
                .with_replica_identity(ri)
        })
        .collect();
    for &directive in ControlDirective::ALL {
        let batch = DatabaseEventBatch::with_events(events.clone())
            .with_relations(relations.clone())
            .with_control_directive(directive);
        assert_batch_matches(&batch, &format!("{directive:?}"));
    }
    for e in &events {
        assert_event_matches(e, &format!("{:?}", e.operation));
    }
}

#[test]
fn every_optional_field_combination_matches_reference() {
    for mask in 0u32..(1 << 9) {
        let on = |bit: u32| mask & (1 << bit) != 0;
        let mut e = DatabaseEvent::new(OperationType::Ddl, "s", "t");
        e.event_id = on(0).then(|| "id".to_owned());
        e.new_row = on(1).then(|| Row::new(vec![ColumnValue::null()]));
        e.old_row = on(2).then(Row::empty);
        e.relation_meta = on(3).then(|| RelationMeta::new(5, "s", "t", vec![]));
        e.ddl_sql = on(4).then(|| "CREATE TABLE t ()".to_owned());
        e.ddl_object_type = on(5).then(|| "table".to_owned());
        let mut b = DatabaseEventBatch::with_events(vec![e.clone()]);
        b.source_id = on(6).then(|| "src".to_owned());
        b.sequence_values = on(7).then(|| vec![SequenceValue::new("s", "q", -5)]);
        b.backfill_metadata = on(8).then(|| BackfillMetadata::new(3, u64::MAX));
        assert_batch_matches(&b, &format!("optional mask {mask:#b}"));
        assert_event_matches(&e, &format!("optional mask {mask:#b}"));
    }
}

#[test]
fn rows_and_column_lists_of_every_size_match_reference() {
    // Short and long vectors take different paths in the writer.
    for n in [0, 1, 7, 8, 9, 20, 300] {
        let mut e = event_with_values(
            (0..n)
                .map(|i| ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![i as u8; i % 6]))
                .collect(),
        );
        e.old_row = Some(Row::new(vec![ColumnValue::null(); n]));
        e.columns = (0..n).map(|i| format!("column_{i}")).collect();
        assert_event_matches(&e, &format!("{n} values and columns"));
        assert_batch_matches(
            &DatabaseEventBatch::with_events(vec![e.clone(), e]),
            &format!("batch of {n} values and columns"),
        );
    }
}

#[test]
fn empty_batch_is_exactly_0_1_1s_bytes() {
    let bytes = serialize_batch(&DatabaseEventBatch::new()).expect("encodes");
    assert_eq!(
        bytes,
        reference::serialize_batch(&DatabaseEventBatch::new()).expect("ok")
    );
    // Addresses: "events" 0; the empty events vector's length byte 7 (vector at 8);
    // "source_id" 8; "batch_seq" 18; "relations" 28; the empty relations vector's length
    // byte 38 (vector at 39).
    let mut expected = Vec::new();
    expected.extend_from_slice(b"events\0");
    expected.push(0);
    expected.extend_from_slice(b"source_id\0batch_seq\0relations\0");
    expected.push(0);
    // Keys vector: length 4 at 39, then slots 40..44 pointing back to the keys sorted:
    // batch_seq, events, relations, source_id.
    expected.extend_from_slice(&[4, 40 - 18, 41, 42 - 28, 43 - 8]); // "events" is at 0
                                                                    // Map: keys offset (44 - 40), key width 1, length 4; values at 47..51: batch_seq 0,
                                                                    // events (48 - 8), relations (49 - 39), source_id null.
    expected.extend_from_slice(&[44 - 40, 1, 4, 0, 48 - 8, 49 - 39, 0]);
    // Types: UInt, Vector, Vector, Null (each `type << 2 | width 0`).
    expected.extend_from_slice(&[2 << 2, 10 << 2, 10 << 2, 0]);
    // Root: offset from 55 back to the map at 47, packed type Map (9 << 2), width 1 byte.
    expected.extend_from_slice(&[55 - 47, 9 << 2, 1]);
    assert_eq!(bytes, expected);
}

#[test]
fn workloads_match_reference() {
    assert_batch_matches(&workloads::small_rows(300), "small_rows(300)");
    assert_batch_matches(&workloads::large_rows(20), "large_rows(20)");
}

#[test]
fn scry_protocol_0_1_1_writes_the_same_bytes() {
    // 0.1.1 reads our bytes into its own types and writes them back identically.
    for seed in 30_000..30_300 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        g.operations = OperationType::IN_0_1_1;
        let batch = g.batch(4);
        let ours = serialize_batch(&batch).expect("encodes");
        let theirs_value = upstream::database_event::read_batch(&ours).expect("0.1.1 reads it");
        let theirs = upstream::database_event::serialize_batch(&theirs_value).expect("encodes");
        assert!(ours == theirs, "seed {seed}: 0.1.1 writes different bytes");
    }
}

/// Consecutive events that repeat their names, column lists and value shapes (which the
/// writer copies from the last occurrence, patched) and events that break the repetition,
/// at every alignment and across the offsets that widen key slots to 2 and 4 bytes.
#[test]
fn repeated_and_broken_shapes_match_reference() {
    let mut batch = workloads::small_rows(2600);
    let long_name = "c".repeat(300);
    for (i, e) in batch.events.iter_mut().enumerate() {
        if i % 7 == 3 {
            e.table = format!("t{}", i % 3);
        }
        if i % 11 == 5 {
            e.columns.push(long_name.clone());
        }
        if i % 17 == 2 {
            e.columns.pop();
        }
        if i % 5 == 1 {
            e.event_id = Some("x".repeat(i % 9));
        }
        if i % 19 == 4 {
            e.operation = OperationType::Update;
            e.old_row = e.new_row.clone();
        }
        if let Some(row) = e.new_row.as_mut() {
            if i % 13 == 6 {
                row.values.push(ColumnValue::null());
            }
            // Data of 0 to 40 bytes: every compat shape of short data, both sides of the
            // templates' 32-byte limit.
            row.values.push(ColumnValue::from_pg_binary(
                TypeTag::Bytea,
                17,
                vec![i as u8; i % 41],
            ));
            if i % 23 == 9 {
                row.values[0].type_oid = 70_000;
            }
        }
    }
    assert_batch_matches(&batch, "repeated and broken shapes");
}
