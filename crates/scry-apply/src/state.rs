//! What scry keeps on a target, all of it in the schema `scry`: which stream each replication
//! origin follows (`scry.origins`), which snapshot tables this target loaded from which
//! stream (`scry.snapshot_tables`), and, for the tables `scry replicate` copies in ranges of
//! their key, each range and the snapshot it was read in (`scry.snapshot_ranges`: `low`
//! included, `high` excluded, NULL unbounded; `0/0` not copied yet; `recopy` when rows of
//! an earlier copy may be there). `scry.pauses` holds `scry verify`'s requests that a
//! running replication stop before the first transaction committed at or after `at`, and
//! its answer (`paused_at`: the target then holds exactly the transactions before `at`).
//!
//! A stream is named by its *identity*: for scry's own producers `SYSTEM/DATABASE/SLOT` (the
//! source cluster's system identifier, its database and the slot), as `scry capture` writes
//! it into every batch's `source_id` and `scry replicate` reads it from the source. An origin
//! records how far the target has one stream; bound to its stream the first time it is used,
//! it refuses any other, so that two streams never share one position (origins belong to
//! the whole target cluster, and a shared one would skip the changes of one stream as those
//! of the other). The default origin name is derived from the stream identity and the target
//! database ([`origin_name`]), so two streams into one cluster never meet by default.

use crate::sql::literal;
use crate::ApplyError;
use scry_conn::{Conn, WireError};

/// The schema scry's state lives in on a target.
pub const SCHEMA: &str = "scry";

/// The statements that create scry's state on a target when it is missing.
const CREATE: &str = "\
CREATE SCHEMA IF NOT EXISTS scry;
CREATE TABLE IF NOT EXISTS scry.origins (
    origin text PRIMARY KEY,
    stream text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS scry.snapshot_tables (
    stream text NOT NULL,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    snapshot_lsn pg_lsn NOT NULL,
    rows bigint NOT NULL,
    table_oid oid NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, schema_name, table_name));
CREATE TABLE IF NOT EXISTS scry.snapshot_ranges (
    stream text NOT NULL,
    schema_name text NOT NULL,
    table_name text NOT NULL,
    n int4 NOT NULL,
    key_column text NOT NULL,
    low int8,
    high int8,
    snapshot_lsn pg_lsn NOT NULL DEFAULT '0/0',
    rows bigint NOT NULL DEFAULT 0,
    recopy boolean NOT NULL DEFAULT false,
    PRIMARY KEY (stream, schema_name, table_name, n));
CREATE TABLE IF NOT EXISTS scry.pauses (
    stream text PRIMARY KEY,
    at pg_lsn NOT NULL,
    paused_at pg_lsn,
    requested_at timestamptz NOT NULL DEFAULT now())";

/// The SQL that creates scry's state on a target (schema `scry`, its tables) when it is
/// missing; for programs that load through another client (`scry load`).
#[must_use]
pub fn create_sql() -> &'static str {
    CREATE
}

