//! A replication that runs for months, against a real PostgreSQL server (`SCRY_PG_URL`):
//! SIGTERM stops `replicate` as Ctrl-C does, a slot whose table is idle does not hold the
//! WAL of other databases, and `scry status` says where each stream is.

mod common;

use std::time::{Duration, Instant};

use common::replica::{
    follow, replicate_until_now, signal, source, t_digest, target, wait_for_rows,
};
use common::{scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("long-running replication against a server")
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
    let (code, err, took) = signal(child, "TERM");
    assert!(took < Duration::from_secs(5), "{took:?}");
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
    let (code, err, _) = signal(child, "INT");
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

#[test]
fn ctrl_c_is_heard_while_the_target_waits_on_a_lock() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "running_locked_src");
    let dst = target(&url, "running_locked_dst");
    let child = follow(&src, &dst, "running_locked_src_slot");
    s.batch_execute("INSERT INTO t VALUES (1, 1, 'a')")
        .expect("insert");
    wait_for_rows(&dst, 1);
    // The target's table locked by someone else: the next transaction waits on it.
    let mut lock = Client::connect(&dst, NoTls).expect("connect");
    lock.batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    s.batch_execute("INSERT INTO t VALUES (2, 2, 'b')")
        .expect("insert");
    std::thread::sleep(Duration::from_millis(700));
    let (code, err, took) = signal(child, "INT");
    assert!(took < Duration::from_secs(3), "{took:?}: {err}");
    assert_eq!(code, Some(130), "{err}");
    lock.batch_execute("COMMIT").expect("unlock");
    // What the target had not committed comes with the next run; nothing twice.
    replicate_until_now(&src, &dst, "running_locked_src_slot", &[]);
    assert_eq!(t_digest(&dst), t_digest(&src));
}
