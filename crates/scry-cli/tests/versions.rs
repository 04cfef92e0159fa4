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
