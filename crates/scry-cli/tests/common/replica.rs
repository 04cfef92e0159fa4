//! Helpers of the tests that replicate one small table (`t`) between two databases.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

use super::pg::digest;
use super::{scry, stderr};

pub const SCHEMA: &str = "CREATE TABLE t (id int4 PRIMARY KEY, n int4 NOT NULL, note text);";

/// A fresh source database `name` on the server of `url` with [`SCHEMA`], its publication `p`
/// and the slot `{name}_slot`; returns its connection string and a client of it.
pub fn source(url: &str, name: &str) -> (String, Client) {
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
pub fn target(url: &str, name: &str) -> String {
    let target = fresh_database(url, name);
    Client::connect(&target, NoTls)
        .expect("connect to the target")
        .batch_execute(SCHEMA)
        .expect("target schema");
    target
}

/// `scry replicate SOURCE TARGET --slot SLOT --publication p --until now [more]`, which must
/// succeed; its standard error.
pub fn replicate_until_now(source: &str, target: &str, slot: &str, more: &[&str]) -> String {
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

pub fn t_digest(url: &str) -> (i64, String) {
    digest(&mut Client::connect(url, NoTls).expect("connect"), "t")
}

pub fn follow(source: &str, target: &str, slot: &str) -> Child {
    follow_with(source, target, slot, &[])
}

/// `scry replicate SOURCE TARGET --slot SLOT --publication p --retry-for 0 [more]`, running.
pub fn follow_with(source: &str, target: &str, slot: &str, more: &[&str]) -> Child {
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
        .args(more)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry replicate")
}

/// Waits (10 s at most) until `target`'s table t has `rows` rows.
pub fn wait_for_rows(target: &str, rows: i64) {
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
pub fn exited(mut child: Child, limit: Duration) -> (Option<i32>, String, Duration) {
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

/// Sends `signal` (`INT`, `TERM`) to `child` and waits for it (10 s at most): its exit code,
/// standard error, and how long it took after the signal.
pub fn signal(child: Child, signal: &str) -> (Option<i32>, String, Duration) {
    let pid = child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill")
        .success());
    let (code, err, _) = exited(child, Duration::from_secs(10));
    (code, err, sent.elapsed())
}
