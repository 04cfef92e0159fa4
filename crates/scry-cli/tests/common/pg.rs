//! Helpers of the tests that run against a server (`SCRY_PG_URL`).

use postgres::{Client, NoTls};

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

/// A program of PostgreSQL's, beside `pg_config`'s (`pgbench`, `pg_dump`).
pub fn program(name: &str) -> std::path::PathBuf {
    let out = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("pg_config (PostgreSQL's, which .ci/test installs)");
    std::path::Path::new(String::from_utf8_lossy(&out.stdout).trim()).join(name)
}
