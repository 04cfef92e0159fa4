//! The Compact encoding is valid FlexBuffers: walked by hand with the flexbuffers crate's
//! reader, every field is where the spec puts it, with the type it says (enums as UInt
//! discriminants, data as blobs, absent options left out), and it is small.

use flexbuffers::{FlexBufferType as T, MapReader, Reader};
use scry_codec::{serialize_batch_with, serialize_event_with, Encoding};
use scry_testkit::{workloads, Gen};
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

type Map<'a> = MapReader<&'a [u8]>;

fn root(bytes: &[u8]) -> Map<'_> {
    let r = Reader::get_root(bytes).expect("a valid FlexBuffer");
    r.get_map().expect("the root is a map")
}

/// The map's keys, in stored order (FlexBuffers maps are sorted by key).
fn keys(m: &Map<'_>) -> Vec<String> {
    m.iter_keys().map(|k| k.to_owned()).collect()
}

/// The sorted names of the fields that must be present.
fn expect_keys(m: &Map<'_>, always: &[&str], optional: &[(&str, bool)]) {
    let mut want: Vec<&str> = always.to_vec();
    want.extend(
        optional
            .iter()
            .filter(|(_, present)| *present)
            .map(|(k, _)| *k),
    );
    want.sort_unstable();
    assert_eq!(keys(m), want);
}

fn field<'a>(m: &Map<'a>, key: &str) -> Reader<&'a [u8]> {
    m.index(key).unwrap_or_else(|e| panic!("field {key}: {e}"))
}

fn uint(m: &Map<'_>, key: &str) -> u64 {
    let r = field(m, key);
    assert_eq!(r.flexbuffer_type(), T::UInt, "{key}");
    r.get_u64().expect("a UInt")
}

fn int(m: &Map<'_>, key: &str) -> i64 {
    let r = field(m, key);
    assert_eq!(r.flexbuffer_type(), T::Int, "{key}");
    r.get_i64().expect("an Int")
}

fn boolean(m: &Map<'_>, key: &str) -> bool {
    let r = field(m, key);
    assert_eq!(r.flexbuffer_type(), T::Bool, "{key}");
    r.get_bool().expect("a Bool")
}

fn string<'a>(m: &Map<'a>, key: &str) -> &'a str {
    let r = field(m, key);
    assert_eq!(r.flexbuffer_type(), T::String, "{key}");
    r.get_str().expect("a String")
}

fn vector<'a>(m: &Map<'a>, key: &str) -> Vec<Reader<&'a [u8]>> {
    let r = field(m, key);
    assert_eq!(r.flexbuffer_type(), T::Vector, "{key}");
    r.get_vector().expect("a Vector").iter().collect()
}

fn map<'a>(r: &Reader<&'a [u8]>) -> Map<'a> {
    assert_eq!(r.flexbuffer_type(), T::Map);
    r.get_map().expect("a Map")
}

fn check_batch(m: &Map<'_>, b: &DatabaseEventBatch) {
    expect_keys(
        m,
        &["events", "batch_seq", "relations"],
        &[
            ("source_id", b.source_id.is_some()),
            ("control_directive", b.control_directive.is_some()),
            ("sequence_values", b.sequence_values.is_some()),
            ("backfill_metadata", b.backfill_metadata.is_some()),
        ],
    );
    let events = vector(m, "events");
    assert_eq!(events.len(), b.events.len());
    for (r, e) in events.iter().zip(&b.events) {
        check_event(&map(r), e);
    }
    if let Some(s) = &b.source_id {
        assert_eq!(string(m, "source_id"), s);
    }
    assert_eq!(uint(m, "batch_seq"), b.batch_seq);
    let relations = vector(m, "relations");
    assert_eq!(relations.len(), b.relations.len());
    for (r, rel) in relations.iter().zip(&b.relations) {
        check_relation(&map(r), rel);
    }
    if let Some(d) = b.control_directive {
        assert_eq!(uint(m, "control_directive"), u64::from(d.as_u8()));
    }
    if let Some(seqs) = &b.sequence_values {
        let rs = vector(m, "sequence_values");
        assert_eq!(rs.len(), seqs.len());
        for (r, s) in rs.iter().zip(seqs) {
            check_sequence(&map(r), s);
        }
    }
    if let Some(bf) = &b.backfill_metadata {
        check_backfill(&map(&field(m, "backfill_metadata")), bf);
    }
}

