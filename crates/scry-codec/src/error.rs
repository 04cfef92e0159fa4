//! [`CodecError`].

use crate::DecodeError;

/// What went wrong while encoding or decoding, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded (`"batch"`, `"event"`).
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The bytes are not a valid encoding of the expected value (this crate's reader).
    #[error("cannot decode: {0}")]
    Decode(#[from] DecodeError),
}
