//! [`OperationType`]: what an event does.

wire_enum! {
    /// What a [`DatabaseEvent`](crate::DatabaseEvent) does. The discriminants are fixed by the
    /// protocol; the wire carries the variant name.
    pub enum OperationType {
        /// A row was inserted (`new_row`).
        Insert = 0,
        /// A row was updated (`new_row`, and `old_row` under REPLICA IDENTITY FULL or a key change).
        Update = 1,
        /// A row was deleted (`old_row` holds the key or the full old row).
        Delete = 2,
        /// A table was truncated.
        Truncate = 3,
        /// A transaction began.
        Begin = 10,
        /// A transaction committed.
        Commit = 11,
        /// A transaction rolled back.
        Rollback = 12,
        /// One row of a COPY snapshot (`new_row`).
        SnapshotRow = 20,
        /// A table's COPY snapshot begins (often with `relation_meta`).
        SnapshotBegin = 21,
        /// A table's COPY snapshot ended.
        SnapshotEnd = 22,
        /// Control: synchronize sequences.
        SequenceSync = 30,
        /// Control: disable foreign keys on the target.
        DisableForeignKeys = 31,
        /// Control: enable foreign keys on the target.
        EnableForeignKeys = 32,
        /// A DDL statement (`ddl_sql`, `ddl_object_type`).
        Ddl = 33,
        /// The DDL phase of a backfill completed.
        DdlComplete = 34,
        /// The backfill phase completed.
        BackfillComplete = 35,
        /// The backfill phase starts (the batch may carry `backfill_metadata`).
        BackfillStart = 36,
        /// A logical decoding message (`pg_logical_emit_message`): `table` holds its prefix
        /// and `new_row` two values, `transactional` (bool) and `content` (bytea), named so in
        /// `columns`; `transaction_id` is 0 for a message sent outside a transaction. New in
        /// 0.2 and not known to 0.1.1, whose readers reject a batch holding one: producers
        /// write it only when asked to (`scry capture --messages`).
        Message = 37,
    }
}

impl OperationType {
    /// The operations scry-protocol 0.1.1 knows (all but [`Message`](Self::Message)): a
    /// batch holding only these is readable by a 0.1.1 peer.
    pub const IN_0_1_1: &'static [OperationType] = {
        let all = Self::ALL;
        match all.split_last() {
            Some((Self::Message, rest)) => rest,
            _ => panic!("Message is the last operation"),
        }
    };

    /// True for the control directives: SequenceSync, DisableForeignKeys, EnableForeignKeys,
    /// BackfillComplete and BackfillStart (as in 0.1.1: DdlComplete is not among them).
    #[must_use]
    pub const fn is_control_directive(&self) -> bool {
        matches!(
            self,
            Self::SequenceSync
                | Self::DisableForeignKeys
                | Self::EnableForeignKeys
                | Self::BackfillComplete
                | Self::BackfillStart
        )
    }

    /// True for [`OperationType::Ddl`].
    #[must_use]
    pub const fn is_ddl(&self) -> bool {
        matches!(self, Self::Ddl)
    }

    /// True for the row changes Insert, Update, Delete and SnapshotRow.
    #[must_use]
    pub const fn is_row_change(&self) -> bool {
        matches!(
            self,
            Self::Insert | Self::Update | Self::Delete | Self::SnapshotRow
        )
    }

    /// True for Begin, Commit and Rollback.
    #[must_use]
    pub const fn is_transaction_boundary(&self) -> bool {
        matches!(self, Self::Begin | Self::Commit | Self::Rollback)
    }

    /// True for SnapshotBegin, SnapshotRow and SnapshotEnd.
    #[must_use]
    pub const fn is_snapshot(&self) -> bool {
        matches!(
            self,
            Self::SnapshotBegin | Self::SnapshotRow | Self::SnapshotEnd
        )
    }

    /// The upper-snake-case label (`"SNAPSHOT_ROW"`), as [`Display`](std::fmt::Display) writes it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
            Self::Delete => "DELETE",
            Self::Truncate => "TRUNCATE",
            Self::Begin => "BEGIN",
            Self::Commit => "COMMIT",
            Self::Rollback => "ROLLBACK",
            Self::SnapshotRow => "SNAPSHOT_ROW",
            Self::SnapshotBegin => "SNAPSHOT_BEGIN",
            Self::SnapshotEnd => "SNAPSHOT_END",
            Self::SequenceSync => "SEQUENCE_SYNC",
            Self::DisableForeignKeys => "DISABLE_FOREIGN_KEYS",
            Self::EnableForeignKeys => "ENABLE_FOREIGN_KEYS",
            Self::Ddl => "DDL",
            Self::DdlComplete => "DDL_COMPLETE",
            Self::BackfillComplete => "BACKFILL_COMPLETE",
            Self::BackfillStart => "BACKFILL_START",
            Self::Message => "MESSAGE",
        }
    }
}

impl std::fmt::Display for OperationType {
    /// Writes the upper-snake-case label: `INSERT`, `SNAPSHOT_ROW`, `DDL_COMPLETE`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

wire_enum! {
    /// PostgreSQL's REPLICA IDENTITY setting of a table (`pg_class.relreplident`).
    #[derive(Default)]
    pub enum ReplicaIdentity {
        /// `'d'`: the primary key identifies the old row (PostgreSQL's default).
        #[default]
        Default = 0,
        /// `'n'`: no old row data.
        Nothing = 1,
        /// `'f'`: the full old row.
        Full = 2,
        /// `'i'`: the columns of a chosen unique index.
        Index = 3,
    }
}

impl ReplicaIdentity {
    /// Maps PostgreSQL's `relreplident` character; any unknown character maps to
    /// [`ReplicaIdentity::Default`], as in 0.1.1.
    #[must_use]
    pub const fn from_pg_char(c: u8) -> Self {
        match c {
            b'n' => Self::Nothing,
            b'f' => Self::Full,
            b'i' => Self::Index,
            _ => Self::Default,
        }
    }