fn check_event(m: &Map<'_>, e: &DatabaseEvent) {
    expect_keys(
        m,
        &[
            "timestamp_us",
            "operation",
            "schema",
            "table",
            "position",
            "transaction_id",
            "columns",
        ],
        &[
            ("event_id", e.event_id.is_some()),
            ("new_row", e.new_row.is_some()),
            ("old_row", e.old_row.is_some()),
            ("relation_meta", e.relation_meta.is_some()),
            ("ddl_sql", e.ddl_sql.is_some()),
            ("ddl_object_type", e.ddl_object_type.is_some()),
        ],
    );
    if let Some(id) = &e.event_id {
        assert_eq!(string(m, "event_id"), id);
    }
    assert_eq!(uint(m, "timestamp_us"), e.timestamp_us);
    assert_eq!(uint(m, "operation"), u64::from(e.operation.as_u8()));
    assert_eq!(string(m, "schema"), e.schema);
    assert_eq!(string(m, "table"), e.table);
    assert_eq!(uint(m, "position"), e.position);
    assert_eq!(uint(m, "transaction_id"), e.transaction_id);
    if let Some(row) = &e.new_row {
        check_row(&map(&field(m, "new_row")), row);
    }
    if let Some(row) = &e.old_row {
        check_row(&map(&field(m, "old_row")), row);
    }
    let columns: Vec<String> = vector(m, "columns")
        .iter()
        .map(|r| {
            assert_eq!(r.flexbuffer_type(), T::String);
            r.as_str().to_owned()
        })
        .collect();
    assert_eq!(columns, e.columns);
    if let Some(rel) = &e.relation_meta {
        check_relation(&map(&field(m, "relation_meta")), rel);
    }
    if let Some(sql) = &e.ddl_sql {
        assert_eq!(string(m, "ddl_sql"), sql);
    }
    if let Some(t) = &e.ddl_object_type {
        assert_eq!(string(m, "ddl_object_type"), t);
    }
}

fn check_row(m: &Map<'_>, row: &Row) {
    expect_keys(m, &["values"], &[]);
    let values = vector(m, "values");
    assert_eq!(values.len(), row.values.len());
    for (r, v) in values.iter().zip(&row.values) {
        check_value(&map(r), v);
    }
}

fn check_value(m: &Map<'_>, v: &ColumnValue) {
    expect_keys(m, &["type_tag", "type_oid"], &[("data", v.data.is_some())]);
    assert_eq!(uint(m, "type_tag"), u64::from(v.type_tag.as_u8()));
    assert_eq!(uint(m, "type_oid"), u64::from(v.type_oid));
    if let Some(d) = &v.data {
        let r = field(m, "data");
        assert_eq!(r.flexbuffer_type(), T::Blob);
        assert_eq!(r.get_blob().expect("a Blob").0, &d[..]);
    }
}

fn check_relation(m: &Map<'_>, r: &RelationMeta) {
    expect_keys(
        m,
        &["rel_id", "schema", "table", "columns", "replica_identity"],
        &[],
    );
    assert_eq!(uint(m, "rel_id"), u64::from(r.rel_id));
    assert_eq!(string(m, "schema"), r.schema);
    assert_eq!(string(m, "table"), r.table);
    assert_eq!(
        uint(m, "replica_identity"),
        u64::from(r.replica_identity.as_u8())
    );
    let columns = vector(m, "columns");
    assert_eq!(columns.len(), r.columns.len());
    for (cr, c) in columns.iter().zip(&r.columns) {
        check_column_meta(&map(cr), c);
    }
}

