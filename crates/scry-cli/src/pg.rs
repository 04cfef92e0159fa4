//! A live PostgreSQL server: connecting (through `scry_conn`, the one connection layer:
//! libpq's connection strings, environment and password file, TLS), and the relation
//! metadata of its tables from the catalog (for `scry snapshot` and `scry load`).

use scry_conn::{Conn, WireError};
use scry_types::{ColumnMeta, RelationMeta, ReplicaIdentity};

use crate::commands::CliError;

/// Connects to `conninfo` (a libpq connection string or URL, completed as libpq does).
pub fn connect(conninfo: &str) -> Result<Conn, CliError> {
    Conn::connect(conninfo).map_err(|e| server_error("cannot connect", &e))
}

/// The server's identity: its cluster's system identifier and the connection's database
/// (what a stream's identity is made of, see `scry_apply::stream_identity`).
pub fn identity(conn: &mut Conn) -> Result<(String, String), CliError> {
    let row = first_row(
        conn,
        "SELECT system_identifier::text, current_database()::text FROM pg_control_system()",
        &[],
        "cannot read the server's system identifier",
    )?;
    Ok((text(&row, 0), text(&row, 1)))
}

/// The first row of `sql`; `what` names the failure.
pub fn first_row(
    conn: &mut Conn,
    sql: &str,
    params: &[Option<&str>],
    what: &str,
) -> Result<Vec<Option<String>>, CliError> {
    conn.query(sql, params)
        .map_err(|e| server_error(what, &e))?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Server {
            what: what.to_owned(),
            message: "no row".to_owned(),
        })
}

/// Column `i` of `row` as text (empty for NULL).
pub fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// Column `i` of `row` as a boolean (`t`).
pub fn flag(row: &[Option<String>], i: usize) -> bool {
    row.get(i).cloned().flatten().as_deref() == Some("t")
}

/// Column `i` of `row` as a number (0 for NULL or text that is not one).
pub fn number(row: &[Option<String>], i: usize) -> i64 {
    text(row, i).parse().unwrap_or(0)
}

/// The error for a failed request: [`CliError::Lost`] when the failure passes by itself.
pub fn server_error(what: impl Into<String>, e: &WireError) -> CliError {
    let (what, message) = (what.into(), e.to_string());
    if e.is_transient() {
        CliError::Lost { what, message }
    } else {
        CliError::Server { what, message }
    }
}

/// A user table to snapshot: its metadata and whether it is partitioned (then COPY reads it
/// through a query, which takes its partitions' rows).
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's relation metadata.
    pub relation: RelationMeta,
    /// A partitioned table (relkind `p`).
    pub partitioned: bool,
}

impl Table {
    /// `COPY ... TO STDOUT (FORMAT binary)` of the table's columns.
    pub fn copy_out_sql(&self) -> String {
        let columns = column_list(&self.relation);
        let name = qualified(&self.relation);
        if self.partitioned {
            format!("COPY (SELECT {columns} FROM {name}) TO STDOUT (FORMAT binary)")
        } else {
            format!("COPY {name} ({columns}) TO STDOUT (FORMAT binary)")
        }
    }
}

/// `"schema"."table"`, quoted.
pub fn qualified(rel: &RelationMeta) -> String {
    format!("{}.{}", quote(&rel.schema), quote(&rel.table))
}

/// The columns, quoted and comma-separated.
pub fn column_list(rel: &RelationMeta) -> String {
    rel.columns
        .iter()
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `PRIMARY KEY (columns)` of `rel`'s key columns, if it has any.
pub fn primary_key(rel: &RelationMeta) -> Option<String> {
    let keys: Vec<String> = rel
        .columns
        .iter()
        .filter(|c| c.is_key)
        .map(|c| quote(&c.name))
        .collect();
    (!keys.is_empty()).then(|| format!("PRIMARY KEY ({})", keys.join(", ")))
}

/// An identifier, double-quoted.
pub use scry_pg::text::quote_ident as quote;

/// The tables named (`schema.table` or `table`, as PostgreSQL resolves it), or every user
/// table and partitioned table (not partitions) when none is named, outside the schema
/// `scry` (scry's own state on a server it applied to).
pub fn tables(conn: &mut Conn, names: &[String]) -> Result<Vec<Table>, CliError> {
    let oids: Vec<u32> = if names.is_empty() {
        conn.query(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'scry') \
               AND n.nspname NOT LIKE 'pg\\_toast%' \
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(|e| server_error("cannot list the tables", &e))?
        .iter()
        .map(|r| u32::try_from(number(r, 0)).unwrap_or(0))
        .collect()
    } else {
        let mut oids = Vec::new();
        for name in names {
            let row = first_row(
                conn,
                "SELECT to_regclass($1)::oid",
                &[Some(name)],
                &format!("cannot look up table {name}"),
            )?;
            match row.first().cloned().flatten() {
                Some(oid) => oids.push(oid.parse().unwrap_or(0)),
                None => return Err(CliError::Usage(format!("no table {name} on the server"))),
            }
        }
        oids
    };
    oids.into_iter().map(|oid| table(conn, oid)).collect()
}

/// The metadata of the table with OID `oid`: its live columns (dropped and generated ones
/// left out: COPY cannot write a generated column, the target computes it) with their type
/// OIDs and modifiers, its primary key columns, its replica identity.
fn table(conn: &mut Conn, oid: u32) -> Result<Table, CliError> {
    let id = oid.to_string();
    let head = first_row(
        conn,
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relreplident::text \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid",
        &[Some(&id)],
        &format!("cannot read table {oid}"),
    )?;
    let (schema, name) = (text(&head, 0), text(&head, 1));
    let columns = conn
        .query(
            "SELECT a.attname::text, a.atttypid::int8, a.atttypmod, \
                    coalesce(a.attnum = ANY(i.indkey), false) \
             FROM pg_attribute a \
             LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
             WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' \
             ORDER BY a.attnum",
            &[Some(&id)],
        )
        .map_err(|e| server_error(format!("cannot read the columns of {schema}.{name}"), &e))?
        .iter()
        .map(|r| {
            let c = ColumnMeta::new(text(r, 0), u32::try_from(number(r, 1)).unwrap_or(0))
                .type_modifier(i32::try_from(number(r, 2)).unwrap_or(-1));
            if flag(r, 3) {
                c.key()
            } else {
                c
            }
        })
        .collect();
    let identity = text(&head, 3)
        .bytes()
        .next()
        .map_or(ReplicaIdentity::Default, ReplicaIdentity::from_pg_char);
    Ok(Table {
        relation: RelationMeta::new(oid, schema, name, columns).with_replica_identity(identity),
        partitioned: text(&head, 2) == "p",
    })
}

/// This process's peak resident set size so far, in bytes (Linux's `VmHWM`; `None`
/// elsewhere), for the commands' summaries.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `, peak RSS 5.6 MB` when known.
pub fn peak_rss_note() -> String {
    peak_rss().map_or_else(String::new, |b| {
        format!(", peak RSS {:.1} MB", b as f64 / 1e6)
    })
}
