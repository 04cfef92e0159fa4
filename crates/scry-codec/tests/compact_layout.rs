//! The compact encoding's layout (version 3, described in `scry_codec`'s `compact` module
//! and the README's "Wire format" section): a FlexBuffers root map that the flexbuffers
//! crate's own reader walks, its two blobs byte for byte, its size, and the exact error for
//! each way its own bytes can be wrong.

use bytes::Bytes;
use flexbuffers::{FlexBufferType as T, MapReader, Reader};
use scry_codec::{
    read_batch, read_batch_bytes, read_event, serialize_batch_with, serialize_event_with,
    BatchView, DecodeErrorKind, Encoding, EventView,
};
use scry_testkit::workloads;
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

fn compact(batch: &DatabaseEventBatch) -> Vec<u8> {
    serialize_batch_with(batch, Encoding::Compact).unwrap()
}

fn root(bytes: &[u8]) -> MapReader<&[u8]> {
    Reader::get_root(bytes)
        .expect("a valid FlexBuffer")
        .get_map()
        .expect("the root is a map")
}

/// Where the blob under `key` lies in `bytes`, and its bytes.
fn blob<'a>(bytes: &'a [u8], key: &str) -> (usize, &'a [u8]) {
    let r = root(bytes).index(key).expect(key);
    assert_eq!(r.flexbuffer_type(), T::Blob, "{key}");
    let b = r.get_blob().expect("a blob").0;
    (b.as_ptr() as usize - bytes.as_ptr() as usize, b)
}

/// The two events of the README's byte-level example.
fn example() -> DatabaseEventBatch {
    let columns = vec!["id".to_owned(), "name".to_owned()];
    let mut insert = DatabaseEvent::new(OperationType::Insert, "public", "t");
    insert.timestamp_us = 1000;
    insert.position = 0x100;
    insert.transaction_id = 5;
    insert.columns = columns.clone();
    insert.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]),
        ColumnValue::from_pg_binary(TypeTag::Text, 25, b"Ada".to_vec()),
    ]));
    let mut update = insert.clone();
    update.operation = OperationType::Update;
    update.timestamp_us = 1001;
    update.position = 0x140;
    update.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]),
        ColumnValue::unchanged(25),
    ]));
    DatabaseEventBatch::with_events(vec![insert, update]).with_batch_seq(7)
}

#[test]
fn the_example_is_these_bytes() {
    let bytes = compact(&example());
    #[rustfmt::skip]
    let events: &[u8] = &[
        0x02,                               // two events
        0x00, 0x02, 0x00,                   // INSERT, new_row, name 0
        0xD0, 0x0F, 0x80, 0x04, 0x0A,       // deltas: +1000 µs, +0x100, +5
        0x00,                               // row type 0
        0, 0, 0, 4, 0, 0, 0, 1,             // int4 1
        0, 0, 0, 3, b'A', b'd', b'a',       // text 'Ada'
        0x01, 0x02, 0x00,                   // UPDATE, new_row, name 0
        0x02, 0x80, 0x01, 0x00,             // deltas: +1, +0x40, 0
        0x00,                               // row type 0
        0, 0, 0, 4, 0, 0, 0, 1,             // int4 1
        0xFF, 0xFF, 0xFF, 0xFE,             // -2: unchanged TOAST (OID 25 from the slot)
    ];
    #[rustfmt::skip]
    let tables: &[u8] = &[
        1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, // 1 name, 2 columns, 1 type, 2 slots
        74, 0, 0, 0, 6, 0, 0, 0,                        // schema "public" at 74
        80, 0, 0, 0, 1, 0, 0, 0,                        // table "t" at 80
        0, 0, 0, 0, 2, 0, 0, 0,                         // columns 0 and 1
        81, 0, 0, 0, 2, 0, 0, 0,                        // "id" at 81
        83, 0, 0, 0, 4, 0, 0, 0,                        // "name" at 83
        0, 0, 0, 0, 2, 0, 0, 0,                         // row type 0: slots 0 and 1
        3, 23, 0, 0, 0,                                 // Int32, OID 23
        7, 25, 0, 0, 0,                                 // Text, OID 25
        b'p', b'u', b'b', b'l', b'i', b'c', b't', b'i', b'd', b'n', b'a', b'm', b'e',
    ];
    assert_eq!(blob(&bytes, "events").1, events);
    assert_eq!(blob(&bytes, "tables").1, tables);
    let m = root(&bytes);
    let keys: Vec<&str> = m.iter_keys().collect();
    assert_eq!(
        keys,
        ["batch_seq", "compact", "events", "relations", "tables"]
    );
    assert_eq!(m.idx("compact").get_u64(), Ok(3));
    assert_eq!(m.idx("batch_seq").get_u64(), Ok(7));
    assert_eq!(read_batch(&bytes).unwrap(), example());
}

