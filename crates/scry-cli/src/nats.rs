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
