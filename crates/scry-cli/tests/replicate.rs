//! A whole database replicated, against a real PostgreSQL server (`SCRY_PG_URL`): the dozen
//! tables of the snapshot test and the capture issue's workload go source → `scry capture
//! --snapshot` and `scry capture` → files → `scry apply`, killed with SIGKILL ten times along
//! the way and restarted → target; and source → `scry replicate` (one process, straight from
//! the slot), killed ten times → target. Every table of the target ends equal to the
//! source's and to what PostgreSQL's own subscriber (CREATE SUBSCRIPTION, subscribed before
//! the rows were written) makes of the same database in a third one; the sequence ends equal
//! to the source's.

mod common;

use std::time::{Duration, Instant};

use common::pg::{apply_with_kills, digest, drop_origin};
use common::{dozen, scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

/// Beside the dozen: a foreign-key pair for TRUNCATE ... CASCADE, a keyless table under
/// REPLICA IDENTITY FULL, a FULL table with TOASTed values, and a sequence. The partitions
/// get REPLICA IDENTITY FULL so that their rows can be updated once published.
const EXTRA_SCHEMA: &str = "
    CREATE TABLE trunc_parent (id int4 PRIMARY KEY);
    CREATE TABLE trunc_child (id int4 PRIMARY KEY, parent int4 REFERENCES trunc_parent);
    CREATE TABLE loose (a int4, b text);
    ALTER TABLE loose REPLICA IDENTITY FULL;
    CREATE TABLE full_toast (id int4 PRIMARY KEY, big text, n int4);
    ALTER TABLE full_toast ALTER COLUMN big SET STORAGE EXTERNAL;
    ALTER TABLE full_toast REPLICA IDENTITY FULL;
    ALTER TABLE parted_low REPLICA IDENTITY FULL;
    ALTER TABLE parted_high REPLICA IDENTITY FULL;
    CREATE SEQUENCE sales.order_ids START 5000;";

const EXTRA_TABLES: [&str; 5] = [
    "public.trunc_parent",
    "public.trunc_child",
    "public.loose",
    "public.full_toast",
    "public.parted_low",
];

const EXTRA_DATA: &str = "
    INSERT INTO trunc_parent SELECT g FROM generate_series(1, 20) g;
    INSERT INTO trunc_child SELECT g, 1 + g % 20 FROM generate_series(1, 40) g;
    INSERT INTO loose SELECT g % 5, 'l' || (g % 3) FROM generate_series(1, 60) g;
    INSERT INTO full_toast SELECT g, repeat(md5(g::text), 300), g FROM generate_series(1, 20) g;";

/// The capture issue's workload: inserts, updates of key and non-key columns, updates that
/// leave TOASTed values alone under DEFAULT and FULL, deletes, TRUNCATE ... CASCADE, a
/// rolled-back transaction, a large transaction, a two-phase transaction committed and one
/// rolled back, a logical message, a keyless FULL table, and the all-types table's rows
/// changed (every type's values travel).
const WORKLOAD: [&str; 21] = [
    "INSERT INTO narrow SELECT g, g % 1000, 'new ' || g, now(), g / 3.0, true, 'z'
         FROM generate_series(20001, 20500) g",
    "UPDATE narrow SET n = n + 1, t = t || '!' WHERE id % 100 = 0",
    "UPDATE narrow SET id = id + 1000000 WHERE id % 1000 = 1",
    "UPDATE toasted SET blob = decode('00ff', 'hex') WHERE id <= 5",
    "UPDATE full_toast SET n = n + 100 WHERE id % 2 = 0",
    "DELETE FROM narrow WHERE id % 97 = 0",
    "DELETE FROM sales.lines WHERE order_id % 50 = 0",
    "TRUNCATE trunc_parent CASCADE",
    "INSERT INTO trunc_parent VALUES (1), (2); INSERT INTO trunc_child VALUES (10, 1)",
    "BEGIN; DELETE FROM narrow; ROLLBACK",
    "INSERT INTO no_key SELECT g % 10, 'big ' || g FROM generate_series(1, 30000) g",
    "BEGIN; INSERT INTO sales.orders VALUES (nextval('sales.order_ids'), '2025-01-01', 1.5);
         PREPARE TRANSACTION 'scry_repl_a'",
    "COMMIT PREPARED 'scry_repl_a'",
    "BEGIN; INSERT INTO sales.orders VALUES (nextval('sales.order_ids'), '2025-01-02', 2.5);
         PREPARE TRANSACTION 'scry_repl_b'",
    "ROLLBACK PREPARED 'scry_repl_b'",
    "SELECT pg_logical_emit_message(true, 'app', 'hello'); INSERT INTO empty VALUES (1, 'x')",
    "UPDATE loose SET b = 'w' WHERE a = 1;
     DELETE FROM loose WHERE ctid = (SELECT ctid FROM loose WHERE a = 2 LIMIT 1)",
    "DELETE FROM all_types WHERE id % 10 = 0; UPDATE all_types SET id = id + 10000 WHERE id % 7 = 0",
    "UPDATE parted SET amount = 0 WHERE id < 10; UPDATE arrays SET ints = ARRAY[1, 2] WHERE id = 1",
    "UPDATE \"Mixed Case\" SET \"Odd \"\"Name\" = 'b' WHERE \"Id\" = 2",
    "INSERT INTO sales.orders SELECT nextval('sales.order_ids'), '2025-02-01', g
         FROM generate_series(1, 30) g",
];

fn every_table() -> Vec<&'static str> {
    dozen::TABLES.iter().chain(&EXTRA_TABLES).copied().collect()
}

