//! Streams kept apart and servers left free, against real PostgreSQL servers (`SCRY_PG_URL`,
//! and `SCRY_PG_RESTART_URL` for the server a test shuts down; `.ci/test` starts both):
//! - two streams replicated alternately into two databases of one cluster with the default
//!   origins both end equal to their sources, and an origin bound to one stream refuses the
//!   other;
//! - a snapshot stream loads whole into a fresh target, also one made anew under an old name;
//! - a second `replicate` on a busy slot fails at once naming it, and Ctrl-C stops one within
//!   a second;
//! - a fast shutdown of the source completes within seconds while `replicate` and `capture
//!   --source stream` are connected, and both exit saying the source ended the stream;
//! - `scry drop` removes what scry created, on both servers;
//! - a `capture --snapshot` stopped part way leaves no slot behind, and runs again from
//!   nothing.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::pg::digest;
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::{fresh_database, pg_ctl, restart_server};

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry's streams against a server")
}

const SCHEMA: &str = "CREATE TABLE t (id int4 PRIMARY KEY, n int4 NOT NULL, note text);";

/// A fresh source database `name` on the server of `url` with [`SCHEMA`], its publication `p`
/// and the slot `{name}_slot`; returns its connection string and a client of it.
fn source(url: &str, name: &str) -> (String, Client) {
    let source = fresh_database(url, name);
    let mut c = Client::connect(&source, NoTls).expect("connect to the source");
    c.batch_execute(SCHEMA).expect("source schema");
    c.batch_execute("CREATE PUBLICATION p FOR TABLE t")
        .expect("publication");
    c.execute(
        "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
        &[&format!("{name}_slot")],
    )
    .expect("create slot");
    (source, c)
}

/// A fresh target database `name` with [`SCHEMA`].
fn target(url: &str, name: &str) -> String {
    let target = fresh_database(url, name);
    Client::connect(&target, NoTls)
        .expect("connect to the target")
        .batch_execute(SCHEMA)
        .expect("target schema");
    target
}

/// `scry replicate SOURCE TARGET --slot SLOT --publication p --until now [more]`, which must
/// succeed; its standard error.
fn replicate_until_now(source: &str, target: &str, slot: &str, more: &[&str]) -> String {
    let args = [
        "replicate",
        source,
        target,
        "--slot",
        slot,
        "--publication",
        "p",
        "--until",
        "now",
    ];
    let out = scry(&[&args[..], more].concat(), None);
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

fn t_digest(url: &str) -> (i64, String) {
    digest(&mut Client::connect(url, NoTls).expect("connect"), "t")
}

#[test]
fn two_streams_into_one_cluster_keep_apart_under_the_default_origins() {
    let Some(url) = conninfo() else { return };
    let (a, mut sa) = source(&url, "streams_src_a");
    let (b, mut sb) = source(&url, "streams_src_b");
    let ta = target(&url, "streams_dst_a");
    let tb = target(&url, "streams_dst_b");
    // Alternately: a transaction of one source replicated, then the other's; with one shared
    // origin the second stream's progress would pass the first's next transactions.
    for round in 0..3 {
        let base = round * 100;
        sa.batch_execute(&format!(
            "INSERT INTO t SELECT g, g, 'a' FROM generate_series({}, {}) g",
            base + 1,
            base + 10
        ))
        .expect("insert into a");
        replicate_until_now(&a, &ta, "streams_src_a_slot", &[]);
        sb.batch_execute(&format!(
            "INSERT INTO t SELECT g, g, 'b' FROM generate_series({}, {}) g;
             UPDATE t SET n = n + 1 WHERE id % 3 = 0",
            base + 1,
            base + 20
        ))
        .expect("insert into b");
        sa.batch_execute("UPDATE t SET note = note || '!' WHERE id % 2 = 0")
            .expect("update a");
        replicate_until_now(&b, &tb, "streams_src_b_slot", &[]);
        replicate_until_now(&a, &ta, "streams_src_a_slot", &[]);
    }
    assert_eq!(t_digest(&ta), t_digest(&a), "stream a");
    assert_eq!(t_digest(&tb), t_digest(&b), "stream b");
    assert_eq!(t_digest(&ta).0, 30);

    // Each target records which stream its origin follows; the origins differ.
    let mut c = Client::connect(&tb, NoTls).expect("connect");
    let row = c
        .query_one("SELECT origin, stream FROM scry.origins", &[])
        .expect("scry.origins");
    let (origin_b, stream_b): (String, String) = (row.get(0), row.get(1));
    assert!(
        stream_b.ends_with("/streams_src_b/streams_src_b_slot"),
        "{stream_b}"
    );
    assert!(origin_b.starts_with("scry_"), "{origin_b}");
    let origin_a: String = Client::connect(&ta, NoTls)
        .expect("connect")
        .query_one("SELECT origin FROM scry.origins", &[])
        .expect("scry.origins")
        .get(0);
    assert_ne!(origin_a, origin_b);

    // Stream a under the origin that follows stream b: refused, nothing applied.
    sa.batch_execute("INSERT INTO t VALUES (1000, 0, 'late')")
        .expect("insert");
    let refused = scry(
        &[
            "replicate",
            &a,
            &tb,
            "--slot",
            "streams_src_a_slot",
            "--publication",
            "p",
            "--until",
            "now",
            "--origin",
            &origin_b,
        ],
        None,
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&format!(
            "target: replication origin {origin_b} follows the stream {stream_b}"
        )),
        "{}",
        stderr(&refused)
    );
    assert_eq!(t_digest(&tb), t_digest(&b), "stream b untouched");
}

