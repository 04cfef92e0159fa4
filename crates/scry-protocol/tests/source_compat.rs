//! Source compatibility with scry-protocol 0.1.1's `database_event` module.
//!
//! Everything below is written the way code against 0.1.1 is written — glob and named imports
//! from `scry_protocol::database_event`, the builders, the setters, the constructors, struct
//! literals, field access, and `unwrap`/`?` on the codec functions — and it compiles against
//! our facade unchanged. The assertions check that it also means the same thing.
//!
//! Known source difference, by design: `ColumnValue::data` is `Option<Bytes>` where 0.1.1 has
//! `Option<Vec<u8>>`. Everything that goes through `from_pg_binary`, `as_bytes`, `as_deref`,
//! `as_ref`, `len` or slicing compiles unchanged; a struct literal `data: Some(vec![..])`
//! needs `.into()`, and binding the field to a `Vec<u8>` needs `.to_vec()`.

/// The example of 0.1.1's module documentation (the project's seed), unchanged. It ignores the
/// result of `add_event`, as 0.1.1 code may, so `add_event` is deliberately not `#[must_use]`:
/// this compiles without a warning under `clippy -D warnings`.
#[test]
fn seed_example() {
    use scry_protocol::database_event::{
        read_batch, serialize_batch, BatchBuilder, ColumnValue, DatabaseEventBuilder, Row, TypeTag,
    };

    // Build an event
    let event = DatabaseEventBuilder::insert("public", "users")
        .position(12345)
        .new_row(Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Int32,
            23,
            vec![0, 0, 0, 1],
        )]))
        .build();

    // Build a batch
    let mut builder = BatchBuilder::new().source_id("my-source");
    builder.add_event(event);
    let batch = builder.finish().unwrap();

    // Serialize
    let bytes = serialize_batch(&batch).unwrap();

    // Deserialize
    let recovered = read_batch(&bytes).unwrap();

    assert_eq!(recovered, batch);
    assert_eq!(recovered.source_id.as_deref(), Some("my-source"));
    assert_eq!(recovered.events[0].position, 12345);
    assert_eq!(
        recovered.events[0].new_row.as_ref().unwrap().values[0].as_bytes(),
        Some(&[0u8, 0, 0, 1][..])
    );
}

mod glob_import {
    use scry_protocol::database_event::*;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    #[test]
    fn event_builder_constructors_and_setters() {
        let id = vec![0u8, 0, 0, 7];
        let event = DatabaseEventBuilder::update("shop", "orders")
            .event_id("3f1c9a52-0000-4000-8000-000000000001")
            .timestamp(UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_001))
            .position(0x16_B374_D848)
            .transaction_id(771)
            .columns(vec!["id".to_string(), "note".to_string()])
            .new_row(Row::new(vec![
                ColumnValue::from_pg_binary(TypeTag::Int32, 23, id.clone()),
                ColumnValue::unchanged(25),
            ]))
            .old_row(Row::new(vec![
                ColumnValue::from_pg_binary(TypeTag::Int32, 23, id),
                ColumnValue::null(),
            ]))
            .build();
        assert_eq!(event.operation, OperationType::Update);
        assert_eq!(event.timestamp_us, 1_700_000_000_000_001);
        assert_eq!(event.qualified_name(), "shop.orders");
        assert_eq!(event.size_bytes(), 64 + 4 + 6 + (9 + 5) + (9 + 5) + 2 + 4);

        let new_row = event.new_row.as_ref().unwrap();
        assert_eq!(new_row.values.len(), 2);
        assert!(new_row.values[1].is_unchanged());
        assert_eq!(new_row.get(0).unwrap().type_oid, 23);
        assert_eq!(new_row.get(5), None);
        let data = new_row.values[0].data.as_ref().unwrap();
        assert_eq!(data.len(), 4);
        assert_eq!(&data[..], &[0, 0, 0, 7]);
        assert_eq!(new_row.values[0].data.as_deref(), Some(&[0u8, 0, 0, 7][..]));
        assert!(event.old_row.as_ref().unwrap().values[1].is_null());

        let now = SystemTime::now();
        let stamped = DatabaseEventBuilder::delete("s", "t")
            .timestamp(now)
            .build();
        assert!(stamped.timestamp_us > 1_700_000_000_000_000);