/// The three databases of a test: the source, ours and PostgreSQL's subscriber's.
struct Databases {
    source: String,
    target: String,
    native: String,
}

/// Makes `{prefix}_src`, `{prefix}_dst` and `{prefix}_nat` with the dozen tables and the
/// extras, a publication `p` of all of the source's tables, PostgreSQL's subscriber on a
/// slot made before the tables have rows (so that it gets every row as a change; its
/// initial copy is not used: a subscription cannot create slots on its own cluster reliably,
/// as the table-copy workers would have to, while transactions of the same cluster, theirs
/// included, are open), the slots `early_slots` made at the same point, and then the
/// source's rows (the all-types table's as its fixture makes them).
fn databases(url: &str, prefix: &str, early_slots: &[&str]) -> (Databases, Client) {
    // The subscriber's database first: its subscription streams from the source's slot.
    let native = fresh_database(url, &format!("{prefix}_nat"));
    let source = fresh_database(url, &format!("{prefix}_src"));
    let target = fresh_database(url, &format!("{prefix}_dst"));
    let mut s = Client::connect(&source, NoTls).expect("connect source");
    s.batch_execute(&dozen::schema(0)).expect("source schema");
    s.batch_execute(EXTRA_SCHEMA).expect("source extras");
    s.batch_execute("CREATE PUBLICATION p FOR ALL TABLES")
        .expect("publication");
    for db in [&target, &native] {
        let mut c = Client::connect(db, NoTls).expect("connect");
        c.batch_execute(&dozen::schema(0)).expect("schema");
        c.batch_execute(EXTRA_SCHEMA).expect("extras");
    }
    let native_slot = format!("{prefix}_native");
    for slot in early_slots.iter().chain([&native_slot.as_str()]) {
        s.execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[slot],
        )
        .expect("slot");
    }
    Client::connect(&native, NoTls)
        .expect("connect native")
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION {prefix}_sub CONNECTION '{source}' PUBLICATION p \
             WITH (create_slot = false, slot_name = '{native_slot}', copy_data = false)"
        ))
        .expect("subscription");
    s.batch_execute(&dozen::all_types_rows(200))
        .expect("all_types rows");
    s.batch_execute(&dozen::data(20_000)).expect("source rows");
    s.batch_execute(EXTRA_DATA).expect("source extra rows");
    let dbs = Databases {
        source,
        target,
        native,
    };
    (dbs, s)
}

