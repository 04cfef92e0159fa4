//! The receiver against PostgreSQL's own: a backlog of narrow-row changes waiting in a logical
//! replication slot, applied to a second database, from the first read of the slot until the
//! target holds everything.
//!
//! - `scry`: the slot streamed by `scry_apply::Replication` (`START_REPLICATION`, decoded
//!   by `ChangeDecoder`) into `scry_apply::Applier` (pipelined, one target transaction per
//!   source transaction, progress in a replication origin), in this process, until the
//!   source has sent what was committed when it started.
//! - `native`: `CREATE SUBSCRIPTION` on the same kind of slot (the built-in walsender and
//!   apply worker), timed until the target's rows equal the source's; the launcher's
//!   throttle between worker starts (`wal_retrieve_retry_interval`) is set to 1 ms for the
//!   run, so the worker starts at once.
//!
//! The workload: 1000 transactions, each inserting 3 rows, updating one and deleting one
//! (5000 changes) into `bench_rows (id int8 key, a int4, b text, c timestamptz)`. Each sample
//! builds its backlog anew outside the timing. Needs a server (`SCRY_PG_URL`, as `.ci/test`
//! sets it, with `wal_level = logical`); without one it says so and measures nothing.
//!
//! `apply/live_1000_transactions` measures what issue 18 asks for: replication running while
//! the workload commits on the source, timed from the workload's start until the target
//! holds all of it (the source's commits, one client, are part of both times).
//! - `scry`: `scry replicate <source> <target>` (the `scry` binary, built in release first),
//!   started before the workload;
//! - `scry_pipe`: `scry capture --source stream --out - --confirm-from <target> | scry
//!   apply -`, the same parts in two processes joined by a pipe;
//! - `native`: a subscription on the same kind of slot, its worker running before the
//!   workload.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented functions.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use postgres::{Client, NoTls};

const TRANSACTIONS: i64 = 1000;
const CHANGES: u64 = 5 * TRANSACTIONS as u64;
const SCHEMA: &str = "CREATE TABLE bench_rows (id int8 PRIMARY KEY, a int4, b text, c timestamptz)";

fn database(url: &str, name: &str) -> String {
    let mut admin = Client::connect(url, NoTls).expect("connect");
    let _ = Client::connect(&format!("{url} dbname={name}"), NoTls).map(|mut c| {
        let _ = c.batch_execute(
            "ALTER SUBSCRIPTION bench_sub DISABLE; ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE)",
        );
        let _ = c.batch_execute("DROP SUBSCRIPTION IF EXISTS bench_sub");
    });
    // A walsender may hold a slot a moment after its client went away.
    wait_for("the database's slots to drop", || {
        admin
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
                &[&name],
            )
            .is_ok()
    });
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let url = format!("{url} dbname={name}");
    Client::connect(&url, NoTls)
        .expect("connect")
        .batch_execute(SCHEMA)
        .expect("schema");
    url
}

/// Empties both tables, makes the slot `slot` and fills it with the workload's changes.
fn backlog(source: &mut Client, target: &mut Client, slot: &str) {
    fresh(source, target, slot);
    workload(source);
}

/// The 1000 transactions, one round trip each.
fn workload(source: &mut Client) {
    for t in 0..TRANSACTIONS {
        let base = t * 3;
        source
            .batch_execute(&format!(
                "BEGIN;
                 INSERT INTO bench_rows VALUES ({base}, {t}, 'row {base}', now()), ({b1}, {t}, 'row {b1}', now()), ({b2}, {t}, 'row {b2}', now());
                 UPDATE bench_rows SET a = a + 1, b = 'updated' WHERE id = {base};
                 DELETE FROM bench_rows WHERE id = {b2};
                 COMMIT",
                b1 = base + 1,
                b2 = base + 2
            ))
            .expect("workload");
    }
}

fn digest(c: &mut Client) -> (i64, String) {
    let row = c
        .query_one(
            "SELECT count(*), coalesce(md5(string_agg(id || ':' || a || ':' || b, ',' ORDER BY id)), '') FROM bench_rows",
            &[],
        )
        .expect("digest");
    (row.get(0), row.get(1))
}

/// A group's source and target databases, made anew, with the source publishing
/// `bench_rows`, and the subscriber's worker-start throttle set to 1 ms (the group resets it
/// with [`worker_start_throttle`] when it is done).
struct Setup {
    source_url: String,
    target_url: String,
    source: Client,
    target: Client,
    admin: Client,
}

