//! The NATS options every command shares (`--nats-creds`), set once from the command line.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static CREDS: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Records `--nats-creds` (called once, by `main`).
pub fn set_creds(path: Option<PathBuf>) {
    let _ = CREDS.set(path);
}

/// The credentials file for `nats://` streams, if one was given.
pub fn creds() -> Option<&'static Path> {
    CREDS.get().and_then(|p| p.as_deref())
}

/// A NATS failure as the command's error. One that passes by itself (no server reachable,
/// a stream without a leader for a moment, a request timed out, a publish not stored) is
/// [`CliError::Lost`](crate::commands::CliError::Lost), which `capture` and `apply` retry from what is durable (the stream's
/// last message, the consumer's acknowledged floor and the target's origin); the others (no
/// such stream, a message scry cannot read) end the command.
pub fn error(e: scry_nats::NatsError) -> crate::commands::CliError {
    use scry_nats::NatsError as E;
    match e {
        E::Connect { .. } | E::Stream { .. } | E::Publish { .. } | E::Consumer { .. } => {
            crate::commands::CliError::Lost {
                what: "NATS".to_owned(),
                message: e.to_string(),
            }
        }
        _ => crate::commands::CliError::Load(e.to_string()),
    }
}