/// The default replication origin of the stream `stream` applied into the target database
/// `database`: `scry_` and 16 hex digits of a hash of both (FNV-1a, 64 bits), so that each
/// (stream, target database) pair has its own and the name stays short.
#[must_use]
pub fn origin_name(stream: &str, database: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream.bytes().chain([0]).chain(database.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("scry_{hash:016x}")
}

/// The identity of a slot's stream: `SYSTEM/DATABASE/SLOT`.
#[must_use]
pub fn stream_identity(system: &str, database: &str, slot: &str) -> String {
    format!("{system}/{database}/{slot}")
}

/// Creates the state when missing, works out the origin (`origin`, or the default for
/// `stream`) and binds it to `stream`, refusing one bound to another stream. Returns the
/// origin's name.
pub(crate) fn bind(
    conn: &mut Conn,
    stream: &str,
    origin: Option<&str>,
) -> Result<String, ApplyError> {
    let database = single(conn, "SELECT current_database()")
        .map_err(|e| setup("cannot read the target's database name", &e))?
        .unwrap_or_default();
    let name = origin.map_or_else(|| origin_name(stream, &database), str::to_owned);
    conn.simple(CREATE)
        .map_err(|e| setup("cannot create scry's state (schema scry)", &e))?;
    // Bound now, or already (to this stream or another: a concurrent first run may have
    // been first).
    let bound_now = !conn
        .simple(&format!(
            "INSERT INTO scry.origins (origin, stream) VALUES ({}, {}) \
             ON CONFLICT (origin) DO NOTHING RETURNING origin",
            literal(&name),
            literal(stream)
        ))
        .map_err(|e| setup("cannot record the origin in scry.origins", &e))?
        .is_empty();
    let follows = single(
        conn,
        &format!(
            "SELECT stream FROM scry.origins WHERE origin = {}",
            literal(&name)
        ),
    )
    .map_err(|e| setup("cannot read scry.origins", &e))?
    .unwrap_or_default();
    if follows != stream {
        return Err(ApplyError::OtherStream {
            origin: name,
            follows,
            stream: stream.to_owned(),
        });
    }
    if bound_now {
        // An origin of that name holds the progress of another target database (origins
        // belong to the cluster) or of this one before it was made anew: nothing this
        // database has. It starts again from nothing.
        conn.simple(&format!(
            "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin \
             WHERE roname = {}",
            literal(&name)
        ))
        .map_err(|e| in_use(&name, &e))?;
    }
    Ok(name)
}

/// The condition, on `scry.snapshot_tables` as `l`, that `stream`'s snapshot of
/// `schema.table` at `position` was loaded into the table as it is now: the same table (its
/// OID), so that a table dropped and made anew is loaded again. (Not its storage: a
/// TRUNCATE the stream itself carries gives the table new storage, and the snapshot must
/// not come back over the changes after it.)
#[must_use]
pub fn loaded_condition(stream: &str, schema: &str, table: &str, position: u64) -> String {
    let name = literal(&format!(
        "{}.{}",
        scry_pg::text::quote_ident(schema),
        scry_pg::text::quote_ident(table)
    ));
    format!(
        "l.stream = {} AND l.schema_name = {} AND l.table_name = {} \
         AND l.snapshot_lsn = {}::pg_lsn AND l.table_oid = to_regclass({name})",
        literal(stream),
        literal(schema),
        literal(table),
        literal(&scry_types::Lsn(position).to_string()),
    )
}

/// True when the target records that `stream`'s snapshot of `schema.table` at `position`
/// was loaded into the table as it is now (see [`loaded_condition`]).
pub(crate) fn loaded(
    conn: &mut Conn,
    stream: &str,
    schema: &str,
    table: &str,
    position: u64,
) -> Result<bool, WireError> {
    Ok(single(
        conn,
        &format!(
            "SELECT 1 FROM scry.snapshot_tables l WHERE {}",
            loaded_condition(stream, schema, table, position)
        ),
    )?
    .is_some())
}

/// The statement that records, inside the load's own transaction, that `stream`'s snapshot
/// of `schema.table` at `position` is loaded with `rows` rows (and into which table).
#[must_use]
pub fn record_loaded_sql(
    stream: &str,
    schema: &str,
    table: &str,
    position: u64,
    rows: u64,
) -> String {
    let name = literal(&format!(
        "{}.{}",
        scry_pg::text::quote_ident(schema),
        scry_pg::text::quote_ident(table)
    ));
    format!(
        "INSERT INTO scry.snapshot_tables \
         (stream, schema_name, table_name, snapshot_lsn, rows, table_oid) \
         VALUES ({s}, {n}, {t}, {l}::pg_lsn, {rows}, {name}::regclass) \
         ON CONFLICT (stream, schema_name, table_name) DO UPDATE \
         SET snapshot_lsn = EXCLUDED.snapshot_lsn, rows = EXCLUDED.rows, \
         table_oid = EXCLUDED.table_oid, loaded_at = now()",
        s = literal(stream),
        n = literal(schema),
        t = literal(table),
        l = literal(&scry_types::Lsn(position).to_string()),
    )
}

/// What [`forget`] removed from a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The origin (the one named, or the stream's default).
    pub origin: String,
    /// The origin existed and was dropped.
    pub origin_dropped: bool,
    /// Records of `scry.origins` deleted.
    pub origin_records: u64,
    /// Records of `scry.snapshot_tables` deleted.
    pub table_records: u64,
    /// The target had scry's state at all.
    pub had_state: bool,
    /// The schema `scry` was dropped, nothing else being in it.
    pub schema_dropped: bool,
}

