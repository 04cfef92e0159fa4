//! One test per violation kind (exact path and message), batches with many violations, and
//! realistic events and batches that must pass.

use super::*;
use crate::{BackfillMetadata, ColumnMeta, SequenceValue};

fn int4(v: i32) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int32, 23, v.to_be_bytes().to_vec())
}

fn text(s: &str) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Text, 25, s.as_bytes().to_vec())
}

fn users() -> RelationMeta {
    RelationMeta::new(
        16384,
        "public",
        "users",
        vec![ColumnMeta::new("id", 23).key(), ColumnMeta::new("name", 25)],
    )
}

fn row_event(op: OperationType) -> DatabaseEvent {
    let mut e = DatabaseEvent::new(op, "public", "users");
    e.columns = vec!["id".to_owned(), "name".to_owned()];
    e
}

fn insert() -> DatabaseEvent {
    let mut e = row_event(OperationType::Insert);
    e.new_row = Some(Row::new(vec![int4(1), text("ann")]));
    e
}

/// The violations of `event` as `path: message` lines.
fn messages_of_event(event: &DatabaseEvent) -> Vec<String> {
    event
        .validate()
        .err()
        .map(|e| e.0.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

fn messages_of_batch(batch: &DatabaseEventBatch) -> Vec<String> {
    batch
        .validate()
        .err()
        .map(|e| e.0.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

#[test]
fn realistic_events_pass() {
    let mut update = row_event(OperationType::Update);
    update.new_row = Some(Row::new(vec![int4(1), ColumnValue::unchanged(25)]));
    update.old_row = Some(Row::new(vec![int4(1), text("ann")]));
    update.relation_meta = Some(users());

    let mut delete = row_event(OperationType::Delete);
    // pgoutput's key-only old tuple: every column, NULL for the non-key ones.
    delete.old_row = Some(Row::new(vec![int4(1), ColumnValue::null()]));

    let mut snapshot = row_event(OperationType::SnapshotRow);
    snapshot.new_row = Some(Row::new(vec![int4(2), ColumnValue::null()]));

    let mut snapshot_begin = DatabaseEvent::new(OperationType::SnapshotBegin, "public", "users");
    snapshot_begin.relation_meta = Some(users());

    let mut ddl = DatabaseEvent::new(OperationType::Ddl, "public", "users");
    ddl.ddl_sql = Some("ALTER TABLE public.users ADD COLUMN age int4".to_owned());
    ddl.ddl_object_type = Some("table".to_owned());

    let mut no_columns = DatabaseEvent::new(OperationType::Insert, "public", "t");
    no_columns.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
        TypeTag::Numeric,
        1700,
        vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 42],
    )]));

    let events = [
        insert(),
        update,
        delete,
        snapshot,
        snapshot_begin,
        ddl,
        no_columns,
        DatabaseEvent::new(OperationType::Begin, "", ""),
        DatabaseEvent::new(OperationType::Commit, "", ""),
        DatabaseEvent::new(OperationType::Truncate, "public", "users"),
        DatabaseEvent::new(OperationType::DdlComplete, "", ""),
    ];
    for e in &events {
        assert_eq!(e.validate(), Ok(()), "{e:?}");
    }
    let batch = DatabaseEventBatch::with_events(events.to_vec()).with_relations(vec![users()]);
    assert_eq!(batch.validate(), Ok(()));
}

#[test]
fn realistic_control_batches_pass() {
    let batches = [
        DatabaseEventBatch::control(ControlDirective::DisableForeignKeys),
        DatabaseEventBatch::control(ControlDirective::EnableForeignKeys),
        DatabaseEventBatch::sequence_sync(vec![SequenceValue::new("public", "users_id_seq", 42)]),
        // A database without sequences.
        DatabaseEventBatch::sequence_sync(vec![]),
        DatabaseEventBatch::with_events(vec![DatabaseEvent::new(
            OperationType::BackfillStart,
            "",
            "",
        )])
        .with_backfill_metadata(BackfillMetadata::new(3, 1000)),
        DatabaseEventBatch::control(ControlDirective::SyncSequences)
            .with_sequence_values(vec![])
            .and_events(vec![DatabaseEvent::new(
                OperationType::SequenceSync,
                "",
                "",
            )]),
    ];
    for b in &batches {
        assert_eq!(b.validate(), Ok(()), "{b:?}");
    }
}

trait AndEvents {
    fn and_events(self, events: Vec<DatabaseEvent>) -> Self;
}

impl AndEvents for DatabaseEventBatch {
    fn and_events(mut self, events: Vec<DatabaseEvent>) -> Self {
        self.events = events;
        self
    }
}

