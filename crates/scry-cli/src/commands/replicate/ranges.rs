//! Tables copied in ranges of their key: a table larger than `--split-larger-than` whose
//! replica identity is one `int2`, `int4` or `int8` column, and that has no other unique
//! index (see [`key_column`]), is split into ranges of that key, fixed once and kept on the target (`scry.snapshot_ranges`), each copied in one
//! target transaction that also records it with the position of its snapshot. A copy cut
//! short thus resumes at the range: the ranges done stay, the others are read in a new
//! snapshot, and the stream follows each range's position
//! (`scry_apply::Replication::skip_copied`). A range is copied again when the stream asks
//! for it (`scry_apply::Stopped::Recopy`), its old rows deleted first.
//!
//! Other large tables are split into ranges of pages (`ctid`), faster to read but only
//! within one snapshot: such a table is copied whole again when its ranges did not all
//! finish in one run.

use std::collections::HashMap;

use scry_apply::{KeyRange, KeyRanges, Recopy};
use scry_conn::Conn;
use scry_source::catalog::{qualified, Table};

use crate::commands::CliError;
use crate::pg;

/// One range of a table's key, as the target records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Its number.
    pub n: i32,
    /// The key column.
    pub column: String,
    /// The lowest key in it (`None`: unbounded).
    pub low: Option<i64>,
    /// The first key past it (`None`: unbounded).
    pub high: Option<i64>,
    /// Rows of an earlier copy may be there: deleted before it is copied.
    pub recopy: bool,
}

impl Range {
    /// The SQL condition on the key for the rows of the range.
    pub fn condition(&self) -> String {
        let column = pg::quote(&self.column);
        match (self.low, self.high) {
            (None, None) => "true".to_owned(),
            (Some(low), None) => format!("{column} >= {low}"),
            (None, Some(high)) => format!("{column} < {high}"),
            (Some(low), Some(high)) => format!("{column} >= {low} AND {column} < {high}"),
        }
    }
}

/// A range's bound in column `i` of a row of `scry.snapshot_ranges` (NULL: unbounded).
fn bound(row: &[Option<String>], i: usize) -> Option<i64> {
    row.get(i)?.as_deref()?.parse().ok()
}

fn on_target(what: &str, e: &scry_conn::WireError) -> CliError {
    CliError::on("target", pg::server_error(what, e))
}

/// The table's key column when its rows can be copied in ranges of it: its replica
/// identity (the primary key, or the index chosen) is one column of an integer type, and
/// no other unique index or exclusion constraint holds it. (Ranges read at different
/// positions hold the rows of different moments until the stream has passed them all: two
/// rows of two ranges may then share a value another unique index would refuse. Keys never
/// do, each key lying in one range.)
pub fn key_column(src: &mut Conn, table: &Table) -> Result<Option<String>, CliError> {
    let rows = src
        .query(
            "SELECT a.attname FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = $1::oid AND i.indnkeyatts = 1 \
               AND ((c.relreplident = 'd' AND i.indisprimary) \
                    OR (c.relreplident = 'i' AND i.indisreplident)) \
               AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) \
               AND NOT EXISTS (SELECT 1 FROM pg_index o \
                               WHERE o.indrelid = i.indrelid AND o.indexrelid <> i.indexrelid \
                                 AND (o.indisunique OR o.indisexclusion))",
            &[Some(&table.relation.rel_id.to_string())],
        )
        .map_err(|e| CliError::on("source", pg::server_error("cannot read table keys", &e)))?;
    Ok(rows.first().map(|r| pg::text(r, 0)))
}

/// `count` ranges of the key between `min` and `max`, the first and last unbounded, so
/// that every key falls in one whatever the table holds by the time it is read.
pub fn split(min: i64, max: i64, count: u32) -> Vec<(Option<i64>, Option<i64>)> {
    let count = i128::from(count.max(1));
    let (min, max) = (i128::from(min), i128::from(max.max(min)));
    let step = ((max - min + 1) / count).max(1);
    let mut bounds: Vec<i64> = (1..count)
        .filter_map(|i| i64::try_from(min + i * step).ok())
        .filter(|&b| i128::from(b) <= max)
        .collect();
    bounds.dedup();
    let mut ranges = Vec::with_capacity(bounds.len() + 1);
    let mut low = None;
    for b in bounds {
        ranges.push((low, Some(b)));
        low = Some(b);
    }
    ranges.push((low, None));
    ranges
}

