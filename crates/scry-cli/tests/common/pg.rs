//! Helpers of the tests that run against a server (`SCRY_PG_URL`).

use postgres::{Client, NoTls};

/// A fresh database `name` on the server of `url` (its slots and subscriptions dropped
/// first); returns its connection string.
pub fn fresh_database(url: &str, name: &str) -> String {
    let mut admin = Client::connect(url, NoTls).expect("connect");
    // A subscription in it holds a slot elsewhere: detach it before dropping the database.
    if let Ok(mut c) = Client::connect(&format!("{url} dbname={name}"), NoTls) {
        let subscriptions: Vec<String> = c
            .query("SELECT subname::text FROM pg_subscription", &[])
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default();
        for s in subscriptions {
            let _ = c.batch_execute(&format!(
                "ALTER SUBSCRIPTION {s} DISABLE; ALTER SUBSCRIPTION {s} SET (slot_name = NONE); \
                 DROP SUBSCRIPTION {s}"
            ));
        }
    }
    // A slot still streamed to (a subscriber elsewhere, a capture an earlier run left) is
    // let go first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        admin
            .execute(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots \
                 WHERE database = $1 AND active_pid IS NOT NULL",
                &[&name],
            )
            .expect("stop slot users");
        match admin.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1",
            &[&name],
        ) {
            Ok(_) => break,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("dropping the slots of {name}: {e}; again");
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("drop the slots of {name}: {e}"),
        }
    }
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop database");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    format!("{url} dbname={name}")
}

/// Drops the replication origin `name` an earlier run left (origins belong to the cluster).
pub fn drop_origin(url: &str, name: &str) {
    Client::connect(url, NoTls)
        .expect("connect")
        .execute(
            "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1",
            &[&name],
        )
        .expect("drop origin");
}

/// A table's rows as a row count and an MD5 of their text forms in sorted order: equal for
/// tables of equal rows, whatever their physical order or keys (duplicates counted).
pub fn digest(client: &mut Client, table: &str) -> (i64, String) {
    let row = client
        .query_one(
            &format!(
                "SELECT count(*), coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '') \
                 FROM (SELECT t::text AS r FROM {table} t) s"
            ),
            &[],
        )
        .unwrap_or_else(|e| panic!("digest of {table}: {e}"));
    (row.get(0), row.get(1))
}

/// `scry apply TARGET FILE --origin ORIGIN`, SIGKILLed after each of `delays_ms`, then run
/// to the end, which must succeed; returns that last run's standard error.
pub fn apply_with_kills(target: &str, file: &str, origin: &str, delays_ms: &[u64]) -> String {
    for &ms in delays_ms {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(["apply", target, file, "--origin", origin])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn scry apply");
        std::thread::sleep(std::time::Duration::from_millis(ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let last = super::scry(&["apply", target, file, "--origin", origin], None);
    assert!(last.status.success(), "{}", super::stderr(&last));
    super::stderr(&last)
}
