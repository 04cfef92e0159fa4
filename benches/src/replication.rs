//! The apply benchmark's databases, workload and runs (`benches/benches/apply.rs`), shared
//! with `examples/live_rounds.rs`, which alternates the live runs of scry and of PostgreSQL's
//! own subscriber round by round. Everything here needs a server (`SCRY_PG_URL`, with
//! `wal_level = logical`) and panics when a step fails: it is a benchmark's harness.

use std::process::Child;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

/// The workload's transactions.
pub const TRANSACTIONS: i64 = 1000;
/// Its row changes: each transaction inserts 3 rows, updates one and deletes one.
pub const CHANGES: u64 = 5 * TRANSACTIONS as u64;
/// The one table, in the source and the target.
pub const SCHEMA: &str =
    "CREATE TABLE bench_rows (id int8 PRIMARY KEY, a int4, b text, c timestamptz)";

/// Makes the database `name` anew (its subscriptions and slots dropped first) with the
/// table; returns its connection string.
pub fn database(url: &str, name: &str) -> String {
    let url = scry_testkit::server::fresh_database(url, name);
    Client::connect(&url, NoTls)
        .expect("connect")
        .batch_execute(SCHEMA)
        .expect("schema");
    url
}

/// Empties both tables, makes the slot `slot` and fills it with the workload's changes.
pub fn backlog(source: &mut Client, target: &mut Client, slot: &str) {
    fresh(source, target, slot);
    workload(source);
}

/// The 1000 transactions, one round trip each.
pub fn workload(source: &mut Client) {
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

/// The table's row count and an MD5 of its rows in key order.
pub fn digest(c: &mut Client) -> (i64, String) {
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
pub struct Setup {
    /// The source database's connection string.
    pub source_url: String,
    /// The target database's connection string.
    pub target_url: String,
    /// A connection to the source.
    pub source: Client,
    /// A connection to the target.
    pub target: Client,
    /// A connection to the server's default database.
    pub admin: Client,
}

impl Setup {
    /// `None` (and a note) without `SCRY_PG_URL`.
    pub fn new(prefix: &str) -> Option<Self> {
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
pub fn worker_start_throttle(admin: &mut Client, value: Option<&str>) {
    let set = match value {
        Some(v) => format!("ALTER SYSTEM SET wal_retrieve_retry_interval = '{v}'"),
        None => "ALTER SYSTEM RESET wal_retrieve_retry_interval".to_owned(),
    };
    for sql in [set.as_str(), "SELECT pg_reload_conf()"] {
        admin.batch_execute(sql).expect(sql);
    }
}

/// Subscribes the target to the source's publication through the existing `slot`, copying
/// nothing: the native apply of what the slot holds and will hold.
pub fn subscribe(target: &mut Client, source_url: &str, slot: &str) {
    target
        .batch_execute(&format!(
            "CREATE SUBSCRIPTION bench_sub CONNECTION '{source_url}' PUBLICATION bench_pub \
             WITH (create_slot = false, slot_name = '{slot}', copy_data = false)"
        ))
        .expect("subscription");
}

/// Drops the subscription `subscribe` made (and with it its slot).
pub fn unsubscribe(target: &mut Client) {
    target
        .batch_execute("DROP SUBSCRIPTION bench_sub")
        .expect("drop subscription");
}

/// Empties both tables and makes `slot` anew.
pub fn fresh(source: &mut Client, target: &mut Client, slot: &str) {
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
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The `scry` binary, built in release (once) if it is missing or stale.
pub fn scry_binary() -> std::path::PathBuf {
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
fn replicate(scry: &std::path::Path, source: &str, target: &str, piped: bool) -> Vec<Child> {
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

/// How a live run replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// `scry replicate`: one process.
    Scry,
    /// `scry capture --source stream --out - --confirm-from <target> | scry apply -`.
    ScryPipe,
    /// PostgreSQL's subscriber: `CREATE SUBSCRIPTION` on the same kind of slot.
    Native,
}

/// Whether a walsender streams `slot`.
pub fn slot_active(source: &mut Client, slot: &str) -> bool {
    source
        .query_one(
            "SELECT coalesce(bool_or(active), false) FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .expect("slot state")
        .get(0)
}

/// One live run: empties both tables, starts replicating a fresh slot as `how` says and waits
/// until it streams, then runs the workload on the source; returns the time from the
/// workload's start until the target holds all of it. `scry` is the `scry` binary
/// ([`scry_binary`]).
pub fn live_run(setup: &mut Setup, scry: &std::path::Path, how: Live) -> Duration {
    let Setup {
        source_url,
        target_url,
        source,
        target,
        ..
    } = setup;
    let slot = if how == Live::Native {
        "live_native_slot"
    } else {
        "live_scry_slot"
    };
    fresh(source, target, slot);
    let mut processes = Vec::new();
    if how == Live::Native {
        subscribe(target, source_url, slot);
    } else {
        let _ = target.execute(
            "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = 'live_bench'",
            &[],
        );
        processes = replicate(scry, source_url, target_url, how == Live::ScryPipe);
    }
    wait_for("the stream", || slot_active(source, slot));
    let started = Instant::now();
    workload(source);
    let expected = digest(source);
    wait_for("the apply", || digest(target) == expected);
    let took = started.elapsed();
    if how == Live::Native {
        unsubscribe(target);
    }
    for p in &mut processes {
        let _ = p.kill();
    }
    for p in &mut processes {
        let _ = p.wait();
    }
    took
}