#[test]
fn every_fixed_length_type_of_the_right_length_passes() {
    let fixed: Vec<(TypeTag, usize)> = TypeTag::ALL
        .iter()
        .filter_map(|&t| t.fixed_len().map(|n| (t, n)))
        .collect();
    // PostgreSQL's binary send functions: bool 1, int2 2, int4/float4/date 4, int8/float8/
    // timestamp/timestamptz/time/money/macaddr8 8, timetz 8 + 4 (zone), uuid 16, interval
    // 8 + 4 + 4, point 2 x 8, line 3 x 8, lseg/box 4 x 8, circle 3 x 8, macaddr 6.
    assert_eq!(
        fixed,
        [
            (TypeTag::Bool, 1),
            (TypeTag::Int16, 2),
            (TypeTag::Int32, 4),
            (TypeTag::Int64, 8),
            (TypeTag::Float32, 4),
            (TypeTag::Float64, 8),
            (TypeTag::Uuid, 16),
            (TypeTag::Timestamp, 8),
            (TypeTag::TimestampTz, 8),
            (TypeTag::Date, 4),
            (TypeTag::Time, 8),
            (TypeTag::TimeTz, 12),
            (TypeTag::Interval, 16),
            (TypeTag::Point, 16),
            (TypeTag::Line, 24),
            (TypeTag::Lseg, 32),
            (TypeTag::Box, 32),
            (TypeTag::Circle, 24),
            (TypeTag::MacAddr, 6),
            (TypeTag::MacAddr8, 8),
            (TypeTag::Money, 8),
        ]
    );
    let row: Row = fixed
        .iter()
        .map(|&(tag, n)| ColumnValue::from_pg_binary(tag, 0, vec![0; n]))
        .collect();
    let mut e = DatabaseEvent::new(OperationType::Insert, "public", "all_types");
    e.new_row = Some(row);
    assert_eq!(e.validate(), Ok(()));
}

#[test]
fn variable_length_types_take_any_length() {
    let variable = [
        TypeTag::Text,
        TypeTag::Bytea,
        TypeTag::Json,
        TypeTag::Jsonb,
        TypeTag::Numeric,
        TypeTag::Bit,
        TypeTag::Varbit,
        TypeTag::Path,
        TypeTag::Polygon,
        TypeTag::Inet,
        TypeTag::Cidr,
        TypeTag::Int4Range,
        TypeTag::Int8Range,
        TypeTag::NumRange,
        TypeTag::TsRange,
        TypeTag::TsTzRange,
        TypeTag::DateRange,
        TypeTag::Xml,
        TypeTag::Array,
        TypeTag::Custom,
    ];
    for tag in variable {
        assert_eq!(tag.fixed_len(), None, "{tag}");
        for len in [0, 1, 3, 100] {
            let mut e = DatabaseEvent::new(OperationType::Insert, "public", "t");
            e.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
                tag,
                0,
                vec![1; len],
            )]));
            assert_eq!(e.validate(), Ok(()), "{tag} of {len} bytes");
        }
    }
}

#[test]
fn missing_new_row() {
    for op in [
        OperationType::Insert,
        OperationType::Update,
        OperationType::SnapshotRow,
    ] {
        let e = row_event(op);
        let v = e.validate().unwrap_err();
        assert_eq!(
            v.0,
            vec![Violation {
                event_index: None,
                path: "new_row".to_owned(),
                kind: ViolationKind::MissingNewRow { operation: op },
            }]
        );
    }
    assert_eq!(
        messages_of_event(&row_event(OperationType::SnapshotRow)),
        ["new_row: SNAPSHOT_ROW event has no new_row"]
    );
}

#[test]
fn missing_old_row() {
    assert_eq!(
        messages_of_event(&row_event(OperationType::Delete)),
        ["old_row: DELETE event has no old_row"]
    );
}

#[test]
fn row_width_differs_from_columns() {
    let mut e = insert();
    e.columns.push("email".to_owned());
    assert_eq!(
        messages_of_event(&e),
        ["new_row: new_row has 2 values but `columns` names 3 columns"]
    );
    assert_eq!(
        e.validate().unwrap_err().0[0].kind,
        ViolationKind::RowWidthMismatchColumns {
            row: RowSide::New,
            width: 2,
            columns: 3
        }
    );
}

#[test]
fn row_width_differs_from_the_relation() {
    let mut e = row_event(OperationType::Delete);
    e.columns.clear();
    e.old_row = Some(Row::new(vec![int4(1)]));
    e.relation_meta = Some(users());
    assert_eq!(
        messages_of_event(&e),
        ["old_row: old_row has 1 value but relation public.users (rel_id 16384) has 2 columns"]
    );

    // In a batch, the relation comes from `relations` by schema and table.
    e.relation_meta = None;
    let batch = DatabaseEventBatch::with_events(vec![insert(), e]).with_relations(vec![users()]);
    assert_eq!(
        messages_of_batch(&batch),
        ["events[1].old_row: old_row has 1 value but relation public.users (rel_id 16384) has 2 columns"]
    );
    assert_eq!(batch.validate().unwrap_err().0[0].event_index, Some(1));
}

