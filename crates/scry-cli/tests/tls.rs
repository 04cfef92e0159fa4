//! Every command against the TLS-only server `.ci/test` starts (`SCRY_PG_TLS_URL`: only
//! `hostssl ... scram-sha-256`, a certificate for localhost signed by a test CA), with
//! `sslmode=verify-full` and the password from `PGPASSWORD`, from `~/.pgpass` or in a URL,
//! as a user of a managed database runs them. (The set-up goes through the server's Unix
//! socket.)

mod common;

use std::process::Command;

use common::pg::digest;
use common::scratch;
use postgres::{Client, NoTls};
use scry_testkit::server::fresh_database;

use scry_testkit::server::TlsServer as Tls;

fn tls() -> Option<Tls> {
    scry_testkit::server::tls_server("every command over TLS")
}

/// `scry ARGS` with `PGPASSWORD` set and no password anywhere else.
fn scry_with_password(password: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scry"))
        .args(args)
        .env("PGPASSWORD", password)
        .env_remove("PGPASSFILE")
        .output()
        .expect("run scry")
}

#[test]
fn replicate_and_apply_over_verified_tls_with_the_password_from_the_environment() {
    let Some(t) = tls() else { return };
    let src_socket = fresh_database(&t.socket, "tls_src");
    let dst_socket = fresh_database(&t.socket, "tls_dst");
    let mut s = Client::connect(&src_socket, NoTls).expect("connect over the socket");
    for sql in [
        "CREATE TABLE t (id int4 PRIMARY KEY, note text); CREATE PUBLICATION p FOR TABLE t",
        "SELECT pg_create_logical_replication_slot('tls_slot', 'pgoutput')",
        "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g",
    ] {
        s.batch_execute(sql).expect("source");
    }
    Client::connect(&dst_socket, NoTls)
        .expect("connect over the socket")
        .batch_execute("CREATE TABLE t (id int4 PRIMARY KEY, note text)")
        .expect("target");
    let secure = |db: &str| {
        format!(
            "{} dbname={db} sslmode=verify-full sslrootcert={}",
            t.url, t.ca
        )
    };
    let (src, dst) = (secure("tls_src"), secure("tls_dst"));
    let out = scry_with_password(
        &t.password,
        &[
            "replicate",
            &src,
            &dst,
            "--slot",
            "tls_slot",
            "--publication",
            "p",
            "--until",
            "now",
        ],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("applied 1 transaction (2000 changes)"),
        "{said}"
    );
    let mut d = Client::connect(&dst_socket, NoTls).expect("connect");
    assert_eq!(digest(&mut d, "t"), digest(&mut s, "t"));

    // A file of changes captured over TLS (each source), applied over TLS.
    s.batch_execute(
        "UPDATE t SET note = 'changed' WHERE id % 7 = 0; DELETE FROM t WHERE id > 1900",
    )
    .expect("changes");
    let dir = scratch("tls_apply");
    let file = dir.join("cdc.scry");
    let file = file.to_str().expect("path");
    let capture = [
        "capture",
        &src,
        "--slot",
        "tls_slot",
        "--publication",
        "p",
        "--out",
        file,
    ];
    let out = scry_with_password(&t.password, &[&capture[..], &["--until", "now"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.batch_execute("INSERT INTO t VALUES (5000, 'streamed')")
        .expect("insert");
    let out = scry_with_password(
        &t.password,
        &[&capture[..], &["--until", "now", "--source", "stream"]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = scry_with_password(&t.password, &["apply", &dst, file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(digest(&mut d, "t"), digest(&mut s, "t"));

    // Without TLS the server refuses, and the error says so, naming the side.
    let plain = format!("{} dbname=tls_dst sslmode=disable", t.url);
    let out = scry_with_password(&t.password, &["apply", &plain, file]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("scry: target: ")
            && said.contains("no pg_hba.conf entry")
            && said.contains("no encryption"),
        "{said}"
    );
    // snapshot and load over TLS, the password from ~/.pgpass (HOME of the run).
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let pgpass = home.join(".pgpass");
    std::fs::write(&pgpass, format!("localhost:*:*:scry_tls:{}\n", t.password)).expect("pgpass");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let copy_socket = fresh_database(&t.socket, "tls_copy");
    let snap = dir.join("snap.scry");
    let snap = snap.to_str().expect("path");
    let with_home = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scry"))
            .args(args)
            .env("HOME", &home)
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE")
            .output()
            .expect("run scry")
    };
    let out = with_home(&["snapshot", &src, "--out", snap]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with_home(&["load", &secure("tls_copy"), snap, "--create"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Client::connect(&copy_socket, NoTls).expect("connect");
    assert_eq!(digest(&mut c, "t"), digest(&mut s, "t"));
    // drop over TLS, the password in a URL.
    let port = t
        .url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .expect("a port");
    let url = |db: &str| {
        format!(
            "postgresql://scry_tls:{}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert={}",
            t.password.replace(' ', "%20"),
            t.ca
        )
    };
    let out = common::scry(
        &[
            "drop",
            &url("tls_src"),
            &url("tls_dst"),
            "--slot",
            "tls_slot",
        ],
        None,
    );
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("source: removed slot tls_slot"),
        "{}",
        common::stdout(&out)
    );

    // The password never shows in an error.
    let given = format!("{} dbname=tls_dst sslmode=disable password=hunter2", t.url);
    let out = common::scry(&["apply", &given, file], None);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}
