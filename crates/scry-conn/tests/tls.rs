//! TLS and libpq's settings against real servers: the TLS-only one `.ci/test` starts
//! (`SCRY_PG_TLS_URL`: `ssl = on`, only `hostssl ... scram-sha-256` lines, a certificate for
//! localhost and 127.0.0.1 signed by a test CA) and the main one, which has no TLS
//! (`SCRY_PG_URL`).

use std::collections::HashMap;
use std::path::PathBuf;

use scry_conn::config::{ChannelBinding, Sources};
use scry_conn::{Conn, ConnConfig, WireError};

use scry_testkit::server::TlsServer as Tls;

fn tls() -> Option<Tls> {
    scry_testkit::server::tls_server("TLS connections")
}

/// Connects to `conninfo` resolved with the environment `env` and the home `home` only.
fn connect(conninfo: &str, env: &[(&str, &str)], home: Option<PathBuf>) -> Result<Conn, WireError> {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| vars.get(name).cloned();
    let config = ConnConfig::resolve_in(conninfo, &Sources { env: &lookup, home })
        .map_err(|e| WireError::Protocol(e.to_string()))?;
    Conn::connect_with(&config, false)
}

/// What the server says of this session's TLS: whether it is on, and the protocol.
fn ssl_state(conn: &mut Conn) -> Vec<Option<String>> {
    conn.simple("SELECT ssl::text, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .expect("pg_stat_ssl")
        .remove(0)
}

#[test]
fn verify_full_with_the_password_from_the_string_the_environment_the_file_or_a_url() {
    let Some(t) = tls() else { return };
    let verified = format!("{} sslmode=verify-full sslrootcert={}", t.url, t.ca);
    let given = format!("{verified} password='{}'", t.password.replace('\'', "\\'"));
    let mut c = connect(&given, &[], None).expect("verify-full, password in the string");
    assert_eq!(ssl_state(&mut c)[0].as_deref(), Some("true"));

    connect(&verified, &[("PGPASSWORD", &t.password)], None).expect("PGPASSWORD");

    let home = std::env::temp_dir().join("scry-conn-tls-home");
    std::fs::create_dir_all(&home).expect("home");
    let pgpass = home.join(".pgpass");
    std::fs::write(&pgpass, format!("localhost:*:*:scry_tls:{}\n", t.password)).expect("pgpass");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    connect(&verified, &[], Some(home)).expect("~/.pgpass");

    let port = t
        .url
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("port="))
        .expect("a port");
    let url = format!(
        "postgresql://scry_tls:{}@localhost:{port}/scry?sslmode=verify-full&sslrootcert={}",
        t.password.replace(' ', "%20"),
        t.ca
    );
    connect(&url, &[], None).expect("a URL");
    // The certificate names 127.0.0.1 too.
    let by_address = verified.replace("host=localhost", "host=127.0.0.1");
    connect(&by_address, &[("PGPASSWORD", &t.password)], None).expect("verify-full by address");
}

