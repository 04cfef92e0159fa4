//! What a request to the target comes to: [`WireError`], the server's [`DbError`], and
//! the [`Answer`] of each statement of a pipeline.

use std::io;

use postgres_protocol::message::backend::ErrorResponseBody;

/// A failure of the connection or of one request.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The server refused the request.
    #[error("{0}")]
    Server(DbError),
    /// The socket failed or closed.
    #[error("the connection to the server failed: {0}")]
    Io(#[from] io::Error),
    /// The server sent what the protocol does not allow here, or the connection string asks
    /// for what this client does not do.
    #[error("{0}")]
    Protocol(String),
}

impl WireError {
    /// The error with the host it happened at, for one that has none yet (a socket or
    /// protocol failure; the server's own errors say enough).
    #[must_use]
    pub fn at(self, host: &crate::config::Host) -> Self {
        match self {
            Self::Io(e) => Self::Io(io::Error::new(e.kind(), format!("{host}: {e}"))),
            Self::Protocol(why) => Self::Protocol(format!("{host}: {why}")),
            other => other,
        }
    }

    /// True for a failure that passes by itself: the connection broke or was refused (a
    /// restart, a failover, a network cut), the server is shutting down or starting
    /// (`57P01`, `57P02`, `57P03`), out of connections (`53300`), or a connection exception
    /// (class `08`). Authentication, permissions, missing objects and refused statements
    /// are not.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io(_) => true,
            Self::Server(e) => {
                e.code.starts_with("08")
                    || matches!(e.code.as_str(), "57P01" | "57P02" | "57P03" | "53300")
            }
            Self::Protocol(_) => false,
        }
    }

    /// The SQLSTATE code, for a server error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server(e) => Some(&e.code),
            _ => None,
        }
    }
}

/// An error the server reported: its severity, SQLSTATE code, message and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    /// ERROR, FATAL, PANIC (the non-localized severity when the server sends it).
    pub severity: String,
    /// The SQLSTATE code.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The detail, when the server gives one.
    pub detail: Option<String>,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.severity, self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl DbError {
    pub(super) fn parse(body: &ErrorResponseBody) -> Self {
        use fallible_iterator::FallibleIterator;
        let mut e = DbError {
            severity: String::new(),
            code: String::new(),
            message: String::new(),
            detail: None,
        };
        let mut fields = body.fields();
        while let Ok(Some(field)) = fields.next() {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'S' if e.severity.is_empty() => e.severity = value,
                b'V' => e.severity = value,
                b'C' => e.code = value,
                b'M' => e.message = value,
                b'D' => e.detail = Some(value),
                _ => {}
            }
        }
        e
    }
}

/// What one statement of a pipeline came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// It ran; the rows its command tag counts (0 for a tag without a count).
    Done(u64),
    /// The server refused it.
    Failed(DbError),
    /// It did not run: a statement before it in the pipeline failed.
    NotRun,
}
