//! [`FrameError`]: what is wrong with a frame, and where.

use crate::CodecError;

use super::header::HeaderProblem;

/// What went wrong while writing or reading a framed stream, and where.
///
/// Every variant names `index`, the number of frames that were read (or written) before the
/// failing one, which is the index the next good frame gets, and `offset`, the byte offset
/// in the stream where the failing frame (or the garbage) starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream ended inside a frame.
    #[error(
        "frame {index} at byte {offset} is truncated: the stream ends after {available} of its \
         {needed} bytes"
    )]
    Truncated {
        /// Index of the truncated frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The bytes of it that are there.
        available: u64,
        /// The bytes it needs: the header's, or the whole frame's once its header checked.
        needed: u64,
    },
    /// The bytes where a frame should start are not a frame's magic: garbage.
    #[error(
        "no frame at byte {offset} (where frame {index} should start): found {found:02x?}, \
         not the magic \"SCRY\""
    )]
    BadMagic {
        /// Index of the frame expected there.
        index: u64,
        /// Where the garbage starts.
        offset: u64,
        /// The bytes found (up to 4).
        found: Vec<u8>,
    },
    /// The header's CRC does not match its fields: some header byte is corrupt.
    #[error(
        "frame {index} at byte {offset}: header CRC-32C mismatch (stored {stored:#010x}, \
         computed {computed:#010x})"
    )]
    HeaderCrc {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the header's bytes.
        computed: u32,
    },
    /// The header is intact but of a format version this crate does not read.
    #[error("frame {index} at byte {offset}: unsupported format version {version} (reads 1)")]
    UnsupportedVersion {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The version byte.
        version: u8,
    },
    /// The header is intact but sets reserved flags, whose meaning this crate does not know.
    #[error("frame {index} at byte {offset}: reserved flags {flags:#04x} are set")]
    ReservedFlags {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The flags byte.
        flags: u8,
    },
    /// The header is intact but names an unknown payload encoding.
    #[error("frame {index} at byte {offset}: unknown payload encoding {encoding}")]
    UnknownEncoding {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The encoding byte.
        encoding: u8,
    },
    /// The header is intact but names an unknown payload kind.
    #[error("frame {index} at byte {offset}: unknown payload kind {kind}")]
    UnknownKind {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The kind byte.
        kind: u8,
    },
    /// The payload is longer than the configured maximum (nothing of it was allocated).
    #[error("frame {index} at byte {offset}: payload of {len} bytes exceeds the maximum of {max}")]
    PayloadTooLong {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The payload length.
        len: u64,
        /// The configured maximum.
        max: u32,
    },
    /// The payload's CRC does not match its bytes: the payload or its CRC is corrupt.
    #[error(
        "frame {index} at byte {offset}: payload CRC-32C mismatch (stored {stored:#010x}, \
         computed {computed:#010x})"
    )]
    PayloadCrc {
        /// Index of the frame.
        index: u64,
        /// Where it starts.
        offset: u64,
        /// The CRC after the payload.
        stored: u32,
        /// The CRC of the payload's bytes.
        computed: u32,
    },
    /// Reading or writing the underlying stream failed.
    #[error("frame {index} at byte {offset}: I/O error ({kind:?}): {message}")]
    Io {
        /// Index of the frame being read or written.
        index: u64,
        /// The stream offset reached.
        offset: u64,
        /// The I/O error's kind.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
    /// The value to write could not be serialized.
    #[error("frame {index} at byte {offset}: {source}")]
    Encode {
        /// Index of the frame being written.
        index: u64,
        /// Where it would have started.
        offset: u64,
        /// The codec's error.
        source: CodecError,
    },
}

impl FrameError {
    /// The index of the frame the error is about.
    #[must_use]
    pub fn index(&self) -> u64 {
        match self {
            Self::Truncated { index, .. }
            | Self::BadMagic { index, .. }
            | Self::HeaderCrc { index, .. }
            | Self::UnsupportedVersion { index, .. }
            | Self::ReservedFlags { index, .. }
            | Self::UnknownEncoding { index, .. }
            | Self::UnknownKind { index, .. }
            | Self::PayloadTooLong { index, .. }
            | Self::PayloadCrc { index, .. }
            | Self::Io { index, .. }
            | Self::Encode { index, .. } => *index,
        }
    }

    /// The stream offset where the frame (or garbage) the error is about starts.
    #[must_use]
    pub fn offset(&self) -> u64 {
        match self {
            Self::Truncated { offset, .. }
            | Self::BadMagic { offset, .. }
            | Self::HeaderCrc { offset, .. }
            | Self::UnsupportedVersion { offset, .. }
            | Self::ReservedFlags { offset, .. }
            | Self::UnknownEncoding { offset, .. }
            | Self::UnknownKind { offset, .. }
            | Self::PayloadTooLong { offset, .. }
            | Self::PayloadCrc { offset, .. }
            | Self::Io { offset, .. }
            | Self::Encode { offset, .. } => *offset,
        }
    }

    pub(crate) fn io(index: u64, offset: u64, err: &std::io::Error) -> Self {
        Self::Io {
            index,
            offset,
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    pub(crate) fn from_header(problem: HeaderProblem, index: u64, offset: u64) -> Self {
        match problem {
            HeaderProblem::BadMagic(found) => Self::BadMagic {
                index,
                offset,
                found: found.to_vec(),
            },
            HeaderProblem::HeaderCrc { stored, computed } => Self::HeaderCrc {
                index,
                offset,
                stored,
                computed,
            },
            HeaderProblem::Version(version) => Self::UnsupportedVersion {
                index,
                offset,
                version,
            },
            HeaderProblem::Flags(flags) => Self::ReservedFlags {
                index,
                offset,
                flags,
            },
            HeaderProblem::Encoding(encoding) => Self::UnknownEncoding {
                index,
                offset,
                encoding,
            },
            HeaderProblem::Kind(kind) => Self::UnknownKind {
                index,
                offset,
                kind,
            },
        }
    }
}
