//! libpq's rules for where settings come from, on files and environments made here.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

/// A scratch home directory for one test, emptied first.
fn home(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("scry-conn-config").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

fn resolve(
    conninfo: &str,
    env: &[(&str, &str)],
    home: Option<PathBuf>,
) -> Result<ConnConfig, ConfigError> {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| vars.get(name).cloned();
    ConnConfig::resolve_in(conninfo, &Sources { env: &lookup, home })
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

#[test]
fn key_value_pairs_with_quotes_and_escapes() {
    let c = resolve(
        "host=db.example port = 6543 user=app dbname='my db' password='it\\'s' application_name=x\\ y",
        &[],
        None,
    )
    .expect("parses");
    assert_eq!(
        c.hosts,
        vec![Host {
            name: "db.example".into(),
            port: 6543
        }]
    );
    assert_eq!((c.user.as_str(), c.dbname.as_str()), ("app", "my db"));
    assert_eq!(c.password.as_deref(), Some("it's"));
    assert_eq!(c.application_name.as_deref(), Some("x y"));
    assert_eq!(c.sslmode, SslMode::Prefer, "libpq's default");
}

#[test]
fn urls_with_several_hosts_ipv6_and_percent_encoding() {
    let c = resolve(
        "postgresql://app:p%40ss@h1:5433,[::1]:5434,h3/shop%20db?sslmode=verify-full&application_name=scry",
        &[],
        None,
    )
    .expect("parses");
    assert_eq!(
        c.hosts,
        vec![
            Host {
                name: "h1".into(),
                port: 5433
            },
            Host {
                name: "::1".into(),
                port: 5434
            },
            Host {
                name: "h3".into(),
                port: 5432
            },
        ]
    );
    assert_eq!(c.hosts[1].to_string(), "[::1]:5434");
    assert_eq!(c.password.as_deref(), Some("p@ss"));
    assert_eq!(c.dbname, "shop db");
    assert_eq!(c.sslmode, SslMode::VerifyFull);
    let socket = resolve("postgres://%2Ftmp:5432/db?user=u", &[], None).expect("parses");
    assert!(socket.hosts[0].is_socket());
    assert_eq!(socket.hosts[0].to_string(), "/tmp/.s.PGSQL.5432");
}

#[test]
fn the_environment_fills_what_the_string_leaves_out() {
    let env = [
        ("PGHOST", "envhost"),
        ("PGPORT", "7000"),
        ("PGUSER", "envuser"),
        ("PGPASSWORD", "envpw"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "envapp"),
    ];
    let c = resolve("dbname=d user=given", &env, None).expect("parses");
    assert_eq!(
        c.hosts,
        vec![Host {
            name: "envhost".into(),
            port: 7000
        }]
    );
    assert_eq!(c.user, "given", "the string wins");
    assert_eq!(c.password.as_deref(), Some("envpw"));
    assert_eq!(c.sslmode, SslMode::Require);
    assert_eq!(c.application_name.as_deref(), Some("envapp"));
    // Defaults: the OS user, its database.
    let c = resolve("host=h", &[("USER", "osuser")], None).expect("parses");
    assert_eq!((c.user.as_str(), c.dbname.as_str()), ("osuser", "osuser"));
}

#[test]
fn a_service_comes_before_the_environment() {
    let dir = home("service");
    let file = dir.join("services.conf");
    std::fs::write(
        &file,
        "# ours\n[other]\nhost=wrong\n\n[prod]\nhost=svc.example\nport=6000\ndbname=svcdb\n",
    )
    .expect("write");
    let file = file.to_string_lossy().into_owned();
    let env = [
        ("PGSERVICEFILE", file.as_str()),
        ("PGHOST", "envhost"),
        ("PGUSER", "u"),
    ];
    let c = resolve("service=prod port=6001", &env, None).expect("parses");
    assert_eq!(
        c.hosts,
        vec![Host {
            name: "svc.example".into(),
            port: 6001
        }]
    );
    assert_eq!(c.dbname, "svcdb");
    let c = resolve(
        "",
        &[
            ("PGSERVICE", "prod"),
            ("PGSERVICEFILE", file.as_str()),
            ("PGUSER", "u"),
        ],
        None,
    )
    .expect("PGSERVICE");
    assert_eq!(c.hosts[0].name, "svc.example");
    assert_eq!(
        resolve("service=nope", &env, None).expect_err("missing"),
        ConfigError::NoService("nope".into())
    );
}

#[test]
fn the_password_file_matches_host_port_database_and_user() {
    let dir = home("pgpass");
    write_private(
        &dir.join(".pgpass"),
        "# comment\nother:5432:*:app:wrong\ndb.example:6543:shop:app:s3cr\\:et\n*:*:*:app:fallback\n",
    );
    let c = resolve(
        "host=db.example port=6543 dbname=shop user=app",
        &[],
        Some(dir.clone()),
    )
    .expect("parses");
    assert_eq!(c.password.as_deref(), Some("s3cr:et"));
    let c = resolve(
        "host=elsewhere dbname=shop user=app",
        &[],
        Some(dir.clone()),
    )
    .expect("parses");
    assert_eq!(c.password.as_deref(), Some("fallback"));
    let c = resolve(
        "host=db.example dbname=shop user=nobody",
        &[],
        Some(dir.clone()),
    )
    .expect("parses");
    assert_eq!(c.password, None);
    // A password given anywhere else wins over the file.
    let c = resolve(
        "host=db.example port=6543 dbname=shop user=app",
        &[("PGPASSWORD", "env")],
        Some(dir.clone()),
    )
    .expect("parses");
    assert_eq!(c.password.as_deref(), Some("env"));
    // PGPASSFILE names another file.
    let other = dir.join("other.pgpass");
    write_private(&other, "*:*:*:*:from-other\n");
    let other = other.to_string_lossy().into_owned();
    let c = resolve(
        "host=h user=u",
        &[("PGPASSFILE", other.as_str())],
        Some(dir.clone()),
    )
    .expect("parses");
    assert_eq!(c.password.as_deref(), Some("from-other"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(".pgpass"), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        let c = resolve(
            "host=db.example port=6543 dbname=shop user=app",
            &[],
            Some(dir),
        )
        .expect("parses");
        assert_eq!(c.password, None, "a file others can read is ignored");
    }
}

#[test]
fn tls_settings_follow_libpq() {
    let c = resolve("host=h user=u sslrootcert=system", &[], None).expect("parses");
    assert_eq!(
        (c.sslmode, c.sslrootcert),
        (SslMode::VerifyFull, Some(RootCert::System))
    );
    let weak = resolve(
        "host=h user=u sslrootcert=system sslmode=require",
        &[],
        None,
    );
    assert!(matches!(weak, Err(ConfigError::Invalid { ref key, .. }) if key == "sslmode"));
    let c = resolve(
        "host=h user=u sslmode=verify-ca sslrootcert=/x/ca.pem sslnegotiation=direct",
        &[],
        None,
    )
    .expect("parses");
    assert_eq!(c.sslrootcert, Some(RootCert::File("/x/ca.pem".into())));
    assert!(c.direct_tls);
    assert!(
        resolve("host=h user=u sslnegotiation=direct", &[], None).is_err(),
        "direct needs require"
    );
    assert!(resolve("host=h user=u sslmode=maybe", &[], None).is_err());
    // The default root file is used when it exists.
    let dir = home("rootcrt");
    std::fs::create_dir_all(dir.join(".postgresql")).expect("mkdir");
    std::fs::write(dir.join(".postgresql/root.crt"), "x").expect("write");
    let c = resolve("host=h user=u", &[], Some(dir.clone())).expect("parses");
    assert_eq!(
        c.sslrootcert,
        Some(RootCert::File(dir.join(".postgresql/root.crt")))
    );
}

#[test]
fn errors_name_the_key_never_the_password() {
    let unknown = resolve("host=h passwrd=hunter2", &[], None).expect_err("unknown key");
    assert_eq!(unknown, ConfigError::UnknownKey("passwrd".into()));
    let syntax = resolve("host=h password='hunter2", &[], None).expect_err("unterminated");
    assert!(!syntax.to_string().contains("hunter2"), "{syntax}");
    let bad_url = resolve("postgresql://u:hunter2@h/db?sslmode", &[], None).expect_err("no =");
    assert!(!bad_url.to_string().contains("hunter2"), "{bad_url}");
    let c = resolve("host=h user=u password=hunter2", &[], None).expect("parses");
    assert!(!format!("{c:?}").contains("hunter2"));
}
