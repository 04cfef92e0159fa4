//! `scry capture` against a real PostgreSQL server (`SCRY_PG_URL`, started by `.ci/test` with
//! `wal_level=logical`): the captured file holds every committed transaction exactly once,
//! also when the capture is killed with SIGKILL again and again while a workload runs.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_codec::frame::FrameReader;
use scry_types::{DatabaseEvent, OperationType};

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry capture against a server")
}

/// Drops the slot, publication and table an earlier run left, and makes them anew.
fn setup(url: &str, table: &str, slot: &str, publication: &str) -> Client {
    let mut c = Client::connect(url, NoTls).expect("connect");
    c.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        &[&slot],
    )
    .expect("drop slot");
    c.batch_execute(&format!(
        "DROP PUBLICATION IF EXISTS {publication};
         DROP TABLE IF EXISTS {table};
         CREATE TABLE {table} (id int4 PRIMARY KEY, n int4 NOT NULL, note text);
         CREATE PUBLICATION {publication} FOR TABLE {table};"
    ))
    .expect("schema");
    c.execute(
        "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
        &[&slot],
    )
    .expect("create slot");
    c
}

/// Every event of the framed file, in order.
fn events_of(path: &std::path::Path) -> Vec<DatabaseEvent> {
    let bytes = std::fs::read(path).expect("read the capture");
    FrameReader::new(&bytes[..])
        .flat_map(|frame| {
            let frame = frame.expect("every frame is whole");
            scry_codec::read_batch_bytes(&frame.payload)
                .expect("a batch")
                .events
        })
        .collect()
}

fn int4(value: &scry_types::ColumnValue) -> i32 {
    i32::from_be_bytes(
        value
            .as_bytes()
            .expect("a value")
            .try_into()
            .expect("4 bytes"),
    )
}

#[test]
fn capture_until_now_writes_each_transaction_once_and_resumes_sql() {
    capture_once("sql");
}

#[test]
fn capture_until_now_writes_each_transaction_once_and_resumes_stream() {
    capture_once("stream");
}

fn capture_once(source: &str) {
    let Some(url) = conninfo() else { return };
    let (table, slot, publication) = (
        format!("cap_once_{source}"),
        format!("cap_once_{source}_slot"),
        format!("cap_once_{source}_pub"),
    );
    let mut c = setup(&url, &table, &slot, &publication);
    let dir = scratch(&format!("capture_once_{source}"));
    let out = dir.join("cdc.scry");
    let out = out.to_str().expect("a UTF-8 path");
    for i in 0..3 {
        c.execute(&format!("INSERT INTO {table} VALUES ($1, 0, 'a')"), &[&i])
            .expect("insert");
    }
    c.batch_execute(&format!(
        "UPDATE {table} SET n = 1 WHERE id = 1; DELETE FROM {table} WHERE id = 2"
    ))
    .expect("update and delete");
    let args = [
        "capture",
        &url,
        "--slot",
        &slot,
        "--publication",
        &publication,
        "--out",
        out,
        "--until",
        "now",
        "--source",
        source,
    ];
    let first = scry(&args, None);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).starts_with("captured 4 transactions, 13 events,"),
        "{}",
        stderr(&first)
    );
    let events = events_of(std::path::Path::new(out));
    let ops: Vec<OperationType> = events.iter().map(|e| e.operation).collect();
    use OperationType::{Begin as B, Commit as C, Delete as D, Insert as I, Update as U};
    assert_eq!(ops, [B, I, C, B, I, C, B, I, C, B, U, D, C]);

    // Nothing new: a second run writes nothing and keeps the file.
    let again = scry(&args, None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).starts_with("captured 0 transactions, 0 events,"),
        "{}",
        stderr(&again)
    );
    assert_eq!(events_of(std::path::Path::new(out)).len(), 13);

    // A torn frame at the end (a crash mid-write) is cut off, and the capture goes on.
    let mut bytes = std::fs::read(out).expect("read");
    bytes.extend_from_slice(b"SCRY\x01\x02");
    std::fs::write(out, &bytes).expect("write");
    c.execute(&format!("INSERT INTO {table} VALUES (9, 0, 'b')"), &[])
        .expect("insert");
    let third = scry(&args, None);
    assert!(third.status.success(), "{}", stderr(&third));
    let events = events_of(std::path::Path::new(out));
    assert_eq!(events.len(), 16);
    assert_eq!(int4(&events[14].new_row.as_ref().unwrap().values[0]), 9);
    // The batches go on numbering from the file's last.
    let seqs: Vec<u64> = FrameReader::new(&std::fs::read(out).unwrap()[..])
        .map(|f| {
            scry_codec::BatchView::parse(&f.unwrap().payload)
                .unwrap()
                .batch_seq()
        })
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
}

