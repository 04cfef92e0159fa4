//! What a capture makes and reads on the source: the publication of the tables that can be
//! replicated as they are, slots, the DDL event trigger, positions and sequences.

use std::time::{Duration, Instant};

use scry_conn::Conn;
use scry_types::Lsn;

use crate::rows::{flag, number, text};
use crate::SourceError;

/// An identifier, double-quoted.
use scry_pg::text::quote_ident as quote;

/// The values of the server's sequences (outside the system schemas), as `setval` takes
/// them.
pub fn sequences(conn: &mut Conn) -> Result<Vec<scry_types::SequenceValue>, SourceError> {
    let rows = conn
        .query(
            "SELECT schemaname::text, sequencename::text, coalesce(last_value, start_value), \
                    last_value IS NOT NULL, increment_by, min_value, max_value \
             FROM pg_sequences \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
            &[],
        )
        .map_err(|e| SourceError::server("cannot read the sequences", e))?;
    Ok(rows
        .iter()
        .map(|r| scry_types::SequenceValue {
            schema: text(r, 0),
            name: text(r, 1),
            last_value: number(r, 2),
            is_called: flag(r, 3),
            increment_by: number(r, 4),
            min_value: number(r, 5),
            max_value: number(r, 6),
        })
        .collect())
}

/// The tables `--create` publishes: every user table (and partitioned table) whose rows an
/// UPDATE or DELETE can be replicated by as it is: a primary key (under the default replica
/// identity), a replica identity index, or REPLICA IDENTITY FULL. Those left out, with why:
/// published, a table without any would refuse the application's UPDATE and DELETE.
/// Only the tables `selection` chooses are listed.
pub fn publishable(
    conn: &mut Conn,
    selection: &Selection,
) -> Result<(Vec<String>, Vec<String>), SourceError> {
    let (tables, schemas) = (selection.tables_param(), selection.schemas_param());
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
               AND ($1::text[] IS NULL OR c.relname = ANY($1::text[]) \
                    OR n.nspname || '.' || c.relname = ANY($1::text[])) \
               AND ($2::text[] IS NULL OR n.nspname = ANY($2::text[])) \
             ORDER BY n.nspname, c.relname",
            &[tables.as_deref(), schemas.as_deref()],
        )
        .map_err(|e| SourceError::server("source: cannot list the tables to publish", e))?;
    let (mut published, mut left_out) = (Vec::new(), Vec::new());
    for row in rows {
        if flag(&row, 1) {
            published.push(text(&row, 0));
        } else {
            left_out.push(text(&row, 0));
        }
    }
    Ok((published, left_out))
}

/// What [`create_publication`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// The publication was there already: nothing changed.
    Existed,
    /// Created `FOR ALL TABLES`.
    AllTables,
    /// Created for `tables` (qualified, quoted); `left_out` have no key or replica identity.
    Tables {
        /// The tables published.
        tables: Vec<String>,
        /// The tables left out.
        left_out: Vec<String>,
    },
}

/// Which tables a command works on: those named (`schema.table`, or `table` in any schema)
/// and those of the schemas named; every user table when both are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Tables, as `schema.table` or `table` (unquoted).
    pub tables: Vec<String>,
    /// Schemas, unquoted.
    pub schemas: Vec<String>,
}

impl Selection {
    fn tables_param(&self) -> Option<String> {
        (!self.tables.is_empty()).then(|| text_array(&self.tables))
    }

    fn schemas_param(&self) -> Option<String> {
        (!self.schemas.is_empty()).then(|| text_array(&self.schemas))
    }
}

/// `items` as a PostgreSQL text array literal (`{"a","b"}`).
fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// The publication `publication`, when missing: for the tables `selection` chooses that can
/// be replicated as they are ([`publishable`]), or for all tables with `all_tables`.
///
/// # Errors
/// [`SourceError::Refused`] when no table can be published; the server's errors.
pub fn create_publication(
    conn: &mut Conn,
    publication: &str,
    all_tables: bool,
    selection: &Selection,
) -> Result<Published, SourceError> {
    if publication_exists(conn, publication)? {
        return Ok(Published::Existed);
    }
    let name = quote(publication);
    if all_tables {
        conn.simple(&format!("CREATE PUBLICATION {name} FOR ALL TABLES"))
            .map_err(|e| SourceError::server("cannot create the publication", e))?;
        return Ok(Published::AllTables);
    }
    let (tables, left_out) = publishable(conn, selection)?;
    if tables.is_empty() {
        let note = if left_out.is_empty() {
            String::new()
        } else {
            format!(" (tables: {})", left_out.join(", "))
        };
        return Err(SourceError::Refused(format!(
            "no table of the source has a primary key or a replica identity, so none can be \
             published without breaking the application's UPDATE and DELETE{note}; give one a \
             key (or ALTER TABLE ... REPLICA IDENTITY FULL), or use --all-tables"
        )));
    }
    conn.simple(&format!(
        "CREATE PUBLICATION {name} FOR TABLE {}",
        tables.join(", ")
    ))
    .map_err(|e| SourceError::server("cannot create the publication", e))?;
    Ok(Published::Tables { tables, left_out })
}

