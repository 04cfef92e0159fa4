//! From an empty target to a replica of a generated database of about 1 GB (pgbench at
//! scale 60 and a million wide rows, with their keys and an index), three ways, one after
//! the other on this server, and the ratios:
//!
//! - `scry replicate SOURCE TARGET --until now --jobs J --split-larger-than SPLIT` (schema,
//!   copy, keys and indexes, the stream up to now);
//! - `pgcopydb clone --table-jobs J --index-jobs J --split-tables-larger-than SPLIT`;
//! - PostgreSQL's `CREATE SUBSCRIPTION ... WITH (copy_data = true)` into a target given the
//!   schema by `pg_dump --schema-only` (timed from the subscription until every table is
//!   ready; the schema is not counted).
//!
//! Each target's row counts are checked against the source's. Beside each time it prints the
//! CPU time the whole machine was busy meanwhile (both servers, the tool, every core): where
//! every core is in use, elapsed time follows that work, whichever tool asks for it.
//!
//! `SCRY_PG_URL=... cargo run --release -p scry-benches --example clone_compare -- [SCALE] [JOBS] [SPLIT]`
//! (pgbench scale 60, 4 jobs and tables split past 256MB by default; needs pgbench, pg_dump and psql beside
//! `pg_config`, and `pgcopydb` on the PATH; the source is generated once and kept as
//! `clone_bench_src`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use scry_benches::replication::scry_binary;

const SOURCE: &str = "clone_bench_src";
const TARGET: &str = "clone_bench_dst";

fn main() {
    let mut args = std::env::args().skip(1);
    let scale: u32 = args
        .next()
        .map_or(60, |s| s.parse().expect("SCALE: a number"));
    let jobs: u32 = args
        .next()
        .map_or(4, |s| s.parse().expect("JOBS: a number"));
    // Both split the tables larger than this into ranges copied side by side.
    let split = args.next().unwrap_or_else(|| "256MB".to_owned());
    let split = split.as_str();
    let Some(url) = scry_testkit::server::pg_url("the clone comparison") else {
        return;
    };
    let source = source(&url, scale);
    let mut s = Client::connect(&source, NoTls).expect("connect to the source");
    let size: String = s
        .query_one(
            "SELECT pg_size_pretty(pg_database_size(current_database()))",
            &[],
        )
        .expect("size")
        .get(0);
    eprintln!("source {SOURCE}: {size}");
    let scry = scry_binary();

    clean_source(&mut s);
    let target = scry_testkit::server::fresh_database(&url, TARGET);
    let started = Instant::now();
    let busy = busy_cpu();
    let out = Command::new(&scry)
        .args(["replicate", &source, &target, "--until", "now", "--jobs"])
        .arg(jobs.to_string())
        .args(["--split-larger-than", split])
        .stdout(Stdio::null())
        .output()
        .expect("scry replicate");
    let ours = started.elapsed();
    let ours_cpu = busy_since(busy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let rss = err
        .lines()
        .find_map(|l| l.split("peak RSS ").nth(1))
        .unwrap_or("?")
        .to_owned();
    check(&mut s, &target, "scry");
    eprintln!(
        "scry replicate --until now: {:.1} s ({ours_cpu} CPU-s busy, peak RSS {rss})",
        ours.as_secs_f64()
    );

    clean_source(&mut s);
    let target = scry_testkit::server::fresh_database(&url, TARGET);
    let work = std::env::temp_dir().join("scry-clone-bench-pgcopydb");
    let _ = std::fs::remove_dir_all(&work);
    let started = Instant::now();
    let busy = busy_cpu();
    let out = Command::new("pgcopydb")
        .args(["clone", "--source", &source, "--target", &target])
        .args([
            "--table-jobs",
            &jobs.to_string(),
            "--index-jobs",
            &jobs.to_string(),
        ])
        .args([
            "--split-tables-larger-than",
            split,
            "--no-owner",
            "--no-acl",
        ])
        .arg("--dir")
        .arg(&work)
        .stdout(Stdio::null())
        .output()
        .expect("pgcopydb (Debian's package)");
    let theirs = started.elapsed();
    let theirs_cpu = busy_since(busy);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&mut s, &target, "pgcopydb");
    eprintln!(
        "pgcopydb clone: {:.1} s ({theirs_cpu} CPU-s busy)",
        theirs.as_secs_f64()
    );

    clean_source(&mut s);
    let target = scry_testkit::server::fresh_database(&url, TARGET);
    let busy = busy_cpu();
    let native = native(&mut s, &source, &target);
    let native_cpu = busy_since(busy);
    check(&mut s, &target, "native");
    eprintln!(
        "CREATE SUBSCRIPTION (copy_data): {:.1} s ({native_cpu} CPU-s busy)",
        native.as_secs_f64()
    );
    clean_source(&mut s);

    println!(
        "{size} ({scale} pgbench scale, 1M wide rows), {jobs} jobs, split past {split}: scry {:.1} s ({ours_cpu} CPU-s, peak RSS {rss}), \
         pgcopydb {:.1} s ({theirs_cpu} CPU-s), native {:.1} s ({native_cpu} CPU-s); \
         scry is {:.2}x pgcopydb and {:.2}x native",
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        native.as_secs_f64(),
        theirs.as_secs_f64() / ours.as_secs_f64(),
        native.as_secs_f64() / ours.as_secs_f64()
    );
}

