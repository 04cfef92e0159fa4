//! The statements an event becomes, their binary parameters, and a table's shape from the
//! target's catalog.

use std::sync::Arc;

use bytes::Bytes;
use scry_types::{ColumnMeta, ColumnValue, DatabaseEvent, RelationMeta, ReplicaIdentity};

use scry_conn::{Conn, WireError};

/// A parameter sent as the value's own binary bytes (NULL for none), whatever the type the
/// server expects there: the bytes are PostgreSQL's binary format of the column's type.
#[derive(Debug, Clone)]
pub(crate) struct Param(Option<Bytes>);

impl Param {
    /// A parameter of these bytes.
    pub(crate) fn bytes(bytes: Vec<u8>) -> Self {
        Self(Some(Bytes::from(bytes)))
    }

    /// The bytes sent, `None` for NULL.
    pub(crate) fn get(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

pub(crate) use scry_pg::text::quote_ident as quote;
pub(crate) use scry_pg::text::quote_literal as literal;

/// One row change's table, columns and rows, ready to become a statement.
pub(crate) struct RowTarget<'e> {
    table: String,
    columns: Vec<&'e str>,
    /// The key columns' positions (all of them when rows are found by their whole value).
    key: Vec<usize>,
    whole_row: bool,
    event: &'e DatabaseEvent,
}

impl<'e> RowTarget<'e> {
    pub(crate) fn new(event: &'e DatabaseEvent, meta: &'e RelationMeta) -> Result<Self, String> {
        let columns: Vec<&str> = if event.columns.is_empty() {
            meta.columns.iter().map(|c| c.name.as_str()).collect()
        } else {
            event.columns.iter().map(String::as_str).collect()
        };
        let whole_row = meta.replica_identity == ReplicaIdentity::Full
            || !meta.columns.iter().any(|c| c.is_key);
        let key = if whole_row {
            (0..columns.len()).collect()
        } else {
            columns
                .iter()
                .enumerate()
                .filter(|(_, name)| meta.columns.iter().any(|c| c.is_key && c.name == **name))
                .map(|(i, _)| i)
                .collect()
        };
        Ok(Self {
            table: format!("{}.{}", quote(&event.schema), quote(&event.table)),
            columns,
            key,
            whole_row,
            event,
        })
    }

    fn row(&self, old: bool) -> Result<&'e [ColumnValue], String> {
        row(self.event, old, self.columns.len())
    }

    /// The row that finds the target row: the old one when the source sent it.
    fn key_row(&self) -> Result<&'e [ColumnValue], String> {
        self.row(self.event.old_row.is_some())
    }

    /// The INSERT; `tolerate`: a key already there leaves the row as it is (no error).
    /// Also returns the statement's head (`INSERT INTO t (columns)`) for runs of inserts.
    pub(crate) fn insert(&self, tolerate: bool) -> Result<(String, String, Vec<Source>), String> {
        let values = self.row(false)?;
        if values.iter().any(ColumnValue::is_unchanged) {
            return Err("an INSERT with an unchanged-TOAST marker".to_owned());
        }
        let names: Vec<String> = self.columns.iter().map(|c| quote(c)).collect();
        // The source's value of a GENERATED ALWAYS identity column is the row's: kept, as
        // PostgreSQL's own subscriber keeps it (a table without one takes this as well).
        let head = format!(
            "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE",
            self.table,
            names.join(", ")
        );
        let mut sql = insert_rows(&head, values.len(), 1);
        if tolerate {
            sql.push_str(" ON CONFLICT DO NOTHING");
        }
        Ok((sql, head, (0..values.len()).map(Source::New).collect()))
    }

    /// The UPDATE. The target's GENERATED ALWAYS identity columns (`always`) take no value
    /// (PostgreSQL refuses any but DEFAULT): left as they are, which they are unless the
    /// source changed one, which it can only do by setting it to DEFAULT; a change the old
    /// row shows is refused with an error rather than lost.
    pub(crate) fn update(&self, always: &[String]) -> Result<(String, Vec<Source>), String> {
        let values = self.row(false)?;
        let old = self.event.old_row.as_ref().map(|r| r.values.as_slice());
        let mut sources = Vec::new();
        let mut sets = Vec::new();
        for (i, v) in values.iter().enumerate() {
            if always.iter().any(|a| a == self.columns[i]) {
                if let Some(before) = old.and_then(|o| o.get(i)) {
                    if !before.is_unchanged() && before != v {
                        return Err(format!(
                            "an UPDATE that changes {}, a GENERATED ALWAYS identity column on \
                             the target, which takes no value",
                            self.columns[i]
                        ));
                    }
                }
                continue;
            }
            if !v.is_unchanged() {
                sources.push(Source::New(i));
                sets.push(format!("{} = ${}", quote(self.columns[i]), sources.len()));
            }
        }
        if sets.is_empty() {
            return Err("an UPDATE that changes no column".to_owned());
        }
        let filter = self.filter(&mut sources)?;
        Ok((
            format!(
                "UPDATE {} SET {} WHERE {filter}",
                self.table,
                sets.join(", ")
            ),
            sources,
        ))
    }

    pub(crate) fn delete(&self) -> Result<(String, Vec<Source>), String> {
        let mut sources = Vec::new();
        let filter = self.filter(&mut sources)?;
        Ok((
            format!("DELETE FROM {} WHERE {filter}", self.table),
            sources,
        ))
    }

    /// The WHERE condition that finds the row, the sources of its parameters appended to
    /// `sources`.
    fn filter(&self, sources: &mut Vec<Source>) -> Result<String, String> {
        let row = self.key_row()?;
        if self.key.is_empty() {
            return Err("the table has no key to find the row by".to_owned());
        }
        let mut terms = Vec::new();
        for &i in &self.key {
            if row[i].is_unchanged() {
                continue;
            }
            sources.push(Source::Key(i));
            let op = if self.whole_row {
                "IS NOT DISTINCT FROM"
            } else {
                "="
            };
            terms.push(format!(
                "{} {op} ${}",
                quote(self.columns[i]),
                sources.len()
            ));
        }
        let condition = terms.join(" AND ");
        Ok(if self.whole_row {
            // Rows found by their whole value may be alike: change one of them.
            format!(
                "ctid = (SELECT ctid FROM {} WHERE {condition} LIMIT 1)",
                self.table
            )
        } else {
            condition
        })
    }

    /// The columns that name the row in an error (its key's first four at most), and their
    /// positions in the key row.
    pub(crate) fn key_columns(&self) -> KeyColumns {
        let positions: Vec<usize> = self.key.iter().take(4).copied().collect();
        KeyColumns {
            names: positions
                .iter()
                .map(|&i| self.columns[i].to_owned())
                .collect(),
            positions,
        }
    }

    /// The number of columns (values in a row).
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }
}