#[test]
fn the_batch_fields_keep_the_compat_shapes_and_metas_follow_the_events() {
    let rel = RelationMeta {
        rel_id: 16384,
        schema: "public".into(),
        table: "users".into(),
        columns: vec![ColumnMeta {
            is_key: true,
            ..ColumnMeta::new("id", 23)
        }],
        replica_identity: ReplicaIdentity::Full,
    };
    let mut e = DatabaseEvent::new(OperationType::Insert, "public", "users");
    e.relation_meta = Some(rel.clone());
    e.event_id = Some("tx-1".into());
    let batch = DatabaseEventBatch::with_events(vec![e.clone(), e])
        .with_source_id("cdc-1")
        .with_relations(vec![rel])
        .with_control_directive(ControlDirective::SyncSequences)
        .with_sequence_values(vec![SequenceValue::new("public", "s", 42)])
        .with_backfill_metadata(BackfillMetadata {
            table_count: 3,
            estimated_total_rows: 9,
        });
    let bytes = compact(&batch);
    let m = root(&bytes);
    let keys: Vec<&str> = m.iter_keys().collect();
    assert_eq!(
        keys,
        [
            "backfill_metadata",
            "batch_seq",
            "compact",
            "control_directive",
            "events",
            "metas",
            "relations",
            "sequence_values",
            "source_id",
            "tables"
        ]
    );
    assert_eq!(m.idx("control_directive").get_str(), Ok("SyncSequences"));
    assert_eq!(m.idx("source_id").get_str(), Ok("cdc-1"));
    let metas = m.idx("metas").get_vector().unwrap();
    assert_eq!(metas.len(), 2);
    // The first names the batch's relation 0, equal to it; the second, as relation 0 is
    // named already, is a map of its own.
    assert_eq!(metas.idx(0).flexbuffer_type(), T::UInt);
    assert_eq!(metas.idx(0).get_u64(), Ok(0));
    let meta = metas.idx(1).get_map().unwrap();
    assert_eq!(meta.idx("replica_identity").get_str(), Ok("Full"));
    assert_eq!(meta.idx("rel_id").get_u64(), Ok(16384));
    assert_eq!(read_batch(&bytes).unwrap(), batch);
    let view = BatchView::parse(&bytes).unwrap();
    assert_eq!(view.encoding(), Encoding::Compact);
    assert_eq!(view.event(1).unwrap().event_id(), Some("tx-1"));
    assert_eq!(
        view.event(1).unwrap().relation_meta().unwrap().table(),
        "users"
    );
    assert_eq!(
        view.event(0)
            .unwrap()
            .relation_meta()
            .unwrap()
            .replica_identity(),
        ReplicaIdentity::Full
    );
}