/// The CPU time the machine has spent busy so far, every core added up, from the first line
/// of `/proc/stat` (user, nice, system, irq, softirq and steal; idle and iowait left out),
/// or `None` where there is no such file.
fn busy_cpu() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy = [0, 1, 2, 5, 6, 7].iter().map(|&i| ticks.get(i).copied());
    busy.sum()
}

/// The busy CPU seconds since `before` (from [`busy_cpu`]), printable; "?" where unknown.
fn busy_since(before: Option<u64>) -> String {
    // /proc/stat counts in USER_HZ, which Linux fixes at 100 a second for user space.
    match (before, busy_cpu()) {
        (Some(b), Some(a)) => format!("{:.1}", a.saturating_sub(b) as f64 / 100.0),
        _ => "?".to_owned(),
    }
}

/// A program beside `pg_config`.
fn pg_program(name: &str) -> std::path::PathBuf {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config");
    std::path::Path::new(String::from_utf8_lossy(&out.stdout).trim()).join(name)
}

/// The source database, generated when it is missing.
fn source(url: &str, scale: u32) -> String {
    let mut admin = Client::connect(url, NoTls).expect("connect");
    let exists = admin
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&SOURCE])
        .expect("pg_database")
        .is_some();
    let source = format!("{url} dbname={SOURCE}");
    if exists {
        return source;
    }
    eprintln!("generating {SOURCE}...");
    admin
        .batch_execute(&format!("CREATE DATABASE {SOURCE}"))
        .expect("create the source");
    let status = Command::new(pg_program("pgbench"))
        .args(["-i", "-q", "-s", &scale.to_string(), &source])
        .status()
        .expect("pgbench");
    assert!(status.success(), "pgbench -i");
    let mut s = Client::connect(&source, NoTls).expect("connect");
    s.batch_execute(
        "CREATE TABLE wide (id int8 PRIMARY KEY, a text, b text, c numeric, d timestamptz,
                 e int4, f float8, g jsonb, h uuid, i text);
             INSERT INTO wide SELECT g, md5(g::text), repeat(md5((g * 3)::text), 2), g / 7.0,
                 timestamptz '2020-01-01' + g * interval '1 minute', g % 1000, g * 1.5,
                 jsonb_build_object('k', g, 'v', md5(g::text)), md5(g::text)::uuid,
                 'note ' || g
             FROM generate_series(1, 1000000) g;
             CREATE INDEX wide_e ON wide (e);
             ALTER TABLE pgbench_history REPLICA IDENTITY FULL;",
    )
    .expect("the wide table");
    // VACUUM runs outside any transaction: a statement of its own.
    s.batch_execute("VACUUM ANALYZE").expect("vacuum");
    source
}

/// Removes every slot and publication of the source database, then checkpoints.
fn clean_source(s: &mut Client) {
    s.batch_execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
          WHERE database = current_database() AND NOT active;
         DO $$ DECLARE p record; BEGIN
           FOR p IN SELECT pubname FROM pg_publication LOOP
             EXECUTE format('DROP PUBLICATION %I', p.pubname);
           END LOOP; END $$;",
    )
    .expect("clean the source");
    // Each contender starts with the server's dirty pages written: the WAL of the one
    // before (a copy writes more than max_wal_size) is not checkpointed during its run.
    s.batch_execute("CHECKPOINT").expect("checkpoint");
}

/// Every table of the source has as many rows on the target.
fn check(s: &mut Client, target: &str, who: &str) {
    let mut t = Client::connect(target, NoTls).expect("connect to the target");
    for table in [
        "pgbench_accounts",
        "pgbench_branches",
        "pgbench_tellers",
        "wide",
    ] {
        let count = |c: &mut Client| -> i64 {
            c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .expect("count")
                .get(0)
        };
        assert_eq!(count(&mut t), count(s), "{who}: {table}");
    }
}

/// The native subscriber's copy into a target given the schema; the time from the
/// subscription until every table is ready.
fn native(s: &mut Client, source: &str, target: &str) -> Duration {
    let dump = Command::new(pg_program("pg_dump"))
        .args([
            "--schema-only",
            "--no-publications",
            "--no-subscriptions",
            "-d",
            source,
        ])
        .output()
        .expect("pg_dump");
    assert!(dump.status.success());
    let mut psql = Command::new(pg_program("psql"))
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", target])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("psql");
    std::io::Write::write_all(psql.stdin.as_mut().expect("stdin"), &dump.stdout)
        .expect("the schema");
    assert!(psql.wait().expect("psql").success());
    s.batch_execute("CREATE PUBLICATION native_pub FOR ALL TABLES")
        .expect("publication");
    s.batch_execute("SELECT pg_create_logical_replication_slot('native_slot', 'pgoutput')")
        .expect("slot");
    let mut t = Client::connect(target, NoTls).expect("connect");
    let started = Instant::now();
    t.batch_execute(&format!(
        "CREATE SUBSCRIPTION native_sub CONNECTION '{source}' PUBLICATION native_pub \
         WITH (create_slot = false, slot_name = 'native_slot', copy_data = true)"
    ))
    .expect("subscription");
    loop {
        let waiting: i64 = t
            .query_one(
                "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'",
                &[],
            )
            .expect("pg_subscription_rel")
            .get(0);
        if waiting == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    t.batch_execute(
        "ALTER SUBSCRIPTION native_sub DISABLE;
         ALTER SUBSCRIPTION native_sub SET (slot_name = NONE);
         DROP SUBSCRIPTION native_sub;",
    )
    .expect("drop the subscription");
    took
}
