//! The canonical cases: fixed, realistic protocol values whose wire bytes are pinned by
//! snapshot tests. Every timestamp, LSN, transaction ID and OID is a constant, so the bytes
//! never change unless the encoding does.

use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

/// One canonical case: a name (usable as a file name) and a batch or a single event.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalCase {
    /// Lower-snake-case name, unique among the cases.
    pub name: String,
    /// What the case shows, in one line.
    pub description: String,
    /// The value.
    pub payload: CanonicalPayload,
}

/// What a canonical case encodes: a whole batch or a single event.
#[derive(Debug, Clone, PartialEq)]
pub enum CanonicalPayload {
    /// Encoded with `serialize_batch`.
    Batch(DatabaseEventBatch),
    /// Encoded with `serialize_event`.
    Event(DatabaseEvent),
}

/// 2024-03-01 12:00:00 UTC in microseconds since the Unix epoch.
pub const T0_UNIX_US: u64 = 1_709_294_400_000_000;
/// The same instant as PostgreSQL's binary `timestamptz`: microseconds since 2000-01-01.
pub const T0_PG_US: i64 = 762_609_600_000_000;
/// The LSN of the first event (`16/B374D848`).
pub const LSN0: u64 = 0x16_B374_D848;
/// The transaction ID of the CDC transaction.
pub const XID: u64 = 771;
/// The OID of `public.users`.
pub const USERS_REL_ID: u32 = 16_384;

const OID_BOOL: u32 = 16;
const OID_INT4: u32 = 23;
const OID_TEXT: u32 = 25;
const OID_TIMESTAMPTZ: u32 = 1184;
const OID_BYTEA: u32 = 17;

/// An `int4` value in PostgreSQL's binary format.
#[must_use]
pub fn int4(v: i32) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int32, OID_INT4, v.to_be_bytes().to_vec())
}

/// A `text` value in PostgreSQL's binary format (its UTF-8 bytes).
#[must_use]
pub fn text(v: &str) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Text, OID_TEXT, v.as_bytes().to_vec())
}

/// A `bool` value in PostgreSQL's binary format.
#[must_use]
pub fn boolean(v: bool) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Bool, OID_BOOL, vec![u8::from(v)])
}

/// A `timestamptz` `seconds` after [`T0_PG_US`], in PostgreSQL's binary format.
#[must_use]
pub fn timestamptz_after(seconds: i64) -> ColumnValue {
    let us = T0_PG_US + seconds * 1_000_000;
    ColumnValue::from_pg_binary(
        TypeTag::TimestampTz,
        OID_TIMESTAMPTZ,
        us.to_be_bytes().to_vec(),
    )
}

/// A `bytea` value of `len` bytes following a fixed pattern.
#[must_use]
pub fn bytea_of_len(len: usize) -> ColumnValue {
    let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    ColumnValue::from_pg_binary(TypeTag::Bytea, OID_BYTEA, data)
}

/// `public.users (id int4 key, email text, created_at timestamptz, active bool, bio text)`.
#[must_use]
pub fn users_relation(identity: ReplicaIdentity) -> RelationMeta {
    RelationMeta::new(
        USERS_REL_ID,
        "public",
        "users",
        vec![
            ColumnMeta::new("id", OID_INT4).key(),
            ColumnMeta::new("email", OID_TEXT),
            ColumnMeta::new("created_at", OID_TIMESTAMPTZ),
            ColumnMeta::new("active", OID_BOOL),
            ColumnMeta::new("bio", OID_TEXT),
        ],
    )
    .with_replica_identity(identity)
}

