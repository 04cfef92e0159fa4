//! Tables copied at later snapshots than the stream starts from: what
//! [`Replication::skip_copied`](super::Replication::skip_copied) passes over.
//!
//! A copy read in a snapshot taken at position `P` (the consistent point of the slot that
//! exported it) holds every transaction whose commit record lies before `P`, and none at or
//! after it: a logical slot created there would stream exactly the latter. So when a table
//! was copied at `P` and the stream starts earlier, its changes in transactions committed
//! before `P` are already in the copy, and those committed at or after `P` are not. This is
//! the rule PostgreSQL's own table synchronisation applies (`should_apply_changes_for_rel`
//! in `worker.c`): it lets tables copied in different snapshots join one stream exactly,
//! so that a copy cut short resumes with the tables it has not finished, read in a new
//! snapshot, instead of starting over.
//!
//! A table copied in ranges of an integer key may have its ranges read in different
//! snapshots; the rule then holds per range, the range being the one the row's key falls
//! in. An UPDATE that moves a row from one range to another is the one change this cannot
//! always follow: when the old key's range has it and the new key's range does not, the new
//! row must be written, and its unchanged TOASTed values are nowhere on the target. The
//! new key's range is then copied again ([`Admit::Recopy`]), in a snapshot after the
//! change. A TRUNCATE that some ranges have and others not is treated the same way.

use std::collections::HashMap;

use scry_pg::pgoutput::{is_text_format, Change};
use scry_types::{ColumnValue, DatabaseEvent, OperationType, Row};

/// Where each table that `scry replicate` copied was read, for
/// [`Replication::skip_copied`](super::Replication::skip_copied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyPositions {
    /// Tables copied whole (a partition under its own name): `(schema, table)` → the
    /// position of the snapshot the copy was read in.
    pub tables: HashMap<(String, String), u64>,
    /// Tables copied in ranges of one integer key column, each range in a snapshot of its
    /// own; these take precedence over `tables`.
    pub ranges: HashMap<(String, String), KeyRanges>,
}

/// The ranges of a table copied in ranges of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRanges {
    /// The key column (of type `int2`, `int4` or `int8`).
    pub column: String,
    /// The ranges, covering every value between them.
    pub ranges: Vec<KeyRange>,
}

/// One range of a table's key and where it was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange {
    /// The range's number, as the target records it.
    pub n: i32,
    /// The lowest key in it; `None`: unbounded.
    pub low: Option<i64>,
    /// The first key past it; `None`: unbounded.
    pub high: Option<i64>,
    /// The position of the snapshot it was read in.
    pub position: u64,
}

impl KeyRange {
    fn holds(&self, key: i64) -> bool {
        self.low.is_none_or(|low| key >= low) && self.high.is_none_or(|high| key < high)
    }
}

/// Ranges of a table to copy again, in a snapshot after the change that asked for it
/// (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recopy {
    /// The table's schema.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The ranges' numbers ([`KeyRange::n`]).
    pub ranges: Vec<i32>,
}

/// What to do with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Admit {
    /// Apply it.
    Apply,
    /// Pass over it: its table's (or range's) copy has it.
    Skip,
    /// Apply only its removal of the old row (an UPDATE that moved a row into a range
    /// whose copy has the new row).
    OldRowOnly,
    /// Copy these ranges again before going on.
    Recopy(Recopy),
}

/// The copy positions, and the commit LSN of the transaction being handed on.
#[derive(Debug, Default)]
pub(super) struct Copied {
    positions: CopyPositions,
    /// The latest position of them all: a transaction committed at or after it passes whole.
    latest: u64,
    commit_lsn: u64,
    /// Changes passed over.
    pub(super) skipped: u64,
}