#[test]
fn metas_name_relations_once_each_and_a_reader_holds_them_to_it() {
    let rel = |rel_id: u32, table: &str| {
        RelationMeta::new(
            rel_id,
            "public",
            table,
            vec![ColumnMeta::new("id", 23).key()],
        )
    };
    let (a, b, c) = (rel(1, "a"), rel(2, "b"), rel(3, "c"));
    let event = |meta: &RelationMeta| {
        let mut e = DatabaseEvent::new(OperationType::SnapshotBegin, "public", &meta.table);
        e.relation_meta = Some(meta.clone());
        e
    };
    // `c` is in no entry of `relations`, so its map is written in `metas`.
    let batch = DatabaseEventBatch::with_events(vec![event(&b), event(&a), event(&c)])
        .with_relations(vec![a.clone(), b.clone()]);
    let bytes = compact(&batch);
    let metas = root(&bytes).idx("metas").get_vector().unwrap();
    assert_eq!(metas.idx(0).get_u64(), Ok(1));
    assert_eq!(metas.idx(1).get_u64(), Ok(0));
    assert_eq!(metas.idx(2).flexbuffer_type(), T::Map);
    assert_eq!(read_batch(&bytes).unwrap(), batch);
    let view = BatchView::parse(&bytes).unwrap();
    let tables: Vec<String> = (0..3)
        .map(|i| {
            view.event(i)
                .unwrap()
                .relation_meta()
                .unwrap()
                .table()
                .to_owned()
        })
        .collect();
    assert_eq!(tables, ["b", "a", "c"]);

    // The bytes of the index 1 (of `b`): the one byte whose change to 0 names `a` twice.
    let twice = (0..bytes.len())
        .filter(|&i| bytes[i] == 1)
        .map(|i| (i, read_batch(&with(&bytes, i, 0))))
        .find(|(_, r)| {
            r.as_ref()
                .is_err_and(|e| e.kind() == &DecodeErrorKind::RelationNamedTwice { index: 0 })
        })
        .map(|(i, r)| (i, r.unwrap_err()))
        .expect("a byte holds the index");
    // Changed, entry 0 names `a` too; the error is the second naming, the next slot.
    let (at, e) = twice;
    assert_eq!(e.path(), "metas[1]");
    assert_eq!(e.offset(), at + 1);
    assert_eq!(
        e.to_string(),
        format!(
            "relation 0 of `relations` is named by more than one entry of `metas` at metas[1] (byte {})",
            at + 1
        )
    );
    let e = read_batch(&with(&bytes, at, 2)).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::IndexOutOfRange {
            table: "relations",
            index: 2,
            len: 2
        }
    );
    assert_eq!(e.path(), "metas[0]");
}

#[test]
fn a_bare_event_is_compact_events_metas_and_tables() {
    let mut e = example().events[1].clone();
    e.ddl_sql = Some("ALTER TABLE t ADD c int".into());
    e.ddl_object_type = Some("TABLE".into());
    let bytes = serialize_event_with(&e, Encoding::Compact).unwrap();
    let keys: Vec<&str> = root(&bytes).iter_keys().collect();
    assert_eq!(keys, ["compact", "events", "tables"]);
    assert_eq!(read_event(&bytes).unwrap(), e);
    let view = EventView::parse(&bytes).unwrap();
    assert_eq!(view.ddl_sql(), Some("ALTER TABLE t ADD c int"));
    assert_eq!(view.to_owned_event(), e);
    // A batch is not a bare event, nor a bare event a batch.
    let batch = compact(&example());
    assert!(matches!(
        read_event(&batch).unwrap_err().kind(),
        DecodeErrorKind::WrongType { .. }
    ));
    assert_eq!(
        read_batch(&bytes).unwrap_err().kind(),
        &DecodeErrorKind::MissingField { field: "batch_seq" }
    );
}

