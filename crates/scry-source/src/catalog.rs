//! The catalog of a source server: its identity, its user tables' relation metadata, and
//! the Ddl event that carries a table's schema in a snapshot stream (the statements
//! themselves are [`crate::schema`]'s).

use scry_conn::Conn;
use scry_types::{ColumnMeta, DatabaseEvent, OperationType, RelationMeta, ReplicaIdentity};

use crate::rows::{first_row, flag, number, text};
use crate::SourceError;

pub use scry_pg::snapshot::TABLE_SCHEMA;
/// An identifier, double-quoted.
pub use scry_pg::text::quote_ident as quote;

/// The server's identity: its cluster's system identifier and the connection's database
/// (what a stream's identity is made of, see `scry_apply::stream_identity`).
pub fn identity(conn: &mut Conn) -> Result<(String, String), SourceError> {
    let row = first_row(
        conn,
        "SELECT system_identifier::text, current_database()::text FROM pg_control_system()",
        &[],
        "cannot read the server's system identifier",
    )?;
    Ok((text(&row, 0), text(&row, 1)))
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

/// The tables named (`schema.table` or `table`, as PostgreSQL resolves it), or every user
/// table and partitioned table (not partitions) when none is named, outside the schema
/// `scry` (scry's own state on a server it applied to).
pub fn tables(conn: &mut Conn, names: &[String]) -> Result<Vec<Table>, SourceError> {
    let oids: Vec<u32> = if names.is_empty() {
        conn.query(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'scry') \
               AND n.nspname NOT LIKE 'pg\\_toast%' \
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(|e| SourceError::server("cannot list the tables", e))?
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
                None => {
                    return Err(SourceError::Refused(format!(
                        "no table {name} on the server"
                    )))
                }
            }
        }
        oids
    };
    oids.into_iter().map(|oid| table(conn, oid)).collect()
}

/// The metadata of the table with OID `oid`: its live columns (dropped and generated ones
/// left out: COPY cannot write a generated column, the target computes it) with their type
/// OIDs and modifiers, its primary key columns, its replica identity.
fn table(conn: &mut Conn, oid: u32) -> Result<Table, SourceError> {
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
        .map_err(|e| SourceError::server(format!("cannot read the columns of {schema}.{name}"), e))?
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

/// The Ddl event that carries `table`'s schema (`sql`) in a snapshot stream, at `position`.
pub fn schema_event(table: &Table, sql: String, position: u64) -> DatabaseEvent {
    let rel = &table.relation;
    let mut event = DatabaseEvent::new(OperationType::Ddl, &rel.schema, &rel.table);
    event.position = position;
    event.ddl_sql = Some(sql);
    event.ddl_object_type = Some(TABLE_SCHEMA.to_owned());
    event
}
