//! The statements of row changes, kept by the change's shape: the changes of a stream are
//! mostly alike (the same table, the same columns sent), and building a statement's text,
//! then finding its prepared name by that text, cost more than the rest of a change's work.
//!
//! A shape is what decides the statement short of the values: the table, the operation, the
//! columns sent, which rows came and which of their values are unchanged-TOAST markers, and
//! whether conflicts are tolerated. A change is matched against the kept shapes field by
//! field (a hash only picks the candidates), so a statement is never used for a change it
//! was not built for. Rows over 128 values are not kept (their markers would not fit the
//! masks): their statements are built each time.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use scry_types::{ColumnValue, DatabaseEvent, OperationType};

use crate::sql::{KeyColumns, Source};

/// What decides a row change's statement, short of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    schema: String,
    table: String,
    operation: OperationType,
    columns: Vec<String>,
    /// A bit per value of the new row that is an unchanged-TOAST marker; `None`: no new row.
    new: Option<u128>,
    /// The same for the old row.
    old: Option<u128>,
    tolerate: bool,
}

/// The masks of the rows of `event`, or `None` when a row is too wide to be kept.
fn masks(event: &DatabaseEvent) -> Option<(Option<u128>, Option<u128>)> {
    fn mask(values: &[ColumnValue]) -> Option<u128> {
        if values.len() > 128 {
            return None;
        }
        Some(
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_unchanged())
                .fold(0u128, |m, (i, _)| m | (1 << i)),
        )
    }
    let new = match &event.new_row {
        Some(r) => Some(mask(&r.values)?),
        None => None,
    };
    let old = match &event.old_row {
        Some(r) => Some(mask(&r.values)?),
        None => None,
    };
    Some((new, old))
}

impl Shape {
    /// The shape of `event`; `None` when it is not kept: a row too wide, or no column
    /// names sent (they come from the table then).
    pub(crate) fn of(event: &DatabaseEvent, tolerate: bool) -> Option<Self> {
        if event.columns.is_empty() {
            return None;
        }
        let (new, old) = masks(event)?;
        Some(Self {
            schema: event.schema.clone(),
            table: event.table.clone(),
            operation: event.operation,
            columns: event.columns.clone(),
            new,
            old,
            tolerate,
        })
    }

    fn matches(
        &self,
        event: &DatabaseEvent,
        new: Option<u128>,
        old: Option<u128>,
        tolerate: bool,
    ) -> bool {
        self.operation == event.operation
            && self.new == new
            && self.old == old
            && self.tolerate == tolerate
            && self.table == event.table
            && self.schema == event.schema
            && self.columns == event.columns
    }

    fn fingerprint(&self) -> u64 {
        fingerprint(
            (&self.schema, &self.table, self.operation, &self.columns),
            self.new,
            self.old,
            self.tolerate,
        )
    }
}

/// A hash of what [`Shape::matches`] compares: schema, table, operation, columns.
fn fingerprint(
    (schema, table, operation, columns): (&str, &str, OperationType, &[String]),
    new: Option<u128>,
    old: Option<u128>,
    tolerate: bool,
) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    schema.hash(&mut h);
    table.hash(&mut h);
    (operation as u8).hash(&mut h);
    columns.hash(&mut h);
    new.hash(&mut h);
    old.hash(&mut h);
    tolerate.hash(&mut h);
    h.finish()
}

/// A row change's statement, for every change of its shape.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The shape it is kept under (`None`: not kept).
    pub(crate) shape: Option<Shape>,
    /// The prepared statement's name.
    pub(crate) statement: Arc<str>,
    /// Where its parameters come from.
    pub(crate) sources: Vec<Source>,
    /// The number of columns (values in a row).
    pub(crate) width: usize,
    /// The table's `schema.table`, for errors.
    pub(crate) table: Arc<str>,
    /// The columns that name the row in errors.
    pub(crate) key: KeyColumns,
    /// For an INSERT that later inserts of the same plan may join: its head (`INSERT INTO t
    /// (columns)`).
    pub(crate) run: Option<Arc<str>>,
    /// It fails on the server when it changes no row (see `pipeline::strict`).
    pub(crate) strict: bool,
}

/// The plans kept, by shape.
#[derive(Debug, Default)]
pub(crate) struct Plans {
    by_fingerprint: HashMap<u64, Vec<Arc<Plan>>>,
}

