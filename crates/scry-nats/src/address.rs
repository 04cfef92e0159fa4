//! [`Address`]: where a change stream lives in NATS JetStream, as users write it where a file
//! name goes: `nats://[USER:PASSWORD@|TOKEN@]HOST[:PORT][,HOST[:PORT]...]/STREAM[?replicas=N]`,
//! or `tls://...` for a cluster that requires TLS.

use std::fmt;

/// The port NATS servers listen on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4222;

/// The most replicas JetStream keeps of a stream.
pub const MAX_REPLICAS: usize = 5;

/// A parsed NATS stream address.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    /// `HOST:PORT` of every server given (the client picks one and learns the others).
    pub servers: Vec<String>,
    /// The JetStream stream's name.
    pub stream: String,
    /// How many copies the stream keeps when scry creates it (1 to [`MAX_REPLICAS`]).
    pub replicas: usize,
    /// Whether the connection must use TLS (`tls://`).
    pub tls: bool,
    /// The user and password given in the address, if any.
    pub user: Option<(String, String)>,
    /// The token given in the address (`nats://TOKEN@HOST/STREAM`), if any.
    pub token: Option<String>,
}

/// Why a NATS address does not parse. Each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// It does not start with `nats://` or `tls://`.
    #[error("a NATS address starts with nats:// or tls://, not {0:?}")]
    Scheme(String),
    /// No `/STREAM` after the servers.
    #[error("no stream named: write nats://HOST:PORT/STREAM")]
    NoStream,
    /// A server is empty, has no host, or has a port that is not a number from 1 to 65535.
    #[error("bad server {0:?}: write HOST or HOST:PORT")]
    Server(String),
    /// The stream's name holds a character JetStream refuses (`.`, `*`, `>`, `/`, `\`,
    /// whitespace or a control character) or is empty.
    #[error(
        "bad stream name {0:?}: JetStream names may not hold '.', '*', '>', '/', '\\' or spaces"
    )]
    StreamName(String),
    /// `replicas` is not a number from 1 to [`MAX_REPLICAS`].
    #[error("replicas={0:?}: a number from 1 to 5")]
    Replicas(String),
    /// A query parameter this address does not know.
    #[error("unknown parameter {0:?} (known: replicas)")]
    Parameter(String),
    /// A user without a password, or the other way round, or an empty token.
    #[error(
        "give a user and password (nats://USER:PASSWORD@HOST/STREAM) or a token \
         (nats://TOKEN@HOST/STREAM), none of them empty"
    )]
    Credentials,
}

impl Address {
    /// Whether `s` is meant as a NATS address (it starts with `nats://` or `tls://`), so that
    /// callers can tell it from a file name before parsing it.
    pub fn is_nats(s: &str) -> bool {
        s.starts_with("nats://") || s.starts_with("tls://")
    }

    /// Parses an address; see the module's documentation for its form.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let (tls, rest) = if let Some(rest) = s.strip_prefix("nats://") {
            (false, rest)
        } else if let Some(rest) = s.strip_prefix("tls://") {
            (true, rest)
        } else {
            return Err(AddressError::Scheme(s.to_owned()));
        };
        let (authority, path) = rest.split_once('/').ok_or(AddressError::NoStream)?;
        let (mut user, mut token) = (None, None);
        let hosts = match authority.rsplit_once('@') {
            Some((credentials, hosts)) => {
                match credentials.split_once(':') {
                    Some((u, p)) if !u.is_empty() && !p.is_empty() => {
                        user = Some((u.to_owned(), p.to_owned()));
                    }
                    None if !credentials.is_empty() => token = Some(credentials.to_owned()),
                    _ => return Err(AddressError::Credentials),
                }
                hosts
            }
            None => authority,
        };
        let servers = hosts
            .split(',')
            .map(server)
            .collect::<Result<Vec<_>, _>>()?;
        let (stream, query) = match path.split_once('?') {
            Some((stream, query)) => (stream, Some(query)),
            None => (path, None),
        };
        if stream.is_empty() {
            return Err(AddressError::NoStream);
        }
        if !stream_name_ok(stream) {
            return Err(AddressError::StreamName(stream.to_owned()));
        }
        let mut replicas = 1;
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            match pair.split_once('=') {
                Some(("replicas", n)) => {
                    replicas = n
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_REPLICAS).contains(n))
                        .ok_or_else(|| AddressError::Replicas(n.to_owned()))?;
                }
                _ => return Err(AddressError::Parameter(pair.to_owned())),
            }
        }
        Ok(Self {
            servers,
            stream: stream.to_owned(),
            replicas,
            tls,
            user,
            token,
        })
    }

    /// The server URLs to give the client (`nats://HOST:PORT` or `tls://HOST:PORT`).
    pub fn server_urls(&self) -> Vec<String> {
        let scheme = if self.tls { "tls" } else { "nats" };
        self.servers
            .iter()
            .map(|s| format!("{scheme}://{s}"))
            .collect()
    }
}

