//! What `scry capture` asks of and makes on the source: the preflight, the publication, the
//! slot, the DDL trigger, the slot's position, the server's WAL position and sequences.

use scry_conn::Conn;
use scry_types::Lsn;

use super::{Options, Source};
use crate::commands::CliError;
use crate::pg;

/// The values of the server's sequences (outside the system schemas), as `setval` takes
/// them.
pub fn sequences(conn: &mut Conn) -> Result<Vec<scry_types::SequenceValue>, CliError> {
    let rows = conn
        .query(
            "SELECT schemaname::text, sequencename::text, coalesce(last_value, start_value), \
                    last_value IS NOT NULL, increment_by, min_value, max_value \
             FROM pg_sequences \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            &[],
        )
        .map_err(|e| pg::server_error("cannot read the sequences", &e))?;
    Ok(rows
        .iter()
        .map(|r| scry_types::SequenceValue {
            schema: pg::text(r, 0),
            name: pg::text(r, 1),
            last_value: pg::number(r, 2),
            is_called: pg::flag(r, 3),
            increment_by: pg::number(r, 4),
            min_value: pg::number(r, 5),
            max_value: pg::number(r, 6),
        })
        .collect())
}

/// Checks, before anything is created, that the source allows what this capture needs
/// (see `scry_apply::preflight`).
pub fn preflight(conn: &mut Conn, options: &Options<'_>) -> Result<(), CliError> {
    let new_slot =
        (options.create || options.snapshot.is_some()) && !slot_exists(conn, options.slot)?;
    let needs = scry_apply::preflight::SourceNeeds {
        new_slot,
        new_sender: options.source == Source::Stream || options.snapshot.is_some(),
    };
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

/// The tables `--create` publishes: every user table (and partitioned table) whose rows an
/// UPDATE or DELETE can be replicated by as it is: a primary key (under the default replica
/// identity), a replica identity index, or REPLICA IDENTITY FULL. Those left out, with why:
/// published, a table without any would refuse the application's UPDATE and DELETE.
pub fn publishable(conn: &mut Conn) -> Result<(Vec<String>, Vec<String>), CliError> {
    let rows = conn
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname), \
                    c.relreplident = 'f' OR (c.relreplident = 'i' AND EXISTS \
                        (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)) \
                    OR (c.relreplident = 'd' AND EXISTS \
                        (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'scry') \
               AND n.nspname NOT LIKE 'pg\\_%' \
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(|e| pg::server_error("source: cannot list the tables to publish", &e))?;
    let (mut published, mut left_out) = (Vec::new(), Vec::new());
    for row in rows {
        if pg::flag(&row, 1) {
            published.push(pg::text(&row, 0));
        } else {
            left_out.push(pg::text(&row, 0));
        }
    }
    Ok((published, left_out))
}

/// `--create`: the publication, when missing, for the tables that can be replicated as they
/// are ([`publishable`]), or for all tables with `all_tables`; says what it created and what
/// it left out.
pub fn create_publication(
    conn: &mut Conn,
    publication: &str,
    all_tables: bool,
) -> Result<(), CliError> {
    let exists = !conn
        .query(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[Some(publication)],
        )
        .map_err(|e| pg::server_error("source: cannot read pg_publication", &e))?
        .is_empty();
    if exists {
        return Ok(());
    }
    let name = pg::quote(publication);
    if all_tables {
        conn.simple(&format!("CREATE PUBLICATION {name} FOR ALL TABLES"))
            .map_err(|e| pg::server_error("source: cannot create the publication", &e))?;
        eprintln!(
            "created publication {publication} FOR ALL TABLES (tables created later join it; \
             UPDATE and DELETE fail on a table without a primary key or replica identity)"
        );
        return Ok(());
    }
    let (tables, left_out) = publishable(conn)?;
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "no table of the source has a primary key or a replica identity, so none can be \
             published without breaking the application's UPDATE and DELETE{}; give one a \
             key (or ALTER TABLE ... REPLICA IDENTITY FULL), or use --all-tables",
            list_note(&left_out)
        )));
    }
    conn.simple(&format!(
        "CREATE PUBLICATION {name} FOR TABLE {}",
        tables.join(", ")
    ))
    .map_err(|e| pg::server_error("source: cannot create the publication", &e))?;
    eprintln!(
        "created publication {publication} for {} table{}: {}",
        tables.len(),
        if tables.len() == 1 { "" } else { "s" },
        tables.join(", ")
    );
    if !left_out.is_empty() {
        eprintln!(
            "left out of it, having no primary key or replica identity (published, their \
             UPDATE and DELETE would fail on the source): {}; to replicate one, give it a key \
             or ALTER TABLE ... REPLICA IDENTITY FULL, then ALTER PUBLICATION {name} ADD \
             TABLE ...",
            left_out.join(", ")
        );
    }
    Ok(())
}