impl Plans {
    /// The plan kept for `event`'s shape, if any.
    pub(crate) fn find(&self, event: &DatabaseEvent, tolerate: bool) -> Option<Arc<Plan>> {
        if event.columns.is_empty() {
            return None;
        }
        let (new, old) = masks(event)?;
        let parts = (
            event.schema.as_str(),
            event.table.as_str(),
            event.operation,
            event.columns.as_slice(),
        );
        self.by_fingerprint
            .get(&fingerprint(parts, new, old, tolerate))?
            .iter()
            .find(|p| {
                p.shape
                    .as_ref()
                    .is_some_and(|s| s.matches(event, new, old, tolerate))
            })
            .cloned()
    }

    /// Keeps `plan` under its shape (if it has one) and returns it.
    pub(crate) fn keep(&mut self, plan: Plan) -> Arc<Plan> {
        let plan = Arc::new(plan);
        if let Some(shape) = &plan.shape {
            self.by_fingerprint
                .entry(shape.fingerprint())
                .or_default()
                .push(Arc::clone(&plan));
        }
        plan
    }

    /// Forgets every plan: a table's relation changed, and with it perhaps its key.
    pub(crate) fn clear(&mut self) {
        self.by_fingerprint.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::{Row, TypeTag};

    fn update(
        columns: &[&str],
        values: Vec<ColumnValue>,
        old: Option<Vec<ColumnValue>>,
    ) -> DatabaseEvent {
        let mut e = DatabaseEvent::new(OperationType::Update, "public", "t");
        e.columns = columns.iter().map(|c| (*c).to_owned()).collect();
        e.new_row = Some(Row { values });
        e.old_row = old.map(|values| Row { values });
        e
    }

    fn int(v: i32) -> ColumnValue {
        ColumnValue::from_pg_binary(TypeTag::Int32, 23, v.to_be_bytes().to_vec())
    }

    fn plan(event: &DatabaseEvent, tolerate: bool, name: &str) -> Plan {
        Plan {
            shape: Shape::of(event, tolerate),
            statement: Arc::from(name),
            sources: vec![Source::New(0)],
            width: event.columns.len(),
            table: Arc::from("public.t"),
            key: crate::sql::KeyColumns::default(),
            run: None,
            strict: false,
        }
    }

    #[test]
    fn a_plan_serves_only_changes_of_its_shape() {
        let mut plans = Plans::default();
        let first = update(
            &["id", "note"],
            vec![int(1), ColumnValue::unchanged(25)],
            None,
        );
        plans.keep(plan(&first, false, "kept"));

        // Other values, the same shape.
        let same = update(
            &["id", "note"],
            vec![int(2), ColumnValue::unchanged(25)],
            None,
        );
        assert_eq!(
            plans.find(&same, false).map(|p| p.statement.to_string()),
            Some("kept".to_owned())
        );

        // The note sent this time, an old row, other columns, another table, another
        // operation, conflicts tolerated, or no column names: not this plan.
        let sent = update(&["id", "note"], vec![int(2), ColumnValue::null()], None);
        let keyed = update(
            &["id", "note"],
            vec![int(2), ColumnValue::unchanged(25)],
            Some(vec![int(1), ColumnValue::null()]),
        );
        let other_columns = update(
            &["id", "name"],
            vec![int(2), ColumnValue::unchanged(25)],
            None,
        );
        let mut other_table = same.clone();
        other_table.table = "u".to_owned();
        let mut delete = same.clone();
        delete.operation = OperationType::Delete;
        let mut unnamed = same.clone();
        unnamed.columns.clear();
        for (what, event, tolerate) in [
            ("a sent value", &sent, false),
            ("an old row", &keyed, false),
            ("other columns", &other_columns, false),
            ("another table", &other_table, false),
            ("a delete", &delete, false),
            ("tolerated conflicts", &same, true),
            ("no column names", &unnamed, false),
        ] {
            assert!(plans.find(event, tolerate).is_none(), "{what}");
        }

        // A row too wide for the masks is never kept.
        let wide_columns: Vec<String> = (0..129).map(|i| format!("c{i}")).collect();
        let wide_names: Vec<&str> = wide_columns.iter().map(String::as_str).collect();
        let wide = update(&wide_names, (0..129).map(int).collect(), None);
        assert!(Shape::of(&wide, false).is_none());
        plans.keep(plan(&wide, false, "wide"));
        assert!(plans.find(&wide, false).is_none());

        plans.clear();
        assert!(plans.find(&same, false).is_none());
    }
}
