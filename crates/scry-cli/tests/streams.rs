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

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::replica::{
    exited, follow, replicate_until_now, signal, source, t_digest, target, wait_for_rows, SCHEMA,
};
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::{fresh_database, pg_ctl, restart_server};

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry's streams against a server")
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
    let (code, err, took) = signal(first, "INT");
    assert!(took < Duration::from_secs(1), "{took:?}");
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
