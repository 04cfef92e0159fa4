//! The connection shared by [`Publisher`](crate::Publisher) and
//! [`Consumer`](crate::Consumer): the client, JetStream, and the runtime that drives them.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::ConnectErrorKind;

use crate::{Address, NatsError};

/// A connected client and the runtime it lives on. The runtime has one worker thread, so the
/// client answers the server's pings and reconnects while the caller is busy elsewhere;
/// blocking calls wait on it with [`Connection::block_on`].
pub(crate) struct Connection {
    pub rt: tokio::runtime::Runtime,
    pub js: jetstream::Context,
}

/// How a client authenticates and which servers it trusts, beside what the address says:
/// what NATS users give their tools (`nats --creds --tlsca --tlscert --tlskey`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// A credentials file (a user's JWT and NKey seed), used when the address names no user
    /// and no token.
    pub creds: Option<PathBuf>,
    /// PEM certificates of the authorities that sign the servers' certificates, trusted
    /// beside the system's.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key (PEM), for servers that verify their clients.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl Connection {
    /// Connects to the servers of `address` (with the user and password or the token the
    /// address gives, else the credentials file of `client`, if given; TLS as `tls://` and
    /// the server require it, with `client`'s authorities and certificate).
    pub fn open(address: &Address, client: &ClientOptions) -> Result<Self, NatsError> {
        let connect_error = |reason: String| NatsError::Connect {
            servers: address.servers.join(","),
            reason,
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("scry-nats")
            .enable_all()
            .build()
            .map_err(|e| NatsError::Runtime(e.to_string()))?;
        let client = rt.block_on(async {
            let mut options = async_nats::ConnectOptions::new()
                .name("scry")
                .connection_timeout(Duration::from_secs(10))
                .require_tls(address.tls);
            if let Some((user, password)) = &address.user {
                options = options.user_and_password(user.clone(), password.clone());
            } else if let Some(token) = &address.token {
                options = options.token(token.clone());
            } else if let Some(path) = &client.creds {
                options = options
                    .credentials_file(path)
                    .await
                    .map_err(|e| client_file(path, e.to_string()))?;
            }
            for path in [client.ca.as_ref()]
                .into_iter()
                .flatten()
                .chain(client.client_cert.iter().flat_map(|(c, k)| [c, k]))
            {
                // Read here so that a missing file is named, not the TLS handshake's error.
                std::fs::metadata(path).map_err(|e| client_file(path, e.to_string()))?;
            }
            if let Some(ca) = &client.ca {
                options = options.add_root_certificates(ca.clone());
            }
            if let Some((cert, key)) = &client.client_cert {
                options = options.add_client_certificate(cert.clone(), key.clone());
            }
            // The first connection tries each server once: an address with no server behind
            // it is a mistake to report, not to wait on. Later losses reconnect by themselves.
            tokio::time::timeout(
                Duration::from_secs(10),
                options.connect(address.server_urls()),
            )
            .await
            .map_err(|_| connect_error("no server answered within 10 s".to_owned()))?
            .map_err(|e| {
                if refused(&e) {
                    NatsError::Refused {
                        servers: address.servers.join(","),
                        reason: e.to_string(),
                    }
                } else {
                    connect_error(e.to_string())
                }
            })
        })?;
        // JetStream's context starts a task of its own: inside the runtime.
        let js = {
            let _inside = rt.enter();
            jetstream::new(client)
        };
        Ok(Self { rt, js })
    }
}

impl Connection {
    /// The most payload bytes the connected server takes in one message (its
    /// `max_payload`; NATS's default, 1 MiB, when it has not said).
    pub fn max_payload(&self) -> usize {
        match self.js.client().server_info().max_payload {
            0 => 1024 * 1024,
            max => max,
        }
    }
}

fn client_file(path: &std::path::Path, reason: String) -> NatsError {
    NatsError::ClientFile {
        path: path.display().to_string(),
        reason,
    }
}

/// Whether a failed connect is a server refusing the client (its credentials, or the TLS
/// handshake: a certificate not trusted on either side), not a server away: the TLS layer
/// reports a handshake that failed as I/O of invalid data.
fn refused(e: &async_nats::ConnectError) -> bool {
    match e.kind() {
        ConnectErrorKind::Authentication
        | ConnectErrorKind::AuthorizationViolation
        | ConnectErrorKind::Tls => true,
        ConnectErrorKind::Io => std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData),
        _ => false,
    }
}
