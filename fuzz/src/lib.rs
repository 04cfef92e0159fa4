//! Checks shared by the fuzz targets: every reader agrees on every input, and whatever reads
//! successfully encodes again (in both encodings) and reads back to the same value.
//!
//! A check that fails panics, which libFuzzer reports as a crash with the input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use scry_testkit::reference;
use scry_codec::{
    read_batch, read_batch_bytes, read_batch_with, read_event, read_event_bytes,
    serialize_batch_with, serialize_event_with, BatchView, DecodeErrorKind, Encoding, EventView,
    ReadOptions, RelationView, RowView,
};
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    RelationMeta, ReplicaIdentity, Row, SequenceValue,
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

/// The fields of a compact (layout version 3) root besides its two blobs: what
/// [`compact_root`] writes around them.
#[derive(Debug, Clone, Default)]
pub struct CompactRoot<'a> {
    /// `None`: no `batch_seq` key, so the root is a bare event's.
    pub batch_seq: Option<u64>,
    pub source_id: Option<&'a str>,
    pub relations: &'a [RelationMeta],
    /// `None`: no `metas` key (what the writer does when no event has a `relation_meta`).
    pub metas: Option<&'a [RelationMeta]>,
    /// Entries of `metas` after its maps: indexes into `relations`.
    pub meta_indexes: &'a [u64],
    pub control_directive: Option<ControlDirective>,
    pub sequence_values: Option<&'a [SequenceValue]>,
    pub backfill_metadata: Option<BackfillMetadata>,
}

/// A compact root map around the blobs `tables` and `events`, built with the `flexbuffers`
/// crate's `Builder` (keys sorted by the builder, shared keys): `compact` (uint 3), `events`
/// and `tables` (blobs), `metas`, and a batch's fields as the writer lays them out (absent
/// options left out, `relations` always present in a batch, none of them in a bare event).
/// The relation maps of `relations` are written before those of `metas`, as the writer
/// does: a reader wants relation maps one after the other in reading order.
#[must_use]
pub fn compact_root(root: &CompactRoot<'_>, tables: &[u8], events: &[u8]) -> Vec<u8> {
    let mut b = flexbuffers::Builder::default();
    {
        let mut m = b.start_map();
        m.push("events", flexbuffers::Blob(events));
        if root.batch_seq.is_some() {
            push_relations(&mut m, "relations", root.relations);
        }
        if let Some(metas) = root.metas {
            let mut v = m.start_vector("metas");
            relation_maps(&mut v, metas);
            for &i in root.meta_indexes {
                v.push(i);
            }
            v.end_vector();
        }
        m.push("tables", flexbuffers::Blob(tables));
        m.push("compact", 3u64);
        if let Some(seq) = root.batch_seq {
            m.push("batch_seq", seq);
            if let Some(s) = root.source_id {
                m.push("source_id", s);
            }
            if let Some(d) = root.control_directive {
                m.push("control_directive", d.name());
            }
            if let Some(seqs) = root.sequence_values {
                let mut v = m.start_vector("sequence_values");
                for s in seqs {
                    let mut sm = v.start_map();
                    sm.push("schema", s.schema.as_str());
                    sm.push("name", s.name.as_str());
                    sm.push("last_value", s.last_value);
                    sm.push("is_called", s.is_called);
                    sm.push("increment_by", s.increment_by);
                    sm.push("min_value", s.min_value);
                    sm.push("max_value", s.max_value);
                    sm.end_map();
                }
                v.end_vector();
            }
            if let Some(bf) = &root.backfill_metadata {
                let mut bm = m.start_map("backfill_metadata");
                bm.push("table_count", bf.table_count);
                bm.push("estimated_total_rows", bf.estimated_total_rows);
                bm.end_map();
            }
        }
        m.end_map();
    }
    b.take_buffer()
}

fn push_relations(m: &mut flexbuffers::MapBuilder<'_>, key: &str, rels: &[RelationMeta]) {
    let mut v = m.start_vector(key);
    relation_maps(&mut v, rels);
    v.end_vector();
}

fn relation_maps(v: &mut flexbuffers::VectorBuilder<'_>, rels: &[RelationMeta]) {
    for r in rels {
        let mut rm = v.start_map();
        rm.push("rel_id", r.rel_id);
        rm.push("schema", r.schema.as_str());
        rm.push("table", r.table.as_str());
        {
            let mut cols = rm.start_vector("columns");
            for c in &r.columns {
                let mut cm = cols.start_map();
                cm.push("name", c.name.as_str());
                cm.push("type_oid", c.type_oid);
                cm.push("type_modifier", c.type_modifier);
                cm.push("is_key", c.is_key);
                cm.end_map();
            }
            cols.end_vector();
        }
        rm.push("replica_identity", r.replica_identity.name());
        rm.end_map();
    }
}

