//! The PostgreSQL server of the tests that need one.

/// The server's connection string from `SCRY_PG_URL` (`.ci/postgres.sh` prints it), or
/// `None` after a notice on standard error that `what` is skipped. Under `CI` a missing
/// server is a failure, not a skip.
///
/// # Panics
/// When `CI` is set and `SCRY_PG_URL` is not.
#[must_use]
pub fn pg_url(what: &str) -> Option<String> {
    match std::env::var("SCRY_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SCRY_PG_URL is not set but CI is: start a server with \
                 `eval \"$(bash .ci/postgres.sh)\"` before the tests"
            );
            eprintln!(
                "\n\n************************************************************\n\
                 SKIPPED: {what} — SCRY_PG_URL is not set.\n\
                 Run `eval \"$(bash .ci/postgres.sh)\"` to start a server.\n\
                 ************************************************************\n"
            );
            None
        }
    }
}

/// A fresh database `name` on the server of `url` (its slots and subscriptions dropped
/// first); returns its connection string.
///
/// # Panics
/// When the server refuses a step (it is a test's set-up).
#[cfg(feature = "server")]
#[must_use]
pub fn fresh_database(url: &str, name: &str) -> String {
    use postgres::{Client, NoTls};
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
