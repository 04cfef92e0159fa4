//! [`SourceError`].

use scry_conn::WireError;

/// An operation on the source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The server refused a request, or the connection failed.
    #[error("{what}: {error}")]
    Server {
        /// What was being done.
        what: String,
        /// What failed.
        error: WireError,
    },
    /// What was asked cannot be done here (no such slot or table, a slot of another
    /// plugin, nothing to publish...).
    #[error("{0}")]
    Refused(String),
}

impl SourceError {
    /// The error of a failed request, `what` saying what it was for.
    pub fn server(what: impl Into<String>, error: WireError) -> Self {
        Self::Server {
            what: what.into(),
            error,
        }
    }

    /// True when the failure passes by itself (see [`WireError::is_transient`]).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Server { error, .. } if error.is_transient())
    }
}