fn check_column_meta(m: &Map<'_>, c: &ColumnMeta) {
    expect_keys(m, &["name", "type_oid", "type_modifier", "is_key"], &[]);
    assert_eq!(string(m, "name"), c.name);
    assert_eq!(uint(m, "type_oid"), u64::from(c.type_oid));
    assert_eq!(int(m, "type_modifier"), i64::from(c.type_modifier));
    assert_eq!(boolean(m, "is_key"), c.is_key);
}

fn check_sequence(m: &Map<'_>, s: &SequenceValue) {
    expect_keys(
        m,
        &[
            "schema",
            "name",
            "last_value",
            "is_called",
            "increment_by",
            "min_value",
            "max_value",
        ],
        &[],
    );
    assert_eq!(string(m, "schema"), s.schema);
    assert_eq!(string(m, "name"), s.name);
    assert_eq!(int(m, "last_value"), s.last_value);
    assert_eq!(boolean(m, "is_called"), s.is_called);
    assert_eq!(int(m, "increment_by"), s.increment_by);
    assert_eq!(int(m, "min_value"), s.min_value);
    assert_eq!(int(m, "max_value"), s.max_value);
}

fn check_backfill(m: &Map<'_>, b: &BackfillMetadata) {
    expect_keys(m, &["table_count", "estimated_total_rows"], &[]);
    assert_eq!(uint(m, "table_count"), u64::from(b.table_count));
    assert_eq!(uint(m, "estimated_total_rows"), b.estimated_total_rows);
}

#[test]
fn generated_batches_walk_back_field_by_field() {
    for seed in 0..1500 {
        let batch = Gen::new(seed).batch(4);
        let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
        check_batch(&root(&bytes), &batch);
    }
}

#[test]
fn large_generated_batches_walk_back() {
    // Hundreds of events: shared keys vectors and strings are far apart and get rewritten.
    for seed in 40_000..40_020 {
        let mut g = Gen::new(seed);
        g.allow_huge_values = false;
        let batch = g.batch(300);
        let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
        check_batch(&root(&bytes), &batch);
    }
}

#[test]
fn generated_events_walk_back() {
    for seed in 50_000..52_000 {
        let event = Gen::new(seed).event();
        let bytes = serialize_event_with(&event, Encoding::Compact).expect("encodes");
        check_event(&root(&bytes), &event);
    }
}

#[test]
fn rows_and_column_lists_of_every_size_walk_back() {
    for n in [0, 1, 7, 8, 9, 20, 300] {
        let mut e = DatabaseEvent::new(OperationType::Update, "public", "t");
        e.new_row = Some(Row::new(
            (0..n)
                .map(|i| ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![i as u8; i % 6]))
                .collect(),
        ));
        e.old_row = Some(Row::new(vec![ColumnValue::null(); n]));
        e.columns = (0..n).map(|i| format!("column_{}", i % 4)).collect();
        let batch = DatabaseEventBatch::with_events(vec![e.clone(), e]);
        let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
        check_batch(&root(&bytes), &batch);
    }
}

#[test]
fn every_enum_variant_is_its_discriminant() {
    let values: Vec<ColumnValue> = TypeTag::ALL
        .iter()
        .map(|&t| ColumnValue::from_pg_binary(t, 1, vec![t.as_u8(); 3]))
        .collect();
    let mut events: Vec<DatabaseEvent> = OperationType::ALL
        .iter()
        .map(|&op| DatabaseEvent::new(op, "s", "t"))
        .collect();
    let mut with_values = DatabaseEvent::new(OperationType::Insert, "s", "t");
    with_values.new_row = Some(Row::new(values));
    events.push(with_values);
    let relations: Vec<RelationMeta> = ReplicaIdentity::ALL
        .iter()
        .map(|&ri| RelationMeta::new(1, "s", "t", vec![]).with_replica_identity(ri))
        .collect();
    for &d in ControlDirective::ALL {
        let batch = DatabaseEventBatch::with_events(events.clone())
            .with_relations(relations.clone())
            .with_control_directive(d);
        let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
        let m = root(&bytes);
        check_batch(&m, &batch);
        // Spot-check the raw discriminants, not only through the helpers.
        assert_eq!(uint(&m, "control_directive"), d as u64);
        let last = vector(&m, "events").pop().expect("events");
        let values = vector(&map(&field(&map(&last), "new_row")), "values");
        let tags: Vec<u64> = values.iter().map(|v| uint(&map(v), "type_tag")).collect();
        let want: Vec<u64> = TypeTag::ALL.iter().map(|&t| t as u64).collect();
        assert_eq!(tags, want);
    }
}