/// Runs the workload on the source, then a committed write that flushes it to WAL for
/// decoding to read.
fn workload(s: &mut Client) {
    for sql in WORKLOAD {
        s.batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    s.batch_execute("CREATE TABLE flush_marker (x int4); DROP TABLE flush_marker")
        .expect("flush");
}

impl Databases {
    /// Waits (120 s at most) until PostgreSQL's subscriber has every table equal to the
    /// source's, then requires ours equal too, and the sequence.
    fn assert_replicated(&self) {
        let tables = every_table();
        let (mut src, mut dst, mut nat) = (
            Client::connect(&self.source, NoTls).unwrap(),
            Client::connect(&self.target, NoTls).unwrap(),
            Client::connect(&self.native, NoTls).unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        while !tables
            .iter()
            .all(|t| digest(&mut nat, t) == digest(&mut src, t))
        {
            assert!(
                Instant::now() < deadline,
                "the subscriber did not catch up in 120 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for t in &tables {
            let want = digest(&mut src, t);
            assert_eq!(digest(&mut dst, t), want, "{t}: ours against the source");
            assert_eq!(digest(&mut nat, t), want, "{t}: native against the source");
        }
        let last_value = |c: &mut Client| -> i64 {
            c.query_one("SELECT last_value FROM sales.order_ids", &[])
                .unwrap()
                .get(0)
        };
        assert_eq!(last_value(&mut dst), last_value(&mut src), "the sequence");
    }

    /// Drops PostgreSQL's subscription (and its slot).
    fn unsubscribe(&self, prefix: &str) {
        Client::connect(&self.native, NoTls)
            .unwrap()
            .batch_execute(&format!("DROP SUBSCRIPTION {prefix}_sub"))
            .expect("drop subscription");
    }
}

#[test]
fn a_database_replicates_through_snapshot_capture_and_apply_as_natively_and_once() {
    let Some(url) = scry_testkit::server::pg_url("replication end to end") else {
        return;
    };
    drop_origin(&url, "replicate");
    let (dbs, mut s) = databases(&url, "scry_repl", &[]);
    let (source, target) = (dbs.source.clone(), dbs.target.clone());

    // Ours: the snapshot in the slot's exported snapshot, the workload, its changes.
    let dir = scratch("replicate");
    let (snap, cdc) = (dir.join("snapshot.scry"), dir.join("cdc.scry"));
    let (snap, cdc) = (snap.to_str().unwrap(), cdc.to_str().unwrap());
    let capture = |more: &[&str]| {
        let common = [
            "capture",
            source.as_str(),
            "--slot",
            "scry_repl",
            "--publication",
            "p",
            "--out",
            cdc,
            "--until",
            "now",
        ];
        let out = scry(&[&common[..], more].concat(), None);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    capture(&["--snapshot", snap]);
    workload(&mut s);
    let captured = capture(&["--sequences"]);
    eprintln!("{captured}");

    // Applied with ten SIGKILLs: two in the snapshot's load, eight in the changes.
    let loaded = apply_with_kills(&target, snap, "replicate", &[15, 40]);
    eprintln!("{loaded}");
    assert!(loaded.contains("snapshot tables loaded"), "{loaded}");
    let applied = apply_with_kills(
        &target,
        cdc,
        "replicate",
        &[10, 25, 40, 55, 70, 90, 110, 130],
    );
    eprintln!("{applied}");
    dbs.assert_replicated();

    // Everything again: nothing changes.
    let again = scry(&["apply", &target, snap, "--origin", "replicate"], None);
    assert!(
        stderr(&again).contains("snapshot tables already applied skipped"),
        "{}",
        stderr(&again)
    );
    let again = scry(&["apply", &target, cdc, "--origin", "replicate"], None);
    assert!(
        stderr(&again).starts_with("applied 0 transactions"),
        "{}",
        stderr(&again)
    );
    dbs.assert_replicated();
    dbs.unsubscribe("scry_repl");
}

#[test]
fn a_slot_replicated_in_one_process_killed_ten_times_ends_as_natively_and_once() {
    let Some(url) = scry_testkit::server::pg_url("scry replicate end to end") else {
        return;
    };
    drop_origin(&url, "replicate_direct");
    let (dbs, mut s) = databases(&url, "scry_rdir", &["scry_rdir"]);
    workload(&mut s);
    // Then many small transactions, each adding one to a row's counter.
    for id in 1..=400 {
        s.batch_execute(&format!("UPDATE narrow SET n = n + 1 WHERE id = {id}"))
            .expect("counter");
    }
    let until: String = s
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .unwrap()
        .get(0);
    let args = [
        "replicate",
        dbs.source.as_str(),
        dbs.target.as_str(),
        "--slot",
        "scry_rdir",
        "--publication",
        "p",
        "--origin",
        "replicate_direct",
        "--until",
        until.as_str(),
        "--sequences",
    ];
    // Ten SIGKILLs at random points: each run is killed a few milliseconds after it has
    // committed something (or when it has ended), and the next resumes from the target's
    // origin. A transaction applied twice would count its row's `n` twice.
    let mut t = Client::connect(&dbs.target, NoTls).unwrap();
    let progress = |t: &mut Client| -> Option<String> {
        t.query_one(
            "SELECT pg_replication_origin_progress('replicate_direct', false)::text",
            &[],
        )
        .ok()
        .and_then(|r| r.get(0))
    };
    let mut interrupted = 0;
    for delay_ms in [7, 3, 11, 5, 13, 2, 9, 17, 4, 19] {
        let before = progress(&mut t);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn scry replicate");
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("wait").is_none() && progress(&mut t) == before {
            assert!(Instant::now() < deadline, "no commit in 60 s");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().expect("wait").is_none() {
            interrupted += 1;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    assert!(
        interrupted >= 5,
        "only {interrupted} kills hit a running apply"
    );

    // Ctrl-C (SIGINT) stops a run without --until between transactions: exit code 130, and
    // what it applied.
    // Once streaming (the slot held by its walsender), it has its Ctrl-C handler.
    let mut slot_active = |want: bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while s
            .query_one(
                "SELECT active FROM pg_replication_slots WHERE slot_name = 'scry_rdir'",
                &[],
            )
            .map(|r| r.get::<_, bool>(0))
            .expect("slot")
            != want
        {
            assert!(Instant::now() < deadline, "the slot's active is not {want}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    slot_active(false);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(&args[..args.len() - 3])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn scry replicate");
    slot_active(true);
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("scry replicate did not stop on SIGINT within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("wait");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}");
    assert!(
        said.contains("scry: stopped (Ctrl-C or SIGTERM): applied "),
        "{said}"
    );
    assert!(said.contains("; slot scry_rdir confirmed to "), "{said}");
    let last = scry(&args, None);
    assert!(last.status.success(), "{}", stderr(&last));
    let done = stderr(&last);
    eprintln!("{done}");
    assert!(done.contains("1 sequences set"), "{done}");
    dbs.assert_replicated();

    // The slot is confirmed exactly as far as the target durably has the changes.
    let origin: String = t
        .query_one(
            "SELECT pg_replication_origin_progress('replicate_direct', true)::text",
            &[],
        )
        .unwrap()
        .get(0);
    let confirmed: String = s
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'scry_rdir'",
            &[],
        )
        .unwrap()
        .get(0);
    // At least as far as the target durably has the changes: with nothing left to apply,
    // the slot is confirmed as far as the source has sent (WAL of other tables and
    // databases, which this stream has nothing of).
    let lsn = |text: &str| text.parse::<scry_types::Lsn>().expect("an LSN").0;
    assert!(
        lsn(&confirmed) >= lsn(&origin),
        "the slot ({confirmed}) behind the target's origin ({origin})"
    );
    assert!(
        done.ends_with(&format!("slot scry_rdir confirmed to {confirmed}\n")),
        "{done}"
    );

    // Run again: nothing is left to apply.
    let again = scry(&args, None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).starts_with("applied 0 transactions"),
        "{}",
        stderr(&again)
    );
    dbs.assert_replicated();
    dbs.unsubscribe("scry_rdir");
    s.execute("SELECT pg_drop_replication_slot('scry_rdir')", &[])
        .expect("drop the slot");
}