#[test]
fn fixed_length_type_of_the_wrong_length() {
    let mut e = insert();
    e.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 1]),
        text("ann"),
    ]));
    assert_eq!(
        messages_of_event(&e),
        ["new_row.values[0].data: Int32 value has 3 bytes of data; its PostgreSQL binary form is 4 bytes"]
    );
    let mut tz = row_event(OperationType::Insert);
    tz.columns.clear();
    tz.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
        TypeTag::TimeTz,
        1266,
        vec![0; 8],
    )]));
    assert_eq!(
        tz.validate().unwrap_err().0[0].kind,
        ViolationKind::FixedLengthMismatch {
            tag: TypeTag::TimeTz,
            len: 8,
            expected: 12
        }
    );
}

#[test]
fn null_with_data() {
    let mut e = insert();
    e.new_row = Some(Row::new(vec![
        int4(1),
        ColumnValue::from_pg_binary(TypeTag::Null, 0, vec![1, 2]),
    ]));
    assert_eq!(
        messages_of_event(&e),
        ["new_row.values[1].data: Null value carries data (2 bytes); NULL has none"]
    );
}

#[test]
fn toast_unchanged_with_data() {
    let mut e = row_event(OperationType::Update);
    e.new_row = Some(Row::new(vec![
        int4(1),
        ColumnValue::from_pg_binary(TypeTag::ToastUnchanged, 25, vec![7]),
    ]));
    assert_eq!(
        messages_of_event(&e),
        ["new_row.values[1].data: unchanged-TOAST marker carries data (1 byte); it has none"]
    );
}

#[test]
fn toast_unchanged_outside_an_update_s_new_row() {
    let mut e = insert();
    e.new_row = Some(Row::new(vec![int4(1), ColumnValue::unchanged(25)]));
    assert_eq!(
        messages_of_event(&e),
        ["new_row.values[1].type_tag: unchanged-TOAST marker in the new_row of an INSERT event; \
          PostgreSQL sends one only in the new_row of an UPDATE"]
    );
    let mut u = row_event(OperationType::Update);
    u.new_row = Some(Row::new(vec![int4(1), ColumnValue::unchanged(25)]));
    u.old_row = Some(Row::new(vec![int4(1), ColumnValue::unchanged(25)]));
    assert_eq!(
        u.validate().unwrap_err().0,
        vec![Violation {
            event_index: None,
            path: "old_row.values[1].type_tag".to_owned(),
            kind: ViolationKind::MisplacedToastUnchanged {
                operation: OperationType::Update,
                row: RowSide::Old
            },
        }]
    );
}

#[test]
fn row_change_in_a_control_batch() {
    let batch = DatabaseEventBatch::control(ControlDirective::DisableForeignKeys).and_events(vec![
        DatabaseEvent::new(OperationType::Begin, "", ""),
        insert(),
    ]);
    assert_eq!(
        messages_of_batch(&batch),
        ["events[1].operation: control batch (DISABLE_FOREIGN_KEYS) carries an INSERT row change"]
    );
}

#[test]
fn sync_sequences_without_sequence_values() {
    let batch = DatabaseEventBatch::control(ControlDirective::SyncSequences);
    assert_eq!(
        batch.validate().unwrap_err().0,
        vec![Violation {
            event_index: None,
            path: "sequence_values".to_owned(),
            kind: ViolationKind::MissingSequenceValues,
        }]
    );
    assert_eq!(
        messages_of_batch(&batch),
        ["sequence_values: SYNC_SEQUENCES batch has no sequence_values"]
    );
}

#[test]
fn sequence_values_without_sync_sequences() {
    let seqs = vec![SequenceValue::new("public", "s", 1)];
    let plain = DatabaseEventBatch::new().with_sequence_values(seqs.clone());
    assert_eq!(
        messages_of_batch(&plain),
        ["sequence_values: sequence_values on a batch without a control directive (needs SYNC_SEQUENCES)"]
    );
    let other = DatabaseEventBatch::control(ControlDirective::EnableForeignKeys)
        .with_sequence_values(vec![]);
    assert_eq!(
        messages_of_batch(&other),
        ["sequence_values: sequence_values on an ENABLE_FOREIGN_KEYS batch (needs SYNC_SEQUENCES)"]
    );
}

#[test]
fn ddl_without_ddl_sql() {
    let e = DatabaseEvent::new(OperationType::Ddl, "public", "users");
    assert_eq!(
        messages_of_event(&e),
        ["ddl_sql: DDL event has no ddl_sql statement"]
    );
    let mut empty = e.clone();
    empty.ddl_sql = Some(String::new());
    assert_eq!(
        empty.validate().unwrap_err().0[0].kind,
        ViolationKind::MissingDdlSql
    );
}