impl Setup {
    /// `None` (and a note) without `SCRY_PG_URL`.
    fn new(prefix: &str) -> Option<Self> {
        let Ok(url) = std::env::var("SCRY_PG_URL") else {
            eprintln!("apply benchmark: SCRY_PG_URL is not set; nothing measured");
            return None;
        };
        let source_url = database(&url, &format!("{prefix}_src"));
        let target_url = database(&url, &format!("{prefix}_dst"));
        let mut source = Client::connect(&source_url, NoTls).expect("connect source");
        source
            .batch_execute("CREATE PUBLICATION bench_pub FOR TABLE bench_rows")
            .expect("publication");
        let target = Client::connect(&target_url, NoTls).expect("connect target");
        // The launcher starts a subscription's apply worker at most once per
        // wal_retrieve_retry_interval (5 s by default): that wait is not the subscriber's
        // apply.
        let mut admin = Client::connect(&url, NoTls).expect("connect");
        worker_start_throttle(&mut admin, Some("1ms"));
        Some(Self {
            source_url,
            target_url,
            source,
            target,
            admin,
        })
    }
}

/// Sets `wal_retrieve_retry_interval` (`None`: back to the server's setting) and reloads.
fn worker_start_throttle(admin: &mut Client, value: Option<&str>) {
    let set = match value {
        Some(v) => format!("ALTER SYSTEM SET wal_retrieve_retry_interval = '{v}'"),
        None => "ALTER SYSTEM RESET wal_retrieve_retry_interval".to_owned(),
    };
    for sql in [set.as_str(), "SELECT pg_reload_conf()"] {
        admin.batch_execute(sql).expect(sql);
    }
}

fn bench(c: &mut Criterion) {
    let Some(Setup {
        source_url,
        target_url,
        mut source,
        mut target,
        mut admin,
    }) = Setup::new("scry_bench")
    else {
        return;
    };

    let mut g = c.benchmark_group("apply/narrow_mix_1000_transactions");
    g.throughput(Throughput::Elements(CHANGES));
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(3));
    let mut sample = 0u64;
    g.bench_function("scry", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sample += 1;
                backlog(&mut source, &mut target, "bench_scry_slot");
                let origin = format!("bench_{sample}");
                let started = Instant::now();
                let mut applier =
                    scry_apply::Applier::connect(&target_url, &origin).expect("applier");
                let mut replication =
                    scry_apply::Replication::connect(&source_url, "bench_scry_slot")
                        .expect("replication");
                let until = replication
                    .current_position()
                    .expect("the source's position");
                replication
                    .start("bench_pub", applier.progress())
                    .expect("start");
                let stopped = replication
                    .run(&mut applier, Some(until), |_| true)
                    .expect("apply");
                assert_eq!(stopped, scry_apply::Stopped::Until);
                total += started.elapsed();
                drop(replication);
                drop(applier);
                // The applier's backend lets go of the origin as it exits, a moment later.
                let deadline = Instant::now() + Duration::from_secs(10);
                while let Err(e) =
                    target.execute("SELECT pg_replication_origin_drop($1)", &[&origin])
                {
                    assert!(Instant::now() < deadline, "drop origin: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert_eq!(
                    digest(&mut target),
                    digest(&mut source),
                    "scry applied it all"
                );
            }
            total
        });
    });
    g.bench_function("native", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                backlog(&mut source, &mut target, "bench_native_slot");
                let expected = digest(&mut source);
                let started = Instant::now();
                subscribe(&mut target, &source_url, "bench_native_slot");
                let deadline = Instant::now() + Duration::from_secs(120);
                while digest(&mut target) != expected {
                    assert!(Instant::now() < deadline, "the subscriber did not catch up");
                    std::thread::sleep(Duration::from_millis(2));
                }
                total += started.elapsed();
                unsubscribe(&mut target);
            }
            total
        });
    });
    g.finish();
    worker_start_throttle(&mut admin, None);
}

/// Subscribes the target to the source's publication through the existing `slot`, copying
/// nothing: the native apply of what the slot holds and will hold.
fn subscribe(target: &mut Client, source_url: &str, slot: &str) {
    target
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION bench_sub CONNECTION '{source_url}' PUBLICATION bench_pub \
             WITH (create_slot = false, slot_name = '{slot}', copy_data = false)"
        ))
        .expect("subscription");
}