/// The address as it was written, with the password left out (for messages and logs).
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "tls" } else { "nats" };
        write!(f, "{scheme}://")?;
        if let Some((user, _)) = &self.user {
            write!(f, "{user}:***@")?;
        }
        if self.token.is_some() {
            write!(f, "***@")?;
        }
        write!(f, "{}/{}", self.servers.join(","), self.stream)?;
        if self.replicas != 1 {
            write!(f, "?replicas={}", self.replicas)?;
        }
        Ok(())
    }
}

/// As [`Display`](fmt::Display): the password never reaches a debug print either.
impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// One `HOST[:PORT]`, with the default port added.
fn server(s: &str) -> Result<String, AddressError> {
    let bad = || AddressError::Server(s.to_owned());
    // A bracketed IPv6 host keeps its colons.
    let (host, port) = match s.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (s, None),
    };
    if host.is_empty() || host.contains(['/', '@', '?', ' ']) {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        None => DEFAULT_PORT,
    };
    Ok(format!("{host}:{port}"))
}

/// Whether JetStream accepts `name` as a stream's name.
fn stream_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| {
            !matches!(c, '.' | '*' | '>' | '/' | '\\') && !c.is_whitespace() && !c.is_control()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_address_parses_with_defaults_filled_in() {
        let a = Address::parse("nats://n1:4222,n2,10.0.0.3:4333/CDC?replicas=3").unwrap();
        assert_eq!(a.servers, ["n1:4222", "n2:4222", "10.0.0.3:4333"]);
        assert_eq!(a.stream, "CDC");
        assert_eq!(a.replicas, 3);
        assert!(!a.tls);
        assert_eq!(a.user, None);
        assert_eq!(
            a.server_urls(),
            ["nats://n1:4222", "nats://n2:4222", "nats://10.0.0.3:4333"]
        );
        assert_eq!(
            a.to_string(),
            "nats://n1:4222,n2:4222,10.0.0.3:4333/CDC?replicas=3"
        );
    }

    #[test]
    fn credentials_and_tls_are_read_and_the_password_never_printed() {
        let a = Address::parse("tls://scry:s3cr@t@[::1]:7422/CDC").unwrap();
        assert!(a.tls);
        assert_eq!(a.user, Some(("scry".to_owned(), "s3cr@t".to_owned())));
        assert_eq!(a.servers, ["[::1]:7422"]);
        assert_eq!(a.to_string(), "tls://scry:***@[::1]:7422/CDC");
        assert!(!format!("{a:?}").contains("s3cr"));
        let t = Address::parse("nats://s3cr3t@h/CDC").unwrap();
        assert_eq!(t.token.as_deref(), Some("s3cr3t"));
        assert_eq!(t.user, None);
        assert_eq!(t.to_string(), "nats://***@h:4222/CDC");
        assert_eq!(
            Address::parse("nats://[::1]/S").unwrap().servers,
            ["[::1]:4222"]
        );
    }

    #[test]
    fn each_mistake_names_its_part() {
        let e = |s: &str| Address::parse(s).unwrap_err();
        assert_eq!(
            e("http://h/S"),
            AddressError::Scheme("http://h/S".to_owned())
        );
        assert_eq!(e("nats://h"), AddressError::NoStream);
        assert_eq!(e("nats://h/"), AddressError::NoStream);
        assert_eq!(e("nats://h:0/S"), AddressError::Server("h:0".to_owned()));
        assert_eq!(e("nats://h:x/S"), AddressError::Server("h:x".to_owned()));
        assert_eq!(e("nats://h,,k/S"), AddressError::Server(String::new()));
        assert_eq!(
            e("nats://h/a.b"),
            AddressError::StreamName("a.b".to_owned())
        );
        assert_eq!(
            e("nats://h/a b"),
            AddressError::StreamName("a b".to_owned())
        );
        assert_eq!(
            e("nats://h/S?replicas=0"),
            AddressError::Replicas("0".to_owned())
        );
        assert_eq!(
            e("nats://h/S?replicas=6"),
            AddressError::Replicas("6".to_owned())
        );
        assert_eq!(
            e("nats://h/S?max=1"),
            AddressError::Parameter("max=1".to_owned())
        );
        assert_eq!(e("nats://:p@h/S"), AddressError::Credentials);
        assert_eq!(e("nats://u:@h/S"), AddressError::Credentials);
        assert_eq!(e("nats://@h/S"), AddressError::Credentials);
    }

    #[test]
    fn only_nats_and_tls_schemes_count_as_addresses() {
        assert!(Address::is_nats("nats://h/S"));
        assert!(Address::is_nats("tls://h/S"));
        assert!(!Address::is_nats("-"));
        assert!(!Address::is_nats("changes.scry"));
        assert!(!Address::is_nats("nats:/h/S"));
    }
}