/// ` (tables: a, b)`, or nothing.
fn list_note(tables: &[String]) -> String {
    if tables.is_empty() {
        String::new()
    } else {
        format!(" (tables: {})", tables.join(", "))
    }
}

/// True when the source has the slot `slot`.
pub fn slot_exists(conn: &mut Conn, slot: &str) -> Result<bool, CliError> {
    Ok(!conn
        .query(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[Some(slot)],
        )
        .map_err(|e| pg::server_error("cannot read pg_replication_slots", &e))?
        .is_empty())
}

/// Creates the pgoutput slot `slot` unless it exists.
pub fn create_slot(conn: &mut Conn, slot: &str) -> Result<(), CliError> {
    if !slot_exists(conn, slot)? {
        conn.query(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[Some(slot)],
        )
        .map_err(|e| pg::server_error("cannot create the replication slot", &e))?;
    }
    Ok(())
}

/// The event trigger `--create --ddl` installs (when no `scry_ddl` trigger exists): every DDL
/// command's statement text goes into the WAL as a transactional logical message under
/// `scry.ddl`, so it reaches the slot in its transaction, in order with the rows.
pub const DDL_TRIGGER_SQL: &str = "\
CREATE OR REPLACE FUNCTION scry_emit_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_logical_emit_message(true, 'scry.ddl', current_query());
END $$;
DROP EVENT TRIGGER IF EXISTS scry_ddl;
CREATE EVENT TRIGGER scry_ddl ON ddl_command_end EXECUTE FUNCTION scry_emit_ddl();";

/// Installs the DDL event trigger unless it is there (installing it is DDL too, which the
/// trigger would capture).
pub fn create_ddl_trigger(conn: &mut Conn) -> Result<(), CliError> {
    let exists = !conn
        .simple("SELECT 1 FROM pg_event_trigger WHERE evtname = 'scry_ddl'")
        .map_err(|e| pg::server_error("cannot read pg_event_trigger", &e))?
        .is_empty();
    if exists {
        return Ok(());
    }
    conn.simple(DDL_TRIGGER_SQL)
        .map(drop)
        .map_err(|e| pg::server_error("cannot create the DDL event trigger", &e))
}

/// Checks that `slot` is a pgoutput slot; returns its confirmed position.
pub fn check_slot(conn: &mut Conn, slot: &str) -> Result<u64, CliError> {
    let rows = conn
        .query(
            "SELECT plugin::text, confirmed_flush_lsn::text FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[Some(slot)],
        )
        .map_err(|e| pg::server_error("cannot read pg_replication_slots", &e))?;
    let Some(row) = rows.first() else {
        return Err(CliError::Usage(format!(
            "no replication slot {slot} (--create makes it)"
        )));
    };
    match row.first().cloned().flatten() {
        Some(plugin) if plugin == "pgoutput" => row
            .get(1)
            .cloned()
            .flatten()
            .map_or(Ok(0), |l| parse_lsn(&l)),
        plugin => Err(CliError::Usage(format!(
            "slot {slot} uses the plugin {}, not pgoutput",
            plugin.unwrap_or_else(|| "none (a physical slot)".to_owned())
        ))),
    }
}

/// The server's WAL position now.
pub fn current_lsn(conn: &mut Conn) -> Result<u64, CliError> {
    query_lsn(
        conn,
        "SELECT pg_current_wal_lsn()::text",
        None,
        "cannot read the WAL position",
    )
}

/// Runs `sql` (with one text `parameter`, if any), which returns one LSN as text, and
/// gives it (0 when it returns no row or NULL); `what` names the failure.
pub fn query_lsn(
    conn: &mut Conn,
    sql: &str,
    parameter: Option<&str>,
    what: &str,
) -> Result<u64, CliError> {
    let params: Vec<Option<&str>> = parameter.into_iter().map(Some).collect();
    let rows = conn
        .query(sql, &params)
        .map_err(|e| pg::server_error(what, &e))?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse::<Lsn>().ok())
        .map_or(0, |l| l.0))
}

/// An LSN in PostgreSQL's text form.
pub fn parse_lsn(text: &str) -> Result<u64, CliError> {
    text.parse::<Lsn>()
        .map(|l| l.0)
        .map_err(|e| CliError::Usage(format!("not an LSN: {text} ({e})")))
}