    /// PostgreSQL's `relreplident` character for this setting.
    #[must_use]
    pub const fn to_pg_char(self) -> u8 {
        match self {
            Self::Default => b'd',
            Self::Nothing => b'n',
            Self::Full => b'f',
            Self::Index => b'i',
        }
    }
}

wire_enum! {
    /// A batch-level instruction from producer to receiver to perform an administrative
    /// operation instead of applying data changes.
    pub enum ControlDirective {
        /// Disable foreign key constraints on the target (the receiver saves their definitions,
        /// then drops them).
        DisableForeignKeys = 0,
        /// Enable foreign key constraints on the target (recreate the saved definitions).
        EnableForeignKeys = 1,
        /// Synchronize sequences; the batch carries `sequence_values`.
        SyncSequences = 2,
    }
}

impl ControlDirective {
    /// The upper-snake-case label (`"SYNC_SEQUENCES"`), as [`Display`](std::fmt::Display) writes it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::DisableForeignKeys => "DISABLE_FOREIGN_KEYS",
            Self::EnableForeignKeys => "ENABLE_FOREIGN_KEYS",
            Self::SyncSequences => "SYNC_SEQUENCES",
        }
    }
}

impl std::fmt::Display for ControlDirective {
    /// Writes the upper-snake-case label: `DISABLE_FOREIGN_KEYS`, `SYNC_SEQUENCES`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_discriminants_and_labels() {
        let expected: &[(OperationType, u8, &str)] = &[
            (OperationType::Insert, 0, "INSERT"),
            (OperationType::Update, 1, "UPDATE"),
            (OperationType::Delete, 2, "DELETE"),
            (OperationType::Truncate, 3, "TRUNCATE"),
            (OperationType::Begin, 10, "BEGIN"),
            (OperationType::Commit, 11, "COMMIT"),
            (OperationType::Rollback, 12, "ROLLBACK"),
            (OperationType::SnapshotRow, 20, "SNAPSHOT_ROW"),
            (OperationType::SnapshotBegin, 21, "SNAPSHOT_BEGIN"),
            (OperationType::SnapshotEnd, 22, "SNAPSHOT_END"),
            (OperationType::SequenceSync, 30, "SEQUENCE_SYNC"),
            (
                OperationType::DisableForeignKeys,
                31,
                "DISABLE_FOREIGN_KEYS",
            ),
            (OperationType::EnableForeignKeys, 32, "ENABLE_FOREIGN_KEYS"),
            (OperationType::Ddl, 33, "DDL"),
            (OperationType::DdlComplete, 34, "DDL_COMPLETE"),
            (OperationType::BackfillComplete, 35, "BACKFILL_COMPLETE"),
            (OperationType::BackfillStart, 36, "BACKFILL_START"),
            (OperationType::Message, 37, "MESSAGE"),
        ];
        assert_eq!(expected.len(), OperationType::ALL.len());
        for &(op, byte, label) in expected {
            assert_eq!(op as u8, byte);
            assert_eq!(OperationType::from_byte(byte), Some(op));
            assert_eq!(op.to_string(), label);
        }
    }

    #[test]
    fn operation_predicates() {
        let control: Vec<_> = OperationType::ALL
            .iter()
            .filter(|o| o.is_control_directive())
            .copied()
            .collect();
        assert_eq!(
            control,
            [
                OperationType::SequenceSync,
                OperationType::DisableForeignKeys,
                OperationType::EnableForeignKeys,
                OperationType::BackfillComplete,
                OperationType::BackfillStart
            ]
        );
        let ddl: Vec<_> = OperationType::ALL.iter().filter(|o| o.is_ddl()).collect();
        assert_eq!(ddl, [&OperationType::Ddl]);
        assert!(OperationType::SnapshotRow.is_row_change());
        assert!(OperationType::SnapshotRow.is_snapshot());
        assert!(!OperationType::Truncate.is_row_change());
        assert!(OperationType::Rollback.is_transaction_boundary());
        assert_eq!(OperationType::IN_0_1_1.len(), OperationType::ALL.len() - 1);
        assert!(!OperationType::IN_0_1_1.contains(&OperationType::Message));
    }

    #[test]
    fn replica_identity_chars() {
        for &ri in ReplicaIdentity::ALL {
            assert_eq!(ReplicaIdentity::from_pg_char(ri.to_pg_char()), ri);
        }
        assert_eq!(
            ReplicaIdentity::from_pg_char(b'x'),
            ReplicaIdentity::Default
        );
        assert_eq!(ReplicaIdentity::default(), ReplicaIdentity::Default);
        assert_eq!(ReplicaIdentity::Index as u8, 3);
    }

    #[test]
    fn control_directive_labels() {
        assert_eq!(
            ControlDirective::DisableForeignKeys.to_string(),
            "DISABLE_FOREIGN_KEYS"
        );
        assert_eq!(
            ControlDirective::EnableForeignKeys.to_string(),
            "ENABLE_FOREIGN_KEYS"
        );
        assert_eq!(
            ControlDirective::SyncSequences.to_string(),
            "SYNC_SEQUENCES"
        );
        assert_eq!(ControlDirective::SyncSequences.name(), "SyncSequences");
    }
}