fn users_columns() -> Vec<String> {
    ["id", "email", "created_at", "active", "bio"]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// A full row of `public.users`.
#[must_use]
pub fn users_row(id: i32, email: &str, active: bool, bio: Option<&str>) -> Row {
    Row::new(vec![
        int4(id),
        text(email),
        timestamptz_after(i64::from(id)),
        boolean(active),
        bio.map_or_else(ColumnValue::null, text),
    ])
}

/// An event with fixed metadata: timestamp `T0 + step` µs, LSN `LSN0 + 0x40 * step`.
fn event(op: OperationType, schema: &str, table: &str, step: u64) -> DatabaseEvent {
    let mut e = DatabaseEvent::new(op, schema, table);
    e.timestamp_us = T0_UNIX_US + step;
    e.position = LSN0 + 0x40 * step;
    e
}

fn users_event(op: OperationType, step: u64) -> DatabaseEvent {
    let mut e = event(op, "public", "users", step);
    e.transaction_id = XID;
    e.columns = users_columns();
    e
}

/// A typical event of each operation type.
#[must_use]
pub fn operation_event(op: OperationType) -> DatabaseEvent {
    match op {
        OperationType::Insert => {
            let mut e = users_event(op, 1);
            e.event_id = Some("5f0c6a8e-3b1d-4c2a-9e7f-0a1b2c3d4e5f".to_owned());
            e.new_row = Some(users_row(1, "ada@example.org", true, Some("Analyst")));
            e
        }
        OperationType::Update => {
            let mut e = users_event(op, 2);
            let mut new = users_row(1, "ada@example.com", true, None);
            new.values[4] = ColumnValue::unchanged(OID_TEXT);
            e.new_row = Some(new);
            e.old_row = Some(users_row(1, "ada@example.org", true, Some("Analyst")));
            e
        }
        OperationType::Delete => {
            let mut e = users_event(op, 3);
            e.old_row = Some(Row::new(vec![int4(2)]));
            e.columns = vec!["id".to_owned()];
            e
        }
        OperationType::Truncate => {
            let mut e = event(op, "public", "audit_log", 4);
            e.transaction_id = XID + 1;
            e
        }
        OperationType::Begin | OperationType::Commit | OperationType::Rollback => {
            let mut e = event(op, "", "", 5);
            e.transaction_id = XID;
            e
        }
        OperationType::SnapshotRow => {
            let mut e = event(op, "public", "users", 6);
            e.columns = users_columns();
            e.new_row = Some(users_row(7, "grace@example.org", false, Some("Admiral")));
            e
        }
        OperationType::SnapshotBegin => {
            let mut e = event(op, "public", "users", 7);
            e.columns = users_columns();
            e.relation_meta = Some(users_relation(ReplicaIdentity::Default));
            e
        }
        OperationType::SnapshotEnd => event(op, "public", "users", 8),
        OperationType::Ddl => {
            let mut e = event(op, "public", "users", 9);
            e.transaction_id = XID + 2;
            e.ddl_sql = Some("ALTER TABLE public.users ADD COLUMN last_login timestamptz".into());
            e.ddl_object_type = Some("table".to_owned());
            e
        }
        OperationType::SequenceSync
        | OperationType::DisableForeignKeys
        | OperationType::EnableForeignKeys
        | OperationType::DdlComplete
        | OperationType::BackfillComplete
        | OperationType::BackfillStart => event(op, "", "", 10),
        OperationType::Message => {
            let mut e = DatabaseEvent::logical_message("audit", &b"user 7 signed in"[..], true);
            e.timestamp_us = T0_UNIX_US + 11;
            e.position = LSN0 + 0x40 * 11;
            e.transaction_id = XID + 3;
            e
        }
    }
}

fn case(
    name: impl Into<String>,
    description: impl Into<String>,
    payload: CanonicalPayload,
) -> CanonicalCase {
    CanonicalCase {
        name: name.into(),
        description: description.into(),
        payload,
    }
}

fn single_value_event(value: ColumnValue, step: u64) -> DatabaseEvent {
    let mut e = event(OperationType::Insert, "public", "blobs", step);
    e.transaction_id = XID + 3;
    e.columns = vec!["body".to_owned()];
    e.new_row = Some(Row::new(vec![value]));
    e
}

/// Every canonical case, in a fixed order with unique names.
#[must_use]
pub fn canonical_cases() -> Vec<CanonicalCase> {
    let mut cases: Vec<CanonicalCase> = OperationType::ALL
        .iter()
        .map(|&op| {
            case(
                format!("event_{}", op.label().to_ascii_lowercase()),
                format!("A single {op} event as a typical producer writes it."),
                CanonicalPayload::Event(operation_event(op)),
            )
        })
        .collect();

    let full = users_relation(ReplicaIdentity::Full);
    let mut begin = operation_event(OperationType::Begin);
    begin.position = LSN0;
    let mut insert = users_event(OperationType::Insert, 1);
    insert.new_row = Some(users_row(3, "linus@example.org", true, Some("Kernel")));
    let mut update = operation_event(OperationType::Update);
    update.relation_meta = None;
    let mut delete = users_event(OperationType::Delete, 3);
    delete.old_row = Some(users_row(2, "bob@example.org", false, None));
    let mut commit = operation_event(OperationType::Commit);
    commit.position = LSN0 + 0x100;
    cases.push(case(
        "batch_cdc_transaction",
        "A CDC transaction: BEGIN, INSERT, UPDATE with the old row (REPLICA IDENTITY FULL) and an unchanged TOAST value, DELETE of the full old row, COMMIT; the relation in batch.relations.",
        CanonicalPayload::Batch(
            DatabaseEventBatch::with_events(vec![begin, insert, update, delete, commit])
                .with_source_id("cdc-main")
                .with_batch_seq(41)
                .with_relations(vec![full]),
        ),
    ));

    let snapshot_rows = [
        (1, "ada@example.org", true, Some("Analyst")),
        (2, "bob@example.org", false, None),
        (3, "émile@exemple.fr", true, Some("Élève — « né » à Zürich")),
    ];
    let mut copy = vec![operation_event(OperationType::SnapshotBegin)];
    copy.extend(
        snapshot_rows
            .iter()
            .enumerate()
            .map(|(i, &(id, email, active, bio))| {
                let mut e = event(OperationType::SnapshotRow, "public", "users", 20 + i as u64);
                e.columns = users_columns();
                e.new_row = Some(users_row(id, email, active, bio));
                e
            }),
    );
    copy.push(operation_event(OperationType::SnapshotEnd));
    cases.push(case(
        "batch_copy_snapshot",
        "A COPY snapshot of public.users: SNAPSHOT_BEGIN with relation_meta, three rows (one with a NULL, one non-ASCII), SNAPSHOT_END.",
        CanonicalPayload::Batch(
            DatabaseEventBatch::with_events(copy)
                .with_source_id("copy-users")
                .with_batch_seq(0),
        ),
    ));

    // A table's first batch as `scry snapshot` writes it: the begin event's relation is the
    // batch's too, so the compact encoding's `metas` names it by its index in `relations`.
    let begin = operation_event(OperationType::SnapshotBegin);
    let relations: Vec<_> = begin.relation_meta.iter().cloned().collect();
    let mut row = event(OperationType::SnapshotRow, "public", "users", 20);
    row.columns = users_columns();
    row.new_row = Some(users_row(1, "ada@example.org", true, Some("Analyst")));
    cases.push(case(
        "batch_snapshot_first",
        "A table's first snapshot batch: SNAPSHOT_BEGIN whose relation_meta is also the batch's relation, one row.",
        CanonicalPayload::Batch(
            DatabaseEventBatch::with_events(vec![begin, row])
                .with_source_id("copy-users")
                .with_relations(relations)
                .with_batch_seq(0),
        ),
    ));

    for &directive in ControlDirective::ALL {
        let batch = if directive == ControlDirective::SyncSequences {
            DatabaseEventBatch::sequence_sync(vec![
                SequenceValue::new("public", "users_id_seq", 3),
                SequenceValue {
                    schema: "billing".to_owned(),
                    name: "invoice_no_seq".to_owned(),
                    last_value: 1,
                    is_called: false,
                    increment_by: 1,
                    min_value: 1,
                    max_value: i64::MAX,
                },
                SequenceValue {
                    schema: "public".to_owned(),
                    name: "countdown_seq".to_owned(),
                    last_value: -42,
                    is_called: true,
                    increment_by: -1,
                    min_value: i64::MIN,
                    max_value: -1,
                },
            ])
        } else {
            DatabaseEventBatch::control(directive)
        };
        cases.push(case(
            format!("batch_control_{}", directive.label().to_ascii_lowercase()),
            format!("The {directive} control batch (no events)."),
            CanonicalPayload::Batch(batch.with_source_id("backfill-1").with_batch_seq(7)),
        ));
    }

    cases.push(case(
        "batch_backfill_start",
        "A BACKFILL_START event in a batch carrying BackfillMetadata.",
        CanonicalPayload::Batch(
            DatabaseEventBatch::with_events(vec![operation_event(OperationType::BackfillStart)])
                .with_source_id("backfill-1")
                .with_batch_seq(1)
                .with_backfill_metadata(BackfillMetadata::new(12, 48_000_000_000)),
        ),
    ));

    cases.push(case(
        "batch_ddl",
        "A DDL statement with its object type, then DDL_COMPLETE.",
        CanonicalPayload::Batch(
            DatabaseEventBatch::with_events(vec![
                operation_event(OperationType::Ddl),
                operation_event(OperationType::DdlComplete),
            ])
            .with_source_id("backfill-1")
            .with_batch_seq(2),
        ),
    ));

    cases.push(case(
        "batch_empty",
        "A batch with no events and every optional field absent.",
        CanonicalPayload::Batch(DatabaseEventBatch::new()),
    ));

    let mut nulls = users_event(OperationType::Update, 30);
    nulls.new_row = Some(Row::new(vec![
        int4(5),
        ColumnValue::null(),
        ColumnValue::unchanged(OID_TIMESTAMPTZ),
        ColumnValue::null(),
        ColumnValue::unchanged(OID_TEXT),
    ]));
    // pgoutput's key-only old tuple ('K'): one value per column, NULL for the non-key ones.
    nulls.old_row = Some(Row::new(vec![
        int4(5),
        ColumnValue::null(),
        ColumnValue::null(),
        ColumnValue::null(),
        ColumnValue::null(),
    ]));
    cases.push(case(
        "event_nulls_and_toast",
        "An UPDATE whose new row mixes values, NULLs and unchanged-TOAST markers; key-only old row (non-key columns NULL, as pgoutput sends it).",
        CanonicalPayload::Event(nulls),
    ));

    let mut small = single_value_event(bytea_of_len(0), 40);
    small.columns = (0..=5).map(|n| format!("b{n}")).collect();
    small.new_row = Some((0..=5).map(bytea_of_len).collect());
    cases.push(case(
        "event_data_0_to_5_bytes",
        "Values of 0 to 5 bytes: 2, 3 and 4 bytes are fixed-length typed vectors without a length.",
        CanonicalPayload::Event(small),
    ));
    for (step, len) in [(41u64, 255usize), (42, 256), (43, 65_535), (44, 65_536)] {
        cases.push(case(
            format!("event_data_{len}_bytes"),
            format!("One bytea value of {len} bytes (the slot width changes at 256 and 65,536)."),
            CanonicalPayload::Event(single_value_event(bytea_of_len(len), step)),
        ));
    }

    let mut unicode = event(OperationType::Insert, "données", "événements_日本", 50);
    unicode.event_id = Some(String::new());
    unicode.columns = vec!["名前".to_owned(), String::new(), "emoji 🦀".to_owned()];
    unicode.new_row = Some(Row::new(vec![text("こんにちは"), text(""), text("🦀")]));
    cases.push(case(
        "event_non_ascii_and_empty_strings",
        "Non-ASCII schema, table, column names and text values, and empty strings.",
        CanonicalPayload::Event(unicode),
    ));

    let mut extremes = event(OperationType::Update, "public", "limits", 0);
    extremes.timestamp_us = u64::MAX;
    extremes.position = u64::MAX;
    extremes.transaction_id = u64::from(u32::MAX) + 1;
    extremes.new_row = Some(Row::new(vec![
        ColumnValue::from_pg_binary(TypeTag::Int64, 20, i64::MIN.to_be_bytes().to_vec()),
        ColumnValue::from_pg_binary(TypeTag::Custom, u32::MAX, vec![0xFF; 8]),
    ]));
    extremes.relation_meta = Some(
        RelationMeta::new(
            u32::MAX,
            "public",
            "limits",
            vec![
                ColumnMeta::new("a", 20).type_modifier(i32::MIN),
                ColumnMeta::new("b", u32::MAX).type_modifier(i32::MAX),
            ],
        )
        .with_replica_identity(ReplicaIdentity::Index),
    );
    cases.push(case(
        "event_integer_extremes",
        "u64::MAX timestamp and LSN, a transaction ID past u32, u32::MAX OIDs, i32 extremes of type modifiers.",
        CanonicalPayload::Event(extremes),
    ));

    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_file_names() {
        let cases = canonical_cases();
        let names: BTreeSet<_> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), cases.len());
        for name in names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn cases_are_deterministic_and_cover_the_protocol() {
        assert_eq!(canonical_cases(), canonical_cases());
        let cases = canonical_cases();
        let mut ops = BTreeSet::new();
        let mut directives = BTreeSet::new();
        for c in &cases {
            match &c.payload {
                CanonicalPayload::Event(e) => {
                    ops.insert(e.operation);
                }
                CanonicalPayload::Batch(b) => {
                    ops.extend(b.events.iter().map(|e| e.operation));
                    directives.extend(b.control_directive);
                }
            }
        }
        assert_eq!(ops.len(), OperationType::ALL.len());
        assert_eq!(directives.len(), ControlDirective::ALL.len());
        assert_eq!(cases.len(), OperationType::ALL.len() + 17);
    }

    #[test]
    fn pg_binary_helpers() {
        assert_eq!(int4(1).as_bytes(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(boolean(true).as_bytes(), Some(&[1u8][..]));
        // 2024-03-01 12:00:00 UTC is 762,609,600 s after 2000-01-01 and 1,709,294,400 s after 1970.
        assert_eq!(
            T0_PG_US / 1_000_000 + 946_684_800,
            (T0_UNIX_US / 1_000_000) as i64
        );
        assert_eq!(
            timestamptz_after(0).as_bytes(),
            Some(&T0_PG_US.to_be_bytes()[..])
        );
        assert_eq!(bytea_of_len(300).as_bytes().map(<[u8]>::len), Some(300));
    }
}

#[cfg(test)]
mod validity {
    use super::*;

    /// The canonical cases show what producers send, so every one passes semantic validation.
    #[test]
    fn every_canonical_case_is_valid() {
        let invalid: Vec<String> = canonical_cases()
            .iter()
            .filter_map(|case| {
                let result = match &case.payload {
                    CanonicalPayload::Batch(b) => b.validate(),
                    CanonicalPayload::Event(e) => e.validate(),
                };
                result.err().map(|e| format!("{}: {e}", case.name))
            })
            .collect();
        assert!(invalid.is_empty(), "{invalid:#?}");
    }
}
