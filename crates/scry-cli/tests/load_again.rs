//! Every table snapshots and loads, and a load finishes whatever stopped it, against a real
//! PostgreSQL server (`SCRY_PG_URL`):
//! - user-defined types (an enum, a domain, a composite type, arrays of them) and generated
//!   columns go through `snapshot` and `load --create` into an empty database, equal;
//! - a load killed with SIGKILL again and again, then run to its end, leaves every table
//!   equal to the source, each loaded once;
//! - an input without a snapshot table is an error.

mod common;

use std::time::Duration;

use common::pg::digest;
use common::{scratch, scry, stderr};
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

fn conninfo() -> Option<String> {
    scry_testkit::server::pg_url("scry load again against a server")
}

const TYPED: &str = "
    CREATE SCHEMA app;
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE DOMAIN app.positive AS int4 NOT NULL CHECK (VALUE > 0);
    CREATE TYPE app.pair AS (n int4, m mood);
    CREATE TABLE typed (
        id int4 PRIMARY KEY,
        m mood,
        moods mood[],
        p app.positive,
        pair app.pair,
        pairs app.pair[]);
    CREATE TABLE generated (
        id int4 PRIMARY KEY,
        v int4 NOT NULL,
        doubled int4 GENERATED ALWAYS AS (v * 2) STORED,
        label text GENERATED ALWAYS AS ('#' || v) STORED);
    INSERT INTO typed SELECT g, (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood,
        ARRAY['happy', NULL, 'sad']::mood[], g, ROW(g, 'ok')::app.pair,
        ARRAY[ROW(g, 'sad')::app.pair, NULL]
      FROM generate_series(1, 500) g;
    INSERT INTO generated (id, v) SELECT g, g * 7 FROM generate_series(1, 500) g;";

#[test]
fn user_types_and_generated_columns_snapshot_and_load_into_an_empty_database() {
    let Some(url) = conninfo() else { return };
    let src = fresh_database(&url, "load_again_types_src");
    let dst = fresh_database(&url, "load_again_types_dst");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(TYPED).expect("schema and rows");
    let dir = scratch("load_again_types");
    let file = dir.join("snap.scry");
    let file = file.to_str().expect("path");
    let snap = scry(&["snapshot", &src, "--out", file], None);
    assert!(snap.status.success(), "{}", stderr(&snap));
    let load = scry(&["load", &dst, file, "--create"], None);
    assert!(load.status.success(), "{}", stderr(&load));
    assert!(
        stderr(&load).contains("loaded 2 tables, 1000 rows"),
        "{}",
        stderr(&load)
    );
    let mut d = Client::connect(&dst, NoTls).expect("connect");
    for table in ["typed", "generated"] {
        assert_eq!(digest(&mut d, table), digest(&mut s, table), "{table}");
    }
    // The target computes the generated columns itself, and the domain keeps its check.
    d.batch_execute("INSERT INTO generated (id, v) VALUES (1000, 1)")
        .expect("insert");
    let row = d
        .query_one("SELECT doubled, label FROM generated WHERE id = 1000", &[])
        .expect("select");
    assert_eq!(
        (row.get::<_, i32>(0), row.get::<_, String>(1)),
        (2, "#1".to_owned())
    );
    let refused = d
        .batch_execute("INSERT INTO typed (id, p) VALUES (1000, -1)")
        .expect_err("the domain's check");
    let message = refused.as_db_error().map(|e| e.message().to_owned());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("app.positive")),
        "{message:?}"
    );
    // Into the tables and types that now exist: each table is passed over, loaded already.
    let again = scry(&["load", &dst, file, "--create"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("; 2 tables already loaded skipped"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_load_killed_again_and_again_then_run_to_its_end_loads_each_table_once() {
    let Some(url) = conninfo() else { return };
    let src = fresh_database(&url, "load_again_kill_src");
    let dst = fresh_database(&url, "load_again_kill_dst");
    let mut s = Client::connect(&src, NoTls).expect("connect");
    s.batch_execute(
        "CREATE TABLE a (id int4 PRIMARY KEY, t text);
         CREATE TABLE b (id int8 PRIMARY KEY, n numeric, t text);
         CREATE TABLE c (k int4, v text);
         INSERT INTO a SELECT g, repeat('a', g % 100) FROM generate_series(1, 150000) g;
         INSERT INTO b SELECT g, g / 7.0, md5(g::text) FROM generate_series(1, 150000) g;
         INSERT INTO c SELECT g % 10, 'c' FROM generate_series(1, 150000) g;",
    )
    .expect("rows");
    let dir = scratch("load_again_kill");
    let file = dir.join("snap.scry");
    let file = file.to_str().expect("path");
    let snap = scry(&["snapshot", &src, "--out", file], None);
    assert!(snap.status.success(), "{}", stderr(&snap));
    for ms in [30, 120, 250, 400, 600] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["load", &dst, file, "--create"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn scry load");
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let last = scry(&["load", &dst, file, "--create"], None);
    assert!(last.status.success(), "{}", stderr(&last));
    eprint!("{}", stderr(&last));
    let mut d = Client::connect(&dst, NoTls).expect("connect");
    for table in ["a", "b", "c"] {
        assert_eq!(digest(&mut d, table), digest(&mut s, table), "{table}");
    }
    let recorded: i64 = d
        .query_one("SELECT count(*) FROM scry.snapshot_tables", &[])
        .expect("scry.snapshot_tables")
        .get(0);
    assert_eq!(recorded, 3);
}

#[test]
fn an_input_without_a_snapshot_table_is_an_error() {
    let Some(url) = conninfo() else { return };
    let dst = fresh_database(&url, "load_again_empty_dst");
    let dir = scratch("load_again_empty");
    let empty = dir.join("empty.scry");
    std::fs::write(&empty, b"").expect("write");
    let out = scry(&["load", &dst, empty.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds no snapshot table (no SnapshotBegin): nothing loaded"),
        "{}",
        stderr(&out)
    );
    // A CDC stream is not a snapshot either.
    let cdc = dir.join("cdc.scry");
    let mut w = scry_codec::frame::FrameWriter::new(Vec::new());
    w.write_batch(&common::cdc_batch()).expect("frame");
    std::fs::write(&cdc, w.into_inner()).expect("write");
    let out = scry(&["load", &dst, cdc.to_str().expect("path")], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds no snapshot table"),
        "{}",
        stderr(&out)
    );
    // A missing input file is a read error (exit 2), for apply as for load.
    for command in ["apply", "load"] {
        let out = scry(&[command, &dst, "/nonexistent/scry-input"], None);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with("scry: cannot read /nonexistent/scry-input: "),
            "{command}: {}",
            stderr(&out)
        );
    }
}