#[test]
fn every_kind_of_value_keeps_its_tag_oid_and_data() {
    let values = vec![
        ColumnValue::null(),
        ColumnValue::unchanged(25),
        ColumnValue::unchanged(1184),
        ColumnValue {
            type_tag: TypeTag::Int32,
            type_oid: 23,
            data: None,
        },
        ColumnValue {
            type_tag: TypeTag::Null,
            type_oid: 99,
            data: None,
        },
        ColumnValue::from_pg_binary(TypeTag::Bytea, 17, Vec::new()),
        ColumnValue::from_pg_binary(TypeTag::Null, 0, vec![1]),
        ColumnValue::from_pg_binary(TypeTag::ToastUnchanged, 25, vec![2, 3]),
        ColumnValue::from_pg_binary(TypeTag::Custom, u32::MAX, vec![0xAB; 300]),
    ];
    let mut events = Vec::new();
    // Each value alone, after one of another type, and all in one row.
    for v in &values {
        for before in &values {
            let mut e = DatabaseEvent::new(OperationType::Update, "s", "t");
            e.new_row = Some(Row::new(vec![before.clone()]));
            events.push(e.clone());
            e.new_row = Some(Row::new(vec![v.clone()]));
            e.old_row = Some(Row::new(vec![before.clone()]));
            events.push(e);
        }
    }
    let mut all = DatabaseEvent::new(OperationType::Insert, "s", "t");
    all.new_row = Some(Row::new(values.clone()));
    events.push(all);
    let batch = DatabaseEventBatch::with_events(events);
    let bytes = compact(&batch);
    assert_eq!(read_batch(&bytes).unwrap(), batch);
    assert_eq!(
        read_batch_bytes(&Bytes::from(bytes.clone())).unwrap(),
        batch
    );
    let view = BatchView::parse(&bytes).unwrap();
    assert_eq!(view.to_owned(), batch);
    let last = view.event(view.len() - 1).unwrap().new_row().unwrap();
    for (i, (got, want)) in last.values().zip(&values).enumerate() {
        assert_eq!(got.type_tag(), want.type_tag, "{i}");
        assert_eq!(got.type_oid(), want.type_oid, "{i}");
        assert_eq!(got.data().as_deref(), want.data.as_deref(), "{i}");
        assert_eq!(got.is_null(), want.is_null(), "{i}");
        assert_eq!(got.is_unchanged(), want.is_unchanged(), "{i}");
        assert_eq!(last.get(i).unwrap().to_owned_value(), *want, "{i}");
    }
    // Backwards and by skipping too.
    let back: Vec<ColumnValue> = last.values().rev().map(|v| v.to_owned_value()).collect();
    assert_eq!(back, values.iter().rev().cloned().collect::<Vec<_>>());
    for n in 0..=values.len() {
        let got = last.values().nth(n).map(|v| v.to_owned_value());
        assert_eq!(got.as_ref(), values.get(n));
    }
}

#[test]
fn wide_row_less_events_state_their_column_names_inline() {
    let columns: Vec<String> = (0..40).map(|i| format!("column_{i:02}")).collect();
    let events: Vec<DatabaseEvent> = (0..50)
        .map(|i| {
            let mut e = DatabaseEvent::new(OperationType::Delete, "public", "wide");
            e.columns = columns.clone();
            if i % 2 == 0 {
                e.old_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
                    TypeTag::Int32,
                    23,
                    vec![0, 0, 0, 7],
                )]));
            }
            e
        })
        .collect();
    let batch = DatabaseEventBatch::with_events(events);
    let bytes = compact(&batch);
    // Each event carries the names (the flags byte says so), none comes from the table.
    let names = bytes.windows(9).filter(|w| w == b"column_17").count();
    assert_eq!(names, 50);
    let (_, events_blob) = blob(&bytes, "events");
    assert_eq!(events_blob[2] & 0x40, 0x40);
    assert_eq!(read_batch(&bytes).unwrap(), batch);
    let view = BatchView::parse(&bytes).unwrap();
    let e = view.event(3).unwrap();
    assert_eq!(e.columns().len(), 40);
    assert_eq!(e.columns().nth(17), Some("column_17"));
    assert_eq!(e.columns().next_back(), Some("column_39"));
    assert!(e.columns().eq(columns.iter().map(String::as_str)));
    // Narrow events of the same table share one entry instead.
    let small = workloads::small_rows(10);
    let small = compact(&small);
    let (_, events_blob) = blob(&small, "events");
    assert_eq!(events_blob[2] & 0x40, 0);
}