/// The `events` and `tables` blobs of a compact root (`None` if `bytes` is not one).
#[must_use]
pub fn compact_blobs(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let root = flexbuffers::Reader::get_root(bytes).ok()?;
    let m = root.get_map().ok()?;
    let blob = |k: &str| -> Option<Vec<u8>> {
        let r = m.index(k).ok()?;
        (r.flexbuffer_type() == flexbuffers::FlexBufferType::Blob).then(|| r.as_blob().0.to_vec())
    };
    Some((blob("events")?, blob("tables")?))
}

/// The `compact_blobs` input: flags, metas count, `tables`' length (u16 little-endian),
/// `tables`, then `events` (the rest). A metas count with bit 7 set is that many entries
/// (bits 0-6) that are indexes into `relations` (0, 1, ...: past the first, out of range).
///
/// Flags: bit 0 no `batch_seq` (a bare event's root); bit 1 a large `batch_seq`; bit 2 a
/// `source_id`; bit 3 a `metas` key even when the count is 0; bit 4 one relation in
/// `relations`; bit 5 a `control_directive`; bit 6 `sequence_values` (one); bit 7
/// `backfill_metadata`.
pub const COMPACT_BLOBS_HEADER: usize = 4;

/// The `metas` of a `compact_blobs` input: `n` small relation maps (rel_id `i`).
#[must_use]
pub fn synthetic_metas(n: usize) -> Vec<RelationMeta> {
    (0..n)
        .map(|i| RelationMeta {
            rel_id: i as u32,
            schema: "s".to_owned(),
            table: format!("t{i}"),
            columns: vec![ColumnMeta {
                name: "c".to_owned(),
                type_oid: 23,
                type_modifier: -1,
                is_key: i % 2 == 0,
            }],
            replica_identity: ReplicaIdentity::ALL[i % ReplicaIdentity::ALL.len()],
        })
        .collect()
}

/// Builds the compact root a `compact_blobs` input stands for (`None`: too short for the
/// header), and whether it is a bare event's root.
#[must_use]
pub fn compact_blobs_root(data: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (&[flags, n_metas, l0, l1], rest) = data.split_first_chunk::<COMPACT_BLOBS_HEADER>()?;
    let bit = |i: u8| flags & (1 << i) != 0;
    let split = usize::from(u16::from_le_bytes([l0, l1])).min(rest.len());
    let (tables, events) = rest.split_at(split);
    let (maps, indexes) = if n_metas & 0x80 == 0 {
        (n_metas, 0)
    } else {
        (0, n_metas & 0x7f)
    };
    let metas = synthetic_metas(usize::from(maps));
    let meta_indexes: Vec<u64> = (0..u64::from(indexes)).collect();
    let relations = if bit(4) {
        synthetic_metas(1)
    } else {
        Vec::new()
    };
    let sequences = [SequenceValue {
        schema: "public".to_owned(),
        name: "s".to_owned(),
        last_value: -5,
        is_called: true,
        increment_by: 1,
        min_value: i64::MIN,
        max_value: i64::MAX,
    }];
    let root = CompactRoot {
        batch_seq: (!bit(0)).then_some(if bit(1) { u64::MAX - 1 } else { 7 }),
        source_id: bit(2).then_some("src"),
        relations: &relations,
        metas: (n_metas > 0 || bit(3)).then_some(&metas[..]),
        meta_indexes: &meta_indexes,
        control_directive: bit(5).then_some(ControlDirective::ALL[0]),
        sequence_values: bit(6).then_some(&sequences[..]),
        backfill_metadata: bit(7).then_some(BackfillMetadata {
            table_count: 3,
            estimated_total_rows: 1 << 40,
        }),
    };
    Some((compact_root(&root, tables, events), bit(0)))
}

/// A `compact_blobs` input: the header for `flags` and `n_metas`, then the blobs
/// (`None` when `tables` is longer than a u16 length allows).
#[must_use]
pub fn compact_blobs_input(
    flags: u8,
    n_metas: u8,
    tables: &[u8],
    events: &[u8],
) -> Option<Vec<u8>> {
    let len = u16::try_from(tables.len()).ok()?;
    let mut v = vec![flags, n_metas];
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(tables);
    v.extend_from_slice(events);
    Some(v)
}