/// The ranges of `table` the target has for `stream`, in order; empty when it was never
/// split by key.
pub fn recorded(
    tgt: &mut Conn,
    stream: &str,
    table: &Table,
) -> Result<Vec<(Range, bool)>, CliError> {
    let rel = &table.relation;
    let rows = tgt
        .query(
            "SELECT n, key_column, low, high, recopy, snapshot_lsn <> '0/0' \
             FROM scry.snapshot_ranges \
             WHERE stream = $1 AND schema_name = $2 AND table_name = $3 ORDER BY n",
            &[Some(stream), Some(&rel.schema), Some(&rel.table)],
        )
        .map_err(|e| on_target("cannot read scry.snapshot_ranges", &e))?;
    Ok(rows
        .iter()
        .map(|r| {
            let range = Range {
                n: i32::try_from(pg::number(r, 0)).unwrap_or(0),
                column: pg::text(r, 1),
                low: bound(r, 2),
                high: bound(r, 3),
                recopy: pg::flag(r, 4),
            };
            (range, pg::flag(r, 5))
        })
        .collect())
}

/// Forgets the ranges of `stream` (those of a slot of the same name, dropped since).
pub fn forget(tgt: &mut Conn, stream: &str) -> Result<(), CliError> {
    tgt.query(
        "DELETE FROM scry.snapshot_ranges WHERE stream = $1",
        &[Some(stream)],
    )
    .map_err(|e| on_target("cannot clear scry.snapshot_ranges", &e))?;
    Ok(())
}

/// Splits `table` into about `count` ranges of `column` and records them on the target,
/// none copied yet, with the table recorded as being copied (at `0/0`). The ranges to copy;
/// each deletes its rows first when the table has rows (of an earlier copy by this stream:
/// others' are refused before anything is copied).
pub fn plan(
    src: &mut Conn,
    tgt: &mut Conn,
    stream: &str,
    table: &Table,
    column: &str,
    count: u32,
) -> Result<Vec<Range>, CliError> {
    let rel = &table.relation;
    let name = qualified(rel);
    let bounds = pg::first_row(
        src,
        &format!(
            "SELECT min({c})::int8, max({c})::int8 FROM ONLY {name}",
            c = pg::quote(column)
        ),
        &[],
        &format!("source: cannot read the key bounds of {name}"),
    )?;
    let (min, max) = (pg::number(&bounds, 0), pg::number(&bounds, 1));
    let has_rows = pg::first_row(
        tgt,
        &format!("SELECT EXISTS (SELECT 1 FROM ONLY {name})"),
        &[],
        &format!("target: cannot read {name}"),
    )?;
    let recopy = pg::flag(&has_rows, 0);
    let ranges: Vec<Range> = split(min, max, count)
        .into_iter()
        .zip(0..)
        .map(|((low, high), n)| Range {
            n,
            column: column.to_owned(),
            low,
            high,
            recopy,
        })
        .collect();
    let lit = |s: &str| scry_pg::text::quote_literal(s);
    let mut sql = format!(
        "BEGIN; DELETE FROM scry.snapshot_ranges \
         WHERE stream = {s} AND schema_name = {n} AND table_name = {t}; {record}; ",
        s = lit(stream),
        n = lit(&rel.schema),
        t = lit(&rel.table),
        record = scry_apply::record_loaded_sql(stream, &rel.schema, &rel.table, 0, 0),
    );
    for r in &ranges {
        let bound = |b: Option<i64>| b.map_or_else(|| "NULL".to_owned(), |b| b.to_string());
        sql.push_str(&format!(
            "INSERT INTO scry.snapshot_ranges \
             (stream, schema_name, table_name, n, key_column, low, high, recopy) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {recopy}); ",
            lit(stream),
            lit(&rel.schema),
            lit(&rel.table),
            r.n,
            lit(column),
            bound(r.low),
            bound(r.high)
        ));
    }
    sql.push_str("COMMIT");
    tgt.simple(&sql)
        .map_err(|e| on_target(&format!("cannot record the ranges of {name}"), &e))?;
    Ok(ranges)
}

