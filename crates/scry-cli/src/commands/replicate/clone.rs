//! `scry replicate SOURCE TARGET` with nothing prepared: everything up to the stream.
//!
//! 1. **Names.** The slot and the publication are named after the target
//!    (`scry_` and a hash of its system identifier and database), so that each target has
//!    its own and a run again finds them; both are shown.
//! 2. **Source.** The publication, for the chosen tables (`--table`, `--schema`; all by
//!    default) that can be replicated as they are; then the slot, created with an exported
//!    snapshot.
//! 3. **Target.** scry's state, then each table as it is on the source
//!    (`scry_source::schema`): types, sequences, columns with their defaults, identity and
//!    generation, partitions.
//! 4. **Copy** of every table in the slot's snapshot ([`super::copy`]), recorded per table.
//! 5. **After the data:** keys and checks, then the other indexes (each over `--jobs`
//!    connections), then foreign keys and replica identities.
//!
//! Run again, it goes on from where it stopped: a copy that finished (every table recorded
//! as loaded from the slot's one snapshot) goes straight to step 5, whose statements pass
//! over what exists, and then to the stream. A copy that did not finish cannot be resumed
//! (its snapshot ended with the connection that exported it): the slot is dropped and the
//! copy starts over, each table's rows replaced in one transaction, so nothing is left
//! twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use scry_conn::Conn;
use scry_source::catalog::Table;
use scry_source::schema::{table_schema, TableSchema};
use scry_source::setup::{self, Selection};

use super::copy::{copy_tables, Sized, Snapshot};
use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;

/// What to replicate and how fast to copy it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The tables and schemas chosen (all when empty).
    pub selection: Selection,
    /// Connections per server for the copy and the indexes.
    pub jobs: usize,
    /// Tables whose rows take more bytes than this are copied in ranges side by side.
    pub split: u64,
}

/// The slot and publication a prepared replication streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The slot's name.
    pub slot: String,
    /// The publication's name.
    pub publication: String,
}

fn on_source(e: scry_source::SourceError) -> CliError {
    CliError::on("source", e.into())
}

fn info(event: &'static str, message: String) {
    Event::new(Level::Info, event, message).emit();
}

