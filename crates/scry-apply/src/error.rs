//! [`ApplyError`]: what the target refused or what does not fit, with the source LSN, the
//! table and the row's key.

use scry_types::Lsn;

/// Which server an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The source (the replication stream).
    Source,
    /// The target.
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Source => "source",
            Self::Target => "target",
        })
    }
}

/// Applying an event failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The target could not be connected to or set up (the replication origin, the session).
    #[error("{0}")]
    Setup(String),
    /// The connection to a server broke or was refused for a reason that passes (a restart,
    /// a failover, a shutdown, a cut connection; see `scry_conn::WireError::is_transient`):
    /// connecting again later goes on from what the target holds.
    #[error("{message}")]
    Connection {
        /// The server.
        side: Side,
        /// What happened (as the error it would otherwise be).
        message: String,
    },
    /// The replication origin already records another stream's progress: applying this
    /// stream under it would skip this stream's changes as if they were the other's.
    #[error(
        "replication origin {origin} follows the stream {follows}, not {stream}: give this \
         stream its own origin (leave --origin out for the default one)"
    )]
    OtherStream {
        /// The origin.
        origin: String,
        /// The stream it is bound to (`scry.origins`).
        follows: String,
        /// The stream being applied.
        stream: String,
    },
    /// The target refused a statement (a duplicate key, a missing table, a type mismatch...).
    #[error("at LSN {lsn}{place}: {message}", lsn = Lsn(*.lsn), place = place(.table, .key))]
    Server {
        /// The source position of the event.
        lsn: u64,
        /// The table, `schema.table` (empty for a transaction boundary).
        table: String,
        /// The row's key as `column = value` pairs, when known.
        key: Vec<(String, String)>,
        /// The server's (or the client library's) message.
        message: String,
    },
    /// An UPDATE or DELETE found no row to change.
    #[error("at LSN {lsn}{place}: {operation} found no row with that key", lsn = Lsn(*.lsn), place = place(.table, .key))]
    Missing {
        /// The source position of the event.
        lsn: u64,
        /// The table.
        table: String,
        /// The key looked for.
        key: Vec<(String, String)>,
        /// `UPDATE` or `DELETE`.
        operation: &'static str,
    },
    /// The source's replication stream failed: the slot is missing or busy, the connection
    /// broke, or a message could not be decoded.
    #[error("replication slot {slot}: {message}")]
    Source {
        /// The slot streamed.
        slot: String,
        /// What went wrong (the server's message, or what is wrong with the message, at
        /// which LSN).
        message: String,
    },
    /// The event does not fit what the target or the stream allows (a row change outside a
    /// transaction, a row without values, a table with no known key...).
    #[error("at LSN {lsn}{place}: {why}", lsn = Lsn(*.lsn), place = place(.table, &[]))]
    Invalid {
        /// The source position of the event.
        lsn: u64,
        /// The table, or empty.
        table: String,
        /// What is wrong.
        why: String,
    },
}

/// `, schema.table (key)`, or nothing for an event of no table (a transaction's Commit).
fn place(table: &str, key: &[(String, String)]) -> String {
    if table.is_empty() {
        String::new()
    } else {
        format!(", {table}{}", crate::sql::key_display(key))
    }
}

impl ApplyError {
    /// `error`, or a [`Connection`](Self::Connection) error of `side` when the failure `e`
    /// behind it passes by itself.
    #[must_use]
    pub(crate) fn or_lost(self, side: Side, e: &scry_conn::WireError) -> Self {
        if e.is_transient() {
            Self::Connection {
                side,
                message: self.to_string(),
            }
        } else {
            self
        }
    }

    /// True when connecting again later may go on: a [`Connection`](Self::Connection) error.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connection { .. })
    }
}
