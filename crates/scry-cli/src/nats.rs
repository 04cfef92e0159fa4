//! The NATS options every command shares (`--nats-creds`, `--nats-ca`, `--nats-cert`,
//! `--nats-key`), set once from the command line, and how a NATS failure ends a command.

use std::sync::OnceLock;

use scry_nats::ClientOptions;

static OPTIONS: OnceLock<ClientOptions> = OnceLock::new();

/// Records the NATS options of the command line (called once, by `main`).
pub fn set_options(options: ClientOptions) {
    let _ = OPTIONS.set(options);
}

/// The credentials, authorities and client certificate for `nats://` and `tls://` streams.
pub fn options() -> &'static ClientOptions {
    OPTIONS.get_or_init(ClientOptions::default)
}

/// A NATS failure as the command's error. One that passes by itself (no server reachable,
/// a stream without a leader for a moment, a request timed out, a publish not stored) is
/// [`CliError::Lost`](crate::commands::CliError::Lost), which `capture` and `apply` retry from what is durable (the stream's
/// last message, the consumer's acknowledged floor and the target's origin); the others end
/// the command: a credentials, CA or certificate file that cannot be read, or credentials or
/// TLS refused (exit 2), no such stream or a message scry cannot read (exit 1).
pub fn error(e: scry_nats::NatsError) -> crate::commands::CliError {
    use scry_nats::NatsError as E;
    match e {
        E::Connect { .. } | E::Stream { .. } | E::Publish { .. } | E::Consumer { .. } => {
            crate::commands::CliError::Lost {
                what: "stream".to_owned(),
                message: e.to_string(),
            }
        }
        E::ClientFile { .. } => crate::commands::CliError::Usage(e.to_string()),
        E::Refused { .. } => crate::commands::CliError::Server {
            what: "stream".to_owned(),
            message: e.to_string(),
        },
        _ => crate::commands::CliError::Load(e.to_string()),
    }
}
