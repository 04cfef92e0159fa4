//! A live PostgreSQL server: connecting, and the relation metadata of its tables from the
//! catalog (for `scry snapshot` and `scry load`).

use postgres::{Client, GenericClient, NoTls};
use scry_types::{ColumnMeta, RelationMeta, ReplicaIdentity};

use crate::commands::CliError;

/// Connects to `conninfo` (a libpq connection string or URL; no TLS).
pub fn connect(conninfo: &str) -> Result<Client, CliError> {
    Client::connect(conninfo, NoTls).map_err(|e| server_error("cannot connect", &e))
}

/// The server's identity: its cluster's system identifier and the connection's database
/// (what a stream's identity is made of, see `scry_apply::stream_identity`).
pub fn identity(client: &mut impl GenericClient) -> Result<(String, String), CliError> {
    let row = client
        .query_one(
            "SELECT system_identifier::text, current_database()::text FROM pg_control_system()",
            &[],
        )
        .map_err(|e| server_error("cannot read the server's system identifier", &e))?;
    Ok((row.get(0), row.get(1)))
}

/// The error for a failed query.
pub fn server_error(what: impl Into<String>, e: &postgres::Error) -> CliError {
    // The library's own text of a server error is just "db error": say the server's.
    let message = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {} ({detail})", db.severity(), db.message()),
            None => format!("{}: {}", db.severity(), db.message()),
        },
        None => e.to_string(),
    };
    CliError::Server {
        what: what.into(),
        message,
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
pub fn tables(client: &mut impl GenericClient, names: &[String]) -> Result<Vec<Table>, CliError> {
    let oids: Vec<u32> = if names.is_empty() {
        client
            .query(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
                   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'scry') \
                   AND n.nspname NOT LIKE 'pg\\_toast%' \
                 ORDER BY n.nspname, c.relname",
                &[],
            )
            .map_err(|e| server_error("cannot list the tables", &e))?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        let mut oids = Vec::new();
        for name in names {
            let row = client
                .query_one("SELECT to_regclass($1)::oid", &[name])
                .map_err(|e| server_error(format!("cannot look up table {name}"), &e))?;
            match row.get::<_, Option<u32>>(0) {
                Some(oid) => oids.push(oid),
                None => return Err(CliError::Usage(format!("no table {name} on the server"))),
            }
        }
        oids
    };
    oids.into_iter().map(|oid| table(client, oid)).collect()
}

/// The metadata of the table with OID `oid`: its live columns (dropped and generated ones
/// left out: COPY cannot write a generated column, the target computes it) with their type
/// OIDs and modifiers, its primary key columns, its replica identity.
fn table(client: &mut impl GenericClient, oid: u32) -> Result<Table, CliError> {
    let head = client
        .query_one(
            "SELECT n.nspname::text, c.relname::text, c.relkind::text, c.relreplident::text \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1",
            &[&oid],
        )
        .map_err(|e| server_error(format!("cannot read table {oid}"), &e))?;
    let (schema, name): (String, String) = (head.get(0), head.get(1));
    let columns = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.atttypmod, \
                    coalesce(a.attnum = ANY(i.indkey), false) \
             FROM pg_attribute a \
             LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' \
             ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(|e| server_error(format!("cannot read the columns of {schema}.{name}"), &e))?
        .iter()
        .map(|r| {
            let c = ColumnMeta::new(r.get::<_, String>(0), r.get(1)).type_modifier(r.get(2));
            if r.get(3) {
                c.key()
            } else {
                c
            }
        })
        .collect();
    let identity = head
        .get::<_, String>(3)
        .bytes()
        .next()
        .map_or(ReplicaIdentity::Default, ReplicaIdentity::from_pg_char);
    Ok(Table {
        relation: RelationMeta::new(oid, schema, name, columns).with_replica_identity(identity),
        partitioned: head.get::<_, String>(2) == "p",
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