impl Copied {
    pub(super) fn new(positions: CopyPositions) -> Self {
        let latest = positions
            .tables
            .values()
            .copied()
            .chain(
                positions
                    .ranges
                    .values()
                    .flat_map(|r| r.ranges.iter().map(|r| r.position)),
            )
            .max()
            .unwrap_or(0);
        Self {
            positions,
            latest,
            commit_lsn: u64::MAX,
            skipped: 0,
        }
    }

    /// What to do with `change` (a change passed over that describes its table must still
    /// teach the applier the table: see [`crate::Applier::relation`]).
    pub(super) fn admit(&mut self, change: &Change) -> Admit {
        let event = match change {
            Change::Commits { commit_lsn } => {
                self.commit_lsn = *commit_lsn;
                return Admit::Apply;
            }
            Change::Message { .. } => return Admit::Apply,
            Change::Event(event) => event,
        };
        if self.commit_lsn >= self.latest
            || !matches!(
                event.operation,
                OperationType::Insert
                    | OperationType::Update
                    | OperationType::Delete
                    | OperationType::Truncate
            )
        {
            return Admit::Apply;
        }
        // Looked up only for transactions committed before the latest copy.
        let name = (event.schema.clone(), event.table.clone());
        let admit = match self.positions.ranges.get(&name) {
            Some(ranges) => by_range(ranges, event, self.commit_lsn),
            None => match self.positions.tables.get(&name) {
                Some(&at) if self.commit_lsn < at => Admit::Skip,
                _ => Admit::Apply,
            },
        };
        self.skipped += u64::from(admit == Admit::Skip);
        admit
    }
}

/// The decision for a change to a table copied in ranges of its key, committed at
/// `commit_lsn`.
fn by_range(ranges: &KeyRanges, event: &DatabaseEvent, commit_lsn: u64) -> Admit {
    let recopy = |ns: Vec<i32>| {
        Admit::Recopy(Recopy {
            schema: event.schema.clone(),
            table: event.table.clone(),
            ranges: ns,
        })
    };
    // A change at or after a range's position is not in that range's copy.
    let not_in_copy = |r: &KeyRange| commit_lsn >= r.position;
    if event.operation == OperationType::Truncate {
        let applies: Vec<i32> = ranges
            .ranges
            .iter()
            .filter(|r| not_in_copy(r))
            .map(|r| r.n)
            .collect();
        return match applies.len() {
            0 => Admit::Skip,
            n if n == ranges.ranges.len() => Admit::Apply,
            _ => recopy(applies),
        };
    }
    let range_of = |row: Option<&Row>| -> Option<&KeyRange> {
        let key = key_of(row?, &event.columns, &ranges.column)?;
        ranges.ranges.iter().find(|r| r.holds(key))
    };
    let new = range_of(event.new_row.as_ref());
    // An UPDATE carries its old row only when its key changed (or under REPLICA IDENTITY
    // FULL); otherwise the row stays where the new key says.
    let old = match event.operation {
        OperationType::Update if event.old_row.is_none() => new,
        OperationType::Insert => None,
        _ => range_of(event.old_row.as_ref()),
    };
    let every = || ranges.ranges.iter().map(|r| r.n).collect::<Vec<_>>();
    match event.operation {
        OperationType::Insert => match new {
            Some(r) if not_in_copy(r) => Admit::Apply,
            Some(_) => Admit::Skip,
            None => recopy(every()),
        },
        OperationType::Delete => match old {
            Some(r) if not_in_copy(r) => Admit::Apply,
            Some(_) => Admit::Skip,
            None => recopy(every()),
        },
        _ => match (old, new) {
            (Some(o), Some(n)) => match (not_in_copy(o), not_in_copy(n)) {
                (true, true) => Admit::Apply,
                (false, false) => Admit::Skip,
                (true, false) => Admit::OldRowOnly,
                (false, true) => recopy(vec![n.n]),
            },
            // A key that cannot be read: every range again, which is exact whatever it is.
            _ => recopy(every()),
        },
    }
}

