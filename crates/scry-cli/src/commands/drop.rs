//! `scry drop`: removes what scry created for one stream. On the source: the slot, and when
//! named, the publication and the DDL event trigger (`capture --create --ddl`). On the
//! target: the stream's replication origin, its rows in `scry.origins` and
//! `scry.snapshot_tables`, and the schema `scry` once nothing is left in it.
//!
//! Each thing is reported as removed or as not there; a slot or origin in use by another
//! process is refused (naming the process), never taken from it.

use std::time::Duration;

use scry_conn::Conn;

use super::CliError;
use crate::pg;

/// What `scry drop` removes.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The slot on the source.
    pub slot: &'a str,
    /// The publication on the source, if it is to go too.
    pub publication: Option<&'a str>,
    /// Remove the DDL event trigger `scry_ddl` and its function from the source database.
    pub ddl_trigger: bool,
    /// The target whose origin and state for the stream go.
    pub target: Option<&'a str>,
    /// The origin on the target (by default the one derived for the stream and the target).
    pub origin: Option<&'a str>,
}

/// How long a slot still held by the walsender of a process that died is waited for.
const SLOT_WAIT: Duration = Duration::from_secs(3);

/// Removes what `options` names; prints a line for each thing.
pub fn run(source: &str, options: Options<'_>) -> Result<(), CliError> {
    let mut client = pg::connect(source).map_err(|e| CliError::on("source", e))?;
    let client = &mut client;
    let (system, database) = pg::identity(client).map_err(|e| CliError::on("source", e.into()))?;
    let stream = scry_apply::stream_identity(&system, &database, options.slot);
    report(
        "source",
        &format!("slot {}", options.slot),
        slot(client, options.slot),
    )?;
    if let Some(publication) = options.publication {
        let exists = scry_source::setup::publication_exists(client, publication)
            .map_err(|e| CliError::on("source", e.into()))?;
        let gone = client
            .simple(&format!(
                "DROP PUBLICATION IF EXISTS {}",
                pg::quote(publication)
            ))
            .map(|_| exists)
            .map_err(|e| pg::server_error("cannot drop the publication", &e));
        report("source", &format!("publication {publication}"), gone)?;
    }
    if options.ddl_trigger {
        let exists = !client
            .simple("SELECT 1 FROM pg_event_trigger WHERE evtname = 'scry_ddl'")
            .map_err(|e| {
                CliError::on(
                    "source",
                    pg::server_error("cannot read pg_event_trigger", &e),
                )
            })?
            .is_empty();
        let gone = client
            .simple(
                "DROP EVENT TRIGGER IF EXISTS scry_ddl; DROP FUNCTION IF EXISTS scry_emit_ddl()",
            )
            .map(|_| exists)
            .map_err(|e| pg::server_error("cannot drop the DDL event trigger", &e));
        report("source", "event trigger scry_ddl", gone)?;
    }
    if let Some(target) = options.target {
        let mut conn = pg::connect(target).map_err(|e| CliError::on("target", e))?;
        target_state(&mut conn, &stream, options.origin)?;
    }
    Ok(())
}

/// Drops the slot `name` unless another process holds it (one held by the walsender of a
/// process that died is waited for, a few seconds at most); true when it existed.
pub fn slot(conn: &mut Conn, name: &str) -> Result<bool, CliError> {
    Ok(scry_source::setup::drop_slot(conn, name, SLOT_WAIT)?)
}

/// Drops the stream's origin and its rows of scry's state on the target, and the schema
/// `scry` once it holds nothing more.
fn target_state(conn: &mut Conn, stream: &str, origin: Option<&str>) -> Result<(), CliError> {
    let f = scry_apply::forget(conn, stream, origin).map_err(super::apply::apply_error)?;
    report(
        "target",
        &format!("replication origin {}", f.origin),
        Ok(f.origin_dropped),
    )?;
    if f.had_state {
        println!(
            "target: removed the stream's state ({} origin record, {} snapshot table \
             records){}",
            f.origin_records,
            f.table_records,
            if f.schema_dropped {
                "; schema scry dropped, nothing else was in it"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Prints what happened to `what` on `side`: removed, or not there.
fn report(side_name: &str, what: &str, gone: Result<bool, CliError>) -> Result<(), CliError> {
    match gone {
        Ok(true) => println!("{side_name}: removed {what}"),
        Ok(false) => println!("{side_name}: no {what}, nothing to remove"),
        Err(e) => return Err(CliError::on(side_name, e)),
    }
    Ok(())
}