/// Prepares the replication of `source` into `target` (see the module's documentation).
///
/// # Errors
/// What either server refuses; [`CliError::Interrupted`] on Ctrl-C or SIGTERM.
pub fn prepare(source: &str, target: &str, plan: &Plan) -> Result<Prepared, CliError> {
    let mut src = pg::connect(source).map_err(|e| CliError::on("source", e))?;
    let mut tgt = pg::connect(target).map_err(|e| CliError::on("target", e))?;
    let name = derived_name(&mut tgt)?;
    let prepared = Prepared {
        slot: name.clone(),
        publication: name,
    };
    let (system, database) = scry_source::catalog::identity(&mut src).map_err(on_source)?;
    let stream = scry_apply::stream_identity(&system, &database, &prepared.slot);
    let new_slot = !setup::slot_exists(&mut src, &prepared.slot).map_err(on_source)?;
    crate::commands::capture::setup::preflight_source(
        &mut src,
        scry_apply::preflight::SourceNeeds {
            new_slot,
            new_sender: true,
        },
    )?;
    // Nothing is made on either server before the target is known to take the copy.
    let exists = setup::publication_exists(&mut src, &prepared.publication).map_err(on_source)?;
    // The tables: the publication's when it exists, else those it will be made for.
    let names = if exists {
        setup::published_tables(&mut src, &prepared.publication).map_err(on_source)?
    } else {
        setup::publishable(&mut src, &plan.selection)
            .map_err(on_source)?
            .0
    };
    if names.is_empty() {
        return Err(CliError::Usage(if exists {
            format!(
                "source: publication {} has no table (drop it with `scry drop SOURCE TARGET` to \
                 start over)",
                prepared.publication
            )
        } else if plan.selection.tables.is_empty() && plan.selection.schemas.is_empty() {
            "source: no table that can be replicated (with a primary key, a replica identity \
             index or REPLICA IDENTITY FULL)"
                .to_owned()
        } else {
            "source: no table that can be replicated matches --table or --schema (a table needs \
             a primary key, a replica identity index or REPLICA IDENTITY FULL)"
                .to_owned()
        }));
    }
    let tables = pg::tables(&mut src, &names).map_err(on_source)?;
    refuse_others_rows(&mut tgt, &stream, &tables)?;
    tgt.simple(scry_apply::create_sql())
        .map_err(|e| CliError::on("target", pg::server_error("cannot create schema scry", &e)))?;
    let created =
        setup::create_publication(&mut src, &prepared.publication, false, &plan.selection)
            .map_err(on_source)?;
    if let setup::Published::Tables { tables, left_out } = &created {
        info(
            "publication",
            format!(
                "source: created publication {} for {} table{}: {}",
                prepared.publication,
                tables.len(),
                if tables.len() == 1 { "" } else { "s" },
                tables.join(", ")
            ),
        );
        if !left_out.is_empty() {
            Event::new(
                Level::Warn,
                "publication",
                format!(
                    "source: not replicated, having no primary key or replica identity: {}; \
                     give one a key (or REPLICA IDENTITY FULL) and run `scry drop` and this \
                     command again to include it",
                    left_out.join(", ")
                ),
            )
            .field("left_out", left_out.clone())
            .emit();
        }
    }
    let schemas = tables
        .iter()
        .map(|t| table_schema(&mut src, t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(on_source)?;
    if !new_slot {
        if copied(&mut tgt, &stream, &tables)? {
            info(
                "resume",
                format!(
                    "slot {} exists and its copy is complete: going on after the data",
                    prepared.slot
                ),
            );
            after_data(target, &schemas, plan.jobs, true)?;
            return Ok(prepared);
        }
        Event::new(
            Level::Warn,
            "resume",
            format!(
                "slot {} exists but its copy did not finish, and the snapshot it was read in \
                 is gone: dropping the slot and copying anew",
                prepared.slot
            ),
        )
        .emit();
        setup::drop_slot(&mut src, &prepared.slot, scry_apply::IN_USE_WAIT).map_err(on_source)?;
    }
    for schema in &schemas {
        run_all(&mut tgt, &schema.create, &schema.table)?;
    }
    let exported = setup::create_slot_exporting(source, &prepared.slot).map_err(on_source)?;
    info(
        "slot",
        format!(
            "source: created slot {} at {}; copying {} table{} in its snapshot over {} \
             connection{}",
            prepared.slot,
            scry_types::Lsn(exported.consistent_point),
            tables.len(),
            if tables.len() == 1 { "" } else { "s" },
            plan.jobs,
            if plan.jobs == 1 { "" } else { "s" }
        ),
    );
    let started = Instant::now();
    let (name, position) = (exported.snapshot.clone(), exported.consistent_point);
    let snapshot = Snapshot {
        stream: &stream,
        name: &name,
        position,
    };
    let sized = sized(&mut src, tables, &schemas)?;
    let rows = copy_tables(
        source, target, &sized, snapshot, exported, plan.jobs, plan.split,
    )?;
    info(
        "copy",
        format!(
            "copied {} table{}, {rows} rows in {:.2} s{}",
            sized.len(),
            if sized.len() == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64(),
            pg::peak_rss_note()
        ),
    );
    after_data(target, &schemas, plan.jobs, false)?;
    Ok(prepared)
}

/// The name of the slot and publication `replicate` makes for the target of `tgt`: `scry_`
/// and a hash of the target's system identifier and database.
pub fn derived_name(tgt: &mut Conn) -> Result<String, CliError> {
    let (system, database) =
        scry_source::catalog::identity(tgt).map_err(|e| CliError::on("target", e.into()))?;
    Ok(scry_apply::origin_name(
        &format!("replicate to {system}"),
        &database,
    ))
}

/// Each table with the size of its rows on the source (its heap, all partitions') and its
/// keys and indexes, to make once its rows are in.
fn sized(
    src: &mut Conn,
    tables: Vec<Table>,
    schemas: &[TableSchema],
) -> Result<Vec<Sized>, CliError> {
    tables
        .into_iter()
        .zip(schemas)
        .map(|(table, schema)| {
            let size = src
                .query(
                    // A table outside any partition tree has none: its own size.
                    "SELECT coalesce((SELECT sum(pg_relation_size(relid)) \
                                        FROM pg_partition_tree($1::oid)), 0)::int8 \
                            + CASE WHEN c.relkind = 'p' THEN 0 \
                                   ELSE pg_relation_size(c.oid) END \
                     FROM pg_class c WHERE c.oid = $1::oid",
                    &[Some(&table.relation.rel_id.to_string())],
                )
                .map_err(|e| {
                    CliError::on("source", pg::server_error("cannot read table sizes", &e))
                })?
                .first()
                .map_or(0, |r| pg::number(r, 0));
            Ok(Sized {
                table,
                bytes: u64::try_from(size).unwrap_or(0),
                after: schema.keys.iter().chain(&schema.indexes).cloned().collect(),
            })
        })
        .collect()
}

/// True when the target records every table as loaded from one snapshot of `stream`, into
/// the table as it is now.
fn copied(tgt: &mut Conn, stream: &str, tables: &[Table]) -> Result<bool, CliError> {
    let rows = tgt
        .query(
            "SELECT schema_name, table_name, snapshot_lsn::text \
             FROM scry.snapshot_tables \
             WHERE stream = $1 \
               AND table_oid = coalesce(to_regclass(format('%I.%I', schema_name, table_name)), 0)",
            &[Some(stream)],
        )
        .map_err(|e| {
            CliError::on(
                "target",
                pg::server_error("cannot read scry.snapshot_tables", &e),
            )
        })?;
    let mut positions: Vec<String> = rows.iter().map(|r| pg::text(r, 2)).collect();
    positions.sort();
    positions.dedup();
    // `0/0`: a split table still being copied (see `super::copy`).
    positions.retain(|p| p != "0/0");
    if rows.iter().any(|r| pg::text(r, 2) == "0/0") {
        return Ok(false);
    }
    let all = tables.iter().all(|t| {
        let rel = &t.relation;
        rows.iter()
            .any(|r| pg::text(r, 0) == rel.schema && pg::text(r, 1) == rel.table)
    });
    Ok(all && positions.len() == 1)
}

/// Refuses to copy into a table of the target that has rows this stream did not copy there:
/// the copy empties each table first, and a table of the user's own is not scry's to empty.
fn refuse_others_rows(tgt: &mut Conn, stream: &str, tables: &[Table]) -> Result<(), CliError> {
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

/// Runs `statements` on the target, one after the other.
pub(super) fn run_all(tgt: &mut Conn, statements: &[String], table: &str) -> Result<(), CliError> {
    for statement in statements {
        tgt.simple(statement).map_err(|e| {
            CliError::on(
                "target",
                pg::server_error(format!("cannot make {table} (`{statement}`)"), &e),
            )
        })?;
    }
    Ok(())
}

/// After the data: with `keys` (a copy made by an earlier run), keys and checks and the
/// other indexes over `jobs` connections (the copy makes them itself as each table is
/// done); then foreign keys (to the tables replicated) and replica identities.
fn after_data(
    target: &str,
    schemas: &[TableSchema],
    jobs: usize,
    keys: bool,
) -> Result<(), CliError> {
    let started = Instant::now();
    let keys_and_indexes: Vec<(&str, &String)> = if keys {
        schemas
            .iter()
            .flat_map(|s| {
                s.keys
                    .iter()
                    .chain(&s.indexes)
                    .map(move |k| (s.table.as_str(), k))
            })
            .collect()
    } else {
        Vec::new()
    };
    in_parallel(target, &keys_and_indexes, jobs)?;
    let mut tgt = pg::connect(target).map_err(|e| CliError::on("target", e))?;
    let mut skipped = Vec::new();
    for schema in schemas {
        for (references, statement) in &schema.foreign_keys {
            let replicated = schemas.iter().any(|s| s.table_oid == *references);
            if replicated {
                run_all(&mut tgt, std::slice::from_ref(statement), &schema.table)?;
            } else {
                skipped.push(schema.table.clone());
            }
        }
        run_all(&mut tgt, schema.replica_identity.as_slice(), &schema.table)?;
    }
    if !skipped.is_empty() {
        Event::new(
            Level::Warn,
            "schema",
            format!(
                "target: foreign keys of {} not made: they reference tables not replicated",
                skipped.join(", ")
            ),
        )
        .emit();
    }
    let foreign_keys: usize = schemas.iter().map(|s| s.foreign_keys.len()).sum();
    info(
        "schema",
        format!(
            "target: {foreign_keys} foreign key{} made in {:.2} s",
            if foreign_keys == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// Runs `statements` on the target over `jobs` connections.
fn in_parallel(target: &str, statements: &[(&str, &String)], jobs: usize) -> Result<(), CliError> {
    if statements.is_empty() {
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.clamp(1, statements.len()))
            .map(|_| {
                let next = &next;
                scope.spawn(move || -> Result<(), CliError> {
                    let mut tgt = super::copy::target_conn(target)?;
                    while let Some((table, statement)) =
                        statements.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        if crate::interrupt::requested() {
                            return Err(CliError::Interrupted(
                                "while making keys and indexes; run the same command again to \
                                 go on"
                                    .into(),
                            ));
                        }
                        run_all(&mut tgt, std::slice::from_ref(*statement), table)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .unwrap_or_else(|_| Err(CliError::Usage("a job stopped unexpectedly".into())))
        })
    })
}