/// The integer value of `column` in `row`, binary (as `scry replicate` streams it) or text.
fn key_of(row: &Row, columns: &[String], column: &str) -> Option<i64> {
    let i = columns.iter().position(|c| c == column)?;
    let value: &ColumnValue = row.values.get(i)?;
    let bytes = value.as_bytes()?;
    if is_text_format(value) {
        return std::str::from_utf8(bytes).ok()?.parse().ok();
    }
    Some(match bytes.len() {
        2 => i64::from(i16::from_be_bytes(bytes.try_into().ok()?)),
        4 => i64::from(i32::from_be_bytes(bytes.try_into().ok()?)),
        8 => i64::from_be_bytes(bytes.try_into().ok()?),
        _ => return None,
    })
}

impl super::Replication {
    /// Passes over the changes that tables copied later than the stream starts already have:
    /// `copied` gives each table (a partition under its own name) and the position of the
    /// snapshot its copy was read in (the consistent point of the slot that exported it),
    /// or, for a table copied in ranges of its key, each range's. A change is applied only
    /// when its transaction committed at or after that position, the rule of PostgreSQL's
    /// own table synchronisation; so tables copied in several snapshots (a copy resumed
    /// after its first snapshot was gone) join one stream without a change lost or applied
    /// twice. When a change cannot be followed that way (see [`Stopped::Recopy`](super::Stopped::Recopy)), the run
    /// stops before its transaction.
    #[must_use]
    pub fn skip_copied(mut self, copied: CopyPositions) -> Self {
        self.copied = Copied::new(copied);
        self
    }

    /// After [`Stopped::Recopy`](super::Stopped::Recopy): the ranges to copy again, in a snapshot taken after the
    /// change that needs them, before streaming again.
    #[must_use]
    pub fn recopy(&self) -> Option<&Recopy> {
        self.recopy.as_ref()
    }

