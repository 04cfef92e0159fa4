//! Semantic validation of events and batches: [`DatabaseEvent::validate`] and
//! [`DatabaseEventBatch::validate`].
//!
//! Decoding checks that bytes are a well-formed encoding; validation checks that the value
//! makes sense as PostgreSQL replication: that an INSERT has a new row, that an `int4` value
//! is 4 bytes, that a row is as wide as its table, that a control batch carries no row
//! changes. It reports every violation it finds, each with the path of the offending field.
//!
//! What it accepts follows what PostgreSQL sends:
//!
//! - Only types whose binary form has one length are length-checked (see
//!   [`TypeTag::fixed_len`]); `numeric`, `text`, `bit`, `varbit`, arrays, ranges, `inet`,
//!   `path` and `polygon` are variable.
//! - An unchanged-TOAST marker may appear only in the new row of an UPDATE: pgoutput sends
//!   `'u'` for an on-disk TOAST value the update left alone, and the old tuple (REPLICA
//!   IDENTITY FULL or the key) is always detoasted.
//! - A row's width is checked against both `columns` (when not empty) and the relation
//!   (the event's `relation_meta`, else the batch's `relations` entry for the same
//!   `schema.table`), for old rows too: pgoutput's key-only old tuple (`'K'`) still has one
//!   value per column, NULL for the non-key ones.
//! - Type OIDs are compared with the relation's columns only when both are non-zero, and not
//!   for [`TypeTag::Array`] values, whose `type_oid` the protocol lets carry the element type.
//! - A `SyncSequences` batch with an empty `sequence_values` list is valid (a database with
//!   no sequences); one without the list is not.
//!
//! ```
//! use scry_types::{ColumnValue, DatabaseEvent, OperationType, Row, TypeTag};
//!
//! let mut event = DatabaseEvent::new(OperationType::Insert, "public", "users");
//! event.columns = vec!["id".into()];
//! event.new_row = Some(Row::new(vec![
//!     ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 1]),
//!     ColumnValue::unchanged(25),
//! ]));
//! let errors = event.validate().unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "3 violations:\n  \
//!      new_row: new_row has 2 values but `columns` names 1 column\n  \
//!      new_row.values[0].data: Int32 value has 3 bytes of data; its PostgreSQL binary form \
//!      is 4 bytes\n  \
//!      new_row.values[1].type_tag: unchanged-TOAST marker in the new_row of an INSERT event; \
//!      PostgreSQL sends one only in the new_row of an UPDATE"
//! );
//! ```

use std::fmt;

use crate::{
    ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch, OperationType, RelationMeta,
    Row, TypeTag,
};

/// Which row of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowSide {
    /// `new_row`.
    New,
    /// `old_row`.
    Old,
}

impl RowSide {
    /// The field name: `"new_row"` or `"old_row"`.
    #[must_use]
    pub const fn field(self) -> &'static str {
        match self {
            Self::New => "new_row",
            Self::Old => "old_row",
        }
    }
}

