//! What `scry replicate SOURCE TARGET` keeps on the target about its copy
//! (`scry.snapshot_tables`, one row per table copied, in the transaction of its rows): which
//! tables are copied, in the snapshot of which position, and whose rows a table holds.

use std::collections::HashMap;

use scry_apply::CopyPositions;
use scry_conn::Conn;
use scry_source::catalog::Table;

use crate::commands::CliError;
use crate::pg;

/// A table's `(schema, table)`, as the target's records and the stream's events name it.
pub(super) fn name_of(table: &Table) -> (String, String) {
    (table.relation.schema.clone(), table.relation.table.clone())
}

fn read(
    tgt: &mut Conn,
    sql: &str,
    stream: &str,
) -> Result<HashMap<(String, String), u64>, CliError> {
    let rows = tgt.query(sql, &[Some(stream)]).map_err(|e| {
        CliError::on(
            "target",
            pg::server_error("cannot read scry.snapshot_tables", &e),
        )
    })?;
    Ok(rows
        .iter()
        .map(|r| {
            let position = u64::try_from(pg::number(r, 2)).unwrap_or(0);
            ((pg::text(r, 0), pg::text(r, 1)), position)
        })
        .collect())
}

/// The tables of `stream` whose copy is complete, each with the position of the snapshot
/// it was read in: those recorded at a position (a split table being copied is recorded at
/// `0/0`, see `super::copy`) into the table as it is now (its OID).
pub(super) fn recorded(
    tgt: &mut Conn,
    stream: &str,
) -> Result<HashMap<(String, String), u64>, CliError> {
    read(
        tgt,
        "SELECT schema_name, table_name, (snapshot_lsn - '0/0')::int8 \
         FROM scry.snapshot_tables \
         WHERE stream = $1 AND snapshot_lsn <> '0/0' \
           AND table_oid = coalesce(to_regclass(format('%I.%I', schema_name, table_name)), 0)",
        stream,
    )
}

/// Where each table was copied, for `scry_apply::Replication::skip_copied`: the tables as
/// [`recorded`], with each partition of a partitioned table under its own name (the name
/// the stream gives its changes), and the ranges of those copied in ranges of their key.
pub(super) fn positions(tgt: &mut Conn, stream: &str) -> Result<CopyPositions, CliError> {
    let tables = read(
        tgt,
        "WITH copied AS ( \
             SELECT to_regclass(format('%I.%I', schema_name, table_name)) AS rel, \
                    (snapshot_lsn - '0/0')::int8 AS position \
             FROM scry.snapshot_tables \
             WHERE stream = $1 AND snapshot_lsn <> '0/0') \
         SELECT n.nspname, c.relname, copied.position \
         FROM copied \
         CROSS JOIN LATERAL (SELECT copied.rel AS relid \
                             UNION SELECT relid FROM pg_partition_tree(copied.rel)) AS part \
         JOIN pg_class c ON c.oid = part.relid \
         JOIN pg_namespace n ON n.oid = c.relnamespace",
        stream,
    )?;
    Ok(CopyPositions {
        tables,
        ranges: super::ranges::positions(tgt, stream)?,
    })
}

/// Refuses to copy into a table of the target that has rows this stream did not copy there:
/// the copy empties each table first, and a table of the user's own is not scry's to empty.
pub(super) fn refuse_others_rows(
    tgt: &mut Conn,
    stream: &str,
    tables: &[Table],
) -> Result<(), CliError> {
    let has_state = pg::first_row(
        tgt,
        "SELECT to_regclass('scry.snapshot_tables') IS NOT NULL",
        &[],
        "target: cannot look for schema scry",
    )?;
    let has_state = pg::flag(&has_state, 0);
    let mut theirs = Vec::new();
    for t in tables {
        let rel = &t.relation;
        let name = scry_source::catalog::qualified(rel);
        let exists = pg::first_row(
            tgt,
            "SELECT to_regclass($1) IS NOT NULL",
            &[Some(&name)],
            "target: cannot look for the tables",
        )?;
        if !pg::flag(&exists, 0) {
            continue;
        }
        if has_state {
            let ours = pg::first_row(
                tgt,
                "SELECT EXISTS (SELECT 1 FROM scry.snapshot_tables \
                                 WHERE stream = $1 AND schema_name = $2 AND table_name = $3)",
                &[Some(stream), Some(&rel.schema), Some(&rel.table)],
                "target: cannot read scry.snapshot_tables",
            )?;
            if pg::flag(&ours, 0) {
                continue;
            }
        }
        let has_rows = pg::first_row(
            tgt,
            &format!("SELECT EXISTS (SELECT 1 FROM {name})"),
            &[],
            &format!("target: cannot read {name}"),
        )?;
        if pg::flag(&has_rows, 0) {
            theirs.push(rel.qualified_name());
        }
    }
    if theirs.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "target: {} already {} rows that this replication did not copy there, and the copy \
         would replace them: replicate into an empty database, empty or drop {}, or leave {} \
         out with --table or --schema",
        theirs.join(", "),
        if theirs.len() == 1 { "has" } else { "have" },
        if theirs.len() == 1 { "it" } else { "them" },
        if theirs.len() == 1 { "it" } else { "them" },
    )))
}