/// True when the source has the slot `slot`.
pub fn slot_exists(conn: &mut Conn, slot: &str) -> Result<bool, SourceError> {
    Ok(!conn
        .query(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[Some(slot)],
        )
        .map_err(|e| SourceError::server("cannot read pg_replication_slots", e))?
        .is_empty())
}

/// Creates the pgoutput slot `slot` unless it exists.
pub fn create_slot(conn: &mut Conn, slot: &str) -> Result<(), SourceError> {
    if !slot_exists(conn, slot)? {
        conn.query(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[Some(slot)],
        )
        .map_err(|e| SourceError::server("cannot create the replication slot", e))?;
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
pub fn create_ddl_trigger(conn: &mut Conn) -> Result<(), SourceError> {
    let exists = !conn
        .simple("SELECT 1 FROM pg_event_trigger WHERE evtname = 'scry_ddl'")
        .map_err(|e| SourceError::server("cannot read pg_event_trigger", e))?
        .is_empty();
    if exists {
        return Ok(());
    }
    conn.simple(DDL_TRIGGER_SQL)
        .map(drop)
        .map_err(|e| SourceError::server("cannot create the DDL event trigger", e))
}

/// Checks that `slot` is a pgoutput slot; returns its confirmed position.
pub fn check_slot(conn: &mut Conn, slot: &str) -> Result<u64, SourceError> {
    let rows = conn
        .query(
            "SELECT plugin::text, confirmed_flush_lsn::text FROM pg_replication_slots \
             WHERE slot_name = $1",
            &[Some(slot)],
        )
        .map_err(|e| SourceError::server("cannot read pg_replication_slots", e))?;
    let Some(row) = rows.first() else {
        return Err(SourceError::Refused(format!(
            "no replication slot {slot} (--create makes it)"
        )));
    };
    match row.first().cloned().flatten() {
        Some(plugin) if plugin == "pgoutput" => row
            .get(1)
            .cloned()
            .flatten()
            .map_or(Ok(0), |l| parse_lsn(&l)),
        plugin => Err(SourceError::Refused(format!(
            "slot {slot} uses the plugin {}, not pgoutput",
            plugin.unwrap_or_else(|| "none (a physical slot)".to_owned())
        ))),
    }
}

/// The server's WAL position now.
pub fn current_lsn(conn: &mut Conn) -> Result<u64, SourceError> {
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
) -> Result<u64, SourceError> {
    let params: Vec<Option<&str>> = parameter.into_iter().map(Some).collect();
    let rows = conn
        .query(sql, &params)
        .map_err(|e| SourceError::server(what, e))?;
    Ok(rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|s| s.parse::<Lsn>().ok())
        .map_or(0, |l| l.0))
}

/// An LSN in PostgreSQL's text form.
pub fn parse_lsn(text: &str) -> Result<u64, SourceError> {
    text.parse::<Lsn>()
        .map(|l| l.0)
        .map_err(|e| SourceError::Refused(format!("not an LSN: {text} ({e})")))
}
/// Drops the slot `name` unless another process holds it (one held by the walsender of a
/// process that died is waited for, a few seconds at most); true when it existed.
pub fn drop_slot(conn: &mut Conn, name: &str, wait: Duration) -> Result<bool, SourceError> {
    let deadline = Instant::now() + wait;
    loop {
        let rows = conn
            .query(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1",
                &[Some(name)],
            )
            .map_err(|e| SourceError::server("cannot read pg_replication_slots", e))?;
        match rows.first().map(|r| r.first().cloned().flatten()) {
            None => return Ok(false),
            Some(Some(pid)) if Instant::now() >= deadline => {
                return Err(SourceError::Refused(format!(
                    "slot {name} is in use by the walsender of PID {pid}: stop the scry \
                     replicate or capture reading it first"
                )))
            }
            Some(Some(_)) => std::thread::sleep(Duration::from_millis(50)),
            Some(None) => match conn.query("SELECT pg_drop_replication_slot($1)", &[Some(name)]) {
                Ok(_) => return Ok(true),
                // Taken between the look and the drop: look again.
                Err(e) if e.code() == Some("55006") && Instant::now() < deadline => {}
                Err(e) => return Err(SourceError::server("cannot drop the slot", e)),
            },
        }
    }
}

/// True when the source has the publication `publication`.
///
/// # Errors
/// [`SourceError::Server`] when `pg_publication` cannot be read.
pub fn publication_exists(conn: &mut Conn, publication: &str) -> Result<bool, SourceError> {
    Ok(!conn
        .query(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[Some(publication)],
        )
        .map_err(|e| SourceError::server("cannot read pg_publication", e))?
        .is_empty())
}

/// The tables the publication `publication` names itself (its own members, partitioned
/// tables as themselves), qualified and quoted; for `FOR ALL TABLES`, every table that can
/// be published ([`publishable`]).
///
/// # Errors
/// [`SourceError::Refused`] when there is no such publication; the server's errors.
pub fn published_tables(conn: &mut Conn, publication: &str) -> Result<Vec<String>, SourceError> {
    let rows = conn
        .query(
            "SELECT p.puballtables, format('%I.%I', n.nspname, c.relname) \
             FROM pg_publication p \
             LEFT JOIN pg_publication_rel r ON r.prpubid = p.oid \
             LEFT JOIN pg_class c ON c.oid = r.prrelid \
             LEFT JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE p.pubname = $1 ORDER BY 2",
            &[Some(publication)],
        )
        .map_err(|e| SourceError::server("cannot read the publication's tables", e))?;
    let Some(first) = rows.first() else {
        return Err(SourceError::Refused(format!(
            "no publication {publication} on the source"
        )));
    };
    if flag(first, 0) {
        return Ok(publishable(conn, &Selection::default())?.0);
    }
    Ok(rows
        .iter()
        .filter(|r| r.get(1).cloned().flatten().is_some())
        .map(|r| text(r, 1))
        .collect())
}

/// A slot just created over a replication connection with its snapshot exported; the
/// snapshot stays usable as long as this value (its connection) lives.
pub struct ExportedSlot {
    /// The exported snapshot's name, for `SET TRANSACTION SNAPSHOT`.
    pub snapshot: String,
    /// The slot's consistent point: the changes after it are the slot's, those before are
    /// in the snapshot.
    pub consistent_point: u64,
    _conn: Conn,
}

impl std::fmt::Debug for ExportedSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedSlot")
            .field("snapshot", &self.snapshot)
            .field("consistent_point", &Lsn(self.consistent_point))
            .finish_non_exhaustive()
    }
}