impl fmt::Display for RowSide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// What is wrong; [`Violation`] says where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationKind {
    /// An Insert, Update or SnapshotRow without `new_row`.
    MissingNewRow {
        /// The event's operation.
        operation: OperationType,
    },
    /// A Delete without `old_row`.
    MissingOldRow {
        /// The event's operation.
        operation: OperationType,
    },
    /// A row with a different number of values than the event's `columns` names.
    RowWidthMismatchColumns {
        /// The row.
        row: RowSide,
        /// Its number of values.
        width: usize,
        /// The number of column names.
        columns: usize,
    },
    /// A row with a different number of values than its relation has columns.
    RowWidthMismatchRelation {
        /// The row.
        row: RowSide,
        /// Its number of values.
        width: usize,
        /// The relation's `rel_id`.
        rel_id: u32,
        /// The relation's `schema.table`.
        relation: String,
        /// The relation's number of columns.
        columns: usize,
    },
    /// A value of a fixed-length type whose data has another length.
    FixedLengthMismatch {
        /// The value's tag.
        tag: TypeTag,
        /// The data's length.
        len: usize,
        /// The length of the type's binary form.
        expected: usize,
    },
    /// A [`TypeTag::Null`] value with data.
    NullWithData {
        /// The data's length.
        len: usize,
    },
    /// A [`TypeTag::ToastUnchanged`] value with data.
    ToastUnchangedWithData {
        /// The data's length.
        len: usize,
    },
    /// An unchanged-TOAST marker in an old row, or in the new row of anything but an Update.
    MisplacedToastUnchanged {
        /// The event's operation.
        operation: OperationType,
        /// The row it is in.
        row: RowSide,
    },
    /// A control batch carrying a row change.
    RowChangeInControlBatch {
        /// The batch's directive.
        directive: ControlDirective,
        /// The event's operation.
        operation: OperationType,
    },
    /// A [`ControlDirective::SyncSequences`] batch without `sequence_values`.
    MissingSequenceValues,
    /// `sequence_values` on a batch whose directive is not `SyncSequences`.
    SequenceValuesWithoutSync {
        /// The batch's directive, if any.
        directive: Option<ControlDirective>,
    },
    /// A DDL event whose `ddl_sql` is absent or empty.
    MissingDdlSql,
    /// `ddl_sql` or `ddl_object_type` on an event that is not DDL.
    DdlFieldOnNonDdl {
        /// The event's operation.
        operation: OperationType,
        /// The field: `"ddl_sql"` or `"ddl_object_type"`.
        field: &'static str,
    },
    /// A row change with an empty table name.
    EmptyTableName {
        /// The event's operation.
        operation: OperationType,
    },
    /// A `rel_id` that appears twice in a batch's `relations`.
    DuplicateRelId {
        /// The `rel_id`.
        rel_id: u32,
        /// The index of its first entry.
        first: usize,
    },
    /// A value whose type OID differs from its column's.
    TypeOidMismatch {
        /// The value's `type_oid`.
        value_oid: u32,
        /// The column's `type_oid`.
        column_oid: u32,
        /// The column's name.
        column: String,
        /// The relation's `schema.table`.
        relation: String,
    },
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingNewRow { operation } => write!(f, "{operation} event has no new_row"),
            Self::MissingOldRow { operation } => write!(f, "{operation} event has no old_row"),
            Self::RowWidthMismatchColumns {
                row,
                width,
                columns,
            } => write!(
                f,
                "{row} has {} but `columns` names {}",
                Count(*width, "value"),
                Count(*columns, "column")
            ),
            Self::RowWidthMismatchRelation {
                row,
                width,
                rel_id,
                relation,
                columns,
            } => write!(
                f,
                "{row} has {} but relation {relation} (rel_id {rel_id}) has {}",
                Count(*width, "value"),
                Count(*columns, "column")
            ),
            Self::FixedLengthMismatch { tag, len, expected } => write!(
                f,
                "{tag} value has {} of data; its PostgreSQL binary form is {}",
                Count(*len, "byte"),
                Count(*expected, "byte")
            ),
            Self::NullWithData { len } => write!(
                f,
                "Null value carries data ({}); NULL has none",
                Count(*len, "byte")
            ),
            Self::ToastUnchangedWithData { len } => write!(
                f,
                "unchanged-TOAST marker carries data ({}); it has none",
                Count(*len, "byte")
            ),
            Self::MisplacedToastUnchanged { operation, row } => write!(
                f,
                "unchanged-TOAST marker in the {row} of {} {operation} event; PostgreSQL \
                 sends one only in the new_row of an UPDATE",
                article(operation.label())
            ),
            Self::RowChangeInControlBatch {
                directive,
                operation,
            } => write!(
                f,
                "control batch ({directive}) carries {} {operation} row change",
                article(operation.label())
            ),
            Self::MissingSequenceValues => {
                write!(f, "SYNC_SEQUENCES batch has no sequence_values")
            }
            Self::SequenceValuesWithoutSync { directive: None } => write!(
                f,
                "sequence_values on a batch without a control directive (needs SYNC_SEQUENCES)"
            ),
            Self::SequenceValuesWithoutSync {
                directive: Some(directive),
            } => write!(
                f,
                "sequence_values on {} {directive} batch (needs SYNC_SEQUENCES)",
                article(directive.label())
            ),
            Self::MissingDdlSql => write!(f, "DDL event has no ddl_sql statement"),
            Self::DdlFieldOnNonDdl { operation, field } => write!(
                f,
                "{field} on {} {operation} event; only DDL events carry it",
                article(operation.label())
            ),
            Self::EmptyTableName { operation } => {
                write!(f, "{operation} row change has an empty table name")
            }
            Self::DuplicateRelId { rel_id, first } => {
                write!(f, "rel_id {rel_id} already appears at relations[{first}]")
            }
            Self::TypeOidMismatch {
                value_oid,
                column_oid,
                column,
                relation,
            } => write!(
                f,
                "value has type OID {value_oid} but column {column:?} of {relation} has type \
                 OID {column_oid}"
            ),
        }
    }
}

