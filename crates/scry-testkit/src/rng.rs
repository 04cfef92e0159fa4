//! [`Gen`]: a seeded generator of protocol values.

use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};

/// Data lengths at which the compatible encoding changes shape (typed vectors of 2, 3 and 4;
/// slot widths of 1, 2 and 4 bytes), and their neighbours.
pub const EDGE_DATA_LENS: &[usize] = &[0, 1, 2, 3, 4, 5, 255, 256, 65_535, 65_536];

const STRINGS: &[&str] = &[
    "",
    "public",
    "users",
    "événements",
    "日本語のテーブル",
    "emoji 🦀",
    "a\u{0}b",
    "quote\"and\\backslash",
];

const U64S: &[u64] = &[
    0,
    1,
    255,
    256,
    65_535,
    65_536,
    u32::MAX as u64,
    u32::MAX as u64 + 1,
    u64::MAX - 1,
    u64::MAX,
];
const I64S: &[i64] = &[
    0,
    1,
    -1,
    127,
    -128,
    32_767,
    -32_768,
    i32::MAX as i64,
    i32::MIN as i64,
    i64::MAX,
    i64::MIN,
];

/// A seeded generator (SplitMix64). The same seed always gives the same values.
#[derive(Debug, Clone)]
pub struct Gen {
    state: u64,
    /// Largest data length drawn by [`Gen::data`] outside the edge lengths; keeps batches small.
    pub max_random_data_len: usize,
    /// Whether [`Gen::data`] may draw the 65,535 and 65,536 byte edge lengths.
    pub allow_huge_values: bool,
    /// The operations [`Gen::event`] draws from: every one by default;
    /// [`OperationType::IN_0_1_1`] for values 0.1.1 must read too.
    pub operations: &'static [OperationType],
}

impl Gen {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x5DEE_CE66_D1CE_4E5B,
            max_random_data_len: 64,
            allow_huge_values: true,
            operations: OperationType::ALL,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A string: one of a set of awkward ones (empty, non-ASCII, NUL, quotes) or random ASCII.
    pub fn string(&mut self) -> String {
        if self.one_in(2) {
            self.pick(STRINGS).to_owned()
        } else {
            let len = self.below(24);
            (0..len)
                .map(|_| char::from(b'a' + self.below(26) as u8))
                .collect()
        }
    }

    /// A `u64`: an extreme or a random one.
    pub fn u64(&mut self) -> u64 {
        if self.one_in(2) {
            self.pick(U64S)
        } else {
            self.next_u64() >> self.below(64)
        }
    }

    /// An `i64`: an extreme or a random one.
    pub fn i64(&mut self) -> i64 {
        if self.one_in(2) {
            self.pick(I64S)
        } else {
            (self.next_u64() as i64) >> self.below(64)
        }
    }

    /// A `u32`.
    pub fn u32(&mut self) -> u32 {
        (self.u64() >> self.pick(&[0u32, 32])) as u32
    }

    /// Value bytes of an edge length (see [`EDGE_DATA_LENS`]) or a random short length.
    pub fn data(&mut self) -> Vec<u8> {
        let len = if self.one_in(3) {
            let len = self.pick(EDGE_DATA_LENS);
            if len > 60_000 && (!self.allow_huge_values || !self.one_in(8)) {
                self.below(self.max_random_data_len + 1)
            } else {
                len
            }
        } else {
            self.below(self.max_random_data_len + 1)
        };
        let start = self.next_u64() as u8;
        (0..len)
            .map(|i| start.wrapping_add((i * 7) as u8))
            .collect()
    }

    /// A column value: NULL, unchanged TOAST, or any tag with data.
    pub fn column_value(&mut self) -> ColumnValue {
        match self.below(8) {
            0 => ColumnValue::null(),
            1 => ColumnValue::unchanged(self.u32()),
            _ => {
                let tag = self.pick(TypeTag::ALL);
                let oid = self.u32();
                if self.one_in(16) {
                    // A tag with no data that is neither NULL nor unchanged: legal on the wire.
                    ColumnValue {
                        type_tag: tag,
                        type_oid: oid,
                        data: None,
                    }
                } else {
                    ColumnValue::from_pg_binary(tag, oid, self.data())
                }
            }
        }
    }

