//! Where a connection's settings come from, as libpq decides: the connection string
//! (`key=value ...` or a `postgresql://` URL), then a service of `pg_service.conf`, then the
//! `PG*` environment variables, then the defaults; a password not given by any of them comes
//! from the password file (`~/.pgpass`).
//!
//! [`ConnConfig::resolve`] reads the process's environment and files;
//! [`ConnConfig::resolve_in`] takes them from a [`Sources`], so the rules are testable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// libpq's `sslmode`: whether TLS is used, and what of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// Plain first; TLS only when the server refuses a plain connection.
    Allow,
    /// TLS when the server offers it, else plain (libpq's default).
    Prefer,
    /// Always TLS; the certificate is checked only against a root certificate file that
    /// exists (libpq's rule: then as `VerifyCa`).
    Require,
    /// Always TLS; the certificate must chain to a trusted root.
    VerifyCa,
    /// Always TLS; the certificate must chain to a trusted root and name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<Self, ConfigError> {
        Ok(match text {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(ConfigError::Invalid {
                    key: "sslmode".into(),
                    why: format!(
                        "{other:?} is not disable, allow, prefer, require, verify-ca or \
                         verify-full"
                    ),
                })
            }
        })
    }

    /// True when the certificate is checked against the roots.
    #[must_use]
    pub fn verifies(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of trusted certificates.
    File(PathBuf),
    /// The platform's trust store (`sslrootcert=system`).
    System,
}

/// libpq's `channel_binding`: SCRAM-SHA-256-PLUS over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelBinding {
    /// Never.
    Disable,
    /// When the server offers it over TLS (the default).
    Prefer,
    /// Always: a connection without it fails.
    Require,
}

/// One server to try: a host name or address (or a Unix socket directory) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The name, an address, or (starting with `/`) the directory of a Unix socket.
    pub name: String,
    /// The port.
    pub port: u16,
}

impl Host {
    /// True for a Unix socket directory.
    #[must_use]
    pub fn is_socket(&self) -> bool {
        self.name.starts_with('/')
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_socket() {
            write!(f, "{}/.s.PGSQL.{}", self.name, self.port)
        } else if self.name.contains(':') {
            write!(f, "[{}]:{}", self.name, self.port)
        } else {
            write!(f, "{}:{}", self.name, self.port)
        }
    }
}

/// Everything a connection needs, resolved.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnConfig {
    /// The servers, tried in order.
    pub hosts: Vec<Host>,
    /// The role.
    pub user: String,
    /// The database.
    pub dbname: String,
    /// The password, when one was given or found in the password file.
    pub password: Option<String>,
    /// `application_name`, if set.
    pub application_name: Option<String>,
    /// Server options (`-c name=value ...`), if set.
    pub options: Option<String>,
    /// How long to wait for each host's connection.
    pub connect_timeout: Option<Duration>,
    /// TLS use and checks.
    pub sslmode: SslMode,
    /// The trusted roots: a file, the system's, or none found.
    pub sslrootcert: Option<RootCert>,
    /// The client certificate (PEM), when one is given or exists at the default place.
    pub sslcert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    pub sslkey: Option<PathBuf>,
    /// TLS from the first byte (`sslnegotiation=direct`) instead of an SSLRequest.
    pub direct_tls: bool,
    /// SCRAM channel binding.
    pub channel_binding: ChannelBinding,
}

impl std::fmt::Debug for ConnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnConfig")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| "(hidden)"))
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .finish_non_exhaustive()
    }
}

/// A connection string or a setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The string does not parse (its text is not repeated: it may hold a password).
    #[error("invalid connection string: {0}")]
    Syntax(String),
    /// A key no client knows.
    #[error("invalid connection option {0:?}")]
    UnknownKey(String),
    /// A value a key does not take.
    #[error("invalid {key}: {why}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// The service is not in any service file.
    #[error("service {0:?} not found (looked in PGSERVICEFILE, ~/.pg_service.conf and PGSYSCONFDIR/pg_service.conf)")]
    NoService(String),
}

