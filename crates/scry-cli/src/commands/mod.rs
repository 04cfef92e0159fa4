//! The subcommands, and what they share: errors, exit codes and output.
//!
//! Exit codes: [`EXIT_OK`] (0) on success (for `validate`: the input is valid),
//! [`EXIT_INVALID`] (1) when the input is invalid or does not decode, [`EXIT_USAGE`] (2) on
//! a usage error (clap's own errors included), when a file cannot be opened, read or
//! written, or when the server refuses a connection or a statement.

pub mod apply;
pub mod capture;
pub mod convert;
pub mod drop;
pub mod dump;
pub mod encode;
pub mod load;
pub mod replicate;
pub mod snapshot;
pub mod stats;
pub mod status;
pub mod validate;
pub mod verify;

use std::fs::File;
use std::io::{self, BufWriter, Write};

use scry_codec::CodecError;

use crate::input::InputError;
use crate::json::JsonError;

/// Success; for `validate`, the input is valid.
pub const EXIT_OK: u8 = 0;
/// The input is invalid, or does not decode.
pub const EXIT_INVALID: u8 = 1;
/// A usage error, or a file that cannot be opened, read or written.
pub const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input could not be read or decoded.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The JSON Lines input could not be read.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The output could not be written.
    #[error("cannot write {name}: {source}")]
    Write {
        /// The output's name (`-` for standard output).
        name: String,
        /// The I/O error.
        source: io::Error,
    },
    /// A value could not be serialized.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// Which payload (`the batch of frame 3`).
        what: String,
        /// The codec's error.
        source: CodecError,
    },
    /// The arguments do not fit the input.
    #[error("{0}")]
    Usage(String),
    /// The server refused a connection or a statement.
    #[error("{what}: {message}")]
    Server {
        /// What was being done.
        what: String,
        /// The server's (or the client library's) message.
        message: String,
    },
    /// A connection broke or was refused for a reason that passes (a restart, a failover,
    /// a shutdown): the long-running commands try again (see `crate::retry`).
    #[error("{what}: {message}")]
    Lost {
        /// The side and what was being done.
        what: String,
        /// What happened.
        message: String,
    },
    /// A table's COPY stream or snapshot rows are malformed, or writing them failed.
    #[error(transparent)]
    Snapshot(Box<scry_pg::snapshot::SnapshotError>),
    /// The snapshot stream cannot be loaded (damaged frame, missing begin or end).
    #[error("{0}")]
    Load(String),
    /// Stopped on Ctrl-C, between frames: what was done.
    #[error("stopped (Ctrl-C or SIGTERM): {0}")]
    Interrupted(String),
}

impl From<scry_source::SourceError> for CliError {
    fn from(e: scry_source::SourceError) -> Self {
        match e {
            scry_source::SourceError::Server { what, error } => {
                crate::pg::server_error(what, &error)
            }
            other => Self::Usage(other.to_string()),
        }
    }
}

impl CliError {
    /// The process exit code for this error.
    pub const fn exit_code(&self) -> u8 {
        match self {
            Self::Input(e) if e.is_io() => EXIT_USAGE,
            Self::Json(JsonError::Io { .. }) | Self::Write { .. } | Self::Usage(_) => EXIT_USAGE,
            Self::Server { .. } | Self::Lost { .. } => EXIT_USAGE,
            Self::Interrupted(_) => crate::interrupt::EXIT_INTERRUPTED,
            Self::Input(_)
            | Self::Json(_)
            | Self::Encode { .. }
            | Self::Snapshot(_)
            | Self::Load(_) => EXIT_INVALID,
        }
    }

    /// A server's error with the side it happened on (`source`, `target`) in front of what
    /// failed, unless it already names a side; other errors as they are.
    pub fn on(side: &str, e: Self) -> Self {
        let named = |what: &str| what.starts_with("source") || what.starts_with("target");
        match e {
            Self::Server { what, message } if !named(&what) => Self::Server {
                what: format!("{side}: {what}"),
                message,
            },
            Self::Lost { what, message } if !named(&what) => Self::Lost {
                what: format!("{side}: {what}"),
                message,
            },
            other => other,
        }
    }

    /// True for a write to a closed pipe (`scry dump big | head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Write { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// A buffered output: the file `name`, or standard output for `-`.
pub struct Output {
    name: String,
    inner: BufWriter<Box<dyn Write>>,
}

impl Output {
    /// Refuses to write `output` when it is the file `input` (which is read while it is
    /// written, so truncating it would lose it).
    pub fn check_distinct(input: &str, output: &str) -> Result<(), CliError> {
        if input == "-" || output == "-" {
            return Ok(());
        }
        match (std::fs::canonicalize(input), std::fs::canonicalize(output)) {
            (Ok(a), Ok(b)) if a == b => Err(CliError::Usage(format!(
                "{output} is the input file too: write to another file"
            ))),
            _ => Ok(()),
        }
    }

    /// Creates (or truncates) `name`; `-` is standard output.
    pub fn create(name: &str) -> Result<Self, CliError> {
        let inner: Box<dyn Write> = if name == "-" {
            Box::new(io::stdout().lock())
        } else {
            Box::new(File::create(name).map_err(|source| CliError::Write {
                name: name.to_owned(),
                source,
            })?)
        };
        Ok(Self {
            name: name.to_owned(),
            inner: BufWriter::with_capacity(64 * 1024, inner),
        })
    }

    /// An output named `name` that writes into `writer`.
    pub fn from_writer(name: String, writer: Box<dyn Write>) -> Self {
        Self {
            name,
            inner: BufWriter::with_capacity(64 * 1024, writer),
        }
    }

    /// The writer.
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.inner
    }

    /// The error for a failed write.
    pub fn error(&self, source: io::Error) -> CliError {
        CliError::Write {
            name: self.name.clone(),
            source,
        }
    }

    /// Flushes everything written.
    pub fn finish(mut self) -> Result<(), CliError> {
        self.flush()
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.inner.flush().map_err(|source| CliError::Write {
            name: self.name.clone(),
            source,
        })
    }
}