#[test]
fn absent_options_are_left_out() {
    let mut e = DatabaseEvent::new(OperationType::Delete, "s", "t");
    e.old_row = Some(Row::new(vec![
        ColumnValue::null(),
        ColumnValue::unchanged(25),
    ]));
    let bytes = serialize_event_with(&e, Encoding::Compact).expect("encodes");
    let m = root(&bytes);
    assert_eq!(
        keys(&m),
        [
            "columns",
            "old_row",
            "operation",
            "position",
            "schema",
            "table",
            "timestamp_us",
            "transaction_id"
        ]
    );
    let values = vector(&map(&field(&m, "old_row")), "values");
    assert_eq!(keys(&map(&values[0])), ["type_oid", "type_tag"]);
    assert_eq!(uint(&map(&values[1]), "type_tag"), 126);
    assert_eq!(uint(&map(&values[1]), "type_oid"), 25);
}

#[test]
fn empty_batch_reads_in_0_1_1_as_the_same_batch() {
    let batch = DatabaseEventBatch::new()
        .with_source_id("src")
        .with_batch_seq(9);
    let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
    let theirs = upstream::database_event::read_batch(&bytes).expect("0.1.1 reads it");
    assert_eq!(theirs.source_id.as_deref(), Some("src"));
    assert_eq!(theirs.batch_seq, 9);
    assert!(theirs.events.is_empty() && theirs.relations.is_empty());
    assert!(theirs.control_directive.is_none() && theirs.sequence_values.is_none());
}

#[test]
fn enums_and_data_are_rejected_by_0_1_1() {
    let with_directive = DatabaseEventBatch::control(ControlDirective::SyncSequences);
    let bytes = serialize_batch_with(&with_directive, Encoding::Compact).expect("encodes");
    assert!(upstream::database_event::read_batch(&bytes).is_err());

    let mut e = DatabaseEvent::new(OperationType::Insert, "s", "t");
    e.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
        TypeTag::Int32,
        23,
        vec![0, 0, 0, 1],
    )]));
    let bytes = serialize_batch_with(&DatabaseEventBatch::with_events(vec![e]), Encoding::Compact)
        .expect("encodes");
    assert!(upstream::database_event::read_batch(&bytes).is_err());
}

#[test]
fn large_rows_wire_size_is_close_to_the_payload() {
    let batch = workloads::large_rows(100);
    let payload = workloads::payload_bytes(&batch);
    let bytes = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
    check_batch(&root(&bytes), &batch);
    // Wire size / payload at most 1.15 (0.1.1 takes about 2.1).
    assert!(
        bytes.len() * 100 <= payload * 115,
        "compact large_rows: {} bytes for {payload} payload bytes",
        bytes.len()
    );
}

#[test]
fn compact_is_smaller_than_compat_on_both_workloads() {
    for batch in [workloads::small_rows(1000), workloads::large_rows(100)] {
        let compat = serialize_batch_with(&batch, Encoding::Compat).expect("encodes");
        let compact = serialize_batch_with(&batch, Encoding::Compact).expect("encodes");
        check_batch(&root(&compact), &batch);
        assert!(
            compact.len() < compat.len(),
            "{} >= {}",
            compact.len(),
            compat.len()
        );
    }
}
