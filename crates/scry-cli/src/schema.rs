//! A table's schema, read from the source's catalog as the statements that make it on a
//! target: the user-defined types its columns need (enums, domains, composite types, and
//! through them arrays of these), in dependency order, then the table with every column
//! (generated ones with their expression), NOT NULL and its primary key.
//!
//! `scry snapshot` writes them before each table's rows as a Ddl event of object type
//! [`TABLE_SCHEMA`], and `scry load --create` runs them; every statement is idempotent (a
//! type or table that exists is left as it is).

use scry_conn::Conn;
use scry_types::{DatabaseEvent, OperationType};

use crate::commands::CliError;
use crate::pg;

pub use scry_pg::snapshot::TABLE_SCHEMA;

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
pub fn table_ddl(conn: &mut Conn, table: &pg::Table) -> Result<String, CliError> {
    let rel = &table.relation;
    let name = rel.qualified_name();
    let fail =
        |e: scry_conn::WireError| pg::server_error(format!("cannot read the schema of {name}"), &e);
    let oid = rel.rel_id.to_string();
    let mut sql = String::new();
    let mut schemas = vec![rel.schema.clone()];
    for row in conn.query(TYPES, &[Some(&oid)]).map_err(fail)? {
        let (kind, qualified, schema) = (pg::text(&row, 0), pg::text(&row, 1), pg::text(&row, 2));
        let body = row.get(3).cloned().flatten();
        if !schemas.contains(&schema) {
            sql.push_str(&format!(
                "CREATE SCHEMA IF NOT EXISTS {};\n",
                pg::quote(&schema)
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
        let (column, ty, not_null) = (pg::text(&row, 0), pg::text(&row, 1), pg::flag(&row, 2));
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
    columns.extend(pg::primary_key(rel));
    Ok(format!(
        "CREATE SCHEMA IF NOT EXISTS {};\n{sql}CREATE TABLE IF NOT EXISTS {} ({});",
        pg::quote(&rel.schema),
        pg::qualified(rel),
        columns.join(", ")
    ))
}

/// The Ddl event that carries `table`'s schema (`sql`) in a snapshot stream, at `position`.
pub fn schema_event(table: &pg::Table, sql: String, position: u64) -> DatabaseEvent {
    let rel = &table.relation;
    let mut event = DatabaseEvent::new(OperationType::Ddl, &rel.schema, &rel.table);
    event.position = position;
    event.ddl_sql = Some(sql);
    event.ddl_object_type = Some(TABLE_SCHEMA.to_owned());
    event
}

/// `table`'s schema as one framed batch (its Ddl event, [`schema_event`]) that the encoder's
/// next batch number goes to: the frame `scry snapshot` writes before the table's rows.
pub fn schema_frame(
    conn: &mut Conn,
    table: &pg::Table,
    position: u64,
    encoder: &mut scry_pg::snapshot::SnapshotEncoder,
    stream: &str,
) -> Result<Vec<u8>, CliError> {
    use scry_codec::frame::{FrameEncoding, FrameWriter, PayloadKind};
    let event = schema_event(table, table_ddl(conn, table)?, position);
    let seq = encoder.next_batch_seq();
    encoder.set_next_batch_seq(seq + 1);
    let batch = scry_types::DatabaseEventBatch::with_events(vec![event])
        .with_source_id(stream)
        .with_batch_seq(seq);
    let encoding = encoder.encoding();
    let name = table.relation.qualified_name();
    let payload =
        scry_codec::serialize_batch_with(&batch, encoding).map_err(|source| CliError::Encode {
            what: format!("the schema of {name}"),
            source,
        })?;
    let frame_encoding = match encoding {
        scry_codec::Encoding::Compat => FrameEncoding::Compat,
        scry_codec::Encoding::Compact => FrameEncoding::Compact,
    };
    let mut writer = FrameWriter::new(Vec::with_capacity(payload.len() + 64));
    writer
        .write_frame(PayloadKind::Batch, frame_encoding, &payload)
        .map_err(|e| CliError::Load(format!("the schema of {name}: {e}")))?;
    Ok(writer.into_inner())
}
