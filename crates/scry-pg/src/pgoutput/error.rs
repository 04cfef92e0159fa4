//! [`PgOutputError`]: a pgoutput message that cannot be read, with the message and byte.

use super::MessageKind;

/// A pgoutput message is malformed: which message, at which byte of it, and what is wrong.
///
/// ```
/// use scry_pg::pgoutput::{parse, MessageKind, PgOutputProblem};
///
/// let err = parse(b"B\0\0\0\0", false).unwrap_err();
/// assert_eq!(err.message, Some(MessageKind::Begin));
/// assert_eq!(err.offset, 1);
/// assert_eq!(err.to_string(), "pgoutput Begin message at byte 1: the final LSN needs 8 bytes, 4 left");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pgoutput {} message at byte {offset}: {problem}", kind_label(*.message))]
pub struct PgOutputError {
    /// The message's kind, when its first byte names one.
    pub message: Option<MessageKind>,
    /// The byte of the message (from its kind byte, 0) where the problem is.
    pub offset: usize,
    /// What is wrong.
    pub problem: PgOutputProblem,
}

fn kind_label(kind: Option<MessageKind>) -> &'static str {
    kind.map_or("unknown", MessageKind::name)
}

/// What is wrong with a pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgOutputProblem {
    /// The message has no bytes at all.
    #[error("the message is empty")]
    Empty,
    /// The first byte names no pgoutput message.
    #[error("unknown message type byte 0x{0:02x}")]
    UnknownType(u8),
    /// A field runs past the end of the message.
    #[error("the {field} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// The bytes it needs.
        needed: usize,
        /// The bytes left in the message.
        available: usize,
    },
    /// A string has no terminating NUL byte before the message ends.
    #[error("the {field} has no terminating NUL byte")]
    Unterminated {
        /// The field being read.
        field: &'static str,
    },
    /// A string is not UTF-8 (the server's encoding must be UTF8).
    #[error("the {field} is not UTF-8")]
    NotUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A tuple column's kind byte is none of `n`, `u`, `t`, `b`.
    #[error("column {column} has kind byte 0x{kind:02x}, not n, u, t or b")]
    ColumnKind {
        /// The column's index in the tuple.
        column: usize,
        /// The byte found.
        kind: u8,
    },
    /// A tuple column's length is negative.
    #[error("column {column} has a negative length {length}")]
    NegativeLength {
        /// The column's index in the tuple.
        column: usize,
        /// The length found.
        length: i32,
    },
    /// A tuple marker byte is not the one expected there.
    #[error("expected tuple marker {expected}, got 0x{got:02x}")]
    TupleMarker {
        /// The markers allowed there (`"N"`, `"K or O"`, `"K, O or N"`).
        expected: &'static str,
        /// The byte found.
        got: u8,
    },
    /// A count or length cannot fit in what is left of the message.
    #[error("the {field} claims {count} entries, more than the {available} bytes left can hold")]
    Count {
        /// The field being read.
        field: &'static str,
        /// The count claimed.
        count: usize,
        /// The bytes left.
        available: usize,
    },
    /// Bytes are left after the message's last field.
    #[error("{0} bytes after the message's last field")]
    Trailing(usize),
}
