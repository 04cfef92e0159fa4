//! [`Encoding`]: which of the two wire encodings to write.

/// Which wire encoding a writer produces. Every reader in this crate reads both without being
/// told which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// The encoding scry-protocol 0.1.1 writes, byte for byte (the default).
    #[default]
    Compat,
    /// The compact encoding (layout version 3): a FlexBuffers root map whose events are one
    /// blob of their own layout (rows as COPY BINARY fields, names and column types stated
    /// once per batch, integers as varints and deltas). Not readable by 0.1.1, which
    /// refuses it with an error. `docs/wire-format.md` describes its bytes.
    Compact,
}