    /// The changes passed over so far because their tables' copies have them (see
    /// [`skip_copied`](Self::skip_copied)).
    #[must_use]
    pub fn skipped_copied(&self) -> u64 {
        self.copied.skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::{ColumnValue, TypeTag};

    fn change(op: OperationType, table: &str) -> Change {
        Change::Event(DatabaseEvent::new(op, "public", table))
    }

    fn admit(copied: &mut Copied, commit_lsn: u64, c: &Change) -> Admit {
        assert_eq!(copied.admit(&Change::Commits { commit_lsn }), Admit::Apply);
        copied.admit(c)
    }

    fn name(table: &str) -> (String, String) {
        ("public".to_owned(), table.to_owned())
    }

    #[test]
    fn a_change_passes_unless_its_table_was_copied_after_its_commit() {
        let mut copied = Copied::new(CopyPositions {
            tables: HashMap::from([(name("late"), 0x500), (name("early"), 0x100)]),
            ranges: HashMap::new(),
        });
        let insert_late = change(OperationType::Insert, "late");
        // Committed before the copy of `late` was read: the copy has it.
        assert_eq!(admit(&mut copied, 0x4FF, &insert_late), Admit::Skip);
        // Committed at or after that position: the copy does not.
        assert_eq!(admit(&mut copied, 0x500, &insert_late), Admit::Apply);
        assert_eq!(admit(&mut copied, 0x900, &insert_late), Admit::Apply);
        // Another table, copied earlier, or not copied later at all.
        let delete_early = change(OperationType::Delete, "early");
        assert_eq!(admit(&mut copied, 0x200, &delete_early), Admit::Apply);
        let update_other = change(OperationType::Update, "other");
        assert_eq!(admit(&mut copied, 0x200, &update_other), Admit::Apply);
        // The boundaries of a transaction are never passed over.
        let begin = change(OperationType::Begin, "");
        assert_eq!(admit(&mut copied, 0x200, &begin), Admit::Apply);
        let truncate = change(OperationType::Truncate, "late");
        assert_eq!(admit(&mut copied, 0x200, &truncate), Admit::Skip);
        assert_eq!(copied.skipped, 2);
    }

    fn row(id: i64) -> Row {
        Row::new(vec![
            ColumnValue::from_pg_binary(TypeTag::Int64, 20, id.to_be_bytes().to_vec()),
            ColumnValue::unchanged(25),
        ])
    }

    fn keyed(op: OperationType, old: Option<i64>, new: Option<i64>) -> Change {
        let mut e = DatabaseEvent::new(op, "public", "big");
        e.columns = vec!["v".to_owned(), "id".to_owned()];
        let swap = |mut r: Row| {
            r.values.reverse();
            r
        };
        e.old_row = old.map(|k| swap(row(k)));
        e.new_row = new.map(|k| swap(row(k)));
        Change::Event(e)
    }

    #[test]
    fn a_change_to_a_table_copied_in_ranges_follows_the_range_of_its_key() {
        // Keys below 100 read at 0x100, 100 to 199 at 0x300, from 200 on at 0x200.
        let ranges = KeyRanges {
            column: "id".to_owned(),
            ranges: vec![
                KeyRange {
                    n: 0,
                    low: None,
                    high: Some(100),
                    position: 0x100,
                },
                KeyRange {
                    n: 1,
                    low: Some(100),
                    high: Some(200),
                    position: 0x300,
                },
                KeyRange {
                    n: 2,
                    low: Some(200),
                    high: None,
                    position: 0x200,
                },
            ],
        };
        let mut copied = Copied::new(CopyPositions {
            tables: HashMap::from([(name("big"), 0x900)]),
            ranges: HashMap::from([(name("big"), ranges)]),
        });
        use OperationType::{Delete, Insert, Truncate, Update};
        let at = 0x250;
        let cases = [
            (keyed(Insert, None, Some(5)), Admit::Apply),
            (keyed(Insert, None, Some(150)), Admit::Skip),
            (keyed(Insert, None, Some(i64::MAX)), Admit::Apply),
            (keyed(Delete, Some(-7), None), Admit::Apply),
            (keyed(Delete, Some(199), None), Admit::Skip),
            // The key unchanged: no old row.
            (keyed(Update, None, Some(120)), Admit::Skip),
            (keyed(Update, None, Some(220)), Admit::Apply),
            // Moved within one range, out of a range that has it, into one that has it.
            (keyed(Update, Some(101), Some(102)), Admit::Skip),
            (keyed(Update, Some(5), Some(150)), Admit::OldRowOnly),
            // Into a range whose copy lacks it, from one whose copy has it: that range again.
            (
                keyed(Update, Some(150), Some(250)),
                Admit::Recopy(Recopy {
                    schema: "public".to_owned(),
                    table: "big".to_owned(),
                    ranges: vec![2],
                }),
            ),
            // TRUNCATE after two ranges' copies and before the third's.
            (
                change(Truncate, "big"),
                Admit::Recopy(Recopy {
                    schema: "public".to_owned(),
                    table: "big".to_owned(),
                    ranges: vec![0, 2],
                }),
            ),
        ];
        for (i, (c, expected)) in cases.iter().enumerate() {
            assert_eq!(&admit(&mut copied, at, c), expected, "case {i}");
        }
        // Before every copy, and after them all.
        assert_eq!(
            admit(&mut copied, 0x50, &change(Truncate, "big")),
            Admit::Skip
        );
        assert_eq!(
            admit(&mut copied, 0x300, &keyed(Update, Some(150), Some(250))),
            Admit::Apply
        );
        // Text values (a slot without binary output) are read too.
        let mut text = DatabaseEvent::new(Insert, "public", "big");
        text.columns = vec!["id".to_owned()];
        text.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Text,
            20,
            &b"150"[..],
        )]));
        assert_eq!(admit(&mut copied, at, &Change::Event(text)), Admit::Skip);
    }
}
