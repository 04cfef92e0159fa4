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
//! Run again, it goes on from where it stopped. A copy that finished (every table recorded)
//! goes straight to step 5, whose statements pass over what exists, and then to the stream.
//! A copy that did not finish keeps every table it completed: its snapshot ended with the
//! process that took it, so the tables left are read in a new snapshot, taken with a
//! temporary slot whose consistent point says which transactions it holds. Each table is
//! recorded with the position of its own snapshot, and the stream, which starts at the
//! slot's, passes over a table's changes committed before that position
//! (`scry_apply::Replication::skip_copied`): tables copied in several snapshots join one
//! stream exactly, as PostgreSQL's own table synchronisation does. A split table is
//! copied whole again when its ranges did not all finish in one snapshot (ranges of pages
//! read in two snapshots would miss or repeat the rows an update moved between them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use scry_apply::CopyPositions;
use scry_conn::Conn;
use scry_source::catalog::Table;
use scry_source::schema::{table_schema, TableSchema};
use scry_source::setup::{self, Selection};

use super::copy::{copy_tables, Sized, Snapshot};
use super::{ranges, state};
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
    /// Each table copied (a partition under its own name) and the position of the snapshot
    /// it was read in: what the stream passes over (`scry_apply::Replication::skip_copied`).
    pub copied: CopyPositions,
}

impl Prepared {
    fn copied(mut self, copied: CopyPositions) -> Self {
        self.copied = copied;
        self
    }
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
        copied: CopyPositions::default(),
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
    state::refuse_others_rows(&mut tgt, &stream, &tables)?;
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
    let recorded = if new_slot {
        // Ranges an earlier slot of this name was copied in say nothing of the new one.
        ranges::forget(&mut tgt, &stream)?;
        HashMap::new()
    } else {
        state::recorded(&mut tgt, &stream)?
    };
    let (done, copy): (Vec<Table>, Vec<Table>) = tables
        .into_iter()
        .partition(|t| recorded.contains_key(&state::name_of(t)));
    if !new_slot && copy.is_empty() {
        info(
            "resume",
            format!(
                "slot {} exists and its copy is complete: going on after the data",
                prepared.slot
            ),
        );
        after_data(target, &schemas, plan.jobs, &schemas)?;
        return Ok(prepared.copied(state::positions(&mut tgt, &stream)?));
    }
    // Made before the slot: a table the target refuses leaves nothing on the source.
    for schema in &schemas {
        run_all(&mut tgt, &schema.create, &schema.table)?;
    }
    let exported = if new_slot {
        let exported = setup::create_slot_exporting(source, &prepared.slot).map_err(on_source)?;
        info(
            "slot",
            format!(
                "source: created slot {} at {}",
                prepared.slot,
                scry_types::Lsn(exported.consistent_point),
            ),
        );
        exported
    } else {
        // The first snapshot ended with the process that took it. The tables left are read
        // in a new one, whose position says which of the stream's changes they have.
        let exported = setup::snapshot_at_position(
            source,
            &format!("{}_copy_{}", prepared.slot, std::process::id()),
        )
        .map_err(on_source)?;
        info(
            "resume",
            format!(
                "slot {} exists and {} of {} tables are copied (kept); copying the {} left in \
                 a new snapshot at {}, the stream passing over what it holds",
                prepared.slot,
                done.len(),
                done.len() + copy.len(),
                copy.len(),
                scry_types::Lsn(exported.consistent_point),
            ),
        );
        exported
    };
    let done: Vec<u32> = done.iter().map(|t| t.relation.rel_id).collect();
    info(
        "copy",
        format!(
            "copying {} table{} over {} connection{}",
            copy.len(),
            if copy.len() == 1 { "" } else { "s" },
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
    let copy_schemas: Vec<TableSchema> = schemas
        .iter()
        .filter(|s| copy.iter().any(|t| t.relation.rel_id == s.table_oid))
        .cloned()
        .collect();
    let mut sized = sized(&mut src, copy, &copy_schemas)?;
    let mut done = done;
    done.extend(plan_keys(
        (&mut src, &mut tgt),
        snapshot,
        &mut sized,
        plan.split,
    )?);
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
    // The tables an earlier run copied may lack their keys and indexes (made after the
    // rows): their statements pass over what exists.
    let earlier: Vec<TableSchema> = schemas
        .iter()
        .filter(|s| done.contains(&s.table_oid))
        .cloned()
        .collect();
    after_data(target, &schemas, plan.jobs, &earlier)?;
    Ok(prepared.copied(state::positions(&mut tgt, &stream)?))
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

/// Decides which tables are copied in ranges of their key (see [`super::ranges`]): those
/// with ranges recorded by an earlier run, which go on with the ranges left, and those
/// larger than `split` bytes with an integer key, whose ranges are made and recorded now.
/// A table whose ranges were all copied is recorded as copied and taken out of `sized`; the
/// OIDs of those.
fn plan_keys(
    (src, tgt): (&mut Conn, &mut Conn),
    snapshot: Snapshot<'_>,
    sized: &mut Vec<Sized>,
    split: u64,
) -> Result<Vec<u32>, CliError> {
    let stream = snapshot.stream;
    let mut finished = Vec::new();
    for s in sized.iter_mut() {
        let recorded = ranges::recorded(tgt, stream, &s.table)?;
        if !recorded.is_empty() {
            let total = recorded.len();
            let left: Vec<ranges::Range> = recorded
                .into_iter()
                .filter(|(_, copied)| !copied)
                .map(|(r, _)| r)
                .collect();
            info(
                "resume",
                format!(
                    "{}: {} of {total} key ranges copied (kept); copying {}",
                    s.table.relation.qualified_name(),
                    total - left.len(),
                    left.iter()
                        .map(|r| format!("range {}", r.n))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if left.is_empty() {
                // Cut short between its last range and its record.
                let rel = &s.table.relation;
                let sql = scry_apply::record_loaded_sql(
                    stream,
                    &rel.schema,
                    &rel.table,
                    snapshot.position,
                    0,
                );
                tgt.simple(&sql).map_err(|e| {
                    CliError::on("target", pg::server_error("cannot record a copy", &e))
                })?;
                finished.push(rel.rel_id);
            }
            s.ranges = Some(left);
            continue;
        }
        if s.table.partitioned || s.bytes <= split {
            continue;
        }
        if let Some(column) = ranges::key_column(src, &s.table)? {
            let count = u32::try_from(s.bytes.div_ceil(split.max(1)).max(2)).unwrap_or(u32::MAX);
            s.ranges = Some(ranges::plan(src, tgt, stream, &s.table, &column, count)?);
        }
    }
    sized.retain(|s| !finished.contains(&s.table.relation.rel_id));
    Ok(finished)
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
                ranges: None,
            })
        })
        .collect()
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

/// After the data: the keys and checks and other indexes of `earlier` (tables an earlier
/// run copied; the copy makes the others' as each is done) over `jobs` connections, passing
/// over those that exist; then foreign keys (to the tables replicated) and replica
/// identities.
fn after_data(
    target: &str,
    schemas: &[TableSchema],
    jobs: usize,
    earlier: &[TableSchema],
) -> Result<(), CliError> {
    let started = Instant::now();
    let keys_and_indexes: Vec<(&str, &String)> = earlier
        .iter()
        .flat_map(|s| {
            s.keys
                .iter()
                .chain(&s.indexes)
                .map(move |k| (s.table.as_str(), k))
        })
        .collect();
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