/// The environment and files the settings may come from.
pub struct Sources<'a> {
    /// An environment variable's value.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The home directory (`~`).
    pub home: Option<PathBuf>,
}

/// The keys a connection string may hold: libpq's, less those for features this client
/// does not have (GSSAPI, Kerberos).
const KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "application_name",
    "fallback_application_name",
    "options",
    "connect_timeout",
    "client_encoding",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslnegotiation",
    "channel_binding",
    "service",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "replication",
];

/// The environment variable of each key.
const ENV: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("application_name", "PGAPPNAME"),
    ("options", "PGOPTIONS"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    ("channel_binding", "PGCHANNELBINDING"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
];

impl ConnConfig {
    /// The settings of `conninfo` completed from this process's environment, service file,
    /// password file and defaults.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key or the part that is wrong (never the password).
    pub fn resolve(conninfo: &str) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::resolve_in(conninfo, &Sources { env: &env, home })
    }

    /// As [`resolve`](Self::resolve), with the environment and home directory of `sources`.
    ///
    /// # Errors
    /// As [`resolve`](Self::resolve).
    pub fn resolve_in(conninfo: &str, sources: &Sources<'_>) -> Result<Self, ConfigError> {
        let mut keys = parse::parse(conninfo)?;
        for key in keys.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey(key.clone()));
            }
        }
        let service = keys
            .get("service")
            .cloned()
            .or_else(|| (sources.env)("PGSERVICE"));
        if let Some(name) = service {
            for (k, v) in service_keys(&name, sources)? {
                keys.entry(k).or_insert(v);
            }
        }
        for (key, var) in ENV {
            if !keys.contains_key(*key) {
                if let Some(v) = (sources.env)(var) {
                    keys.insert((*key).to_owned(), v);
                }
            }
        }
        Self::from_keys(&keys, sources)
    }

    fn from_keys(
        keys: &BTreeMap<String, String>,
        sources: &Sources<'_>,
    ) -> Result<Self, ConfigError> {
        let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
        let user = get("user")
            .or_else(|| (sources.env)("USER"))
            .or_else(|| (sources.env)("LOGNAME"))
            .ok_or_else(|| ConfigError::Invalid {
                key: "user".into(),
                why: "none given, and the OS user is unknown".into(),
            })?;
        let dbname = get("dbname").unwrap_or_else(|| user.clone());
        let hosts = hosts(get("host").or_else(|| get("hostaddr")), get("port"))?;
        let home = sources.home.clone();
        let in_home = |name: &str| home.as_ref().map(|h| h.join(".postgresql").join(name));
        let sslrootcert = match get("sslrootcert") {
            Some(s) if s == "system" => Some(RootCert::System),
            Some(path) => Some(RootCert::File(PathBuf::from(path))),
            None => in_home("root.crt")
                .filter(|p| p.exists())
                .map(RootCert::File),
        };
        let sslmode = match get("sslmode") {
            Some(mode) => SslMode::parse(&mode)?,
            None if sslrootcert == Some(RootCert::System) => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        if sslrootcert == Some(RootCert::System) && sslmode != SslMode::VerifyFull {
            return Err(ConfigError::Invalid {
                key: "sslmode".into(),
                why: "sslrootcert=system needs sslmode=verify-full (the system's roots trust \
                      any name they signed)"
                    .into(),
            });
        }
        let direct_tls = match get("sslnegotiation").as_deref() {
            None | Some("postgres") => false,
            Some("direct")
                if matches!(
                    sslmode,
                    SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
                ) =>
            {
                true
            }
            Some("direct") => {
                return Err(ConfigError::Invalid {
                    key: "sslnegotiation".into(),
                    why: "direct needs sslmode require, verify-ca or verify-full".into(),
                })
            }
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "sslnegotiation".into(),
                    why: format!("{other:?} is not postgres or direct"),
                })
            }
        };
        let channel_binding = match get("channel_binding").as_deref() {
            None | Some("prefer") => ChannelBinding::Prefer,
            Some("disable") => ChannelBinding::Disable,
            Some("require") => ChannelBinding::Require,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    key: "channel_binding".into(),
                    why: format!("{other:?} is not disable, prefer or require"),
                })
            }
        };
        let connect_timeout = match get("connect_timeout") {
            None => None,
            Some(t) => match t.trim().parse::<u64>() {
                Ok(0) => None,
                Ok(s) => Some(Duration::from_secs(s.max(2))),
                Err(_) => {
                    return Err(ConfigError::Invalid {
                        key: "connect_timeout".into(),
                        why: format!("{t:?} is not a number of seconds"),
                    })
                }
            },
        };
        let mut config = Self {
            hosts,
            dbname,
            password: get("password"),
            application_name: get("application_name").or_else(|| get("fallback_application_name")),
            options: get("options"),
            connect_timeout,
            sslmode,
            sslrootcert,
            sslcert: get("sslcert")
                .map(PathBuf::from)
                .or_else(|| in_home("postgresql.crt").filter(|p| p.exists())),
            sslkey: get("sslkey")
                .map(PathBuf::from)
                .or_else(|| in_home("postgresql.key").filter(|p| p.exists())),
            direct_tls,
            channel_binding,
            user,
        };
        if config.password.is_none() {
            let file = get("passfile")
                .map(PathBuf::from)
                .or_else(|| sources.home.as_ref().map(|h| h.join(".pgpass")));
            if let Some(file) = file {
                config.password = crate::passfile::lookup(&file, &config);
            }
        }
        Ok(config)
    }
}