#[test]
fn a_capture_killed_again_and_again_loses_and_repeats_nothing_sql() {
    killed_again_and_again("sql");
}

#[test]
fn a_capture_killed_again_and_again_loses_and_repeats_nothing_stream() {
    killed_again_and_again("stream");
}

fn killed_again_and_again(source: &'static str) {
    let Some(url) = conninfo() else { return };
    let (table, slot, publication) = (
        format!("cap_kill_{source}"),
        format!("cap_kill_{source}_slot"),
        format!("cap_kill_{source}_pub"),
    );
    let mut c = setup(&url, &table, &slot, &publication);
    let dir = scratch(&format!("capture_kill_{source}"));
    let out = dir.join("cdc.scry");
    let out = out.to_str().expect("a UTF-8 path").to_owned();
    const TRANSACTIONS: i32 = 400;
    // The workload: each transaction inserts a row and bumps the counter of an earlier one,
    // so a transaction applied twice would show as a duplicate insert or update.
    let workload_url = url.clone();
    let workload_table = table.clone();
    let workload = std::thread::spawn(move || {
        let table = workload_table;
        let mut w = Client::connect(&workload_url, NoTls).expect("connect");
        for i in 0..TRANSACTIONS {
            let mut tx = w.transaction().expect("begin");
            tx.execute(
                &format!("INSERT INTO {table} VALUES ($1, 0, repeat('x', 200))"),
                &[&i],
            )
            .expect("insert");
            tx.execute(
                &format!("UPDATE {table} SET n = n + 1 WHERE id = $1 / 2"),
                &[&i],
            )
            .expect("update");
            tx.commit().expect("commit");
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    let args = |until: bool| {
        let mut a = vec![
            "capture".to_owned(),
            url.clone(),
            "--slot".into(),
            slot.clone(),
            "--publication".into(),
            publication.clone(),
            "--source".into(),
            source.into(),
            "--out".into(),
            out.clone(),
            "--batch-events".into(),
            "2".into(), // transactions span frames, so kills land inside them too
        ];
        if until {
            a.extend(["--until".into(), "now".into()]);
        }
        a
    };
    // Kill the capture at ten points while the workload runs.
    let mut kills = 0;
    let mut sizes = Vec::new();
    for delay_ms in [35, 160, 80, 250, 55, 120, 200, 70, 140, 95] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(args(false))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scry capture");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        kills += 1;
        sizes.push(std::fs::metadata(&out).map_or(0, |m| m.len()));
    }
    // The kills landed while the capture was writing: the file grew between some of them
    // (a kill before a restarted capture has started writes nothing new).
    let mut grown = sizes.clone();
    grown.dedup();
    assert!(
        grown.iter().filter(|&&n| n > 0).count() >= 2,
        "file sizes after each kill: {sizes:?}"
    );
    workload.join().expect("workload");
    let last = scry(
        &args(true).iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert!(last.status.success(), "{}", stderr(&last));

    let events = events_of(std::path::Path::new(&out));
    let mut inserts: BTreeMap<i32, usize> = BTreeMap::new();
    let mut updates: BTreeMap<i32, usize> = BTreeMap::new();
    let mut commits = 0;
    for e in &events {
        match e.operation {
            OperationType::Insert => {
                *inserts
                    .entry(int4(&e.new_row.as_ref().unwrap().values[0]))
                    .or_default() += 1;
            }
            OperationType::Update => {
                *updates
                    .entry(int4(&e.new_row.as_ref().unwrap().values[0]))
                    .or_default() += 1;
            }
            OperationType::Commit => commits += 1,
            _ => {}
        }
    }
    let duplicates = inserts.values().filter(|&&n| n > 1).count();
    eprintln!(
        "{source}: {kills} kills (file bytes after each: {sizes:?}): {commits} transactions captured, {} distinct inserts, {duplicates} duplicated",
        inserts.len()
    );
    assert_eq!(duplicates, 0, "no transaction is written twice");
    assert_eq!(
        commits, TRANSACTIONS as usize,
        "every committed transaction, once"
    );
    assert_eq!(
        inserts.keys().copied().collect::<Vec<_>>(),
        (0..TRANSACTIONS).collect::<Vec<_>>()
    );
    // Each transaction bumps one row once (row i/2 exists by then): every update once.
    assert_eq!(updates.values().sum::<usize>(), TRANSACTIONS as usize);
    // The counters the target would have: what the source has.
    let source: Vec<(i32, i32)> = c
        .query(&format!("SELECT id, n FROM {table} ORDER BY id"), &[])
        .expect("read source")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut replayed: BTreeMap<i32, i32> = BTreeMap::new();
    for e in &events {
        let row = e.new_row.as_ref();
        match e.operation {
            OperationType::Insert => {
                replayed.insert(int4(&row.unwrap().values[0]), 0);
            }
            OperationType::Update => {
                let values = &row.unwrap().values;
                replayed.insert(int4(&values[0]), int4(&values[1]));
            }
            _ => {}
        }
    }
    assert_eq!(replayed.into_iter().collect::<Vec<_>>(), source);
}

#[test]
fn ddl_statements_arrive_in_order_with_the_rows_when_asked() {
    let Some(url) = conninfo() else { return };
    // An event trigger fires for all DDL of its database: this test gets a database of its
    // own, so the other tests' DDL neither reaches it nor gains messages from it.
    let mut admin = Client::connect(&url, NoTls).expect("connect");
    admin
        .execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            &[&"cap_ddl_slot"],
        )
        .expect("drop slot");
    admin
        .batch_execute("DROP DATABASE IF EXISTS scry_capture_ddl WITH (FORCE)")
        .expect("drop database");
    admin
        .batch_execute("CREATE DATABASE scry_capture_ddl")
        .expect("create database");
    let url = format!("{url} dbname=scry_capture_ddl");
    let mut c = setup(&url, "cap_ddl", "cap_ddl_slot", "cap_ddl_pub");
    let dir = scratch("capture_ddl");
    let out = dir.join("cdc.scry");
    let out = out.to_str().expect("a UTF-8 path");
    let args = [
        "capture",
        &url,
        "--slot",
        "cap_ddl_slot",
        "--publication",
        "cap_ddl_pub",
        "--out",
        out,
        "--until",
        "now",
        "--create",
        "--ddl",
        "--messages",
        "app",
    ];
    let first = scry(&args, None);
    assert!(first.status.success(), "{}", stderr(&first));
    c.batch_execute("INSERT INTO cap_ddl VALUES (1, 0, 'a')")
        .expect("insert");
    c.batch_execute("ALTER TABLE cap_ddl ADD COLUMN extra int4")
        .expect("alter");
    c.batch_execute("INSERT INTO cap_ddl VALUES (2, 0, 'b', 7)")
        .expect("insert");
    // A message outside any transaction, then two inside one: only prefix `app` is carried.
    // (The commit after the first flushes it to WAL, where decoding can read it.)
    c.batch_execute("SELECT pg_logical_emit_message(false, 'app', 'ping')")
        .expect("message");
    c.batch_execute(
        "BEGIN; INSERT INTO cap_ddl VALUES (3, 0, 'c', 8);
         SELECT pg_logical_emit_message(true, 'app', 'order 3 shipped');
         SELECT pg_logical_emit_message(true, 'other', 'not asked for');
         COMMIT",
    )
    .expect("messages in a transaction");
    let second = scry(&args, None);
    // The trigger fires for every DDL in the database: drop it before asserting.
    c.batch_execute("DROP EVENT TRIGGER IF EXISTS scry_ddl")
        .expect("drop trigger");
    assert!(second.status.success(), "{}", stderr(&second));
    let events = events_of(std::path::Path::new(out));
    let shape: Vec<(OperationType, usize)> = events
        .iter()
        .map(|e| {
            (
                e.operation,
                e.new_row.as_ref().map_or(0, |r| r.values.len()),
            )
        })
        .collect();
    use OperationType::{Begin as B, Commit as C, Ddl as D, Insert as I, Message as M};
    assert_eq!(
        shape,
        [
            (B, 0),
            (I, 3),
            (C, 0),
            (B, 0),
            (D, 0),
            (C, 0),
            (B, 0),
            (I, 4),
            (C, 0),
            (M, 2),
            (B, 0),
            (I, 4),
            (M, 2),
            (C, 0)
        ]
    );
    assert_eq!(
        events[4].ddl_sql.as_deref(),
        Some("ALTER TABLE cap_ddl ADD COLUMN extra int4")
    );
    assert_eq!(events[4].transaction_id, events[3].transaction_id);
    let message = |i: usize| events[i].as_logical_message().expect("a message event");
    assert_eq!(
        message(9),
        scry_types::LogicalMessage {
            prefix: "app",
            content: b"ping",
            transactional: false
        }
    );
    assert_eq!(events[9].transaction_id, 0);
    assert_eq!(
        message(12),
        scry_types::LogicalMessage {
            prefix: "app",
            content: b"order 3 shipped",
            transactional: true
        }
    );
    assert_eq!(events[12].transaction_id, events[10].transaction_id);
    assert!(events[8].position < events[9].position && events[9].position < events[12].position);
    assert!(
        stderr(&second).contains("; 1 logical message not carried (see --messages)"),
        "{}",
        stderr(&second)
    );
}

#[test]
fn a_snapshot_in_the_slots_exported_snapshot_meets_the_changes_with_no_gap_or_overlap() {
    let Some(url) = conninfo() else { return };
    let mut c = setup(&url, "cap_snap", "cap_snap_slot", "cap_snap_pub");
    // The slot is made by --snapshot.
    c.execute("SELECT pg_drop_replication_slot('cap_snap_slot')", &[])
        .expect("drop slot");
    let dir = scratch("capture_snapshot");
    let (snap, cdc) = (dir.join("snapshot.scry"), dir.join("cdc.scry"));
    let (snap, cdc) = (snap.to_str().unwrap(), cdc.to_str().unwrap());
    c.batch_execute("INSERT INTO cap_snap SELECT g, 0, 'before' FROM generate_series(0, 999) g")
        .expect("rows before");
    // Rows keep arriving, one transaction each, while the slot is created and the snapshot
    // is read, and after.
    const TOTAL: i32 = 3000;
    let workload_url = url.clone();
    let workload = std::thread::spawn(move || {
        let mut w = Client::connect(&workload_url, NoTls).expect("connect");
        for i in 1000..TOTAL {
            w.execute("INSERT INTO cap_snap VALUES ($1, 0, 'during')", &[&i])
                .expect("insert");
        }
    });
    std::thread::sleep(Duration::from_millis(30));
    let capture = |more: &[&str]| {
        let common = [
            "capture",
            &url,
            "--slot",
            "cap_snap_slot",
            "--publication",
            "cap_snap_pub",
            "--out",
            cdc,
        ];
        scry(&[&common[..], more].concat(), None)
    };
    let first = capture(&["--snapshot", snap, "--until", "now"]);
    assert!(first.status.success(), "{}", stderr(&first));
    workload.join().expect("workload");
    let rest = capture(&["--until", "now"]);
    assert!(rest.status.success(), "{}", stderr(&rest));

    let ids = |path: &str, op: OperationType| -> Vec<i32> {
        events_of(std::path::Path::new(path))
            .iter()
            .filter(|e| e.operation == op)
            .map(|e| int4(&e.new_row.as_ref().unwrap().values[0]))
            .collect()
    };
    let in_snapshot = ids(snap, OperationType::SnapshotRow);
    let in_changes = ids(cdc, OperationType::Insert);
    eprintln!(
        "{} rows in the snapshot, {} inserts captured after it",
        in_snapshot.len(),
        in_changes.len()
    );
    assert!(in_snapshot.len() >= 1000 && !in_changes.is_empty());
    let mut all: Vec<i32> = in_snapshot.iter().chain(&in_changes).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..TOTAL).collect::<Vec<_>>(),
        "every row once: no gap, no overlap"
    );

    // A second --snapshot on the existing slot is refused.
    let again = capture(&["--snapshot", snap]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("--snapshot needs a new slot"),
        "{}",
        stderr(&again)
    );
}
