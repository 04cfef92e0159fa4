//! What `scry capture` asks of and makes on the source, through `scry_source::setup`: the
//! preflight and the publication it reports; the rest as the library does it.

use scry_conn::Conn;
pub use scry_source::setup::{
    check_slot, create_ddl_trigger, create_slot, current_lsn, query_lsn, sequences, slot_exists,
    Published,
};

use super::{Options, Source};
use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;

/// Checks, before anything is created, that the source allows what this capture needs
/// (see `scry_apply::preflight`).
pub fn preflight(conn: &mut Conn, options: &Options<'_>) -> Result<(), CliError> {
    let new_slot =
        (options.create || options.snapshot.is_some()) && !slot_exists(conn, options.slot)?;
    preflight_source(
        conn,
        scry_apply::preflight::SourceNeeds {
            new_slot,
            new_sender: options.source == Source::Stream || options.snapshot.is_some(),
        },
    )
}

/// Checks that the source allows `needs` (see `scry_apply::preflight`), naming every
/// missing setting or right with its fix.
pub fn preflight_source(
    conn: &mut Conn,
    needs: scry_apply::preflight::SourceNeeds,
) -> Result<(), CliError> {
    let row = conn
        .simple(scry_apply::preflight::SOURCE_FACTS)
        .map_err(|e| pg::server_error("source: cannot read the server's settings", &e))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let problems = scry_apply::preflight::source_problems(&row, needs);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "source: {}",
            scry_apply::preflight::report(&problems)
        )))
    }
}

/// `--create`: the publication, when missing (see `scry_source::setup::create_publication`);
/// says what it created and what it left out.
pub fn create_publication(
    conn: &mut Conn,
    publication: &str,
    all_tables: bool,
) -> Result<(), CliError> {
    match scry_source::setup::create_publication(
        conn,
        publication,
        all_tables,
        &scry_source::setup::Selection::default(),
    )
    .map_err(|e| CliError::on("source", e.into()))?
    {
        Published::Existed => {}
        Published::AllTables => Event::new(
            Level::Info,
            "publication",
            format!(
                "created publication {publication} FOR ALL TABLES (tables created later join \
                 it; UPDATE and DELETE fail on a table without a primary key or replica \
                 identity)"
            ),
        )
        .field("publication", publication)
        .emit(),
        Published::Tables { tables, left_out } => {
            Event::new(
                Level::Info,
                "publication",
                format!(
                    "created publication {publication} for {} table{}: {}",
                    tables.len(),
                    if tables.len() == 1 { "" } else { "s" },
                    tables.join(", ")
                ),
            )
            .field("publication", publication)
            .field("tables", tables.clone())
            .emit();
            if !left_out.is_empty() {
                Event::new(
                    Level::Info,
                    "publication",
                    format!(
                        "left out of it, having no primary key or replica identity (published, \
                         their UPDATE and DELETE would fail on the source): {}; to replicate \
                         one, give it a key or ALTER TABLE ... REPLICA IDENTITY FULL, then \
                         ALTER PUBLICATION {} ADD TABLE ...",
                        left_out.join(", "),
                        pg::quote(publication)
                    ),
                )
                .field("publication", publication)
                .field("left_out", left_out.clone())
                .emit();
            }
        }
    }
    Ok(())
}