/// `"a"` or `"an"`, for an operation or directive label (`an INSERT`, `a DELETE`).
fn article(label: &str) -> &'static str {
    if label.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

/// `1 value`, `2 values`.
struct Count(usize, &'static str);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.0 == 1 { "" } else { "s" };
        write!(f, "{} {}{s}", self.0, self.1)
    }
}

/// One violation: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    /// The index of the event in its batch, when the violation is in an event of a batch.
    pub event_index: Option<usize>,
    /// The path of the offending field: `events[3].new_row.values[1].data` in a batch,
    /// `new_row.values[1].data` in a lone event, `sequence_values` for a batch field.
    pub path: String,
    /// What is wrong.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind)
    }
}

impl std::error::Error for Violation {}

/// Every violation found in an event or batch, in field order (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidationErrors(pub Vec<Violation>);

impl ValidationErrors {
    /// The violations.
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.0
    }

    /// The number of violations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none (never, for one returned by `validate`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_result(violations: Vec<Violation>) -> Result<(), Self> {
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Self(violations))
        }
    }
}

impl fmt::Display for ValidationErrors {
    /// `2 violations:` and one indented line per violation (`1 violation: ...` for one).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "1 violation: {one}"),
            all => {
                write!(f, "{} violations:", all.len())?;
                for v in all {
                    write!(f, "\n  {v}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl DatabaseEvent {
    /// Checks that the event makes sense as PostgreSQL replication and reports every
    /// violation (see the [module documentation](crate::validate) for the rules). The
    /// relation used for row widths and type OIDs is `relation_meta`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut out = Vec::new();
        check_event(self, None, None, &[], &mut out);
        ValidationErrors::into_result(out)
    }
}

impl DatabaseEventBatch {
    /// Checks that the batch and each of its events make sense as PostgreSQL replication and
    /// reports every violation (see the [module documentation](crate::validate) for the
    /// rules). An event without `relation_meta` is checked against the `relations` entry with
    /// its `schema` and `table`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut out = Vec::new();
        let batch_violation = |path: String, kind| Violation {
            event_index: None,
            path,
            kind,
        };
        for (i, rel) in self.relations.iter().enumerate() {
            if let Some(first) = self
                .relations
                .iter()
                .take(i)
                .position(|r| r.rel_id == rel.rel_id)
            {
                out.push(batch_violation(
                    format!("relations[{i}].rel_id"),
                    ViolationKind::DuplicateRelId {
                        rel_id: rel.rel_id,
                        first,
                    },
                ));
            }
        }
        match (self.control_directive, &self.sequence_values) {
            (Some(ControlDirective::SyncSequences), None) => out.push(batch_violation(
                "sequence_values".to_owned(),
                ViolationKind::MissingSequenceValues,
            )),
            (Some(ControlDirective::SyncSequences), Some(_)) | (_, None) => {}
            (directive, Some(_)) => out.push(batch_violation(
                "sequence_values".to_owned(),
                ViolationKind::SequenceValuesWithoutSync { directive },
            )),
        }
        for (i, event) in self.events.iter().enumerate() {
            check_event(
                event,
                Some(i),
                self.control_directive,
                &self.relations,
                &mut out,
            );
        }
        ValidationErrors::into_result(out)
    }
}

/// Pushes every violation of `event` (event `index` of a batch with this directive and
/// these relations, or a lone event when `index` is `None`).
fn check_event(
    event: &DatabaseEvent,
    index: Option<usize>,
    directive: Option<ControlDirective>,
    relations: &[RelationMeta],
    out: &mut Vec<Violation>,
) {
    let op = event.operation;
    let mut push = |field: &str, kind: ViolationKind| {
        out.push(Violation {
            event_index: index,
            path: match index {
                Some(i) => format!("events[{i}].{field}"),
                None => field.to_owned(),
            },
            kind,
        });
    };
    if let (Some(directive), true) = (directive, op.is_row_change()) {
        push(
            "operation",
            ViolationKind::RowChangeInControlBatch {
                directive,
                operation: op,
            },
        );
    }
    if op.is_row_change() && event.table.is_empty() {
        push("table", ViolationKind::EmptyTableName { operation: op });
    }
    let needs_new = matches!(
        op,
        OperationType::Insert | OperationType::Update | OperationType::SnapshotRow
    );
    if needs_new && event.new_row.is_none() {
        push("new_row", ViolationKind::MissingNewRow { operation: op });
    }
    if op == OperationType::Delete && event.old_row.is_none() {
        push("old_row", ViolationKind::MissingOldRow { operation: op });
    }
    let relation = event.relation_meta.as_ref().or_else(|| {
        relations
            .iter()
            .find(|r| r.schema == event.schema && r.table == event.table)
    });
    for (side, row) in [
        (RowSide::New, &event.new_row),
        (RowSide::Old, &event.old_row),
    ] {
        if let Some(row) = row {
            check_row(event, side, row, relation, &mut push);
        }
    }
    if op.is_ddl() {
        if event.ddl_sql.as_deref().is_none_or(str::is_empty) {
            push("ddl_sql", ViolationKind::MissingDdlSql);
        }
    } else {
        for (field, value) in [
            ("ddl_sql", &event.ddl_sql),
            ("ddl_object_type", &event.ddl_object_type),
        ] {
            if value.is_some() {
                push(
                    field,
                    ViolationKind::DdlFieldOnNonDdl {
                        operation: op,
                        field,
                    },
                );
            }
        }
    }
}

/// Pushes every violation of one row of `event`.
fn check_row(
    event: &DatabaseEvent,
    side: RowSide,
    row: &Row,
    relation: Option<&RelationMeta>,
    push: &mut impl FnMut(&str, ViolationKind),
) {
    let field = side.field();
    if !event.columns.is_empty() && row.len() != event.columns.len() {
        push(
            field,
            ViolationKind::RowWidthMismatchColumns {
                row: side,
                width: row.len(),
                columns: event.columns.len(),
            },
        );
    }
    if let Some(rel) = relation {
        if row.len() != rel.columns.len() {
            push(
                field,
                ViolationKind::RowWidthMismatchRelation {
                    row: side,
                    width: row.len(),
                    rel_id: rel.rel_id,
                    relation: rel.qualified_name(),
                    columns: rel.columns.len(),
                },
            );
        }
    }
    for (i, value) in row.values.iter().enumerate() {
        let at = |part: &str| format!("{field}.values[{i}].{part}");
        check_value(value, &mut |part, kind| push(&at(part), kind));
        if value.is_unchanged()
            && (side == RowSide::Old || event.operation != OperationType::Update)
        {
            push(
                &at("type_tag"),
                ViolationKind::MisplacedToastUnchanged {
                    operation: event.operation,
                    row: side,
                },
            );
        }
        let column = relation.and_then(|rel| rel.columns.get(i).map(|c| (rel, c)));
        if let Some((rel, column)) = column {
            let compared =
                value.type_oid != 0 && column.type_oid != 0 && value.type_tag != TypeTag::Array;
            if compared && value.type_oid != column.type_oid {
                push(
                    &at("type_oid"),
                    ViolationKind::TypeOidMismatch {
                        value_oid: value.type_oid,
                        column_oid: column.type_oid,
                        column: column.name.clone(),
                        relation: rel.qualified_name(),
                    },
                );
            }
        }
    }
}

/// Pushes the violations of one value that do not depend on where it is (`push` takes the
/// field of the value: `"data"`).
fn check_value(value: &ColumnValue, push: &mut impl FnMut(&str, ViolationKind)) {
    let Some(data) = &value.data else {
        return;
    };
    let len = data.len();
    match value.type_tag {
        TypeTag::Null => push("data", ViolationKind::NullWithData { len }),
        TypeTag::ToastUnchanged => push("data", ViolationKind::ToastUnchangedWithData { len }),
        tag => {
            if let Some(expected) = tag.fixed_len().filter(|&n| n != len) {
                push(
                    "data",
                    ViolationKind::FixedLengthMismatch { tag, len, expected },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