        let ops = [
            DatabaseEventBuilder::insert("s", "t").build().operation,
            DatabaseEventBuilder::snapshot_row("s", "t")
                .build()
                .operation,
            DatabaseEventBuilder::begin().build().operation,
            DatabaseEventBuilder::commit().build().operation,
            DatabaseEventBuilder::new(OperationType::Truncate, "s", "t")
                .build()
                .operation,
        ];
        assert_eq!(
            ops,
            [
                OperationType::Insert,
                OperationType::SnapshotRow,
                OperationType::Begin,
                OperationType::Commit,
                OperationType::Truncate
            ]
        );
        let ddl = DatabaseEventBuilder::ddl("CREATE INDEX i ON t (a)", "index").build();
        assert!(ddl.operation.is_ddl());
        assert_eq!(ddl.ddl_sql.as_deref(), Some("CREATE INDEX i ON t (a)"));
        assert_eq!(ddl.ddl_object_type, Some("index".to_string()));
    }

    #[test]
    fn struct_literals_and_relation_metadata() {
        let meta = RelationMeta {
            rel_id: 16_384,
            schema: "public".to_string(),
            table: "users".to_string(),
            columns: vec![
                ColumnMeta {
                    name: "id".to_string(),
                    type_oid: 23,
                    type_modifier: -1,
                    is_key: true,
                },
                ColumnMeta {
                    name: "email".to_string(),
                    type_oid: 1043,
                    type_modifier: 259,
                    is_key: false,
                },
            ],
            replica_identity: ReplicaIdentity::from_pg_char(b'f'),
        };
        assert_eq!(meta.qualified_name(), "public.users");
        assert_eq!(meta.column_names(), vec!["id", "email"]);
        assert_eq!(meta.replica_identity, ReplicaIdentity::Full);
        assert_eq!(meta.replica_identity.to_pg_char(), b'f');
        assert_eq!(ReplicaIdentity::default(), ReplicaIdentity::Default);

        let event = DatabaseEvent {
            event_id: None,
            timestamp_us: 0,
            operation: OperationType::SnapshotBegin,
            schema: "public".to_string(),
            table: "users".to_string(),
            position: 0,
            transaction_id: 0,
            new_row: None,
            old_row: None,
            columns: Vec::new(),
            relation_meta: Some(meta.clone()),
            ddl_sql: None,
            ddl_object_type: None,
        };
        let batch = DatabaseEventBatch {
            events: vec![event],
            source_id: Some("snap".to_string()),
            batch_seq: 0,
            relations: vec![meta],
            control_directive: None,
            sequence_values: None,
            backfill_metadata: Some(BackfillMetadata {
                table_count: 4,
                estimated_total_rows: 10_000,
            }),
        };
        let bytes = serialize_batch(&batch).expect("serialize");
        let back = read_batch(&bytes).expect("read");
        assert_eq!(back, batch);
        let rel = back.events[0].relation_meta.clone().expect("relation_meta");
        assert_eq!(rel.columns[1].type_modifier, 259);
        assert!(rel.columns[0].is_key);
    }

    #[test]
    fn batch_constructors_setters_and_control_batches() {
        let batch = DatabaseEventBatch::new()
            .with_source_id("backfill-7")
            .with_batch_seq(9);
        assert_eq!(batch.source_id, Some("backfill-7".to_string()));
        assert!(!batch.is_control_batch());
        assert_eq!(batch.size_bytes(), 32);

        let control =
            DatabaseEventBatch::control(ControlDirective::DisableForeignKeys).with_batch_seq(1);
        assert!(control.is_control_batch());
        assert_eq!(
            control.control_directive.unwrap().to_string(),
            "DISABLE_FOREIGN_KEYS"
        );

        let seqs = vec![
            SequenceValue::new("public", "users_id_seq", 100),
            SequenceValue::new("public", "orders_id_seq", 500),
        ];
        let sync = DatabaseEventBatch::sequence_sync(seqs.clone());
        assert_eq!(
            sync.control_directive,
            Some(ControlDirective::SyncSequences)
        );
        let values = sync.sequence_values.as_ref().unwrap();
        assert_eq!(values[0].qualified_name(), "public.users_id_seq");
        assert_eq!(values[1].last_value, 500);
        assert!(values[1].is_called);
        assert_eq!(values[1].max_value, i64::MAX);

        let mixed = DatabaseEventBatch::with_events(vec![DatabaseEventBuilder::begin().build()])
            .with_control_directive(ControlDirective::EnableForeignKeys)
            .with_sequence_values(seqs)
            .with_backfill_metadata(BackfillMetadata {
                table_count: 1,
                estimated_total_rows: 2,
            });
        assert_eq!(mixed.events.len(), 1);
        assert_eq!(mixed.size_bytes(), 32 + 64);
        assert_eq!(DatabaseEventBatch::default(), DatabaseEventBatch::new());
    }

    #[test]
    fn batch_builder_limits_and_relations() {
        assert_eq!(BatchBuilder::DEFAULT_MAX_EVENTS, 1000);
        assert_eq!(BatchBuilder::DEFAULT_MAX_BYTES, 1_000_000);
        let mut builder = BatchBuilder::default()
            .max_events(2)
            .max_bytes(10_000)
            .batch_seq(5);
        assert!(builder.is_empty());
        builder.add_relation(RelationMeta {
            rel_id: 1,
            schema: "s".into(),
            table: "t".into(),
            columns: vec![],
            replica_identity: ReplicaIdentity::Default,
        });
        let mut flushed = Vec::new();
        for i in 0..5u64 {
            if let Some(batch) =
                builder.add_event(DatabaseEventBuilder::begin().transaction_id(i).build())
            {
                flushed.push(batch);
            }
        }
        assert_eq!(builder.len(), 1);
        let first = builder.flush();
        assert_eq!(first.batch_seq, 7);
        if let Some(rest) = builder.finish() {
            flushed.push(rest);
        }
        assert_eq!(flushed.len(), 2);
        assert_eq!(flushed[0].batch_seq, 5);
        assert_eq!(flushed[0].relations.len(), 1);
        assert_eq!(flushed[1].relations.len(), 0);
    }

    #[test]
    fn enums_bytes_and_display() {
        assert_eq!(TypeTag::from_byte(TypeTag::Uuid as u8), Some(TypeTag::Uuid));
        assert_eq!(TypeTag::from_byte(126), Some(TypeTag::ToastUnchanged));
        assert_eq!(TypeTag::from_byte(19), None);
        assert_eq!(
            OperationType::from_byte(30),
            Some(OperationType::SequenceSync)
        );
        assert!(OperationType::BackfillStart.is_control_directive());
        assert!(!OperationType::DdlComplete.is_control_directive());
        assert_eq!(OperationType::SnapshotRow.to_string(), "SNAPSHOT_ROW");
        assert_eq!(
            format!("{}", ControlDirective::SyncSequences),
            "SYNC_SEQUENCES"
        );
        let copied: TypeTag = TypeTag::Int32;
        let tags = [copied, copied];
        assert_eq!(tags[0], tags[1]);
    }

    #[test]
    fn column_values() {
        let v = ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]);
        assert!(!v.is_null());
        assert_eq!(v.type_tag, TypeTag::Int32);
        assert_eq!(v.as_bytes(), Some(vec![0u8, 0, 0, 1].as_slice()));
        assert_eq!(v.size_bytes(), 9);
        let text = ColumnValue::from_pg_binary(TypeTag::Text, 25, b"Alice".to_vec());
        assert_eq!(
            std::str::from_utf8(text.as_bytes().unwrap()).unwrap(),
            "Alice"
        );
        let null = ColumnValue::null();
        assert!(null.is_null() && null.data.is_none() && null.type_oid == 0);
        let toast = ColumnValue::unchanged(25);
        assert!(toast.is_unchanged() && !toast.is_null() && toast.as_bytes().is_none());
        let row = Row::new(vec![v.clone(), null, toast]);
        assert_eq!(row.size_bytes(), 9 + 5 + 5);
        assert!(Row::empty().values.is_empty());
        let cloned = row.clone();
        assert_eq!(cloned, row);
        assert_eq!(format!("{:?}", v.type_tag), "Int32");
    }

    #[test]
    fn single_events_and_error_handling() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let event = DatabaseEventBuilder::insert("public", "test")
            .new_row(Row::new(vec![
                ColumnValue::null(),
                ColumnValue::from_pg_binary(TypeTag::Text, 25, b"not null".to_vec()),
            ]))
            .build();
        let bytes = serialize_event(&event)?;
        let recovered = read_event(&bytes)?;
        assert_eq!(recovered, event);
        let row = recovered.new_row.expect("new_row");
        assert!(row.values[0].is_null());
        assert!(!row.values[1].is_null());

        match read_batch(&[]) {
            Ok(batch) => panic!("an empty buffer decoded as {batch:?}"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        assert!(read_event(b"not flexbuffers").is_err());
        Ok(())
    }

    #[test]
    fn serde_traits_as_in_0_1_1() {
        fn serde_roundtrip<
            T: serde::Serialize + serde::de::DeserializeOwned + Clone + std::fmt::Debug + PartialEq,
        >() {
        }
        serde_roundtrip::<DatabaseEventBatch>();
        serde_roundtrip::<DatabaseEvent>();
        serde_roundtrip::<ColumnValue>();
        serde_roundtrip::<Row>();
        serde_roundtrip::<RelationMeta>();
        serde_roundtrip::<ColumnMeta>();
        serde_roundtrip::<SequenceValue>();
        serde_roundtrip::<BackfillMetadata>();
        serde_roundtrip::<TypeTag>();
        serde_roundtrip::<OperationType>();
        serde_roundtrip::<ReplicaIdentity>();
        serde_roundtrip::<ControlDirective>();
    }
}