/// The hosts and ports: comma-separated lists of the same length, or one port for all; no
/// host: the first Unix socket directory that exists.
fn hosts(host: Option<String>, port: Option<String>) -> Result<Vec<Host>, ConfigError> {
    let names: Vec<String> = match host {
        Some(h) => h.split(',').map(str::to_owned).collect(),
        None => vec![["/var/run/postgresql", "/tmp"]
            .into_iter()
            .find(|d| Path::new(d).is_dir())
            .unwrap_or("/tmp")
            .to_owned()],
    };
    let ports: Vec<u16> = match port {
        None => vec![5432],
        Some(p) => p
            .split(',')
            .map(|p| {
                let p = p.trim();
                if p.is_empty() {
                    return Ok(5432);
                }
                p.parse().map_err(|_| ConfigError::Invalid {
                    key: "port".into(),
                    why: format!("{p:?} is not a port number"),
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if ports.len() != 1 && ports.len() != names.len() {
        return Err(ConfigError::Invalid {
            key: "port".into(),
            why: format!("{} ports for {} hosts", ports.len(), names.len()),
        });
    }
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Host {
            name: if name.is_empty() {
                "localhost".into()
            } else {
                name
            },
            port: ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432),
        })
        .collect())
}

/// The keys of service `name`: from `PGSERVICEFILE` (or `~/.pg_service.conf`), else from
/// `PGSYSCONFDIR/pg_service.conf`.
fn service_keys(
    name: &str,
    sources: &Sources<'_>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut files: Vec<PathBuf> = Vec::new();
    match (sources.env)("PGSERVICEFILE") {
        Some(f) => files.push(PathBuf::from(f)),
        None => files.extend(sources.home.as_ref().map(|h| h.join(".pg_service.conf"))),
    }
    files.push(
        (sources.env)("PGSYSCONFDIR")
            .map_or_else(|| PathBuf::from("/etc/postgresql-common"), PathBuf::from)
            .join("pg_service.conf"),
    );
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut section: Option<&str> = None;
        let mut keys = BTreeMap::new();
        let mut found = false;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = Some(s);
                found |= s == name;
                continue;
            }
            if section == Some(name) {
                if let Some((k, v)) = line.split_once('=') {
                    let k = k.trim().to_owned();
                    if !KEYS.contains(&k.as_str()) || k == "service" {
                        return Err(ConfigError::UnknownKey(k));
                    }
                    keys.insert(k, v.trim().to_owned());
                }
            }
        }
        if found {
            return Ok(keys);
        }
    }
    Err(ConfigError::NoService(name.to_owned()))
}

mod parse;
#[cfg(test)]
mod tests;