#[test]
fn ddl_fields_on_a_non_ddl_event() {
    let mut e = insert();
    e.ddl_sql = Some("DROP TABLE x".to_owned());
    e.ddl_object_type = Some("table".to_owned());
    assert_eq!(
        messages_of_event(&e),
        [
            "ddl_sql: ddl_sql on an INSERT event; only DDL events carry it",
            "ddl_object_type: ddl_object_type on an INSERT event; only DDL events carry it",
        ]
    );
}

#[test]
fn row_change_with_an_empty_table_name() {
    let mut e = insert();
    e.table.clear();
    assert_eq!(
        messages_of_event(&e),
        ["table: INSERT row change has an empty table name"]
    );
}

#[test]
fn duplicate_rel_id() {
    let mut other = users();
    other.table = "accounts".to_owned();
    let batch = DatabaseEventBatch::new().with_relations(vec![users(), other.clone(), other]);
    assert_eq!(
        messages_of_batch(&batch),
        [
            "relations[1].rel_id: rel_id 16384 already appears at relations[0]",
            "relations[2].rel_id: rel_id 16384 already appears at relations[0]",
        ]
    );
}

#[test]
fn type_oid_differs_from_the_column_s() {
    let mut e = insert();
    e.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int64, 20, vec![0; 8]),
        text("ann"),
    ]));
    e.relation_meta = Some(users());
    assert_eq!(
        messages_of_event(&e),
        ["new_row.values[0].type_oid: value has type OID 20 but column \"id\" of public.users has type OID 23"]
    );
    // OID 0 (unknown) and arrays are not compared; without a relation nothing is.
    e.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int32, 0, vec![0; 4]),
        ColumnValue::from_pg_binary(TypeTag::Array, 1009, vec![0; 20]),
    ]));
    assert_eq!(e.validate(), Ok(()));
    e.relation_meta = None;
    e.new_row = Some(Row::new(vec![int4(1), int4(2)]));
    assert_eq!(e.validate(), Ok(()));
}

#[test]
fn a_batch_reports_every_violation_in_field_order() {
    let mut bad_insert = insert();
    bad_insert.table.clear();
    bad_insert.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Uuid, 2950, vec![0; 15]),
        ColumnValue::from_pg_binary(TypeTag::Null, 0, vec![]),
        ColumnValue::unchanged(25),
    ]));
    let mut bad_update = row_event(OperationType::Update);
    bad_update.ddl_object_type = Some("table".to_owned());
    let batch = DatabaseEventBatch::control(ControlDirective::SyncSequences)
        .with_relations(vec![users(), users()])
        .and_events(vec![
            DatabaseEvent::new(OperationType::Ddl, "", ""),
            bad_insert,
            bad_update,
        ]);
    let errors = batch.validate().unwrap_err();
    let expected = [
        "relations[1].rel_id: rel_id 16384 already appears at relations[0]",
        "sequence_values: SYNC_SEQUENCES batch has no sequence_values",
        "events[0].ddl_sql: DDL event has no ddl_sql statement",
        "events[1].operation: control batch (SYNC_SEQUENCES) carries an INSERT row change",
        "events[1].table: INSERT row change has an empty table name",
        "events[1].new_row: new_row has 3 values but `columns` names 2 columns",
        "events[1].new_row.values[0].data: Uuid value has 15 bytes of data; its PostgreSQL binary form is 16 bytes",
        "events[1].new_row.values[1].data: Null value carries data (0 bytes); NULL has none",
        "events[1].new_row.values[2].type_tag: unchanged-TOAST marker in the new_row of an INSERT event; PostgreSQL sends one only in the new_row of an UPDATE",
        "events[2].operation: control batch (SYNC_SEQUENCES) carries an UPDATE row change",
        "events[2].new_row: UPDATE event has no new_row",
        "events[2].ddl_object_type: ddl_object_type on an UPDATE event; only DDL events carry it",
    ];
    assert_eq!(
        errors.0.iter().map(ToString::to_string).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(errors.len(), 12);
    assert_eq!(
        errors
            .violations()
            .iter()
            .map(|v| v.event_index)
            .collect::<Vec<_>>(),
        [
            None,
            None,
            Some(0),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            Some(2)
        ]
    );
    let display = errors.to_string();
    assert!(display.starts_with("12 violations:\n  relations[1].rel_id: "));
    assert_eq!(display.lines().count(), 13);
}

#[test]
fn a_single_violation_displays_on_one_line() {
    let err = row_event(OperationType::Delete).validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 violation: old_row: DELETE event has no old_row"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert_eq!(
        boxed.to_string(),
        "1 violation: old_row: DELETE event has no old_row"
    );
}
