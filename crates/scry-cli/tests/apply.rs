//! `scry capture` then `scry apply` against a real PostgreSQL server (`SCRY_PG_URL`): the
//! target database ends equal to the source, applying again changes nothing, and an apply
//! killed with SIGKILL again and again and restarted applies every transaction exactly once.
//! A snapshot (`capture --snapshot`) applied by `scry apply` and the changes after it, piped
//! from `capture --out -`, give the source's tables too, and the snapshot applied again later
//! is passed over. A pipe whose apply dies before it commits what the capture wrote loses
//! nothing: the capture confirmed the slot only as far as the target had committed.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::pg::{apply_with_kills, drop_origin};
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry apply against a server")
}

/// The databases `{name}_src` and `{name}_dst`, fresh, both with `schema`; the source
/// publishes every table as `p` and has the slot `{name}_slot`. Returns the source's
/// connection string and a client of it, and the target's connection string.
fn source_and_target(url: &str, name: &str, schema: &str) -> (String, Client, String) {
    let source = fresh_database(url, &format!("{name}_src"));
    let target = fresh_database(url, &format!("{name}_dst"));
    let mut s = Client::connect(&source, NoTls).expect("connect source");
    s.batch_execute(schema).expect("source schema");
    s.batch_execute("CREATE PUBLICATION p FOR ALL TABLES")
        .expect("publication");
    fresh_slot(&mut s, &format!("{name}_slot"));
    Client::connect(&target, NoTls)
        .expect("connect target")
        .batch_execute(schema)
        .expect("target schema");
    (source, s, target)
}

fn fresh_slot(c: &mut Client, slot: &str) {
    c.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        &[&slot],
    )
    .expect("drop slot");
    c.execute(
        "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
        &[&slot],
    )
    .expect("create slot");
}

/// `scry capture` of `slot` (publication `p`) from `source` into `file`, up to now.
fn capture_until_now(source: &str, slot: &str, file: &str) {
    capture_until_now_with(source, slot, file, &[]);
}

