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
        let exists = !client
            .query(
                "SELECT 1 FROM pg_publication WHERE pubname = $1",
                &[Some(publication)],
            )
            .map_err(|e| pg::server_error("source: cannot read pg_publication", &e))?
            .is_empty();
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
    let fail =
        |what: &str, e: &scry_conn::WireError| CliError::on("target", pg::server_error(what, e));
    let head = conn
        .query(
            "SELECT to_regclass('scry.origins') IS NOT NULL \
                AND to_regclass('scry.snapshot_tables') IS NOT NULL, current_database()::text",
            &[],
        )
        .map_err(|e| fail("cannot look for schema scry", &e))?
        .remove(0);
    let (has_state, database) = (pg::flag(&head, 0), pg::text(&head, 1));
    let origin = origin.map_or_else(|| scry_apply::origin_name(stream, &database), str::to_owned);
    let gone = conn
        .query(
            "SELECT count(pg_replication_origin_drop(roname)) FROM pg_replication_origin \
             WHERE roname = $1",
            &[Some(&origin)],
        )
        .map(|rows| rows.first().is_some_and(|r| pg::number(r, 0) > 0))
        .map_err(|e| pg::server_error("cannot drop the replication origin", &e));
    report("target", &format!("replication origin {origin}"), gone)?;
    if !has_state {
        return Ok(());
    }
    let changed = (|| {
        conn.simple("BEGIN")?;
        let origins = conn.query(
            "WITH d AS (DELETE FROM scry.origins WHERE origin = $1 RETURNING 1) \
             SELECT count(*) FROM d",
            &[Some(&origin)],
        )?;
        let tables = conn.query(
            "WITH d AS (DELETE FROM scry.snapshot_tables WHERE stream = $1 RETURNING 1) \
             SELECT count(*) FROM d",
            &[Some(stream)],
        )?;
        let empty = conn.query(
            "SELECT NOT EXISTS (SELECT 1 FROM scry.origins) \
                AND NOT EXISTS (SELECT 1 FROM scry.snapshot_tables)",
            &[],
        )?;
        let empty = empty.first().is_some_and(|r| pg::flag(r, 0));
        if empty {
            conn.simple("DROP SCHEMA scry CASCADE")?;
        }
        conn.simple("COMMIT")?;
        let count = |rows: &scry_conn::Rows| rows.first().map_or(0, |r| pg::number(r, 0));
        Ok::<_, scry_conn::WireError>((count(&origins), count(&tables), empty))
    })();
    let (origins, tables, empty) = match changed {
        Ok(done) => done,
        Err(e) => {
            let _ = conn.simple("ROLLBACK");
            return Err(fail("cannot remove the stream's state", &e));
        }
    };
    println!(
        "target: removed the stream's state ({origins} origin record, {tables} snapshot table \
         records){}",
        if empty {
            "; schema scry dropped, nothing else was in it"
        } else {
            ""
        }
    );
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
