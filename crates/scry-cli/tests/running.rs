//! A replication that runs for months, against a real PostgreSQL server (`SCRY_PG_URL`):
//! SIGTERM stops `replicate` as Ctrl-C does, a slot whose table is idle does not hold the
//! WAL of other databases, `scry status` says where each stream is, and `--metrics` serves
//! the lag to Prometheus.

mod common;

use std::time::{Duration, Instant};

use common::metrics::{free_addr, scrape_until};
use common::replica::{
    follow, follow_with, replicate_until_now, signal, source, t_digest, target, wait_for_rows,
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
    let wal = |admin: &mut Client| -> i64 {
        admin
            .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8", &[])
            .expect("WAL position")
            .get(0)
    };
    // pgbench in another database for 60 s, after its initialisation: over 150 MB of WAL,
    // none of it this slot's.
    let before = wal(&mut admin);
    pgbench(&busy, &["-i", "-s", "10", "-q"]);
    pgbench(&busy, &["-n", "-c", "2", "-j", "2", "-T", "60"]);
    let written = wal(&mut admin) - before;
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

/// Runs PostgreSQL's `pgbench` (beside `pg_config`'s other programs) against `db`.
fn pgbench(db: &str, args: &[&str]) {
    let out = std::process::Command::new(common::pg::program("pgbench"))
        .args(args)
        .arg(db)
        .output()
        .expect("pgbench");
    assert!(
        out.status.success(),
        "pgbench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn status_names_the_slot_its_lag_and_the_origin_that_follows_it() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "streams_status_src");
    let dst = target(&url, "streams_status_dst");
    s.batch_execute("INSERT INTO t VALUES (1, 1, 'a')")
        .expect("insert");
    replicate_until_now(&src, &dst, "streams_status_src_slot", &[]);
    // The walsender of the run that ended goes a moment after its client.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let out = scry(&["status", &src, &dst, "--json"], None);
        assert!(out.status.success(), "{}", stderr(&out));
        let status: serde_json::Value =
            serde_json::from_str(&common::stdout(&out)).expect("one JSON object");
        if status["slots"][0]["active_pid"].is_null() || Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
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

#[test]
fn metrics_parse_as_prometheus_text_and_show_the_lag_only_while_behind() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "running_metrics_src");
    let dst = target(&url, "running_metrics_dst");
    let addr = free_addr();
    let child = follow_with(
        &src,
        &dst,
        "running_metrics_src_slot",
        &["--metrics", &addr, "--log-format", "json"],
    );
    s.batch_execute("INSERT INTO t SELECT g, g, 'x' FROM generate_series(1, 10) g")
        .expect("insert");
    wait_for_rows(&dst, 10);
    let caught_up = scrape_until(&addr, "caught up", |m| {
        m.get("scry_transactions_total") == Some(&1.0) && m.get("scry_lag_bytes") == Some(&0.0)
    });
    assert_eq!(caught_up.get("scry_changes_total"), Some(&10.0));
    assert_eq!(caught_up.get("scry_lag_seconds"), Some(&0.0));
    assert_eq!(
        caught_up.get("scry_retries_total{side=\"source\"}"),
        Some(&0.0)
    );
    // The slot's health comes with the first check.
    let health = scrape_until(&addr, "the slot's health", |m| {
        m.get("scry_slot_retained_wal_bytes")
            .is_some_and(|&b| b > 0.0)
    });
    assert_eq!(
        health.get("scry_slot_wal_status{status=\"reserved\"}"),
        Some(&1.0)
    );
    // The target's table locked: the next transaction waits, and the lag shows it.
    let mut lock = Client::connect(&dst, NoTls).expect("connect");
    lock.batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        .expect("lock");
    s.batch_execute("INSERT INTO t SELECT g, g, 'y' FROM generate_series(11, 20) g")
        .expect("insert");
    let behind = scrape_until(&addr, "behind", |m| {
        m.get("scry_lag_bytes").is_some_and(|&b| b > 0.0)
            && m.get("scry_lag_seconds").is_some_and(|&s| s > 0.0)
    });
    assert_eq!(behind.get("scry_transactions_total"), Some(&1.0));
    lock.batch_execute("COMMIT").expect("unlock");
    wait_for_rows(&dst, 20);
    scrape_until(&addr, "caught up again", |m| {
        m.get("scry_transactions_total") == Some(&2.0) && m.get("scry_lag_bytes") == Some(&0.0)
    });
    let (code, err, _) = signal(child, "TERM");
    assert_eq!(code, Some(130), "{err}");
    // Every event on standard error is one JSON object; the last says why it stopped.
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let last = events.last().expect("an event");
    assert_eq!(last["event"], "stopped", "{err}");
    assert_eq!(last["exit_code"], 130, "{err}");
    assert!(
        last["time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{err}"
    );
}

#[test]
fn the_heartbeat_writes_a_message_that_the_slot_is_confirmed_past() {
    let Some(url) = conninfo() else { return };
    let (src, mut s) = source(&url, "running_beat_src");
    let dst = target(&url, "running_beat_dst");
    // A second slot on the source sees what the heartbeat writes.
    s.batch_execute("SELECT pg_create_logical_replication_slot('running_beat_probe', 'pgoutput')")
        .expect("probe slot");
    let child = follow_with(&src, &dst, "running_beat_src_slot", &["--heartbeat", "1s"]);
    let beats = |s: &mut Client| -> Vec<String> {
        s.query(
            "SELECT lsn::text FROM pg_logical_slot_peek_binary_changes('running_beat_probe', \
               NULL, NULL, 'proto_version', '1', 'publication_names', 'p', 'messages', 'true') \
             WHERE get_byte(data, 0) = ascii('M') \
               AND position('scry.heartbeat'::bytea IN data) > 0",
            &[],
        )
        .expect("peek")
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let seen = beats(&mut s);
        if seen.len() >= 2 {
            break seen.last().cloned().expect("a heartbeat");
        }
        assert!(Instant::now() < deadline, "heartbeats: {seen:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // With nothing else to apply, the slot is confirmed past the heartbeat.
    loop {
        let past: bool = s
            .query_one(
                "SELECT confirmed_flush_lsn >= $1::text::pg_lsn FROM pg_replication_slots \
                 WHERE slot_name = 'running_beat_src_slot'",
                &[&last],
            )
            .expect("slot")
            .get(0);
        if past {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slot is not confirmed past {last}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, err, _) = signal(child, "INT");
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("applied 0 transactions"), "{err}");
    s.batch_execute("SELECT pg_drop_replication_slot('running_beat_probe')")
        .expect("drop the probe");
}
