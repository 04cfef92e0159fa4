//! `scry capture --out nats://...` and `scry apply TARGET nats://...` against a real
//! PostgreSQL server and real nats-servers (`.ci/nats.sh`): every transaction reaches every
//! target once, with the capture and one apply killed with SIGKILL again and again, on one
//! server and on a three-node cluster that loses a node meanwhile; and the stream holds
//! each batch once.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::pg::digest;
use common::{scry, stderr};
use postgres::{Client, NoTls};
use scry_nats::{Address, Consumer, Stored};

const TABLE: &str = "nats_kill";

/// A source database (`PREFIX_src`) with the table, its publication and slot; two empty
/// targets with the table.
fn databases(url: &str, prefix: &str) -> (String, String, String) {
    let source = scry_testkit::server::fresh_database(url, &format!("{prefix}_src"));
    let targets = ["a", "b"].map(|name| {
        let t = scry_testkit::server::fresh_database(url, &format!("{prefix}_dst_{name}"));
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
    // Slots belong to the cluster: each test has its own.
    c.execute(
        "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
        &[&format!("{prefix}_slot")],
    )
    .expect("slot");
    let [a, b] = targets;
    (source, a, b)
}

/// A stream of its own on the servers of `nats`.
fn stream_name(nats: &str, prefix: &str, query: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{nats}/{prefix}_{ms}{query}")
}

/// Runs `transactions` transactions on `source`, each inserting `rows` rows and bumping the
/// counter of an earlier one, so that a transaction applied twice shows as a duplicate key
/// or a counter off by one.
fn workload(source: &str, transactions: i32, rows: i32) -> std::thread::JoinHandle<()> {
    let url = source.to_owned();
    std::thread::spawn(move || {
        let mut w = Client::connect(&url, NoTls).expect("connect");
        for i in 0..transactions {
            let mut tx = w.transaction().expect("begin");
            tx.execute(
                &format!(
                    "INSERT INTO {TABLE} SELECT g, 0, repeat('x', 100) \
                     FROM generate_series($1 * {rows}, $1 * {rows} + {rows} - 1) g"
                ),
                &[&i],
            )
            .expect("insert");
            tx.execute(
                &format!("UPDATE {TABLE} SET n = n + 1 WHERE id = $1 * {rows} / 2"),
                &[&i],
            )
            .expect("update");
            tx.commit().expect("commit");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

/// Starts `scry ARGS`; its standard error goes to a log of the test's scratch directory
/// (`target/tmp/...`), read when a test fails.
fn spawn(args: &[&str]) -> Child {
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scry-cli-nats-logs");
    std::fs::create_dir_all(&dir).expect("log directory");
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("{}-{}-{run}.log", std::process::id(), args[0]);
    let log = std::fs::File::create(dir.join(name)).expect("log");
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn scry")
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// Runs `args` and kills it with SIGKILL after `ms` milliseconds.
fn killed_after(args: &[&str], ms: u64) {
    let child = spawn(args);
    std::thread::sleep(Duration::from_millis(ms));
    kill(child);
}

fn capture_args<'a>(source: &'a str, slot: &'a str, stream: &'a str) -> Vec<&'a str> {
    vec![
        "capture",
        source,
        "--slot",
        slot,
        "--publication",
        "nats_pub",
        "--out",
        stream,
        // Transactions span messages, so kills land inside them too.
        "--batch-events",
        "5",
    ]
}

/// Both targets to the stream's end, then equal to the source; a target run again has
/// nothing left to apply.
fn targets_equal_source(source: &str, targets: [&str; 2], stream: &str, rows: i64) {
    for target in targets {
        let out = scry(&["apply", target, stream], None);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut s = Client::connect(source, NoTls).expect("source");
    let expected = digest(&mut s, TABLE);
    assert_eq!(expected.0, rows);
    for target in targets {
        let mut t = Client::connect(target, NoTls).expect("target");
        assert_eq!(digest(&mut t, TABLE), expected, "{target}");
    }
    let out = scry(&["apply", targets[0], stream], None);
    assert!(
        stderr(&out).contains("nothing to apply"),
        "{}",
        stderr(&out)
    );
}

/// Every message of the stream, read by a consumer of the test's own; checks that the
/// stream holds every batch once: numbers one after another, changes in order.
fn stream_holds_each_batch_once(stream: &str) -> Vec<Stored> {
    let address = Address::parse(stream).expect("address");
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
    all
}

#[test]
fn killed_captures_and_applies_through_nats_apply_each_transaction_once() {
    let what = "capture and apply through NATS";
    let Some(url) = scry_testkit::server::pg_url(what) else {
        return;
    };
    let Some(nats) = scry_testkit::server::nats_url(what) else {
        return;
    };
    // With five changes a batch, one transaction of 500 rows spans about a hundred
    // messages, so that kills land inside transactions as well as between them.
    let (transactions, rows) = (60, 500);
    let (source, target_a, target_b) = databases(&url, "nats");
    let stream = stream_name(&nats, "KILL", "");
    let workload = workload(&source, transactions, rows);
    let capture = capture_args(&source, "nats_slot", &stream);
    let apply_a = ["apply", &target_a, &stream, "--follow"];
    // Kill the capture, and apply A behind it, at several points while the workload runs.
    for (capture_ms, apply_ms) in [(60, 0), (180, 90), (90, 150), (250, 0), (120, 200)] {
        killed_after(&capture, capture_ms);
        if apply_ms > 0 {
            killed_after(&apply_a, apply_ms);
        }
    }
    workload.join().expect("workload");
    let mut last = capture.clone();
    last.extend(["--until", "now"]);
    let out = scry(&last, None);
    assert!(out.status.success(), "{}", stderr(&out));

    targets_equal_source(
        &source,
        [&target_a, &target_b],
        &stream,
        i64::from(transactions * rows),
    );
    let all = stream_holds_each_batch_once(&stream);
    // The reading commands take the stream as they take a file: every message a frame.
    let out = scry(&["validate", &stream], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = common::stdout(&out);
    assert!(
        said.contains(&format!("valid: {} payloads", all.len())),
        "{said}"
    );
    // A target made anew under the same name finds its consumer ahead of it: it reads the
    // stream again from its start instead of skipping what it lacks.
    let expected = expected_of(&source);
    let again = scry_testkit::server::fresh_database(&url, "nats_dst_b");
    assert_eq!(again, target_b);
    Client::connect(&target_b, NoTls)
        .expect("connect target")
        .batch_execute(&format!(
            "CREATE TABLE {TABLE} (id int4 PRIMARY KEY, n int4 NOT NULL, note text)"
        ))
        .expect("target table");
    let out = scry(&["apply", &target_b, &stream], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("reading the stream again from its first message"),
        "{}",
        stderr(&out)
    );
    let mut t = Client::connect(&target_b, NoTls).expect("target");
    assert_eq!(digest(&mut t, TABLE), expected);
}

fn expected_of(source: &str) -> (i64, String) {
    let mut s = Client::connect(source, NoTls).expect("source");
    digest(&mut s, TABLE)
}

/// nats-server, where Debian puts it.
fn nats_server() -> &'static str {
    if std::path::Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}

#[test]
fn a_three_node_cluster_losing_a_node_loses_and_repeats_nothing() {
    let what = "capture and apply through a NATS cluster";
    let Some(url) = scry_testkit::server::pg_url(what) else {
        return;
    };
    let Some(cluster) = scry_testkit::server::nats_cluster_url(what) else {
        return;
    };
    let dir = std::env::var("SCRY_NATS_CLUSTER_URL_DIR")
        .expect("SCRY_NATS_CLUSTER_URL_DIR, printed by .ci/nats.sh with the cluster's URL");
    let node = format!("{dir}-2.conf");
    let (transactions, rows) = (600, 1);
    let (source, target_a, target_b) = databases(&url, "nats_c");
    let stream = stream_name(&cluster, "CLUSTER", "?replicas=3");
    eprintln!("stream {stream}");
    let workload = workload(&source, transactions, rows);
    let capture = capture_args(&source, "nats_c_slot", &stream);
    let apply_a = ["apply", &target_a, &stream, "--follow"];
    let apply_b = ["apply", &target_b, &stream, "--follow"];
    let mut b = spawn(&apply_b);
    // The capture killed twice, apply A twice, while the workload runs.
    killed_after(&capture, 700);
    killed_after(&apply_a, 300);
    killed_after(&capture, 900);
    killed_after(&apply_a, 500);
    // A node of the cluster stops while the capture publishes, and comes back.
    let running = spawn(&capture);
    std::thread::sleep(Duration::from_millis(500));
    let stopped = Command::new("pkill")
        .args(["-f", "--", &format!("-c {node}")])
        .status()
        .expect("pkill");
    assert!(stopped.success(), "node 2 ({node}) was running");
    std::thread::sleep(Duration::from_millis(1500));
    let log = std::fs::File::create(format!("{dir}-2.restarted.log")).expect("log");
    // In a session of its own (setsid -f): the node outlives this test, as the others do.
    let started = Command::new("setsid")
        .args(["-f", nats_server(), "-c", &node])
        .stdout(log)
        .stderr(Stdio::null())
        .status()
        .expect("start node 2 again");
    assert!(started.success(), "node 2 started again");
    workload.join().expect("workload");
    kill(running);
    // B followed all along (or stopped when its node went away): its run ends here.
    let _ = b.kill();
    b.wait().expect("reap apply B");
    // Once the cluster has the stream's leader again, the capture catches up: a capture
    // started while it elects one fails and is run again, as an operator would.
    let mut last = capture.clone();
    last.extend(["--until", "now", "--retry-for", "0"]);
    let mut tries = 0;
    loop {
        let out = scry(&last, None);
        if out.status.success() {
            break;
        }
        tries += 1;
        assert!(
            tries < 20,
            "capture after the node came back: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    targets_equal_source(
        &source,
        [&target_a, &target_b],
        &stream,
        i64::from(transactions * rows),
    );
    stream_holds_each_batch_once(&stream);
}
