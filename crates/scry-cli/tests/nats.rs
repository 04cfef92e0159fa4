//! `scry capture --out nats://...` and `scry apply TARGET nats://...` against a real
//! PostgreSQL server and a real nats-server (`.ci/nats.sh`): every transaction reaches every
//! target once, with the capture and one apply killed with SIGKILL again and again, and the
//! stream holds each batch once.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::pg::digest;
use common::{scry, stderr};
use postgres::{Client, NoTls};
use scry_nats::{Address, Consumer};

const TABLE: &str = "nats_kill";
const TRANSACTIONS: i32 = 60;
/// Rows each transaction inserts: with five changes a batch, one transaction spans about
/// a hundred messages, so that kills land inside transactions as well as between them.
const ROWS: i32 = 500;

fn servers() -> Option<(String, String)> {
    let pg = scry_testkit::server::pg_url("capture and apply through NATS")?;
    let nats = scry_testkit::server::nats_url("capture and apply through NATS")?;
    Some((pg, nats))
}

/// A source database with the table, its publication and slot; two empty targets with the
/// table.
fn databases(url: &str) -> (String, String, String) {
    let source = scry_testkit::server::fresh_database(url, "nats_src");
    let targets = ["nats_dst_a", "nats_dst_b"].map(|name| {
        let t = scry_testkit::server::fresh_database(url, name);
        Client::connect(&t, NoTls)
            .expect("connect target")
            .batch_execute(&format!(
                "CREATE TABLE {TABLE} (id int4 PRIMARY KEY, n int4 NOT NULL, note text)"
            ))
            .expect("target table");
        t
    });
    let mut c = Client::connect(&source, NoTls).expect("connect source");
    c.batch_execute(&format!(
        "CREATE TABLE {TABLE} (id int4 PRIMARY KEY, n int4 NOT NULL, note text);
         CREATE PUBLICATION nats_pub FOR TABLE {TABLE};"
    ))
    .expect("source schema");
    c.execute(
        "SELECT pg_create_logical_replication_slot('nats_slot', 'pgoutput')",
        &[],
    )
    .expect("slot");
    let [a, b] = targets;
    (source, a, b)
}

/// Runs `args` and kills it with SIGKILL after `ms` milliseconds.
fn killed_after(args: &[&str], ms: u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn scry");
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

#[test]
fn killed_captures_and_applies_through_nats_apply_each_transaction_once() {
    let Some((url, nats)) = servers() else { return };
    let (source, target_a, target_b) = databases(&url);
    let stream = format!(
        "{nats}/KILL_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    // The workload: each transaction inserts ROWS rows and bumps the counter of an earlier
    // one, so a transaction applied twice shows as a duplicate key or a counter off by one.
    let workload_url = source.clone();
    let workload = std::thread::spawn(move || {
        let mut w = Client::connect(&workload_url, NoTls).expect("connect");
        for i in 0..TRANSACTIONS {
            let mut tx = w.transaction().expect("begin");
            tx.execute(
                &format!(
                    "INSERT INTO {TABLE} SELECT g, 0, repeat('x', 100) \
                     FROM generate_series($1 * {ROWS}, $1 * {ROWS} + {ROWS} - 1) g"
                ),
                &[&i],
            )
            .expect("insert");
            tx.execute(
                &format!("UPDATE {TABLE} SET n = n + 1 WHERE id = $1 * {ROWS} / 2"),
                &[&i],
            )
            .expect("update");
            tx.commit().expect("commit");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let capture = [
        "capture",
        &source,
        "--slot",
        "nats_slot",
        "--publication",
        "nats_pub",
        "--out",
        &stream,
        // Transactions span messages, so kills land inside them too.
        "--batch-events",
        "5",
    ];
    let apply_a = ["apply", &target_a, &stream, "--follow"];
    // Kill the capture, and apply A behind it, at several points while the workload runs.
    for (capture_ms, apply_ms) in [(60, 0), (180, 90), (90, 150), (250, 0), (120, 200)] {
        killed_after(&capture, capture_ms);
        if apply_ms > 0 {
            killed_after(&apply_a, apply_ms);
        }
    }
    workload.join().expect("workload");
    let mut last = capture.to_vec();
    last.extend(["--until", "now"]);
    let out = scry(&last, None);
    assert!(out.status.success(), "{}", stderr(&out));

    // Both targets, to the stream's end (A goes on from its consumer's place).
    for target in [&target_a, &target_b] {
        let out = scry(&["apply", target, &stream], None);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut s = Client::connect(&source, NoTls).expect("source");
    let expected = digest(&mut s, TABLE);
    assert_eq!(expected.0, i64::from(TRANSACTIONS * ROWS));
    for target in [&target_a, &target_b] {
        let mut t = Client::connect(target, NoTls).expect("target");
        assert_eq!(digest(&mut t, TABLE), expected, "{target}");
    }
    // Run again, a target has nothing left to apply.
    let out = scry(&["apply", &target_a, &stream], None);
    assert!(
        stderr(&out).contains("nothing to apply"),
        "{}",
        stderr(&out)
    );

    // The stream holds every batch once: numbers one after another, changes in order.
    let address = Address::parse(&stream).expect("address");
    let mut reader = Consumer::open(&address, None, "test_reader").expect("reader");
    let mut all = Vec::new();
    loop {
        let got = reader.next(500, Duration::from_millis(500)).expect("next");
        if got.is_empty() {
            break;
        }
        all.extend(got.into_iter().map(|d| d.stored));
    }
    assert!(!all.is_empty());
    for (i, pair) in all.windows(2).enumerate() {
        assert_eq!(pair[1].batch_seq, pair[0].batch_seq + 1, "message {i}");
        assert!(pair[0].last < pair[1].first, "message {i}: {pair:?}");
    }
    // The reading commands take the stream as they take a file: every message a frame.
    let out = scry(&["validate", &stream], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = common::stdout(&out);
    assert!(
        said.contains(&format!("valid: {} payloads", all.len())),
        "{said}"
    );
}
