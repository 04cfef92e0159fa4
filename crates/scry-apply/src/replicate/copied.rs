//! Tables copied at a later snapshot than the stream starts from: what
//! [`Replication::skip_copied`] passes over.
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

use std::collections::HashMap;

use scry_pg::pgoutput::Change;
use scry_types::OperationType;

/// The snapshot position of each table copied later than the stream starts.
#[derive(Debug, Default)]
pub(super) struct Copied {
    /// `(schema, table)` → the position its copy was read at.
    at: HashMap<(String, String), u64>,
    /// The latest of them: a transaction committed at or after it passes whole.
    latest: u64,
    /// The commit LSN of the transaction being handed on.
    commit_lsn: u64,
    /// Changes passed over.
    pub(super) skipped: u64,
}

impl Copied {
    pub(super) fn new(at: HashMap<(String, String), u64>) -> Self {
        let latest = at.values().copied().max().unwrap_or(0);
        Self {
            at,
            latest,
            commit_lsn: u64::MAX,
            skipped: 0,
        }
    }

    /// True when `change` is to be applied; false when its table's copy already has it (a
    /// change passed over that describes its table must still teach the applier the table:
    /// see [`crate::Applier::relation`]).
    pub(super) fn admits(&mut self, change: &Change) -> bool {
        let event = match change {
            Change::Commits { commit_lsn } => {
                self.commit_lsn = *commit_lsn;
                return true;
            }
            Change::Message { .. } => return true,
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
            return true;
        }
        // Looked up only for transactions committed before the latest copy.
        let copied_at = self
            .at
            .get(&(event.schema.clone(), event.table.clone()))
            .copied();
        let passed_over = copied_at.is_some_and(|at| self.commit_lsn < at);
        self.skipped += u64::from(passed_over);
        !passed_over
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::DatabaseEvent;

    fn change(op: OperationType, table: &str) -> Change {
        Change::Event(DatabaseEvent::new(op, "public", table))
    }

    #[test]
    fn a_change_passes_unless_its_table_was_copied_after_its_commit() {
        let mut copied = Copied::new(HashMap::from([
            (("public".to_owned(), "late".to_owned()), 0x500),
            (("public".to_owned(), "early".to_owned()), 0x100),
        ]));
        let admits = |copied: &mut Copied, commit_lsn: u64, c: &Change| {
            assert!(copied.admits(&Change::Commits { commit_lsn }));
            copied.admits(c)
        };
        let insert_late = change(OperationType::Insert, "late");
        // Committed before the copy of `late` was read: the copy has it.
        assert!(!admits(&mut copied, 0x4FF, &insert_late));
        // Committed at or after that position: the copy does not.
        assert!(admits(&mut copied, 0x500, &insert_late));
        assert!(admits(&mut copied, 0x900, &insert_late));
        // Another table, copied earlier, or not copied later at all.
        assert!(admits(
            &mut copied,
            0x200,
            &change(OperationType::Delete, "early")
        ));
        assert!(admits(
            &mut copied,
            0x200,
            &change(OperationType::Update, "other")
        ));
        // The boundaries of a transaction are never passed over.
        assert!(admits(
            &mut copied,
            0x200,
            &change(OperationType::Begin, "")
        ));
        assert!(admits(
            &mut copied,
            0x200,
            &change(OperationType::Commit, "")
        ));
        assert!(!admits(
            &mut copied,
            0x200,
            &change(OperationType::Truncate, "late")
        ));
        assert_eq!(copied.skipped, 2);
    }
}