#[test]
fn a_snapshot_stream_loads_whole_into_a_fresh_target() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "streams_snap_src");
    s.execute(
        "SELECT pg_drop_replication_slot('streams_snap_src_slot')",
        &[],
    )
    .expect("capture --snapshot makes the slot");
    s.batch_execute(
        "INSERT INTO t SELECT g, g, repeat('x', g % 50) FROM generate_series(1, 5000) g",
    )
    .expect("rows");
    let dir = scratch("streams_snapshot_fresh");
    let (snap, cdc) = (dir.join("snap.scry"), dir.join("cdc.scry"));
    let (snap, cdc) = (snap.to_str().expect("path"), cdc.to_str().expect("path"));
    let capture = |more: &[&str]| {
        let args = [
            "capture",
            &src,
            "--slot",
            "streams_snap_src_slot",
            "--publication",
            "p",
            "--out",
            cdc,
            "--until",
            "now",
        ];
        let out = scry(&[&args[..], more].concat(), None);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    capture(&["--snapshot", snap]);
    s.batch_execute("UPDATE t SET n = -n WHERE id % 10 = 0; DELETE FROM t WHERE id > 4900")
        .expect("changes");
    capture(&[]);

    // Snapshot and changes into one target: its origin is past the snapshot afterwards.
    let first = target(&url, "streams_snap_dst");
    for file in [snap, cdc] {
        let out = scry(&["apply", &first, file], None);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(t_digest(&first), t_digest(&src));
    // The same snapshot into a fresh database of the same cluster, and into the first one
    // made anew under its name (whose default origin, a cluster object, is still there with
    // its progress): every row, then every change.
    for name in ["streams_snap_dst2", "streams_snap_dst"] {
        let fresh = target(&url, name);
        let out = scry(&["apply", &fresh, snap], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("; 1 snapshot table loaded (5000 rows)"),
            "{name}: {}",
            stderr(&out)
        );
        let out = scry(&["apply", &fresh, cdc], None);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("applied 1 transaction (600 changes)"),
            "{}",
            stderr(&out)
        );
        assert_eq!(t_digest(&fresh), t_digest(&src), "{name}");
        // Again: the table is recorded as loaded from this snapshot, so it is passed over.
        let out = scry(&["apply", &fresh, snap], None);
        assert!(
            stderr(&out).contains("; 1 snapshot table already applied skipped"),
            "{}",
            stderr(&out)
        );
        assert_eq!(t_digest(&fresh), t_digest(&src), "{name}, snapshot again");
    }
}

/// `scry replicate` of `slot` without `--until`, in the background, ending at the first
/// lost connection (`--retry-for 0`).
fn follow(source: &str, target: &str, slot: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "replicate",
            source,
            target,
            "--slot",
            slot,
            "--publication",
            "p",
            "--retry-for",
            "0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry replicate")
}

