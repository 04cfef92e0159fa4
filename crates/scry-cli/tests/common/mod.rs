//! Fixed inputs and helpers of the end-to-end tests.
#![allow(dead_code)]

pub mod dozen;
pub mod metrics;
pub mod pg;
pub mod replica;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use scry_codec::frame::FrameWriter;
use scry_types::{
    ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch, OperationType,
    RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

/// A scratch directory for one test, emptied first.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scry-cli")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `scry` with these arguments and, when given, this standard input.
pub fn scry(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry");
    // Feed standard input from another thread: scry streams framed input, so it may fill
    // the stdout pipe before it has read all of its input.
    let feeder = stdin.map(|input| {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            // scry may exit before reading everything (an error, a --limit): not a failure.
            let _ = pipe.write_all(&input);
        })
    });
    let output = child.wait_with_output().expect("wait for scry");
    if let Some(feeder) = feeder {
        feeder.join().expect("stdin feeder");
    }
    output
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// The users relation of the fixtures.
pub fn users_relation() -> RelationMeta {
    RelationMeta::new(
        16384,
        "public",
        "users",
        vec![
            ColumnMeta::new("id", 23).key(),
            ColumnMeta::new("name", 25),
            ColumnMeta::new("bio", 25),
            ColumnMeta::new("score", 16999),
        ],
    )
    .with_replica_identity(ReplicaIdentity::Full)
}

fn int4(v: i32) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Int32, 23, v.to_be_bytes().to_vec())
}

fn text(s: &str) -> ColumnValue {
    ColumnValue::from_pg_binary(TypeTag::Text, 25, s.as_bytes().to_vec())
}

fn columns() -> Vec<String> {
    ["id", "name", "bio", "score"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// A CDC transaction on public.users: BEGIN, INSERT, UPDATE (with an unchanged TOAST value),
/// DELETE, COMMIT.
pub fn cdc_batch() -> DatabaseEventBatch {
    let base = |op, table: &str, lsn: u64| DatabaseEvent {
        timestamp_us: 1_700_000_000_000_000 + lsn % 1000,
        position: lsn,
        transaction_id: 742,
        ..DatabaseEvent::new(op, if table.is_empty() { "" } else { "public" }, table)
    };
    let mut begin = base(OperationType::Begin, "", 0x16_B374_D800);
    begin.event_id = Some("tx-742".to_owned());
    let mut insert = base(OperationType::Insert, "users", 0x16_B374_D848);
    insert.columns = columns();
    insert.new_row = Some(Row::new(vec![
        int4(42),
        text("alice smith"),
        ColumnValue::null(),
        ColumnValue::from_pg_binary(TypeTag::Custom, 16999, vec![0xde, 0xad, 0xbe, 0xef]),
    ]));
    let mut update = base(OperationType::Update, "users", 0x16_B374_D8A0);
    update.columns = columns();
    update.new_row = Some(Row::new(vec![
        int4(42),
        text("alice"),
        ColumnValue::unchanged(25),
        ColumnValue::null(),
    ]));
    update.old_row = Some(Row::new(vec![
        int4(42),
        text("alice smith"),
        text("long bio"),
        ColumnValue::null(),
    ]));
    let mut delete = base(OperationType::Delete, "users", 0x16_B374_D900);
    delete.columns = columns();
    delete.old_row = Some(Row::new(vec![
        int4(7),
        ColumnValue::null(),
        ColumnValue::null(),
        ColumnValue::null(),
    ]));
    let commit = base(OperationType::Commit, "", 0x16_B374_D950);
    DatabaseEventBatch::with_events(vec![begin, insert, update, delete, commit])
        .with_source_id("cdc-1")
        .with_batch_seq(7)
        .with_relations(vec![users_relation()])
}

/// A SyncSequences control batch.
pub fn sequence_batch() -> DatabaseEventBatch {
    DatabaseEventBatch::sequence_sync(vec![SequenceValue::new("public", "users_id_seq", 42)])
        .with_batch_seq(8)
}

/// A DDL event, alone.
pub fn ddl_event() -> DatabaseEvent {
    let mut e = DatabaseEvent::new(OperationType::Ddl, "public", "users");
    e.ddl_sql = Some("ALTER TABLE users ADD COLUMN age int4".to_owned());
    e.ddl_object_type = Some("table".to_owned());
    e.position = 0x17_0000_0010;
    e.timestamp_us = 1_700_000_001_000_000;
    e
}

/// A framed stream of the CDC batch, the sequence batch and the DDL event.
pub fn framed_stream() -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new());
    w.write_batch(&cdc_batch()).expect("frame");
    w.write_batch(&sequence_batch()).expect("frame");
    w.write_event(&ddl_event()).expect("frame");
    w.into_inner()
}

/// An invalid batch: an INSERT without new_row, and an int4 value of 3 bytes.
pub fn invalid_batch() -> DatabaseEventBatch {
    let mut missing = DatabaseEvent::new(OperationType::Insert, "public", "users");
    missing.position = 1;
    let mut short = DatabaseEvent::new(OperationType::Insert, "public", "users");
    short.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
        TypeTag::Int32,
        23,
        vec![0, 0, 1],
    )]));
    DatabaseEventBatch::with_events(vec![missing, short]).with_batch_seq(9)
}

/// A control batch (unused by most tests).
pub fn control_batch() -> DatabaseEventBatch {
    DatabaseEventBatch::control(ControlDirective::DisableForeignKeys)
}
