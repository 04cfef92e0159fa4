//! The PostgreSQL server of the tests that need one.

/// The server's connection string from `SCRY_PG_URL` (`.ci/postgres.sh` prints it), or
/// `None` after a notice on standard error that `what` is skipped. Under `CI` a missing
/// server is a failure, not a skip.
///
/// # Panics
/// When `CI` is set and `SCRY_PG_URL` is not.
#[must_use]
pub fn pg_url(what: &str) -> Option<String> {
    env_url("SCRY_PG_URL", what, "eval \"$(bash .ci/postgres.sh)\"")
}

/// The NATS servers the tests use (`SCRY_NATS_URL`, printed by `.ci/nats.sh`), or `None`,
/// after saying loudly that `what` is skipped. Under CI (`CI` set) a missing server is a
/// failure, not a skip.
pub fn nats_url(what: &str) -> Option<String> {
    env_url("SCRY_NATS_URL", what, "eval \"$(bash .ci/nats.sh)\"")
}

/// The three-node NATS cluster of `.ci/nats.sh` (`SCRY_NATS_CLUSTER_URL`), as [`nats_url`].
pub fn nats_cluster_url(what: &str) -> Option<String> {
    env_url(
        "SCRY_NATS_CLUSTER_URL",
        what,
        "eval \"$(SCRY_NATS_NODES=3 SCRY_NATS_VAR=SCRY_NATS_CLUSTER_URL SCRY_NATS_PORT=54432 bash .ci/nats.sh)\"",
    )
}

/// The NATS server of `.ci/nats.sh` that requires TLS and verifies client certificates
/// (`SCRY_NATS_TLS_URL`, a `tls://` URL), as [`nats_url`], with the files a client needs:
/// the CA that signed the server's certificate, and a client certificate and its key
/// (`SCRY_NATS_TLS_URL_CA`, `_CERT`, `_KEY`).
pub fn nats_tls_url(what: &str) -> Option<(String, [std::path::PathBuf; 3])> {
    let url = env_url(
        "SCRY_NATS_TLS_URL",
        what,
        "eval \"$(SCRY_NATS_TLS=1 SCRY_NATS_VAR=SCRY_NATS_TLS_URL SCRY_NATS_PORT=54442 bash .ci/nats.sh)\"",
    )?;
    let file = |suffix: &str| {
        std::env::var_os(format!("SCRY_NATS_TLS_URL_{suffix}"))
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| panic!("SCRY_NATS_TLS_URL_{suffix}, printed by .ci/nats.sh"))
    };
    Some((url, [file("CA"), file("CERT"), file("KEY")]))
}

fn env_url(var: &str, what: &str, start: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} is not set but CI is: start the servers with `{start}` before the tests"
            );
            eprintln!(
                "\n\n************************************************************\n\
                 SKIPPED: {what} — {var} is not set.\n\
                 Run `{start}` to start the servers.\n\
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

/// The second test server, the one tests stop and start again (`.ci/test` starts it): its
/// connection string (`SCRY_PG_RESTART_URL`) and data directory (`SCRY_PG_RESTART_URL_DIR`),
/// or `None` after a notice that `what` is skipped. Under `CI` a missing server is a failure.
///
/// # Panics
/// When `CI` is set and either variable is not.
#[must_use]
pub fn restart_server(what: &str) -> Option<(String, String)> {
    match (
        std::env::var("SCRY_PG_RESTART_URL"),
        std::env::var("SCRY_PG_RESTART_URL_DIR"),
    ) {
        (Ok(url), Ok(dir)) if !url.trim().is_empty() && !dir.trim().is_empty() => Some((url, dir)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SCRY_PG_RESTART_URL(_DIR) is not set but CI is: `.ci/test` starts that server"
            );
            eprintln!("\nSKIPPED: {what} — SCRY_PG_RESTART_URL is not set (see .ci/test).\n");
            None
        }
    }
}

/// Runs `.ci/postgres-ctl.sh DIR ACTION` (`stop`: a fast shutdown; `crash`: an immediate
/// one; `start`) on the server of
/// data directory `dir`; returns how long it took, or what it printed when it failed.
///
/// # Errors
/// The script's output when it exits with an error.
pub fn pg_ctl(dir: &str, action: &str) -> Result<std::time::Duration, String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres-ctl.sh");
    let started = std::time::Instant::now();
    let out = std::process::Command::new("bash")
        .arg(script)
        .args([dir, action])
        .output()
        .map_err(|e| format!("cannot run postgres-ctl.sh: {e}"))?;
    if out.status.success() {
        Ok(started.elapsed())
    } else {
        Err(format!(
            "postgres-ctl.sh {action} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The TLS-only test server `.ci/test` starts (`SCRY_PG_TLS_URL` and its `_CA`, `_OTHER_CA`,
/// `_PASSWORD` and `_SOCKET`, as `.ci/postgres.sh` prints them with `SCRY_PG_TLS=1`).
#[derive(Debug, Clone)]
pub struct TlsServer {
    /// Its connection string without TLS settings or password (`host=localhost ...`).
    pub url: String,
    /// The test CA's certificate (PEM), which signed the server's.
    pub ca: String,
    /// Another CA's certificate, which signed nothing of the server's.
    pub other_ca: String,
    /// The password of the string's role.
    pub password: String,
    /// A connection string over the server's Unix socket, trusted, for set-up.
    pub socket: String,
}

/// The TLS-only test server, or `None` after a notice that `what` is skipped. Under `CI` a
/// missing server is a failure.
///
/// # Panics
/// When `CI` is set and the variables are not.
#[must_use]
pub fn tls_server(what: &str) -> Option<TlsServer> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("SCRY_PG_TLS_URL"),
        var("SCRY_PG_TLS_URL_CA"),
        var("SCRY_PG_TLS_URL_OTHER_CA"),
        var("SCRY_PG_TLS_URL_PASSWORD"),
        var("SCRY_PG_TLS_URL_SOCKET"),
    ) {
        (Some(url), Some(ca), Some(other_ca), Some(password), Some(socket)) => Some(TlsServer {
            url,
            ca,
            other_ca,
            password,
            socket,
        }),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SCRY_PG_TLS_URL is not set but CI is: .ci/test starts the TLS server"
            );
            eprintln!("\nSKIPPED: {what} — SCRY_PG_TLS_URL is not set (see .ci/test).\n");
            None
        }
    }
}