/// The statement that records, in the range's own transaction, that it is copied.
pub fn record_sql(stream: &str, table: &Table, n: i32, position: u64, rows: u64) -> String {
    let lit = |s: &str| scry_pg::text::quote_literal(s);
    format!(
        "UPDATE scry.snapshot_ranges SET snapshot_lsn = {}::pg_lsn, rows = {rows}, \
         recopy = false WHERE stream = {} AND schema_name = {} AND table_name = {} AND n = {n}",
        lit(&scry_types::Lsn(position).to_string()),
        lit(stream),
        lit(&table.relation.schema),
        lit(&table.relation.table),
    )
}

/// Marks the ranges `recopy` names as to be copied again, and their table as being copied.
pub fn mark_recopy(tgt: &mut Conn, stream: &str, recopy: &Recopy) -> Result<(), CliError> {
    let lit = |s: &str| scry_pg::text::quote_literal(s);
    let ns: Vec<String> = recopy.ranges.iter().map(i32::to_string).collect();
    let (s, n, t) = (lit(stream), lit(&recopy.schema), lit(&recopy.table));
    tgt.simple(&format!(
        "BEGIN; \
         UPDATE scry.snapshot_ranges SET snapshot_lsn = '0/0', recopy = true \
         WHERE stream = {s} AND schema_name = {n} AND table_name = {t} AND n IN ({}); \
         UPDATE scry.snapshot_tables SET snapshot_lsn = '0/0' \
         WHERE stream = {s} AND schema_name = {n} AND table_name = {t}; COMMIT",
        ns.join(", ")
    ))
    .map_err(|e| on_target("cannot mark ranges to copy again", &e))?;
    Ok(())
}

/// Every table of `stream` copied in ranges, with each range's position.
pub fn positions(
    tgt: &mut Conn,
    stream: &str,
) -> Result<HashMap<(String, String), KeyRanges>, CliError> {
    let rows = tgt
        .query(
            "SELECT schema_name, table_name, key_column, n, low, high, \
                    (snapshot_lsn - '0/0')::int8 \
             FROM scry.snapshot_ranges WHERE stream = $1 ORDER BY 1, 2, n",
            &[Some(stream)],
        )
        .map_err(|e| on_target("cannot read scry.snapshot_ranges", &e))?;
    let mut tables: HashMap<(String, String), KeyRanges> = HashMap::new();
    for r in &rows {
        tables
            .entry((pg::text(r, 0), pg::text(r, 1)))
            .or_insert_with(|| KeyRanges {
                column: pg::text(r, 2),
                ranges: Vec::new(),
            })
            .ranges
            .push(KeyRange {
                n: i32::try_from(pg::number(r, 3)).unwrap_or(0),
                low: bound(r, 4),
                high: bound(r, 5),
                position: u64::try_from(pg::number(r, 6)).unwrap_or(0),
            });
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_key_once() {
        assert_eq!(
            split(1, 100, 4),
            [
                (None, Some(26)),
                (Some(26), Some(51)),
                (Some(51), Some(76)),
                (Some(76), None)
            ]
        );
        // Fewer keys than ranges, one key, an empty table, the whole of int8.
        assert_eq!(split(5, 6, 4), [(None, Some(6)), (Some(6), None)]);
        assert_eq!(split(5, 5, 4), [(None, None)]);
        assert_eq!(split(0, 0, 3), [(None, None)]);
        let whole = split(i64::MIN, i64::MAX, 2);
        assert_eq!(whole, [(None, Some(0)), (Some(0), None)]);
    }
}
