//! [`NatsError`]: what failed against NATS, and where.

/// What failed against the NATS servers. Each names the servers, stream, subject or consumer
/// at fault, and gives the client's or the server's own reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// No server of the address took the connection (none answered, or it went away).
    #[error("cannot connect to NATS at {servers}: {reason}")]
    Connect {
        /// The servers tried, as the address gives them.
        servers: String,
        /// Why.
        reason: String,
    },
    /// A server refused the connection's credentials or its TLS (a wrong password, token or
    /// credentials file, a certificate not trusted, a client certificate missing): trying
    /// again would not help.
    #[error("NATS at {servers} refused the connection: {reason}")]
    Refused {
        /// The servers tried, as the address gives them.
        servers: String,
        /// Why.
        reason: String,
    },
    /// A file the client options name (credentials, CA, client certificate or key) is
    /// missing or unreadable: a mistake in the options, not a server away.
    #[error("NATS client file {path}: {reason}")]
    ClientFile {
        /// The file, as given.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The stream could not be found, created or read.
    #[error("NATS stream {stream}: {reason}")]
    Stream {
        /// The stream's name.
        stream: String,
        /// Why.
        reason: String,
    },
    /// The stream does not exist (a capture creates it).
    #[error("NATS stream {stream}: it does not exist (a capture creates it: scry capture --out {address})")]
    NoStream {
        /// The stream's name.
        stream: String,
        /// The address, as given (its password hidden).
        address: String,
    },
    /// A message was not stored: the publish failed or JetStream did not acknowledge it.
    #[error("publishing to {subject}: {reason}")]
    Publish {
        /// The subject published to.
        subject: String,
        /// Why.
        reason: String,
    },
    /// A message's scry headers are missing or unreadable: it was not published by scry, or
    /// by a version that writes other headers.
    #[error("NATS stream {stream}, message {sequence}: {reason}")]
    Message {
        /// The stream's name.
        stream: String,
        /// The message's sequence number in the stream.
        sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The durable consumer could not be created, read from or acknowledged to.
    #[error("NATS consumer {consumer} of stream {stream}: {reason}")]
    Consumer {
        /// The stream's name.
        stream: String,
        /// The consumer's name.
        consumer: String,
        /// Why.
        reason: String,
    },
    /// The runtime that drives the client could not start.
    #[error("cannot start the NATS client's runtime: {0}")]
    Runtime(String),
}
