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
        // The stream holds the capture from its first batch: no target lacks its start.
        assert!(
            !stderr(&out).contains("no longer holds"),
            "{}",
            stderr(&out)
        );
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
    let mut reader = Consumer::open(&address, &Default::default(), "test_reader").expect("reader");
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
        assert_eq!(
            pair[1].batch_seq,
            pair[0].batch_seq + u64::from(pair[1].frames),
            "message {i}"
        );
        // A snapshot's messages come first, all keyed below every change.
        if pair[1].snapshot.is_some() {
            assert!(pair[0].inside_snapshot(), "message {i}: {pair:?}");
            continue;
        }
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
    // Frames made while the source had more at hand went out together.
    assert!(all.iter().any(|m| m.frames > 1), "{all:?}");
    // The reading commands take the stream as they take a file: every frame a payload.
    let out = scry(&["validate", &stream], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = common::stdout(&out);
    let frames: u32 = all.iter().map(|m| m.frames).sum();
    assert!(
        said.contains(&format!("valid: {frames} payloads")),
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
    // A node of the cluster stops while the capture publishes and both targets follow,
    // and comes back.
    let mut a = spawn(&apply_a);
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
    // B followed all along: a node going away is a failure that passes, which it rode
    // through (trying again from its acknowledged floor) rather than ending on.
    for (name, apply) in [("A", &mut a), ("B", &mut b)] {
        assert!(
            apply.try_wait().expect("apply's state").is_none(),
            "apply {name} --follow ended when a node went away"
        );
    }
    kill(a);
    kill(b);
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

/// The second table of the snapshot test, beside [`TABLE`].
const OTHER: &str = "nats_snap_other";

#[test]
fn a_snapshot_through_the_stream_builds_targets_from_the_stream_alone() {
    let what = "capture --snapshot into NATS";
    let Some(url) = scry_testkit::server::pg_url(what) else {
        return;
    };
    let Some(nats) = scry_testkit::server::nats_url(what) else {
        return;
    };
    let source = scry_testkit::server::fresh_database(&url, "nats_s_src");
    let schema = format!(
        "CREATE TABLE {TABLE} (id int4 PRIMARY KEY, n int4 NOT NULL, note text);
         CREATE TABLE {OTHER} (id int8 PRIMARY KEY, v text);"
    );
    let mut c = Client::connect(&source, NoTls).expect("connect source");
    c.batch_execute(&format!(
        "{schema}
         INSERT INTO {TABLE} SELECT g, g % 7, repeat(md5(g::text), 4)
           FROM generate_series(1000000, 1040000) g;
         INSERT INTO {OTHER} SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
         CREATE PUBLICATION nats_pub FOR TABLE {TABLE}, {OTHER};"
    ))
    .expect("source");
    // Slots belong to the cluster: one of an earlier run goes first.
    let slot = "nats_s_slot";
    let _ = c.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE slot_name = $1",
        &[&slot],
    );
    let targets = ["a", "b"].map(|name| {
        let t = scry_testkit::server::fresh_database(&url, &format!("nats_s_dst_{name}"));
        Client::connect(&t, NoTls)
            .expect("connect target")
            .batch_execute(&schema)
            .expect("target tables");
        t
    });
    // Rows the target had before: the load replaces them.
    Client::connect(&targets[1], NoTls)
        .expect("connect target")
        .batch_execute(&format!("INSERT INTO {TABLE} VALUES (1, 1, 'stale')"))
        .expect("stale row");
    let stream = stream_name(&nats, "SNAP", "");
    // Transactions commit while the slot and its snapshot are made: each lands in the
    // snapshot or in the changes, never both, never neither.
    let workload = workload(&source, 40, 50);
    let mut capture = capture_args(&source, slot, &stream);
    capture.extend(["--snapshot", &stream, "--until", "now"]);
    let out = scry(&capture, None);
    assert!(out.status.success(), "{}", stderr(&out));
    // Apply A is killed while it loads the snapshot, and follows after.
    killed_after(&["apply", &targets[0], &stream, "--follow"], 400);
    workload.join().expect("workload");
    let changes = capture_args(&source, slot, &stream);
    let mut last = changes.clone();
    last.extend(["--until", "now"]);
    let out = scry(&last, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = stream_holds_each_batch_once(&stream);
    let snapshot = all.iter().take_while(|m| m.snapshot.is_some()).count();
    assert!(snapshot > 4, "the tables span messages: {all:?}");
    assert_eq!(
        all[snapshot - 1].commit,
        all[0].snapshot,
        "the snapshot's end"
    );
    assert!(all[snapshot..].iter().all(|m| m.snapshot.is_none()));
    let expected = [TABLE, OTHER].map(|t| digest(&mut c, t));
    let equal = |target: &str| {
        let mut t = Client::connect(target, NoTls).expect("target");
        for (table, expected) in [TABLE, OTHER].iter().zip(&expected) {
            assert_eq!(&digest(&mut t, table), expected, "{target} {table}");
        }
    };
    for target in &targets {
        let out = scry(&["apply", target, &stream], None);
        assert!(out.status.success(), "{}", stderr(&out));
        equal(target);
    }
    let out = scry(&["apply", &targets[1], &stream], None);
    assert!(
        stderr(&out).contains("nothing to apply"),
        "{}",
        stderr(&out)
    );

    // A subject that ends inside a snapshot (its capture stopped mid-way) is refused: no
    // target could be built from what follows it.
    let address = Address::parse(&stream).expect("address");
    let mut reader = Consumer::open(&address, &Default::default(), "test_subject").expect("reader");
    let subject = reader.next(1, Duration::from_secs(1)).expect("next")[0]
        .subject
        .clone();
    let tokens: Vec<&str> = subject.split('.').collect();
    let mut torn = scry_nats::Publisher::open(&address, &Default::default(), tokens[1], tokens[2])
        .expect("open");
    torn.last().expect("last");
    let inside = Stored {
        batch_seq: all.len() as u64,
        commit: None,
        ..all[0]
    };
    torn.publish(bytes::Bytes::from_static(b"cut"), &inside)
        .expect("publish");
    let out = scry(&last, None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ends inside a snapshot"),
        "{}",
        stderr(&out)
    );
    // Starting over: a new slot, a new snapshot that replaces what the subject held.
    let out = scry(&["drop", &source, "--slot", slot], None);
    assert!(out.status.success(), "{}", stderr(&out));
    c.batch_execute(&format!("UPDATE {OTHER} SET v = 'after' WHERE id <= 10"))
        .expect("update");
    let out = scry(&capture, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("removed the {} messages", all.len() + 1)),
        "{}",
        stderr(&out)
    );
    let expected_other = digest(&mut c, OTHER);
    let out = scry(&["apply", &targets[0], &stream], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("2 snapshot tables loaded"),
        "{}",
        stderr(&out)
    );
    let mut t = Client::connect(&targets[0], NoTls).expect("target");
    assert_eq!(digest(&mut t, OTHER), expected_other);
    assert_eq!(digest(&mut t, TABLE), expected[0]);
}

#[test]
fn a_stream_behind_tls_with_client_certificates_carries_the_changes() {
    let what = "capture and apply through NATS over TLS";
    let Some(url) = scry_testkit::server::pg_url(what) else {
        return;
    };
    let Some((tls, [ca, cert, key])) = scry_testkit::server::nats_tls_url(what) else {
        return;
    };
    let (source, target, _) = databases(&url, "nats_t");
    workload(&source, 5, 10).join().expect("workload");
    let stream = stream_name(&tls, "TLS", "");
    let (ca, cert, key) = (
        ca.to_str().expect("path"),
        cert.to_str().expect("path"),
        key.to_str().expect("path"),
    );
    let with_tls = ["--nats-ca", ca, "--nats-cert", cert, "--nats-key", key];
    let mut capture = capture_args(&source, "nats_t_slot", &stream);
    capture.extend(["--until", "now"]);
    capture.extend(with_tls);
    let out = scry(&capture, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut apply = vec!["apply", &target, &stream];
    apply.extend(with_tls);
    let out = scry(&apply, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut t = Client::connect(&target, NoTls).expect("target");
    assert_eq!(digest(&mut t, TABLE), expected_of(&source));
    // Without its client certificate the server refuses: an error at once (exit 2), not a
    // retry that could never succeed.
    let out = scry(&["apply", &target, &stream, "--nats-ca", ca], None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refused the connection"),
        "{}",
        stderr(&out)
    );
    // A CA file that is not there is a mistake in the options: named, and not retried.
    let out = scry(
        &[
            "apply",
            &target,
            &stream,
            "--nats-ca",
            "/nonexistent/ca.pem",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("NATS client file /nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
}