/// Waits (10 s at most) until `target`'s table t has `rows` rows.
fn wait_for_rows(target: &str, rows: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while t_digest(target).0 != rows {
        assert!(
            Instant::now() < deadline,
            "the target never got {rows} rows"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for `child` to exit, `limit` at most; its exit code, standard error and how long.
fn exited(mut child: Child, limit: Duration) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut err);
            }
            return (status.code(), err, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_busy_slot_is_named_at_once_and_ctrl_c_stops_replicate_within_a_second() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "streams_busy_src");
    let dst = target(&url, "streams_busy_dst");
    let first = follow(&src, &dst, "streams_busy_src_slot");
    s.batch_execute("INSERT INTO t VALUES (1, 1, 'a')")
        .expect("insert");
    wait_for_rows(&dst, 1);

    let started = Instant::now();
    let second = scry(
        &[
            "replicate",
            &src,
            &dst,
            "--slot",
            "streams_busy_src_slot",
            "--publication",
            "p",
        ],
        None,
    );
    let took = started.elapsed();
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        stderr(&second).contains(
            "source: replication slot streams_busy_src_slot: in use by the walsender of PID"
        ),
        "{}",
        stderr(&second)
    );

    // One SIGINT: the first stops within a second, with its summary.
    let pid = first.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let (code, err, _) = exited(first, Duration::from_secs(5));
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("stopped (Ctrl-C or SIGTERM): applied 1 transaction"),
        "{err}"
    );

    // A publication the source does not have is refused before anything streams.
    let missing = scry(
        &[
            "replicate",
            &src,
            &dst,
            "--slot",
            "streams_busy_src_slot",
            "--publication",
            "nope",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));

    assert!(
        stderr(&missing).contains("the source has no publication nope"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn a_fast_shutdown_of_the_source_is_not_held_by_replicate_or_capture() {
    let Some(url) = conninfo() else { return };
    let Some((restart_url, dir)) = restart_server("a source shut down under scry") else {
        return;
    };
    let (src, mut s) = source(&restart_url, "streams_shutdown_src");
    s.execute(
        "SELECT pg_create_logical_replication_slot('streams_shutdown_cap', 'pgoutput')",
        &[],
    )
    .expect("the capture's slot");
    let dst = target(&url, "streams_shutdown_dst");
    let out = scratch("streams_shutdown").join("cdc.scry");
    let out = out.to_str().expect("path");
    let replicate = follow(&src, &dst, "streams_shutdown_src_slot");
    let capture = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args([
            "capture",
            &src,
            "--slot",
            "streams_shutdown_cap",
            "--publication",
            "p",
        ])
        .args(["--source", "stream", "--out", out, "--retry-for", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry capture");
    s.batch_execute("INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 100) g")
        .expect("insert");
    wait_for_rows(&dst, 100);
    drop(s);

    let stopped = pg_ctl(&dir, "stop");
    let restarted = pg_ctl(&dir, "start");
    let took = stopped.expect("a fast shutdown");
    restarted.expect("the server starts again");
    assert!(took < Duration::from_secs(10), "the shutdown took {took:?}");
    for (name, child) in [("replicate", replicate), ("capture", capture)] {
        let (code, err, _) = exited(child, Duration::from_secs(10));
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("scry: source: "), "{name}: {err}");
    }
    // What was applied and captured is kept, and a run after the restart goes on.
    let mut s = Client::connect(&src, NoTls).expect("connect after the restart");
    s.batch_execute("INSERT INTO t VALUES (101, 0, 'after')")
        .expect("insert");
    replicate_until_now(&src, &dst, "streams_shutdown_src_slot", &[]);
    assert_eq!(t_digest(&dst), t_digest(&src));
}

#[test]
fn drop_removes_what_scry_created_on_both_servers() {
    let Some(url) = conninfo() else { return };
    let src = fresh_database(&url, "streams_drop_src");
    let dst = target(&url, "streams_drop_dst");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(&format!("{SCHEMA} CREATE TABLE keyless (a int4)"))
        .expect("schema");
    let args = [
        "capture",
        &src,
        "--slot",
        "streams_drop_slot",
        "--publication",
        "streams_drop_pub",
        "--create",
        "--ddl",
        "--out",
    ];
    let dir = scratch("streams_drop");
    let cdc = dir.join("cdc.scry");
    let out = scry(
        &[&args[..], &[cdc.to_str().expect("path"), "--until", "now"]].concat(),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The publication lists the keyed table only: the keyless one's DELETE still works.
    assert!(
        stderr(&out).contains("created publication streams_drop_pub for 1 table: public.t"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("left out of it"), "{}", stderr(&out));
    s.batch_execute(
        "INSERT INTO keyless VALUES (1); DELETE FROM keyless; INSERT INTO t VALUES (1, 1, 'a')",
    )
    .expect("the application's DELETE on a keyless table");
    let out = scry(
        &[
            "replicate",
            &src,
            &dst,
            "--slot",
            "streams_drop_slot",
            "--publication",
            "streams_drop_pub",
            "--until",
            "now",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(t_digest(&dst), t_digest(&src));

    let dropped = scry(
        &[
            "drop",
            &src,
            &dst,
            "--slot",
            "streams_drop_slot",
            "--publication",
            "streams_drop_pub",
            "--ddl-trigger",
        ],
        None,
    );
    assert!(dropped.status.success(), "{}", stderr(&dropped));
    let said = common::stdout(&dropped);
    for line in [
        "source: removed slot streams_drop_slot",
        "source: removed publication streams_drop_pub",
        "source: removed event trigger scry_ddl",
        "target: removed replication origin scry_",
        "schema scry dropped",
    ] {
        assert!(said.contains(line), "{line}: {said}");
    }
    let count = |c: &mut Client, sql: &str| c.query_one(sql, &[]).expect(sql).get::<_, i64>(0);
    assert_eq!(
        count(
            &mut s,
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'streams_drop_slot'"
        ),
        0
    );
    assert_eq!(count(&mut s, "SELECT count(*) FROM pg_publication"), 0);
    assert_eq!(count(&mut s, "SELECT count(*) FROM pg_event_trigger"), 0);
    let mut t = Client::connect(&dst, NoTls).expect("connect");
    assert_eq!(
        count(
            &mut t,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'scry'"
        ),
        0
    );
    // Run again: nothing left to remove, and it says so.
    let again = scry(&["drop", &src, &dst, "--slot", "streams_drop_slot"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        common::stdout(&again).contains("source: no slot streams_drop_slot, nothing to remove"),
        "{}",
        common::stdout(&again)
    );
}

#[test]
fn a_capture_snapshot_stopped_part_way_leaves_no_slot_and_runs_again() {
    let Some(url) = conninfo() else { return };
    let src = fresh_database(&url, "streams_cut_src");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(
        "CREATE TABLE big (id int4 PRIMARY KEY, t text);
         INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 400000) g;",
    )
    .expect("rows");
    let dir = scratch("streams_cut");
    let (snap, cdc) = (dir.join("snap.scry"), dir.join("cdc.scry"));
    let args = [
        "capture",
        &src,
        "--slot",
        "streams_cut_slot",
        "--publication",
        "streams_cut_pub",
        "--create",
        "--out",
        cdc.to_str().expect("path"),
        "--until",
        "now",
        "--snapshot",
        snap.to_str().expect("path"),
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry capture");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&snap).map_or(0, |m| m.len()) < 1 << 20 {
        assert!(Instant::now() < deadline, "the snapshot never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    let (code, err, _) = exited(child, Duration::from_secs(10));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("dropped slot streams_cut_slot"), "{err}");
    let slots: i64 = s
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'streams_cut_slot'",
            &[],
        )
        .expect("slots")
        .get(0);
    assert_eq!(slots, 0, "no slot holds WAL for a snapshot nobody has");
    // The same command again: a whole snapshot this time.
    std::fs::remove_file(&snap).expect("remove the cut snapshot");
    let again = scry(&args, None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("public.big: 400000 rows"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn sigterm_stops_replicate_with_its_summary_and_the_next_run_applies_nothing_twice() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "streams_term_src");
    let dst = target(&url, "streams_term_dst");
    let child = follow(&src, &dst, "streams_term_src_slot");
    s.batch_execute("INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 50) g")
        .expect("insert");
    wait_for_rows(&dst, 50);
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let (code, err, _) = exited(child, Duration::from_secs(10));
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("stopped (Ctrl-C or SIGTERM): applied 1 transaction (50 changes)"),
        "{err}"
    );
    let again = replicate_until_now(&src, &dst, "streams_term_src_slot", &[]);
    assert!(again.starts_with("applied 0 transactions"), "{again}");
    assert_eq!(t_digest(&dst), t_digest(&src));
}

#[test]
fn an_idle_slot_does_not_hold_the_wal_of_other_databases() {
    let Some(url) = conninfo() else { return };
    let (src, _s) = source(&url, "streams_idle_src");
    let dst = target(&url, "streams_idle_dst");
    let busy = fresh_database(&url, "streams_idle_busy");
    let child = follow(&src, &dst, "streams_idle_src_slot");
    let mut admin = Client::connect(&url, NoTls).expect("connect");
    let retained = |admin: &mut Client| -> i64 {
        admin
            .query_one(
                "SELECT (pg_current_wal_lsn() - restart_lsn)::int8 FROM pg_replication_slots \
                 WHERE slot_name = 'streams_idle_src_slot'",
                &[],
            )
            .expect("retained WAL")
            .get(0)
    };
    // 150 MB of WAL in another database, none of it this slot's.
    let mut b = Client::connect(&busy, NoTls).expect("connect");
    for _ in 0..3 {
        b.batch_execute(
            "DROP TABLE IF EXISTS filler;
             CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 16) AS t
               FROM generate_series(1, 100000) g;",
        )
        .expect("WAL elsewhere");
    }
    let written = retained(&mut admin);
    assert!(written > 150 << 20, "only {written} bytes of WAL written");
    // The slot moves past it once replicate confirms what the server has read; a checkpoint
    // logs the snapshot the server needs to move the slot's restart point.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        admin.batch_execute("CHECKPOINT").expect("checkpoint");
        let now = retained(&mut admin);
        if now < 64 << 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the idle slot still retains {now} bytes of WAL"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let (code, err, _) = exited(child, Duration::from_secs(10));
    assert_eq!(code, Some(130), "{err}");
}

#[test]
fn status_names_the_slot_its_lag_and_the_origin_that_follows_it() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "streams_status_src");
    let dst = target(&url, "streams_status_dst");
    s.batch_execute("INSERT INTO t VALUES (1, 1, 'a')")
        .expect("insert");
    replicate_until_now(&src, &dst, "streams_status_src_slot", &[]);
    let out = scry(&["status", &src, &dst, "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value =
        serde_json::from_str(&common::stdout(&out)).expect("one JSON object");
    let slot = &status["slots"][0];
    assert_eq!(slot["name"], "streams_status_src_slot");
    assert_eq!(slot["plugin"], "pgoutput");
    assert!(slot["active_pid"].is_null(), "{slot}");
    assert!(slot["lag_bytes"].as_i64().is_some_and(|b| b >= 0), "{slot}");
    assert!(
        slot["retained_bytes"].as_i64().is_some_and(|b| b > 0),
        "{slot}"
    );
    assert_eq!(status["publications"][0]["name"], "p");
    assert_eq!(status["publications"][0]["tables"][0], "public.t");
    let origin = &status["origins"][0];
    assert!(
        origin["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("scry_")),
        "{origin}"
    );
    assert!(
        origin["stream"]
            .as_str()
            .is_some_and(|s| s.ends_with("/streams_status_src/streams_status_src_slot")),
        "{origin}"
    );
    // The slot is confirmed at or past what the target durably has.
    let lsn = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| t.parse::<scry_types::Lsn>().ok())
            .map(|l| l.0)
    };
    assert!(
        lsn(&origin["progress"]).is_some_and(|p| lsn(&slot["confirmed"]).is_some_and(|c| p <= c)),
        "{status}"
    );
    // The table for people says the same.
    let out = scry(&["status", &src, &dst], None);
    let text = common::stdout(&out);
    assert!(
        text.contains("  streams_status_src_slot (pgoutput): inactive, confirmed "),
        "{text}"
    );
    assert!(text.contains("  p: public.t"), "{text}");
    assert!(text.contains(": follows "), "{text}");
}