/// The new row (`old` false) or the old one of `event`, which must hold `width` values.
fn row(event: &DatabaseEvent, old: bool, width: usize) -> Result<&[ColumnValue], String> {
    let row = if old {
        event.old_row.as_ref()
    } else {
        event.new_row.as_ref()
    };
    let Some(row) = row else {
        return Err(format!("no {} row", if old { "old" } else { "new" }));
    };
    if row.values.len() != width {
        return Err(format!(
            "a row of {} values for {width} columns",
            row.values.len()
        ));
    }
    Ok(&row.values)
}

/// Where a statement's parameter comes from: a value of the change's new row, or of the row
/// that finds the target row (the old one when the source sent it, else the new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    New(usize),
    Key(usize),
}

/// The parameters `sources` take from `event` (a change of `width` columns), as its value
/// bytes.
pub(crate) fn params(
    event: &DatabaseEvent,
    width: usize,
    sources: &[Source],
) -> Result<Vec<Param>, String> {
    // Each row a source names is checked once.
    let uses = |new: bool| sources.iter().any(|s| matches!(s, Source::New(_)) == new);
    let new_row = if uses(true) {
        row(event, false, width)?
    } else {
        &[]
    };
    let key_row = if uses(false) {
        row(event, event.old_row.is_some(), width)?
    } else {
        &[]
    };
    let mut out = Vec::with_capacity(sources.len());
    for source in sources {
        let (values, i) = match *source {
            Source::New(i) => (new_row, i),
            Source::Key(i) => (key_row, i),
        };
        let v = values
            .get(i)
            .ok_or_else(|| format!("no value {i} in a row of {width}"))?;
        out.push(param(v));
    }
    Ok(out)
}

/// The key columns that name a row in errors: their names and positions in the key row.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyColumns {
    names: Arc<[String]>,
    positions: Vec<usize>,
}

impl KeyColumns {
    /// The key of `event` (a change of `width` columns): its values are kept, rendered only
    /// in an error ([`Key::text`]).
    pub(crate) fn of(&self, event: &DatabaseEvent, width: usize) -> Key {
        let Ok(row) = row(event, event.old_row.is_some(), width) else {
            return Key::default();
        };
        Key {
            names: Arc::clone(&self.names),
            values: self
                .positions
                .iter()
                .filter_map(|&i| row.get(i).cloned())
                .collect(),
        }
    }
}

/// A row's key columns and values, as an error names the row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Key {
    names: Arc<[String]>,
    values: Vec<ColumnValue>,
}

impl Key {
    /// The key as `column = value` text.
    pub(crate) fn text(&self) -> Vec<(String, String)> {
        self.names
            .iter()
            .zip(&self.values)
            .map(|(name, v)| (name.clone(), render(v)))
            .collect()
    }
}

fn param(v: &ColumnValue) -> Param {
    Param(v.data.clone())
}