    /// A row of up to `max_values` values.
    pub fn row(&mut self, max_values: usize) -> Row {
        let n = self.below(max_values + 1);
        Row::new((0..n).map(|_| self.column_value()).collect())
    }

    /// Relation metadata with up to 6 columns.
    pub fn relation(&mut self) -> RelationMeta {
        let n = self.below(7);
        let columns = (0..n)
            .map(|_| ColumnMeta {
                name: self.string(),
                type_oid: self.u32(),
                type_modifier: self.i64() as i32,
                is_key: self.one_in(2),
            })
            .collect();
        RelationMeta {
            rel_id: self.u32(),
            schema: self.string(),
            table: self.string(),
            columns,
            replica_identity: self.pick(ReplicaIdentity::ALL),
        }
    }

    fn option<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.one_in(2) {
            Some(f(self))
        } else {
            None
        }
    }

    /// An event of any operation with any combination of optional fields.
    pub fn event(&mut self) -> DatabaseEvent {
        DatabaseEvent {
            event_id: self.option(Self::string),
            timestamp_us: self.u64(),
            operation: self.pick(self.operations),
            schema: self.string(),
            table: self.string(),
            position: self.u64(),
            transaction_id: self.u64(),
            new_row: self.option(|g| g.row(6)),
            old_row: self.option(|g| g.row(6)),
            columns: (0..self.below(6)).map(|_| self.string()).collect(),
            relation_meta: self.option(Self::relation),
            ddl_sql: self.option(Self::string),
            ddl_object_type: self.option(Self::string),
        }
    }

    /// A sequence value with arbitrary fields.
    pub fn sequence(&mut self) -> SequenceValue {
        SequenceValue {
            schema: self.string(),
            name: self.string(),
            last_value: self.i64(),
            is_called: self.one_in(2),
            increment_by: self.i64(),
            min_value: self.i64(),
            max_value: self.i64(),
        }
    }

    /// A batch of up to `max_events` events with any combination of optional fields.
    pub fn batch(&mut self, max_events: usize) -> DatabaseEventBatch {
        let n = self.below(max_events + 1);
        DatabaseEventBatch {
            events: (0..n).map(|_| self.event()).collect(),
            source_id: self.option(Self::string),
            batch_seq: self.u64(),
            relations: (0..self.below(3)).map(|_| self.relation()).collect(),
            control_directive: self.option(|g| g.pick(ControlDirective::ALL)),
            sequence_values: self.option(|g| (0..g.below(4)).map(|_| g.sequence()).collect()),
            backfill_metadata: self.option(|g| BackfillMetadata {
                table_count: g.u32(),
                estimated_total_rows: g.u64(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_batch() {
        assert_eq!(Gen::new(7).batch(5), Gen::new(7).batch(5));
        assert_ne!(Gen::new(7).batch(5), Gen::new(8).batch(5));
    }

    #[test]
    fn covers_every_variant_and_edge_length() {
        let mut g = Gen::new(1);
        let mut ops = std::collections::HashSet::new();
        let mut tags = std::collections::HashSet::new();
        let mut lens = std::collections::HashSet::new();
        for _ in 0..3000 {
            let e = g.event();
            ops.insert(e.operation);
            for v in e.new_row.iter().flat_map(|r| r.values.iter()) {
                tags.insert(v.type_tag);
                if let Some(d) = &v.data {
                    lens.insert(d.len());
                }
            }
        }
        assert_eq!(ops.len(), OperationType::ALL.len());
        assert_eq!(tags.len(), TypeTag::ALL.len());
        for len in EDGE_DATA_LENS {
            assert!(lens.contains(len), "length {len} never drawn");
        }
    }
}