/// Removes from a target what scry keeps there for `stream`: its origin (`origin`, or the
/// default for the stream and the target database), the stream's records in
/// `scry.origins`, `scry.snapshot_tables` and `scry.snapshot_ranges`, and the schema `scry` once nothing else is in
/// it. An origin another session holds is refused.
///
/// # Errors
/// [`ApplyError::Setup`] naming what could not be removed (the records are removed in one
/// transaction, or not at all).
pub fn forget(
    conn: &mut Conn,
    stream: &str,
    origin: Option<&str>,
) -> Result<Forgotten, ApplyError> {
    let head = conn
        .simple(
            "SELECT to_regclass('scry.origins') IS NOT NULL \
                AND to_regclass('scry.snapshot_tables') IS NOT NULL, current_database()",
        )
        .map_err(|e| setup("cannot look for schema scry", &e))?;
    let field = |i: usize| head.first().and_then(|r| r.get(i).cloned().flatten());
    let had_state = field(0).as_deref() == Some("t");
    let database = field(1).unwrap_or_default();
    let origin = origin.map_or_else(|| origin_name(stream, &database), str::to_owned);
    let origin_dropped = single(
        conn,
        &format!(
            "SELECT count(pg_replication_origin_drop(roname)) FROM pg_replication_origin \
             WHERE roname = {}",
            literal(&origin)
        ),
    )
    .map_err(|e| in_use(&origin, &e))?
    .is_some_and(|n| n != "0");
    let mut forgotten = Forgotten {
        origin,
        origin_dropped,
        origin_records: 0,
        table_records: 0,
        had_state,
        schema_dropped: false,
    };
    if !had_state {
        return Ok(forgotten);
    }
    let count = |conn: &mut Conn, sql: String| -> Result<u64, WireError> {
        Ok(single(conn, &sql)?
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    };
    let removed = (|| {
        conn.simple("BEGIN")?;
        forgotten.origin_records = count(
            conn,
            format!(
                "WITH d AS (DELETE FROM scry.origins WHERE origin = {} RETURNING 1) \
                 SELECT count(*) FROM d",
                literal(&forgotten.origin)
            ),
        )?;
        forgotten.table_records = count(
            conn,
            format!(
                "WITH d AS (DELETE FROM scry.snapshot_tables WHERE stream = {} RETURNING 1) \
                 SELECT count(*) FROM d",
                literal(stream)
            ),
        )?;
        // A state made before key ranges were has no table of them.
        let ranges = single(
            conn,
            "SELECT to_regclass('scry.snapshot_ranges') IS NOT NULL",
        )?
        .as_deref()
            == Some("t");
        if ranges {
            conn.simple(&format!(
                "DELETE FROM scry.snapshot_ranges WHERE stream = {}",
                literal(stream)
            ))?;
        }
        let pauses =
            single(conn, "SELECT to_regclass('scry.pauses') IS NOT NULL")?.as_deref() == Some("t");
        if pauses {
            conn.simple(&format!(
                "DELETE FROM scry.pauses WHERE stream = {}",
                literal(stream)
            ))?;
        }
        forgotten.schema_dropped = single(
            conn,
            &format!(
                "SELECT NOT EXISTS (SELECT 1 FROM scry.origins) \
                    AND NOT EXISTS (SELECT 1 FROM scry.snapshot_tables){}",
                match (ranges, pauses) {
                    (false, _) => "",
                    (true, false) => " AND NOT EXISTS (SELECT 1 FROM scry.snapshot_ranges)",
                    (true, true) => {
                        " AND NOT EXISTS (SELECT 1 FROM scry.snapshot_ranges) \
                         AND NOT EXISTS (SELECT 1 FROM scry.pauses)"
                    }
                }
            ),
        )?
        .as_deref()
            == Some("t");
        if forgotten.schema_dropped {
            conn.simple("DROP SCHEMA scry CASCADE")?;
        }
        conn.simple("COMMIT").map(drop)
    })();
    if let Err(e) = removed {
        let _ = conn.simple("ROLLBACK");
        return Err(setup("cannot remove the stream's state", &e));
    }
    Ok(forgotten)
}

/// The first column of the first row, if any.
fn single(conn: &mut Conn, sql: &str) -> Result<Option<String>, WireError> {
    Ok(conn
        .simple(sql)?
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten()))
}

/// The error of an origin that cannot be taken or dropped: in use by another session, or
/// refused.
pub(crate) fn in_use(origin: &str, e: &WireError) -> ApplyError {
    if e.code() == Some("55006") {
        ApplyError::Setup(format!(
            "replication origin {origin} is in use by another session ({e}): another scry \
             apply or scry replicate is applying this stream into this target"
        ))
    } else {
        setup(&format!("cannot take the replication origin {origin}"), e)
    }
}

fn setup(what: &str, e: &WireError) -> ApplyError {
    ApplyError::Setup(format!("{what}: {e}")).or_lost(crate::Side::Target, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stream_and_target_database_has_its_own_default_origin() {
        let a = origin_name("7300000000000000001/shop/cdc", "replica");
        assert_eq!(a.len(), "scry_".len() + 16);
        assert!(a.starts_with("scry_"));
        assert_eq!(a, origin_name("7300000000000000001/shop/cdc", "replica"));
        assert_ne!(a, origin_name("7300000000000000001/shop/cdc", "replica2"));
        assert_ne!(a, origin_name("7300000000000000001/shop/cdc2", "replica"));
        // The separator keeps "ab" + "c" apart from "a" + "bc".
        assert_ne!(origin_name("ab", "c"), origin_name("a", "bc"));
        // FNV-1a of the empty stream and database (one zero byte): a fixed value.
        assert_eq!(origin_name("", ""), "scry_af63bd4c8601b7df");
    }

    #[test]
    fn a_record_names_stream_table_position_and_the_table() {
        let sql = record_loaded_sql("1/db/s", "public", "o'k", 0x16_B374_D848, 7);
        assert!(sql.contains(
            "VALUES ('1/db/s', 'public', 'o''k', '16/B374D848'::pg_lsn, 7, \
             '\"public\".\"o''k\"'::regclass)"
        ));
        let condition = loaded_condition("1/db/s", "public", "t", 0x100);
        assert!(
            condition.contains("l.snapshot_lsn = '0/100'::pg_lsn"),
            "{condition}"
        );
        assert!(
            condition.contains("l.table_oid = to_regclass('\"public\".\"t\"')"),
            "{condition}"
        );
    }
}
