//! [`Encoding`]: which of the two wire encodings to write.

/// Which wire encoding a writer produces. Every reader in this crate reads both without being
/// told which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// The encoding scry-protocol 0.1.1 writes, byte for byte (the default).
    #[default]
    Compat,
    /// The compact encoding: value bytes stored contiguously as blobs, enums as discriminants,
    /// absent optional fields left out. Not readable by 0.1.1.
    Compact,
}