/// `CREATE_REPLICATION_SLOT slot LOGICAL pgoutput EXPORT_SNAPSHOT` over a replication
/// connection to `conninfo` (the spelling every server from PostgreSQL 10 on takes).
///
/// # Errors
/// [`SourceError::Server`] when the server refuses (the slot exists, no free slot).
pub fn create_slot_exporting(conninfo: &str, slot: &str) -> Result<ExportedSlot, SourceError> {
    exporting(conninfo, slot, "")
}

/// As [`create_slot_exporting`], a `TEMPORARY` slot: one that holds nothing once the
/// returned value (its connection) is gone, and never outlives the process. What a snapshot
/// at a known position is taken with, when only the snapshot is wanted (its position: the
/// consistent point; see `scry_apply::Replication::skip_copied`).
///
/// # Errors
/// As [`create_slot_exporting`].
pub fn snapshot_at_position(conninfo: &str, slot: &str) -> Result<ExportedSlot, SourceError> {
    exporting(conninfo, slot, " TEMPORARY")
}

fn exporting(conninfo: &str, slot: &str, temporary: &str) -> Result<ExportedSlot, SourceError> {
    let mut conn = Conn::connect_replication(conninfo)
        .map_err(|e| SourceError::server("cannot connect for replication", e))?;
    let row = conn
        .simple(&format!(
            "CREATE_REPLICATION_SLOT {}{temporary} LOGICAL pgoutput EXPORT_SNAPSHOT",
            quote(slot)
        ))
        .map_err(|e| SourceError::server("cannot create the replication slot", e))?
        .into_iter()
        .next()
        .unwrap_or_default();
    let (Some(point), Some(snapshot)) =
        (row.get(1).cloned().flatten(), row.get(2).cloned().flatten())
    else {
        return Err(SourceError::Refused(
            "CREATE_REPLICATION_SLOT gave no consistent point or snapshot name".to_owned(),
        ));
    };
    Ok(ExportedSlot {
        snapshot,
        consistent_point: parse_lsn(&point)?,
        _conn: conn,
    })
}
