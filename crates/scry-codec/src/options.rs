//! [`ReadOptions`]: the limits a reader enforces on untrusted input.

/// Limits enforced while reading. Every limit is checked against what the input claims
/// before anything is allocated or scanned for it; exceeding one is a
/// [`DecodeErrorKind::LimitExceeded`](crate::DecodeErrorKind::LimitExceeded) naming it.
///
/// The defaults are generous enough for any real batch (they follow PostgreSQL's own
/// maxima where there is one) and only stop absurd inputs.
///
/// There is no nesting limit: the protocol's schema has a fixed depth (batch → events →
/// event → row → values → value → data) and the reader follows it without recursion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Largest input accepted, in bytes. Default 256 MiB. Inputs of 4 GiB or more are always
    /// rejected (positions are kept as 32-bit numbers).
    pub max_input_bytes: usize,
    /// Most events in a batch. Default 1,000,000.
    pub max_events: usize,
    /// Most values in a row, column names in an event, and columns in a relation.
    /// Default 1600, PostgreSQL's maximum number of columns in a table.
    pub max_columns: usize,
    /// Longest value (`ColumnValue.data`), in bytes. Default 1 GiB, PostgreSQL's maximum
    /// field size.
    pub max_value_bytes: usize,
    /// Longest string (names, IDs, DDL statements), in bytes. Default 256 MiB.
    pub max_string_bytes: usize,
    /// Most relations in a batch's `relations`. Default 1,000,000.
    pub max_relations: usize,
    /// Most entries in a batch's `sequence_values`. Default 1,000,000.
    pub max_sequence_values: usize,
    /// Work budget per input byte. Reading counts one unit per map entry and vector element
    /// visited and per string or value byte, and fails with
    /// [`DecodeErrorKind::WorkBudgetExceeded`](crate::DecodeErrorKind::WorkBudgetExceeded)
    /// once the count passes this factor times the input's length (plus 4096), so an input
    /// whose offsets point many times at one object cannot make reading (or the owned copy)
    /// take time or memory out of proportion to its size. A batch without such sharing costs
    /// at most about 2 units per byte. Default 8.
    pub work_per_input_byte: u64,
}

impl ReadOptions {
    /// The default limits (see each field).
    pub const DEFAULT: Self = Self {
        max_input_bytes: 256 << 20,
        max_events: 1_000_000,
        max_columns: 1600,
        max_value_bytes: 1 << 30,
        max_string_bytes: 256 << 20,
        max_relations: 1_000_000,
        max_sequence_values: 1_000_000,
        work_per_input_byte: 8,
    };
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}
