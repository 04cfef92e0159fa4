//! The connection shared by [`Publisher`](crate::Publisher) and
//! [`Consumer`](crate::Consumer): the client, JetStream, and the runtime that drives them.

use std::time::Duration;

use async_nats::jetstream;

use crate::{Address, NatsError};

/// A connected client and the runtime it lives on. The runtime has one worker thread, so the
/// client answers the server's pings and reconnects while the caller is busy elsewhere;
/// blocking calls wait on it with [`Connection::block_on`].
pub(crate) struct Connection {
    pub rt: tokio::runtime::Runtime,
    pub js: jetstream::Context,
}

impl Connection {
    /// Connects to the servers of `address` (with the user and password or the token the
    /// address gives, else the credentials file `creds`, if given).
    pub fn open(address: &Address, creds: Option<&std::path::Path>) -> Result<Self, NatsError> {
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
            } else if let Some(path) = creds {
                options = options
                    .credentials_file(path)
                    .await
                    .map_err(|e| connect_error(format!("credentials {}: {e}", path.display())))?;
            }
            // The first connection tries each server once: an address with no server behind
            // it is a mistake to report, not to wait on. Later losses reconnect by themselves.
            tokio::time::timeout(
                Duration::from_secs(10),
                options.connect(address.server_urls()),
            )
            .await
            .map_err(|_| connect_error("no server answered within 10 s".to_owned()))?
            .map_err(|e| connect_error(e.to_string()))
        })?;
        // JetStream's context starts a task of its own: inside the runtime.
        let js = {
            let _inside = rt.enter();
            jetstream::new(client)
        };
        Ok(Self { rt, js })
    }
}