#[test]
fn many_tables_and_row_types_are_each_entered_once() {
    // 20 tables of 3 columns, visited in a shuffled order again and again, with NULLs in
    // changing places: more names and row types than are looked up one by one.
    let columns = |t: usize| vec![format!("id_{t}"), "note".to_owned(), "n".to_owned()];
    let mut events = Vec::new();
    for round in 0..6usize {
        for k in 0..20usize {
            let t = (k * 7 + round * 3) % 20;
            let mut e = DatabaseEvent::new(OperationType::Insert, "public", format!("t{t}"));
            e.columns = columns(t);
            let value = |tag, oid, on: bool, data: Vec<u8>| {
                if on {
                    ColumnValue::from_pg_binary(tag, oid, data)
                } else {
                    ColumnValue::null()
                }
            };
            // Table t's second column is int4 for even t, text for odd: types differ by
            // table as well as by NULL pattern.
            let (tag, oid) = if t % 2 == 0 {
                (TypeTag::Int32, 23)
            } else {
                (TypeTag::Text, 25)
            };
            let kinds = [
                (TypeTag::Int64, 20),
                (TypeTag::Float64, 701),
                (TypeTag::Timestamp, 1114),
                (TypeTag::TimestampTz, 1184),
                (TypeTag::Time, 1083),
                (TypeTag::Money, 790),
                (TypeTag::MacAddr8, 774),
                (TypeTag::Bytea, 17),
                (TypeTag::Text, 25),
                (TypeTag::Custom, 90_000 + t as u32),
            ];
            let (first_tag, first_oid) = kinds[t % 10];
            e.new_row = Some(Row::new(vec![
                value(
                    first_tag,
                    first_oid,
                    true,
                    (round as i64).to_be_bytes().to_vec(),
                ),
                value(tag, oid, (round + t) % 3 != 0, vec![0, 0, 0, t as u8]),
                value(TypeTag::Bool, 16, (round + t) % 2 == 0, vec![1]),
            ]));
            events.push(e);
        }
    }
    let batch = DatabaseEventBatch::with_events(events);
    let bytes = compact(&batch);
    assert_eq!(read_batch(&bytes).unwrap(), batch);
    // The tables blob starts with its counts: names, columns, row types, slots.
    let (_, tables) = blob(&bytes, "tables");
    let count = |i: usize| u32::from_le_bytes(tables[4 * i..4 * i + 4].try_into().unwrap());
    assert_eq!((count(0), count(1)), (20, 60));
    // Every row type is distinct: no slot run is entered twice.
    let types = count(2) as usize;
    assert!(types > 8, "{types} row types");
    let fixed = 16 + 24 * 20 + 8 * 60;
    let runs: Vec<(u32, u32)> = (0..types)
        .map(|i| {
            let at = fixed + 8 * i;
            let word = |at: usize| u32::from_le_bytes(tables[at..at + 4].try_into().unwrap());
            (word(at), word(at + 4))
        })
        .collect();
    let slots_at = fixed + 8 * types;
    let slots_of = |(first, n): (u32, u32)| {
        &tables[slots_at + 5 * first as usize..slots_at + 5 * (first + n) as usize]
    };
    for (i, &a) in runs.iter().enumerate() {
        for &b in &runs[i + 1..] {
            assert_ne!(slots_of(a), slots_of(b));
        }
    }
    // Written an event at a time, the same bytes.
    let mut encoder = scry_codec::BatchEncoder::new(Encoding::Compact);
    for e in &batch.events {
        encoder.push(e).unwrap();
    }
    assert_eq!(encoder.finish(&DatabaseEventBatch::new()).unwrap(), bytes);
}

#[test]
fn small_and_large_rows_are_near_their_payload() {
    let small = workloads::small_rows(2000);
    let bytes = compact(&small);
    let per_event = bytes.len() as f64 / 2000.0;
    // About 10 bytes of header and 4 a value beside about 45 bytes of values.
    assert!((70.0..=76.0).contains(&per_event), "{per_event}");
    let large = workloads::large_rows(300);
    let bytes = compact(&large);
    let ratio = bytes.len() as f64 / workloads::payload_bytes(&large) as f64;
    assert!(ratio < 1.005, "{ratio}");
}

/// `bytes` with the byte at `at` set to `v`.
fn with(bytes: &[u8], at: usize, v: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] = v;
    b
}

