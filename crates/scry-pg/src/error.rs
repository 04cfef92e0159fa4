//! [`PgDecodeError`]: a value's binary bytes are not valid for its type.

use crate::oid;

/// Binary bytes are not a valid PostgreSQL binary value of the type they were decoded as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {} (OID {oid}): {problem}", type_label(*.oid))]
pub struct PgDecodeError {
    /// The OID of the type the bytes were decoded as.
    pub oid: u32,
    /// What was wrong.
    pub problem: DecodeProblem,
}

fn type_label(oid: u32) -> &'static str {
    oid::type_name(oid).unwrap_or("a value of an unknown type")
}

impl PgDecodeError {
    /// An error for a value of type `oid`.
    #[must_use]
    pub fn new(oid: u32, problem: DecodeProblem) -> Self {
        Self { oid, problem }
    }

    /// The SQL name of the type (`"int4"`), when this crate knows the OID.
    #[must_use]
    pub fn type_name(&self) -> Option<&'static str> {
        oid::type_name(self.oid)
    }
}

/// What was wrong with a value's bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// A fixed-length type got the wrong number of bytes.
    #[error("expected {expected} bytes, got {actual}")]
    Length {
        /// The type's length.
        expected: usize,
        /// The bytes given.
        actual: usize,
    },
    /// The bytes end inside the value.
    #[error("truncated: {needed} bytes needed at offset {offset}, {available} left")]
    Truncated {
        /// Where the read started.
        offset: usize,
        /// How many bytes it needed.
        needed: usize,
        /// How many were left.
        available: usize,
    },
    /// Bytes are left over after the value.
    #[error("{count} trailing bytes after the value")]
    Trailing {
        /// How many.
        count: usize,
    },
    /// Text is not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    Utf8 {
        /// The offset of the first invalid byte in the text.
        offset: usize,
    },
    /// A field holds a value the type does not allow.
    #[error("invalid {field}: {value}")]
    Invalid {
        /// The field (`"numeric sign"`, `"array dimension count"`).
        field: &'static str,
        /// The offending value, as read.
        value: i64,
    },
    /// An array element failed to decode.
    #[error("array element {index}: {source}")]
    Element {
        /// The element's index in storage order.
        index: usize,
        /// The element's error.
        source: Box<PgDecodeError>,
    },
    /// A range bound failed to decode.
    #[error("{which} bound: {source}")]
    Bound {
        /// `"lower"` or `"upper"`.
        which: &'static str,
        /// The bound's error.
        source: Box<PgDecodeError>,
    },
}
