//! The catalog of a source server: its identity, its user tables' relation metadata, and
//! the statements that make a table (and the user-defined types it needs) on a target.

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

/// The user-defined types the columns of the table `oid` need, dependencies first: each
/// as (kind `e`/`d`/`c`, qualified name, its statement's body after the name).
const TYPES: &str = "
WITH RECURSIVE needed(oid, depth) AS (
    SELECT a.atttypid, 0 FROM pg_attribute a
     WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
    UNION
    SELECT d.dep, n.depth + 1
      FROM needed n JOIN pg_type t ON t.oid = n.oid
      CROSS JOIN LATERAL (
          SELECT t.typelem WHERE t.typelem <> 0
          UNION ALL SELECT t.typbasetype WHERE t.typbasetype <> 0
          UNION ALL SELECT a.atttypid FROM pg_attribute a
           WHERE t.typtype = 'c' AND a.attrelid = t.typrelid AND a.attnum > 0
             AND NOT a.attisdropped
      ) d(dep)
     WHERE n.depth < 20
)
SELECT t.typtype::text, format('%I.%I', s.nspname, t.typname), s.nspname::text,
       CASE t.typtype
         WHEN 'e' THEN 'AS ENUM (' || (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                        ORDER BY e.enumsortorder)
                                       FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
         WHEN 'd' THEN 'AS ' || format_type(t.typbasetype, t.typtypmod)
              || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
              || coalesce(' DEFAULT ' || t.typdefault, '')
              || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(c.conname) || ' '
                                             || pg_get_constraintdef(c.oid), '' ORDER BY c.conname)
                             FROM pg_constraint c WHERE c.contypid = t.oid), '')
         WHEN 'c' THEN 'AS (' || (SELECT string_agg(quote_ident(a.attname) || ' '
                                        || format_type(a.atttypid, a.atttypmod), ', '
                                        ORDER BY a.attnum)
                                   FROM pg_attribute a
                                  WHERE a.attrelid = t.typrelid AND a.attnum > 0
                                    AND NOT a.attisdropped) || ')'
       END
  FROM (SELECT oid, max(depth) AS depth FROM needed GROUP BY oid) n
  JOIN pg_type t ON t.oid = n.oid
  JOIN pg_namespace s ON s.oid = t.typnamespace
 WHERE t.oid >= 16384
   AND (t.typtype IN ('e', 'd')
        OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
   AND NOT EXISTS (SELECT 1 FROM pg_depend x
                    WHERE x.classid = 'pg_type'::regclass AND x.objid = t.oid AND x.deptype = 'e')
 ORDER BY n.depth DESC, 2";

/// The table's columns: name, type, NOT NULL, generation expression.
const COLUMNS: &str = "
SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum";

/// The statements that make `table` (and the types it needs) on a target.
pub fn table_ddl(conn: &mut Conn, table: &Table) -> Result<String, SourceError> {
    let rel = &table.relation;
    let name = rel.qualified_name();
    let fail = |e: scry_conn::WireError| {
        SourceError::server(format!("cannot read the schema of {name}"), e)
    };
    let oid = rel.rel_id.to_string();
    let mut sql = String::new();
    let mut schemas = vec![rel.schema.clone()];
    for row in conn.query(TYPES, &[Some(&oid)]).map_err(fail)? {
        let (kind, qualified, schema) = (text(&row, 0), text(&row, 1), text(&row, 2));
        let body = row.get(3).cloned().flatten();
        if !schemas.contains(&schema) {
            sql.push_str(&format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n",
                quote(&schema)
            ));
            schemas.push(schema);
        }
        let create = if kind == "d" {
            "CREATE DOMAIN"
        } else {
            "CREATE TYPE"
        };
        // A type that exists is left as it is (CREATE TYPE has no IF NOT EXISTS).
        sql.push_str(&format!(
            "DO $scry$ BEGIN {create} {qualified} {}; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $scry$;\n",
            body.unwrap_or_default()
        ));
    }
    let mut columns = Vec::new();
    for row in conn.query(COLUMNS, &[Some(&oid)]).map_err(fail)? {
        let (column, ty, not_null) = (text(&row, 0), text(&row, 1), flag(&row, 2));
        let generated = row.get(3).cloned().flatten();
        let mut line = format!("{column} {ty}");
        if let Some(expression) = generated {
            line.push_str(&format!(" GENERATED ALWAYS AS ({expression}) STORED"));
        }
        if not_null {
            line.push_str(" NOT NULL");
        }
        columns.push(line);
    }
    columns.extend(primary_key(rel));
    Ok(format!(
        "CREATE SCHEMA IF NOT EXISTS {};\n{sql}CREATE TABLE IF NOT EXISTS {} ({});",
        quote(&rel.schema),
        qualified(rel),
        columns.join(", ")
    ))
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