/// Drops the subscription `subscribe` made (and with it its slot).
fn unsubscribe(target: &mut Client) {
    target
        .batch_execute("DROP SUBSCRIPTION bench_sub")
        .expect("drop subscription");
}

/// Empties both tables and makes `slot` anew.
fn fresh(source: &mut Client, target: &mut Client, slot: &str) {
    target
        .batch_execute("TRUNCATE bench_rows")
        .expect("truncate target");
    source
        .batch_execute("TRUNCATE bench_rows")
        .expect("truncate source");
    // The walsender of the last sample's capture may still hold the slot a moment after
    // the capture is killed.
    wait_for("the slot's release", || {
        source
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .is_ok()
    });
    source
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .expect("create slot");
}

/// Waits (30 s at most) until `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The `scry` binary, built in release (once) if it is missing or stale.
fn scry_binary() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "scry-cli",
            "--bin",
            "scry",
        ])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building scry failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), Into::into);
    target.join("release").join("scry")
}

/// Starts replicating the slot `live_scry_slot` from `source` to `target` (origin
/// `live_bench`): `scry replicate`, or with `piped` `scry capture --out - | scry apply -`.
fn replicate(
    scry: &std::path::Path,
    source: &str,
    target: &str,
    piped: bool,
) -> Vec<std::process::Child> {
    use std::process::{Command, Stdio};
    let slot = ["--slot", "live_scry_slot", "--publication", "bench_pub"];
    if !piped {
        let replicate = Command::new(scry)
            .args(["replicate", source, target])
            .args(slot)
            .args(["--origin", "live_bench"])
            .stderr(Stdio::null())
            .spawn()
            .expect("scry replicate");
        return vec![replicate];
    }
    let mut capture = Command::new(scry)
        .args(["capture", source])
        .args(slot)
        .args(["--source", "stream", "--out", "-", "--confirm-from", target])
        .args(["--origin", "live_bench"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("scry capture");
    let apply = Command::new(scry)
        .args(["apply", target, "-", "--origin", "live_bench"])
        .stdin(capture.stdout.take().expect("a pipe"))
        .stderr(Stdio::null())
        .spawn()
        .expect("scry apply");
    vec![capture, apply]
}

fn live(c: &mut Criterion) {
    let Some(Setup {
        source_url,
        target_url,
        mut source,
        mut target,
        mut admin,
    }) = Setup::new("scry_live_bench")
    else {
        return;
    };
    let scry = scry_binary();
    let slot_active = |source: &mut Client, slot: &str| -> bool {
        source
            .query_one(
                "SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .expect("slot state")
            .get(0)
    };

    let mut g = c.benchmark_group("apply/live_1000_transactions");
    g.throughput(Throughput::Elements(CHANGES));
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(5));
    // `scry replicate` (one process), then `scry capture | scry apply` (two, and a pipe).
    for (name, piped) in [("scry", false), ("scry_pipe", true)] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fresh(&mut source, &mut target, "live_scry_slot");
                    let _ = target.execute(
                        "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = 'live_bench'",
                        &[],
                    );
                    let mut processes = replicate(&scry, &source_url, &target_url, piped);
                    wait_for("the stream", || slot_active(&mut source, "live_scry_slot"));
                    let started = Instant::now();
                    workload(&mut source);
                    let expected = digest(&mut source);
                    wait_for("scry's apply", || digest(&mut target) == expected);
                    total += started.elapsed();
                    for p in &mut processes {
                        let _ = p.kill();
                    }
                    for p in &mut processes {
                        let _ = p.wait();
                    }
                }
                total
            });
        });
    }
    g.bench_function("native", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                fresh(&mut source, &mut target, "live_native_slot");
                subscribe(&mut target, &source_url, "live_native_slot");
                wait_for("the subscription's worker", || {
                    slot_active(&mut source, "live_native_slot")
                });
                let started = Instant::now();
                workload(&mut source);
                let expected = digest(&mut source);
                wait_for("the subscriber", || digest(&mut target) == expected);
                total += started.elapsed();
                unsubscribe(&mut target);
            }
            total
        });
    });
    g.finish();
    worker_start_throttle(&mut admin, None);
}

criterion_group!(benches, bench, live);
criterion_main!(benches);
