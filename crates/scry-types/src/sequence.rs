//! [`SequenceValue`] and [`BackfillMetadata`]: payloads of control batches.

/// The state of a PostgreSQL sequence, sent so that the target's sequence can be set to match
/// after a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SequenceValue {
    /// Schema name.
    pub schema: String,
    /// Sequence name.
    pub name: String,
    /// The sequence's `last_value`.
    pub last_value: i64,
    /// `is_called`: when true the next `nextval()` returns `last_value + increment_by`,
    /// otherwise it returns `last_value`.
    pub is_called: bool,
    /// Increment.
    pub increment_by: i64,
    /// Minimum value.
    pub min_value: i64,
    /// Maximum value.
    pub max_value: i64,
}

impl SequenceValue {
    /// A sequence at `last_value` with PostgreSQL's defaults: called, increment 1, minimum 1,
    /// maximum `i64::MAX`.
    #[must_use]
    pub fn new(schema: impl Into<String>, name: impl Into<String>, last_value: i64) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
            last_value,
            is_called: true,
            increment_by: 1,
            min_value: 1,
            max_value: i64::MAX,
        }
    }

    /// `schema.name`.
    #[must_use]
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// Estimated size of a backfill, sent with `BackfillStart` for progress tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BackfillMetadata {
    /// How many tables the backfill copies.
    pub table_count: u32,
    /// Estimated total rows across all tables (from `pg_class.reltuples`).
    pub estimated_total_rows: u64,
}

impl BackfillMetadata {
    /// Metadata for `table_count` tables and about `estimated_total_rows` rows.
    #[must_use]
    pub const fn new(table_count: u32, estimated_total_rows: u64) -> Self {
        Self {
            table_count,
            estimated_total_rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_defaults() {
        let s = SequenceValue::new("public", "users_id_seq", 100);
        assert_eq!(s.qualified_name(), "public.users_id_seq");
        assert_eq!(s.last_value, 100);
        assert!(s.is_called);
        assert_eq!((s.increment_by, s.min_value, s.max_value), (1, 1, i64::MAX));
    }

    #[test]
    fn backfill_metadata() {
        let m = BackfillMetadata::new(3, 1_000_000);
        assert_eq!(m.table_count, 3);
        assert_eq!(m.estimated_total_rows, 1_000_000);
    }
}