/// `scry capture` of publication `p` through `slot` into `file`, until now, with `more`
/// options; it must succeed.
fn capture_until_now_with(source: &str, slot: &str, file: &str, more: &[&str]) {
    let args = [
        "capture",
        source,
        "--slot",
        slot,
        "--publication",
        "p",
        "--out",
        file,
        "--until",
        "now",
    ];
    let out = scry(&[&args[..], more].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Every row of `table` as JSON text, in key order.
fn rows(url: &str, table: &str, order: &str) -> Vec<String> {
    let mut c = Client::connect(url, NoTls).expect("connect");
    c.query(
        &format!("SELECT row_to_json(t)::text FROM {table} t ORDER BY {order}"),
        &[],
    )
    .expect("read rows")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

const SCHEMA: &str = "
    CREATE TABLE items (id int4 PRIMARY KEY, name text, note text, qty int8, price numeric(10,2));
    ALTER TABLE items ALTER COLUMN note SET STORAGE EXTERNAL;
    CREATE TABLE loose (a int4, b text);
    ALTER TABLE loose REPLICA IDENTITY FULL;";

#[test]
fn apply_reproduces_the_source_and_skips_what_it_already_has() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "apply_once");
    let (source, mut s, target) = source_and_target(&url, "scry_apply", SCHEMA);

    let note: String = (0..12_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    s.execute(
        "INSERT INTO items VALUES (1, 'one', $1, 10, 1.50), (2, 'two', NULL, 20, 2.25), (3, 'three', 'x', 30, NULL)",
        &[&note],
    )
    .expect("insert");
    for sql in [
        "UPDATE items SET qty = qty + 1 WHERE id = 1", // the TOASTed note stays unsent
        "UPDATE items SET id = 4 WHERE id = 2",        // a key change
        "DELETE FROM items WHERE id = 3",
        "INSERT INTO loose VALUES (1, 'a'), (1, 'a'), (2, NULL)", // alike rows, no key
        "UPDATE loose SET b = 'b' WHERE a = 2",
        "DELETE FROM loose WHERE ctid = (SELECT ctid FROM loose WHERE a = 1 LIMIT 1)",
        "BEGIN; INSERT INTO items VALUES (9, 'rolled back', NULL, 0, 0); ROLLBACK",
        "BEGIN; INSERT INTO items VALUES (5, 'five', NULL, 50, 5); UPDATE items SET name = 'ONE' WHERE id = 1; COMMIT",
        // More statements than one pipeline holds: sent in parts before the Commit.
        "INSERT INTO loose SELECT g, 'bulk' FROM generate_series(100, 2599) g",
    ] {
        s.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let dir = scratch("apply_once");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("a UTF-8 path");
    capture_until_now(&source, "scry_apply_slot", file);

    let applied = scry(&["apply", &target, file, "--origin", "apply_once"], None);
    assert!(applied.status.success(), "{}", stderr(&applied));
    eprint!("{}", stderr(&applied));
    assert!(
        stderr(&applied).starts_with("applied 9 transactions (2513 changes)"),
        "{}",
        stderr(&applied)
    );
    for (table, order) in [("items", "id"), ("loose", "a, b")] {
        assert_eq!(
            rows(&target, table, order),
            rows(&source, table, order),
            "{table}"
        );
    }
    // The TOASTed note the update did not send is still the inserted one on the target.
    assert_eq!(
        Client::connect(&target, NoTls)
            .unwrap()
            .query_one("SELECT length(note), name FROM items WHERE id = 1", &[])
            .map(|r| (r.get::<_, i32>(0), r.get::<_, String>(1)))
            .unwrap(),
        (12_000, "ONE".to_owned())
    );

    // Again: everything is there already.
    let again = scry(&["apply", &target, file, "--origin", "apply_once"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    eprint!("{}", stderr(&again));
    assert!(
        stderr(&again).starts_with("applied 0 transactions (0 changes)")
            && stderr(&again).contains("; 9 already applied skipped"),
        "{}",
        stderr(&again)
    );
    assert_eq!(rows(&target, "items", "id"), rows(&source, "items", "id"));

    // A change the target refuses stops the apply with the LSN, table and key. The three
    // transactions travel in one pipeline: the one before the refused one commits, the
    // refused one and the one after it do not.
    Client::connect(&target, NoTls)
        .unwrap()
        .batch_execute("DELETE FROM items WHERE id = 5")
        .unwrap();
    for sql in [
        "INSERT INTO items VALUES (6, 'six', NULL, 60, 6)",
        "UPDATE items SET qty = 0 WHERE id = 5",
        "INSERT INTO items VALUES (7, 'seven', NULL, 70, 7)",
    ] {
        s.batch_execute(sql).unwrap();
    }
    capture_until_now(&source, "scry_apply_slot", file);
    let refused = scry(&["apply", &target, file, "--origin", "apply_once"], None);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    eprint!("{message}");
    assert!(
        message.contains("public.items (id = 5): UPDATE found no row with that key"),
        "{message}"
    );
    let ids = |c: &mut Client| -> Vec<i32> {
        c.query("SELECT id FROM items WHERE id > 5 ORDER BY id", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(ids(&mut Client::connect(&target, NoTls).unwrap()), [6]);
    // With --on-conflict log the change is skipped, printed, and counted.
    let logged = scry(
        &[
            "apply",
            &target,
            file,
            "--origin",
            "apply_once",
            "--on-conflict",
            "log",
        ],
        None,
    );
    assert!(logged.status.success(), "{}", stderr(&logged));
    let message = stderr(&logged);
    eprint!("{message}");
    assert!(
        message.contains("public.items (id = 5): UPDATE found no row with that key, skipped"),
        "{message}"
    );
    assert!(
        message.contains("applied 2 transactions (1 changes)")
            && message.contains("; 10 already applied skipped; 1 conflicts skipped;"),
        "{message}"
    );
    assert_eq!(ids(&mut Client::connect(&target, NoTls).unwrap()), [6, 7]);
}

#[test]
fn apply_follows_a_file_that_capture_appends_to() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "follow_test");
    let schema = "CREATE TABLE t (id int4 PRIMARY KEY, v text)";
    let (source, mut s, target) = source_and_target(&url, "scry_apply_follow", schema);
    let dir = scratch("apply_follow");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("a UTF-8 path").to_owned();
    std::fs::write(&file, b"").expect("an empty file");
    let follower = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "apply",
            &target,
            &file,
            "--origin",
            "follow_test",
            "--follow",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry apply --follow");
    let capture = |s: &mut Client, rows: std::ops::Range<i32>| {
        for i in rows {
            s.execute("INSERT INTO t VALUES ($1, 'v')", &[&i])
                .expect("insert");
        }
        capture_until_now(&source, "scry_apply_follow_slot", &file);
    };
    let target_rows = || -> i64 {
        Client::connect(&target, NoTls)
            .unwrap()
            .query_one("SELECT count(*) FROM t", &[])
            .unwrap()
            .get(0)
    };
    let wait_for = |n: i64| {
        for _ in 0..100 {
            if target_rows() == n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the follower did not reach {n} rows: {}", target_rows());
    };
    capture(&mut s, 0..10);
    wait_for(10);
    capture(&mut s, 10..25);
    wait_for(25);
    // Ctrl-C (SIGINT) ends it between frames, with exit code 130.
    let pid = follower.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let out = follower.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("applied 25 transactions (25 changes)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&target, "t", "id"), rows(&source, "t", "id"));
}

#[test]
fn an_apply_killed_again_and_again_applies_every_transaction_once() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "kill_test");
    let schema = "CREATE TABLE counters (id int4 PRIMARY KEY, n int4 NOT NULL, pad text)";
    let (source, mut s, target) = source_and_target(&url, "scry_apply_kill", schema);
    // Each transaction inserts a row and bumps the counter of an earlier one: a transaction
    // applied twice fails on the insert, one applied twice past that bumps a counter twice.
    const TRANSACTIONS: i32 = 4000;
    for i in 0..TRANSACTIONS {
        let mut tx = s.transaction().expect("begin");
        tx.execute(
            "INSERT INTO counters VALUES ($1, 0, repeat('p', 100))",
            &[&i],
        )
        .expect("insert");
        tx.execute("UPDATE counters SET n = n + 1 WHERE id = $1 / 3", &[&i])
            .expect("update");
        tx.commit().expect("commit");
    }
    let dir = scratch("apply_kill");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("a UTF-8 path").to_owned();
    capture_until_now(&source, "scry_apply_kill_slot", &file);

    let mut progress = Vec::new();
    for delay_ms in [40, 70, 55, 90, 45, 80, 60, 100, 50, 65] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["apply", &target, &file, "--origin", "kill_test"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scry apply");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let applied: i64 = Client::connect(&target, NoTls)
            .unwrap()
            .query_one("SELECT count(*) FROM counters", &[])
            .unwrap()
            .get(0);
        progress.push(applied);
    }
    let last = scry(&["apply", &target, &file, "--origin", "kill_test"], None);
    assert!(last.status.success(), "{}", stderr(&last));
    eprintln!(
        "rows on the target after each kill: {progress:?}; {}",
        stderr(&last)
    );
    // The kills landed while rows were being applied.
    let mut distinct = progress.clone();
    distinct.dedup();
    assert!(
        distinct
            .iter()
            .filter(|&&n| n > 0 && n < i64::from(TRANSACTIONS))
            .count()
            >= 3,
        "rows after each kill: {progress:?}"
    );
    assert_eq!(
        rows(&target, "counters", "id"),
        rows(&source, "counters", "id")
    );
}

#[test]
fn capture_then_apply_ends_where_native_logical_replication_ends() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "native_compare");
    // A subscription left by an earlier run holds its database: drop it first.
    if let Ok(mut old) = Client::connect(&format!("{url} dbname=scry_native_dst"), NoTls) {
        let _ = old.batch_execute(
            "ALTER SUBSCRIPTION native_sub DISABLE; \
             ALTER SUBSCRIPTION native_sub SET (slot_name = NONE)",
        );
        let _ = old.batch_execute("DROP SUBSCRIPTION IF EXISTS native_sub");
    }
    let source = fresh_database(&url, "scry_native_src");
    let ours = fresh_database(&url, "scry_native_ours");
    let native = fresh_database(&url, "scry_native_dst");
    let mut s = Client::connect(&source, NoTls).expect("connect source");
    s.batch_execute(SCHEMA).expect("source schema");
    s.batch_execute("CREATE PUBLICATION p FOR ALL TABLES")
        .expect("publication");
    fresh_slot(&mut s, "scry_native_slot");
    fresh_slot(&mut s, "scry_native_sub_slot");
    for target in [&ours, &native] {
        Client::connect(target, NoTls)
            .expect("connect target")
            .batch_execute(SCHEMA)
            .expect("target schema");
    }
    // The built-in subscriber, on a slot made beforehand (a subscription cannot create a
    // slot on its own cluster without waiting on itself).
    let mut n = Client::connect(&native, NoTls).expect("connect native");
    n.batch_execute(&format!(
        "CREATE SUBSCRIPTION native_sub CONNECTION '{source}' PUBLICATION p \
         WITH (create_slot = false, slot_name = 'scry_native_sub_slot', copy_data = false)"
    ))
    .expect("create subscription");

    let note: String = (0..9000)
        .map(|i| char::from(b'a' + (i * 11 % 26) as u8))
        .collect();
    s.execute(
        "INSERT INTO items SELECT g, 'item ' || g, CASE WHEN g % 10 = 0 THEN $1 END, g, g * 0.5 \
         FROM generate_series(1, 300) g",
        &[&note],
    )
    .expect("insert");
    for sql in [
        "UPDATE items SET qty = qty * 2 WHERE id % 3 = 0",
        "UPDATE items SET id = id + 1000 WHERE id % 7 = 0",
        "DELETE FROM items WHERE id % 5 = 0",
        "INSERT INTO loose SELECT g % 4, 'v' || (g % 3) FROM generate_series(1, 40) g",
        "UPDATE loose SET b = 'w' WHERE ctid = (SELECT ctid FROM loose WHERE a = 1 LIMIT 1)",
        "DELETE FROM loose WHERE ctid IN (SELECT ctid FROM loose WHERE a = 2 LIMIT 3)",
        "BEGIN; UPDATE items SET name = 'x' WHERE id < 50; ROLLBACK",
        "TRUNCATE loose",
        "INSERT INTO loose VALUES (7, 'after truncate')",
    ] {
        s.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let dir = scratch("apply_native");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("a UTF-8 path");
    capture_until_now(&source, "scry_native_slot", file);
    let applied = scry(&["apply", &ours, file, "--origin", "native_compare"], None);
    assert!(applied.status.success(), "{}", stderr(&applied));

    // The subscriber has caught up when its tables equal the source's (10 s at most).
    let tables = [("items", "id"), ("loose", "a, b")];
    for _ in 0..200 {
        if tables
            .iter()
            .all(|(t, o)| rows(&native, t, o) == rows(&source, t, o))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for (table, order) in tables {
        let expected = rows(&source, table, order);
        assert_eq!(rows(&native, table, order), expected, "native: {table}");
        assert_eq!(rows(&ours, table, order), expected, "scry: {table}");
    }
    n.batch_execute("DROP SUBSCRIPTION native_sub")
        .expect("drop subscription");
}

#[test]
fn sequences_reach_the_target_through_a_sync_sequences_batch() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "sequences_test");
    let schema = "CREATE TABLE s (id serial PRIMARY KEY, v text); CREATE SEQUENCE lonely START 7";
    let (source, mut s, target) = source_and_target(&url, "scry_apply_seq", schema);
    s.batch_execute("INSERT INTO s (v) SELECT 'x' FROM generate_series(1, 5)")
        .expect("insert");
    s.batch_execute("SELECT setval('s_id_seq', 42)")
        .expect("setval");
    let dir = scratch("apply_sequences");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("a UTF-8 path");
    capture_until_now_with(&source, "scry_apply_seq_slot", file, &["--sequences"]);
    let applied = scry(
        &["apply", &target, file, "--origin", "sequences_test"],
        None,
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert!(
        stderr(&applied).contains("; 2 sequences set;"),
        "{}",
        stderr(&applied)
    );
    let state = |url: &str| -> Vec<(i64, bool)> {
        let mut c = Client::connect(url, NoTls).unwrap();
        ["s_id_seq", "lonely"]
            .iter()
            .map(|seq| {
                let r = c
                    .query_one(&format!("SELECT last_value, is_called FROM {seq}"), &[])
                    .unwrap();
                (r.get(0), r.get(1))
            })
            .collect()
    };
    assert_eq!(state(&target), [(42, true), (7, false)]);
    assert_eq!(state(&target), state(&source));
    assert_eq!(rows(&target, "s", "id"), rows(&source, "s", "id"));
}

/// Tables with a foreign key between them, TOASTed values, an empty table and a keyless one.
const SNAPSHOT_SCHEMA: &str = "
    CREATE TABLE parent (id int4 PRIMARY KEY, name text);
    CREATE TABLE child (id int8 PRIMARY KEY, parent_id int4 REFERENCES parent, note text);
    ALTER TABLE child ALTER COLUMN note SET STORAGE EXTERNAL;
    CREATE TABLE empty_t (a int4 PRIMARY KEY);
    CREATE TABLE loose (a int4, b text);
    ALTER TABLE loose REPLICA IDENTITY FULL;";

#[test]
fn a_snapshot_and_the_changes_after_it_through_a_pipe_reproduce_the_source_once() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "snap_pipe");
    let (source, mut s, target) = source_and_target(&url, "scry_snap_pipe", SNAPSHOT_SCHEMA);
    // `capture --snapshot` makes the slot itself.
    s.execute(
        "SELECT pg_drop_replication_slot('scry_snap_pipe_slot')",
        &[],
    )
    .expect("drop slot");
    s.batch_execute(
        "INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 300) g;
         INSERT INTO child SELECT g, 1 + g % 300, CASE WHEN g % 50 = 0 THEN repeat(md5(g::text), 400) ELSE 'n' || g END
           FROM generate_series(1, 3000) g;
         INSERT INTO loose SELECT g % 7, 'v' || (g % 3) FROM generate_series(1, 100) g;",
    )
    .expect("rows before the snapshot");
    let dir = scratch("apply_snapshot_pipe");
    let snap = dir.join("snapshot.scry");
    let snap = snap.to_str().expect("a UTF-8 path");
    let unused = dir.join("unused.scry");
    capture_until_now_with(
        &source,
        "scry_snap_pipe_slot",
        unused.to_str().expect("a UTF-8 path"),
        &["--snapshot", snap],
    );

    // The snapshot, by scry apply: every table loaded with COPY. Killed first at several
    // points of the load: a table whose COPY was cut rolls back, one that committed is
    // recorded as loaded (in the same transaction) and passed over by the next run, so the
    // load that runs to the end leaves each table with the snapshot's rows once.
    let loaded = apply_with_kills(&target, snap, "snap_pipe", &[5, 15, 25, 40]);
    eprint!("{loaded}");
    let mut t = Client::connect(&target, NoTls).expect("connect to the target");
    let record = t
        .query_one(
            "SELECT count(*), sum(rows)::int8, count(DISTINCT stream) FROM scry.snapshot_tables",
            &[],
        )
        .expect("scry.snapshot_tables");
    assert_eq!(
        (
            record.get::<_, i64>(0),
            record.get::<_, i64>(1),
            record.get::<_, i64>(2)
        ),
        (4, 3400, 1),
        "every table loaded once, from one stream"
    );
    for (table, order) in [("parent", "id"), ("child", "id"), ("loose", "a, b")] {
        assert_eq!(
            rows(&target, table, order),
            rows(&source, table, order),
            "{table} after the load"
        );
    }

    // Changes after it, captured to standard output and applied from standard input.
    for sql in [
        "INSERT INTO parent VALUES (301, 'new')",
        "UPDATE child SET note = note || '!' WHERE id % 97 = 0",
        "UPDATE child SET parent_id = 301 WHERE id BETWEEN 10 AND 20",
        "DELETE FROM child WHERE id % 13 = 0",
        "INSERT INTO empty_t SELECT g FROM generate_series(1, 5) g",
        "DELETE FROM loose WHERE ctid = (SELECT ctid FROM loose WHERE a = 3 LIMIT 1)",
        "UPDATE loose SET b = 'w' WHERE a = 5",
    ] {
        s.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let piped = pipe(
        &source,
        &target,
        "scry_snap_pipe_slot",
        "snap_pipe",
        "--until now",
    )
    .output()
    .expect("run the pipe");
    let piped_err = String::from_utf8_lossy(&piped.stderr);
    eprint!("{piped_err}");
    assert!(piped.status.success(), "{piped_err}");
    assert!(piped_err.contains("applied 7 transactions"), "{piped_err}");

    let tables = [
        ("parent", "id"),
        ("child", "id"),
        ("empty_t", "a"),
        ("loose", "a, b"),
    ];
    for (table, order) in tables {
        assert_eq!(
            rows(&target, table, order),
            rows(&source, table, order),
            "{table}"
        );
    }

    // The snapshot again: the target is past it, so nothing is loaded or deleted.
    let again = scry(&["apply", &target, snap, "--origin", "snap_pipe"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("; 4 snapshot tables already applied skipped"),
        "{}",
        stderr(&again)
    );
    for (table, order) in tables {
        assert_eq!(
            rows(&target, table, order),
            rows(&source, table, order),
            "{table}, after the snapshot again"
        );
    }
}

/// `scry capture` of publication `p` through `slot` (stream source, with `more` options) to
/// standard output, piped into `scry apply` with the replication origin `origin`; the
/// capture confirms the slot as far as that origin on the target says. Standard error is
/// piped, standard output dropped.
fn pipe(source: &str, target: &str, slot: &str, origin: &str, more: &str) -> Command {
    let bin = env!("CARGO_BIN_EXE_scry");
    let mut pipe = Command::new("bash");
    pipe.arg("-c")
        .arg(format!(
            "set -o pipefail; '{bin}' capture \"$SOURCE\" --slot {slot} --publication p \
             --source stream --out - --confirm-from \"$TARGET\" --origin {origin} {more} \
             | '{bin}' apply \"$TARGET\" - --origin {origin}"
        ))
        .env("SOURCE", source)
        .env("TARGET", target)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    pipe
}

/// The confirmed position of `slot`.
fn slot_confirmed(c: &mut Client, slot: &str) -> String {
    c.query_one(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
        &[&slot],
    )
    .expect("the slot")
    .get(0)
}

#[test]
fn a_pipe_whose_apply_dies_before_committing_loses_nothing() {
    let Some(url) = conninfo() else { return };
    drop_origin(&url, "pipe_dies");
    let (source, mut s, target) = source_and_target(&url, "scry_pipe_dies", SCHEMA);
    let slot = "scry_pipe_dies_slot";
    let created = slot_confirmed(&mut s, slot);
    // The SQL source moves on only by confirming: it refuses a pipe.
    let refused = scry(
        &[
            "capture",
            &source,
            "--slot",
            slot,
            "--publication",
            "p",
            "--out",
            "-",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("use --source stream with --out -"),
        "{}",
        stderr(&refused)
    );
    let pipe = |until: &str| {
        pipe(&source, &target, slot, "pipe_dies", until)
            .spawn()
            .expect("start the pipe")
    };

    // The target is locked: the apply reads the transactions and cannot commit them.
    let mut lock = Client::connect(&target, NoTls).expect("connect target");
    let mut held = lock.transaction().expect("begin");
    held.batch_execute("LOCK items").expect("lock");
    let mut first = pipe("");
    let mut wait = 0;
    while !s
        .query_one(
            "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .expect("the slot")
        .get::<_, bool>(0)
    {
        wait += 1;
        assert!(wait < 300, "the capture did not start streaming");
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 1..=20 {
        s.batch_execute(&format!(
            "INSERT INTO items VALUES ({i}, 'item {i}', NULL, {i}, 1.00)"
        ))
        .expect("insert");
    }
    // Longer than the capture waits before it makes a quiet stream durable (150 ms): with
    // a file it would have confirmed all 20 by now.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        slot_confirmed(&mut s, slot),
        created,
        "the slot is confirmed past what the target has committed"
    );
    // The apply dies, and with it the pipe.
    Command::new("pkill")
        .args(["-KILL", "-f", "apply .*--origin pipe_dies"])
        .status()
        .expect("pkill");
    Command::new("pkill")
        .args(["-KILL", "-f", &format!("capture .*--slot {slot}")])
        .status()
        .expect("pkill");
    let _ = first.wait();
    held.rollback().expect("unlock");
    assert!(rows(&target, "items", "id").is_empty());

    // Run again, to the end: every transaction arrives, once.
    let again = pipe("--until now").wait_with_output().expect("the pipe");
    let message = String::from_utf8_lossy(&again.stderr);
    eprint!("{message}");
    assert!(again.status.success(), "{message}");
    assert!(
        message.contains("applied 20 transactions (20 changes)"),
        "{message}"
    );
    assert_eq!(rows(&target, "items", "id"), rows(&source, "items", "id"));
}