/// A value as PostgreSQL prints it (as far as scry-pg knows the type).
fn render(v: &ColumnValue) -> String {
    match v.as_bytes() {
        None if v.is_unchanged() => "(unchanged)".to_owned(),
        None => "NULL".to_owned(),
        Some(bytes) => scry_pg::decode(v.type_oid, bytes)
            .ok()
            .and_then(|value| value.to_text())
            .unwrap_or_else(|| format!("({} bytes)", bytes.len())),
    }
}

/// A table's columns (generated ones left out: the source does not send them) and primary
/// key from the target's catalog, or `None` when it has no such table.
pub(crate) fn catalog_relation(
    conn: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Option<RelationMeta>, WireError> {
    let rows = conn.simple(&format!(
        "SELECT c.oid, a.attname, a.atttypid, a.atttypmod, \
            coalesce(a.attnum = ANY (i.indkey), false) \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE n.nspname = {} AND c.relname = {} AND a.attnum > 0 AND NOT a.attisdropped \
           AND a.attgenerated = '' \
         ORDER BY a.attnum",
        literal(schema),
        literal(table)
    ))?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let number = |row: &[Option<String>], i: usize| -> Result<i64, WireError> {
        row.get(i)
            .and_then(Option::as_deref)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| WireError::Protocol(format!("the catalog's column {i} is not a number")))
    };
    let rel_id = u32::try_from(number(first, 0)?).unwrap_or(0);
    let mut columns = Vec::with_capacity(rows.len());
    for row in &rows {
        let name = row.get(1).cloned().flatten().unwrap_or_default();
        let type_oid = u32::try_from(number(row, 2)?).unwrap_or(0);
        let modifier = i32::try_from(number(row, 3)?).unwrap_or(-1);
        let c = ColumnMeta::new(name, type_oid).type_modifier(modifier);
        columns.push(if row.get(4).cloned().flatten().as_deref() == Some("t") {
            c.key()
        } else {
            c
        });
    }
    Ok(Some(RelationMeta::new(rel_id, schema, table, columns)))
}

/// The target's GENERATED ALWAYS identity columns of `schema.table`.
pub(crate) fn identity_always(
    conn: &mut Conn,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, WireError> {
    Ok(conn
        .simple(&format!(
            "SELECT a.attname FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {} AND c.relname = {} AND a.attnum > 0 \
               AND NOT a.attisdropped AND a.attidentity = 'a'",
            literal(schema),
            literal(table)
        ))?
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect())
}

/// A key as ` (column = value, ...)`, or nothing.
pub(crate) fn key_display(key: &[(String, String)]) -> String {
    if key.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = key.iter().map(|(c, v)| format!("{c} = {v}")).collect();
    format!(" ({})", pairs.join(", "))
}

/// `head VALUES ($1, ..), (..)`: `rows` rows of `width` parameters each.
pub(crate) fn insert_rows(head: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("{head} VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * width + c + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use scry_types::{OperationType, Row, TypeTag};

    fn int8(v: i64) -> ColumnValue {
        ColumnValue::from_pg_binary(TypeTag::Int64, 20, v.to_be_bytes().to_vec())
    }

    fn update(old: Option<i64>) -> (DatabaseEvent, RelationMeta) {
        let meta = RelationMeta::new(
            1,
            "public",
            "t",
            vec![ColumnMeta::new("id", 20).key(), ColumnMeta::new("code", 20)],
        );
        let mut event = DatabaseEvent::new(OperationType::Update, "public", "t");
        event.new_row = Some(Row {
            values: vec![int8(1), int8(7)],
        });
        event.old_row = old.map(|code| Row {
            values: vec![int8(1), int8(code)],
        });
        (event, meta)
    }

    #[test]
    fn identity_always_columns_take_no_value_and_a_change_to_one_is_refused() {
        let always = ["id".to_owned(), "code".to_owned()];
        let (event, meta) = update(None);
        let target = RowTarget::new(&event, &meta).expect("target");
        let (sql, _) = target.update(&always[..1]).expect("update");
        assert_eq!(
            sql,
            "UPDATE \"public\".\"t\" SET \"code\" = $1 WHERE \"id\" = $2"
        );
        // Every column an identity column: nothing to set.
        assert!(target.update(&always).is_err());
        // The old row shows the identity value unchanged: left out; changed: refused.
        let (event, meta) = update(Some(7));
        let target = RowTarget::new(&event, &meta).expect("target");
        let (sql, _) = target.update(&always[1..]).expect("update");
        assert!(
            sql.starts_with("UPDATE \"public\".\"t\" SET \"id\" = $1 WHERE"),
            "{sql}"
        );
        let (event, meta) = update(Some(6));
        let target = RowTarget::new(&event, &meta).expect("target");
        let refused = target
            .update(&always[1..])
            .expect_err("a changed identity value");
        assert!(
            refused.contains("GENERATED ALWAYS identity column"),
            "{refused}"
        );
        let (sql, _, _) = target.insert(false).expect("insert");
        assert!(
            sql.contains(" OVERRIDING SYSTEM VALUE VALUES ($1, $2)"),
            "{sql}"
        );
    }
}