#[test]
fn channel_binding_is_used_over_tls_and_required_where_asked() {
    let Some(t) = tls() else { return };
    let bound = format!(
        "{} sslmode=verify-full sslrootcert={} channel_binding=require",
        t.url, t.ca
    );
    connect(&bound, &[("PGPASSWORD", &t.password)], None)
        .expect("SCRAM-SHA-256-PLUS with the certificate's hash");
    // Plain TCP to the main server cannot bind a channel.
    let Ok(main) = std::env::var("SCRY_PG_URL") else {
        return;
    };
    match connect(&format!("{main} channel_binding=require"), &[], None) {
        Err(WireError::Protocol(m)) => assert!(m.contains("channel_binding=require"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
}

#[test]
fn each_refusal_says_what_went_wrong() {
    let Some(t) = tls() else { return };
    let env = [("PGPASSWORD", t.password.as_str())];
    // A certificate from another CA.
    let other = format!("{} sslmode=verify-full sslrootcert={}", t.url, t.other_ca);
    match connect(&other, &env, None) {
        Err(WireError::Protocol(m)) => assert!(
            m.contains(
                "TLS handshake failed: the server's certificate is not signed by a trusted root"
            ),
            "{m}"
        ),
        other => panic!("{:?}", other.err()),
    }
    // No TLS: the server's pg_hba.conf has no line for it.
    match connect(&format!("{} sslmode=disable", t.url), &env, None) {
        Err(e) => {
            assert_eq!(e.code(), Some("28000"), "{e}");
            assert!(e.to_string().contains("no encryption"), "{e}");
        }
        Ok(_) => panic!("a plain connection was taken"),
    }
    // allow: plain first, then TLS when the server refuses plain.
    connect(&format!("{} sslmode=allow", t.url), &env, None).expect("allow falls back to TLS");
    // verify-full without roots.
    match connect(&format!("{} sslmode=verify-full", t.url), &env, None) {
        Err(WireError::Protocol(m)) => assert!(m.contains("needs trusted roots"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    // A wrong password over TLS.
    match connect(
        &format!("{} sslmode=require password=wrong", t.url),
        &[],
        None,
    ) {
        Err(e) => assert_eq!(e.code(), Some("28P01"), "{e}"),
        Ok(_) => panic!("a wrong password was taken"),
    }
    // The main server has no TLS: require says so; prefer goes on in plain.
    let Ok(main) = std::env::var("SCRY_PG_URL") else {
        return;
    };
    match connect(&format!("{main} sslmode=require"), &[], None) {
        Err(WireError::Protocol(m)) => assert!(m.contains("does not accept TLS"), "{m}"),
        other => panic!("{:?}", other.err()),
    }
    let mut plain = connect(&format!("{main} sslmode=prefer"), &[], None).expect("prefer");
    assert_eq!(ssl_state(&mut plain)[0].as_deref(), Some("false"));
    let _ = ChannelBinding::Prefer;
}

#[test]
fn a_pipeline_and_a_large_copy_cross_tls_whole() {
    let Some(t) = tls() else { return };
    let conninfo = format!("{} sslmode=verify-full sslrootcert={}", t.url, t.ca);
    let mut c = connect(&conninfo, &[("PGPASSWORD", &t.password)], None).expect("connect");
    c.simple("DROP TABLE IF EXISTS tls_copy; CREATE TABLE tls_copy (id int4, t text)")
        .expect("table");
    // 8 MB of COPY text through the TLS writer, in pieces larger than a TLS record.
    c.copy_in("COPY tls_copy FROM STDIN").expect("copy");
    let line = format!("{}\n", "x".repeat(1000));
    let mut piece = String::new();
    for i in 0..8000 {
        piece.push_str(&format!("{i}\t{line}"));
        if piece.len() > 300_000 {
            c.copy_data(piece.as_bytes()).expect("data");
            piece.clear();
        }
    }
    c.copy_data(piece.as_bytes()).expect("data");
    assert_eq!(c.copy_done().expect("done"), 8000);
    let rows = c
        .simple("SELECT count(*)::text, sum(length(t))::text FROM tls_copy")
        .expect("count");
    assert_eq!(
        rows,
        vec![vec![Some("8000".to_owned()), Some("8000000".to_owned())]]
    );
}

#[test]
fn direct_tls_from_the_first_byte_on_postgresql_17() {
    let Some(t) = tls() else { return };
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(url), Some(ca)) = (var("SCRY_PG_TLS17_URL"), var("SCRY_PG_TLS17_URL_CA")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SCRY_PG_TLS17_URL is not set but CI is: .ci/test starts that server"
        );
        eprintln!("SKIPPED: SCRY_PG_TLS17_URL is not set (see .ci/test)");
        return;
    };
    let direct = format!("{url} sslmode=verify-full sslrootcert={ca} sslnegotiation=direct");
    let mut c = connect(&direct, &[("PGPASSWORD", &t.password)], None)
        .expect("TLS from the first byte, without an SSLRequest");
    assert_eq!(ssl_state(&mut c)[0].as_deref(), Some("true"));
    // PostgreSQL 15 does not take it: the error says what failed.
    let old = format!(
        "{} sslmode=verify-full sslrootcert={} sslnegotiation=direct",
        t.url, t.ca
    );
    match connect(&old, &[("PGPASSWORD", &t.password)], None) {
        Err(e) => assert!(e.to_string().contains("TLS handshake failed"), "{e}"),
        Ok(_) => panic!("PostgreSQL 15 took TLS without an SSLRequest"),
    }
}
