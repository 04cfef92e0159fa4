//! The whole path on PostgreSQL 14, 16, 17 and 18 (the servers `.ci/postgres-versions.sh`
//! starts, `SCRY_PG_VERSIONS`), as on Debian's 15 in the other tests: `capture --create
//! --snapshot` (the slot made with its snapshot exported), `load --create` (an enum and a
//! generated column), a workload with a 200,000-row transaction, and `replicate --until now`
//! killed with SIGKILL once and run again; the target ends equal to the source, and the large
//! transaction was streamed (`pg_stat_replication_slots.stream_txns` above 0) with
//! `logical_decoding_work_mem = 64kB`.

mod common;

use std::time::Duration;

use common::pg::digest;
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

/// `major=conninfo` pairs.
fn versions() -> Vec<(String, String)> {
    match std::env::var("SCRY_PG_VERSIONS") {
        Ok(list) if !list.trim().is_empty() => list
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(v, url)| (v.to_owned(), url.to_owned()))
            .collect(),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SCRY_PG_VERSIONS is not set but CI is: .ci/test starts those servers"
            );
            eprintln!("SKIPPED: SCRY_PG_VERSIONS is not set (see .ci/postgres-versions.sh)");
            Vec::new()
        }
    }
}

const SCHEMA: &str = "
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TABLE items (
        id int4 PRIMARY KEY,
        v text,
        n int4 NOT NULL,
        m mood,
        doubled int4 GENERATED ALWAYS AS (n * 2) STORED);
    INSERT INTO items (id, v, n, m)
        SELECT g, md5(g::text), g, 'ok' FROM generate_series(1, 10000) g;";

const WORKLOAD: &str = "
    BEGIN;
    INSERT INTO items (id, v, n, m)
        SELECT g, repeat('w', g % 40), g, 'happy' FROM generate_series(10001, 210000) g;
    UPDATE items SET n = n + 1 WHERE id % 500 = 0;
    COMMIT;
    DELETE FROM items WHERE id % 997 = 0;
    UPDATE items SET m = 'sad', v = NULL WHERE id BETWEEN 100 AND 200;";

fn one_version(version: &str, url: &str) {
    let src = fresh_database(url, "versions_src");
    let dst = fresh_database(url, "versions_dst");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(SCHEMA).expect("schema");
    let dir = scratch(&format!("versions_{version}"));
    let (snap, cdc) = (dir.join("snap.scry"), dir.join("cdc.scry"));
    let (snap, cdc) = (snap.to_str().expect("path"), cdc.to_str().expect("path"));
    let out = scry(
        &[
            "capture",
            &src,
            "--slot",
            "versions_slot",
            "--publication",
            "versions_pub",
            "--create",
            "--snapshot",
            snap,
            "--out",
            cdc,
            "--until",
            "now",
        ],
        None,
    );
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    let out = scry(&["load", &dst, snap, "--create"], None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    s.batch_execute(WORKLOAD).expect("workload");

    // Decoding memory of 64 kB for the walsender: the large transaction streams.
    let small = format!("{src} options='-c logical_decoding_work_mem=64kB'");
    let args = [
        "replicate",
        &small,
        &dst,
        "--slot",
        "versions_slot",
        "--publication",
        "versions_pub",
        "--until",
        "now",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn scry replicate");
    std::thread::sleep(Duration::from_millis(400));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let out = scry(&args, None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    let mut d = Client::connect(&dst, NoTls).expect("connect");
    assert_eq!(
        digest(&mut d, "items"),
        digest(&mut s, "items"),
        "PostgreSQL {version}"
    );
    let streamed: i64 = s
        .query_one(
            "SELECT stream_txns FROM pg_stat_replication_slots WHERE slot_name = 'versions_slot'",
            &[],
        )
        .expect("pg_stat_replication_slots")
        .get(0);
    assert!(
        streamed > 0,
        "PostgreSQL {version}: the large transaction was not streamed"
    );
    let out = scry(
        &[
            "drop",
            &src,
            &dst,
            "--slot",
            "versions_slot",
            "--publication",
            "versions_pub",
        ],
        None,
    );
    assert!(out.status.success(), "{version}: {}", stderr(&out));
}

#[test]
fn snapshot_load_and_replicate_end_equal_on_14_16_17_and_18() {
    let versions = versions();
    for (version, url) in &versions {
        eprintln!("PostgreSQL {version}");
        one_version(version, url);
    }
}

/// The schema of the one-command test: identity and serial columns, a partitioned table, a
/// check, a unique key, a foreign key and an expression index.
const AWKWARD: &str = "
    CREATE TABLE people (
        id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        code serial UNIQUE,
        name text NOT NULL DEFAULT 'nobody',
        age int4 CHECK (age > 0));
    CREATE INDEX people_name ON people (lower(name));
    CREATE TABLE visits (id int4, person int8 REFERENCES people, at date, PRIMARY KEY (id, at))
        PARTITION BY RANGE (at);
    CREATE TABLE visits_old PARTITION OF visits FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
    CREATE TABLE visits_new PARTITION OF visits FOR VALUES FROM ('2024-01-01') TO ('2100-01-01');
    INSERT INTO people (name, age) SELECT 'p' || g, 20 + g % 50 FROM generate_series(1, 1000) g;
    INSERT INTO visits SELECT g, 1 + g % 1000, date '2023-06-01' + g FROM generate_series(1, 2000) g;";

/// What the target's catalog says of its tables, to compare with the source's.
fn shape(c: &mut Client) -> Vec<String> {
    c.query(
        "SELECT format('%s %s %s', conrelid::regclass, contype, pg_get_constraintdef(oid)) \
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n' \
         UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' \
         UNION ALL SELECT format('%s.%s %s %s %s', table_name, column_name, column_default, \
                                 is_identity, identity_generation) \
           FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1",
        &[],
    )
    .expect("the catalog")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn one_command(version: &str, url: &str) {
    let src = fresh_database(url, "versions_one_src");
    let dst = fresh_database(url, "versions_one_dst");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(AWKWARD).expect("schema");
    let out = scry(&["replicate", &src, &dst, "--until", "now"], None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    s.batch_execute(
        "INSERT INTO people (name, age) VALUES ('late', 30);
         UPDATE people SET name = 'renamed' WHERE id = 3;
         INSERT INTO visits VALUES (5000, 3, '2024-05-05');
         DELETE FROM visits WHERE id = 10;",
    )
    .expect("changes");
    let out = scry(&["replicate", &src, &dst, "--until", "now"], None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    let out = scry(&["verify", &src, &dst, "--rounds", "1"], None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
    assert!(
        stderr(&out).contains("all 2 tables equal"),
        "{version}: {}",
        stderr(&out)
    );
    let mut d = Client::connect(&dst, NoTls).expect("connect");
    assert_eq!(shape(&mut d), shape(&mut s), "PostgreSQL {version}");
    let out = scry(&["drop", &src, &dst], None);
    assert!(out.status.success(), "{version}: {}", stderr(&out));
}

#[test]
fn one_command_replicates_and_verifies_on_14_16_17_and_18() {
    for (version, url) in &versions() {
        eprintln!("PostgreSQL {version}");
        one_command(version, url);
    }
}