#[test]
fn each_wrong_byte_of_the_layout_is_its_own_error() {
    let bytes = compact(&example());
    let (ev, _) = blob(&bytes, "events");
    let (tb, _) = blob(&bytes, "tables");
    let version_at = bytes.windows(8).position(|w| w == b"compact\0").unwrap();
    let err = |b: &[u8]| read_batch(b).unwrap_err();

    // Version 4 is refused, not misread; version 2 (the same layout without indexes in
    // `metas`) is read. The version is the root map's UInt slot: find it as the one byte
    // whose change to 4 gives this error.
    let at = (0..bytes.len())
        .filter(|&i| bytes[i] == 3 && i != version_at)
        .find(|&i| {
            read_batch(&with(&bytes, i, 4))
                .is_err_and(|e| e.kind() == &DecodeErrorKind::UnsupportedVersion { version: 4 })
        })
        .expect("a byte holds the version");
    let e = err(&with(&bytes, at, 4));
    assert_eq!(e.path(), "compact");
    assert!(e.to_string().contains("version 4 is not supported"), "{e}");
    assert_eq!(read_batch(&with(&bytes, at, 2)).unwrap(), example());

    // Event 0's flags (byte 2 of the blob) with an undefined bit.
    let e = err(&with(&bytes, ev + 2, 0x82));
    assert_eq!(e.kind(), &DecodeErrorKind::UnknownFlags { flags: 0x82 });
    assert_eq!(e.path(), "events[0]");
    assert_eq!(e.offset(), ev + 2);

    // Event 0's name index past the table.
    let e = err(&with(&bytes, ev + 3, 5));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::IndexOutOfRange {
            table: "name",
            index: 5,
            len: 1
        }
    );
    assert_eq!(e.path(), "events[0]");

    // Event 1's operation is no OperationType.
    let e = err(&with(&bytes, ev + 25, 99));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::InvalidDiscriminant {
            enum_name: "OperationType",
            value: 99
        }
    );
    assert_eq!(e.path(), "events[1].operation");

    // A field length of -4 (event 1's second value).
    let e = err(&with(&bytes, ev + 44, 0xFC));
    assert_eq!(e.kind(), &DecodeErrorKind::BadFieldLength { length: -4 });
    assert_eq!(e.path(), "events[1].new_row.values[1].data");
    assert_eq!(e.offset(), ev + 41);

    // A varint that is not minimal: event 1's position delta 0x80 0x01 made 0x80 0x00
    // reads as a one-byte delta followed by garbage; 0x81 0x00 is refused outright.
    let mut b = with(&bytes, ev + 29, 0x81);
    b[ev + 30] = 0x00;
    let e = err(&b);
    assert_eq!(e.kind(), &DecodeErrorKind::MalformedVarint);
    assert_eq!(e.path(), "events[1]");

    // The event count says one: the second event's bytes are left over.
    let e = err(&with(&bytes, ev, 1));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::TrailingBytes {
            what: "events blob",
            count: 20
        }
    );
    // Three events in the bytes of two: past the end.
    assert!(matches!(
        err(&with(&bytes, ev, 3)).kind(),
        DecodeErrorKind::OutOfBounds { .. }
    ));

    // A slot whose type tag is no TypeTag.
    let slot0 = tb + 16 + 24 + 16 + 8;
    let e = err(&with(&bytes, slot0, 200));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::InvalidDiscriminant {
            enum_name: "TypeTag",
            value: 200
        }
    );
    assert_eq!(e.path(), "tables.slots[0]");

    // A column name that is not UTF-8 ("id" is at 81 in the tables).
    let e = err(&with(&bytes, tb + 81, 0xFF));
    assert_eq!(e.kind(), &DecodeErrorKind::InvalidUtf8 { valid_up_to: 0 });
    assert_eq!(e.path(), "tables.names[0].columns[0]");

    // A name entry whose columns start elsewhere than where the previous ended.
    let e = err(&with(&bytes, tb + 16 + 16, 1));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::CountMismatch {
            what: "first column of a name entry",
            expected: 0,
            found: 1
        }
    );
    assert_eq!(e.path(), "tables.names[0]");

    // Every one of these fails alike through the view.
    assert_eq!(
        BatchView::parse(&with(&bytes, ev + 2, 0x82)).unwrap_err(),
        err(&with(&bytes, ev + 2, 0x82))
    );
}

#[test]
fn scry_protocol_0_1_1_refuses_compact_bytes() {
    // 0.1.1 reads `events` as a sequence: the blob is an error, never a misread batch.
    // (Checked against 0.1.1 itself in the facade's interop tests; here, against the
    // serde path scry-testkit keeps as the byte-exact reference of 0.1.1's reader.)
    for batch in [DatabaseEventBatch::new(), example()] {
        let bytes = compact(&batch);
        assert!(scry_testkit::reference::read_batch(&bytes).is_err());
    }
}
