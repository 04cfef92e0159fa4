//! The statements that make a table on a target as it is on the source, read from the
//! source's catalog with the server's own deparsers (`format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_partkeydef`), in the order a fast
//! copy wants them:
//!
//! 1. [`TableSchema::create`], before the rows: the schemas, the user-defined types the
//!    columns need (enums, domains with their checks, composites; dependencies first), the
//!    sequences the columns use, the table with every column's type, collation, default,
//!    identity, generation expression and NOT NULL, its storage options and partition key,
//!    its partitions (all levels), the sequences' owners and the comments.
//! 2. [`TableSchema::keys`], after the rows: primary key, unique, exclusion and check
//!    constraints, under their names.
//! 3. [`TableSchema::indexes`]: the other indexes (those of a partitioned table are made on
//!    its partitions by the server).
//! 4. [`TableSchema::foreign_keys`], once every table has its rows and keys.
//! 5. [`TableSchema::replica_identity`] when it is not the default.
//!
//! Every statement can run again: `IF NOT EXISTS` where PostgreSQL has it, otherwise a `DO`
//! block that passes over what exists. Owners, grants and publications are not copied.

use scry_conn::Conn;

use crate::catalog::{qualified, quote, Table};
use crate::rows::{flag, text};
use crate::SourceError;

/// A table's statements, in the order they run (see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSchema {
    /// The table, `"schema"."name"`.
    pub table: String,
    /// The table's OID on the source (what foreign keys reference).
    pub table_oid: u32,
    /// Before the rows: schemas, types, sequences, the table and its partitions.
    pub create: Vec<String>,
    /// After the rows: primary key, unique, exclusion and check constraints.
    pub keys: Vec<String>,
    /// The other indexes.
    pub indexes: Vec<String>,
    /// The foreign keys, each with the OID of the table it references.
    pub foreign_keys: Vec<(u32, String)>,
    /// `ALTER TABLE ... REPLICA IDENTITY ...`, when not the default.
    pub replica_identity: Option<String>,
}

impl TableSchema {
    /// What `load --create` runs before a table's rows: the table with its keys and checks,
    /// so that the changes after the snapshot can be applied to it. (Its other indexes and
    /// foreign keys are not made: a snapshot stream loads tables one by one.)
    #[must_use]
    pub fn load_sql(&self) -> String {
        let mut sql = self.create.join("\n");
        for statement in self.keys.iter().chain(&self.replica_identity) {
            sql.push('\n');
            sql.push_str(statement);
        }
        sql
    }
}

/// A statement that runs once: `statement`, passed over when what it makes exists.
fn once(statement: &str) -> String {
    format!(
        "DO $scry$ BEGIN {statement}; EXCEPTION WHEN duplicate_object OR duplicate_table \
         OR invalid_table_definition THEN NULL; END $scry$;"
    )
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

/// The table: kind, persistence, replica identity, partition key, storage options, comment.
const TABLE: &str = "
SELECT c.relkind::text, c.relreplident::text, pg_get_partkeydef(c.oid),
       array_to_string(c.reloptions, ', '), obj_description(c.oid, 'pg_class'),
       (SELECT quote_ident(ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident)
  FROM pg_class c WHERE c.oid = $1::oid";

/// The columns: name, type, NOT NULL, generated (`s`), identity (`a`, `d`), default or
/// generation expression, collation when not the type's, comment, identity sequence's
/// options.
const COLUMNS: &str = "
SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attgenerated::text, a.attidentity::text, pg_get_expr(d.adbin, d.adrelid),
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN format('%I.%I', cn.nspname, co.collname) END,
       col_description(a.attrelid, a.attnum),
       (SELECT format('SEQUENCE NAME %I.%I ', sn.nspname, s.relname) || SEQUENCE_OPTIONS
          FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid
          JOIN pg_namespace sn ON sn.oid = s.relnamespace
          JOIN pg_sequence q ON q.seqrelid = s.oid
         WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid
           AND dep.refobjsubid = a.attnum AND dep.deptype = 'i')
  FROM pg_attribute a
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum";

/// A sequence's options (`q` is its `pg_sequence` row) but its type, as CREATE SEQUENCE
/// (after `AS type`) and an identity column (whose type is the column's) take them.
const SEQUENCE_OPTIONS: &str =
    "format('INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s',
       q.seqincrement, q.seqmin, q.seqmax, q.seqstart, q.seqcache,
       CASE WHEN q.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END)";

/// The sequences the columns' defaults use or the columns own (serial), other than identity
/// sequences: qualified name, schema, options, the owning column (when owned).
const SEQUENCES: &str = "
SELECT format('%I.%I', sn.nspname, s.relname), sn.nspname::text,
       'AS ' || format_type(q.seqtypid, NULL) || ' ' || SEQUENCE_OPTIONS,
       (SELECT quote_ident(a.attname) FROM pg_depend o
          JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid
         WHERE o.classid = 'pg_class'::regclass AND o.objid = s.oid AND o.deptype = 'a'
           AND o.refobjid = $1::oid)
  FROM pg_class s
  JOIN pg_namespace sn ON sn.oid = s.relnamespace
  JOIN pg_sequence q ON q.seqrelid = s.oid
 WHERE s.relkind = 'S' AND s.oid IN (
        SELECT dep.refobjid FROM pg_depend dep JOIN pg_attrdef ad ON ad.oid = dep.objid
         WHERE dep.classid = 'pg_attrdef'::regclass AND dep.refclassid = 'pg_class'::regclass
           AND ad.adrelid = $1::oid
        UNION
        SELECT o.objid FROM pg_depend o
         WHERE o.classid = 'pg_class'::regclass AND o.refobjid = $1::oid AND o.deptype = 'a')
 ORDER BY 1";

/// The partitions below the table, parents first: qualified name, schema, parent, bound,
/// partition key (when partitioned in turn).
const PARTITIONS: &str = "
SELECT format('%I.%I', n.nspname, c.relname), n.nspname::text,
       format('%I.%I', pn.nspname, p.relname), pg_get_expr(c.relpartbound, c.oid),
       pg_get_partkeydef(c.oid)
  FROM pg_partition_tree($1::oid) t
  JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class p ON p.oid = t.parentrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
 WHERE t.level > 0
 ORDER BY t.level, 1";

/// The constraints made on the table itself (not inherited from a parent): name, kind,
/// definition, the referenced table's OID (foreign keys).
const CONSTRAINTS: &str = "
SELECT quote_ident(conname), contype::text, pg_get_constraintdef(oid), confrelid::int8
  FROM pg_constraint
 WHERE conrelid = $1::oid AND conparentid = 0 AND conislocal
   AND contype IN ('p', 'u', 'x', 'c', 'f')
 ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3
          ELSE 4 END, conname";

/// The indexes that no constraint makes and that are not a partition of a parent's index.
const INDEXES: &str = "
SELECT pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = $1::oid
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                      AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
 ORDER BY ic.relname";

/// Reads the statements that make `table` (see the module's documentation).
///
/// # Errors
/// [`SourceError::Server`] when the catalog cannot be read.
pub fn table_schema(conn: &mut Conn, table: &Table) -> Result<TableSchema, SourceError> {
    let rel = &table.relation;
    let name = qualified(rel);
    let fail = |e: scry_conn::WireError| {
        SourceError::server(format!("cannot read the schema of {name}"), e)
    };
    let oid = rel.rel_id.to_string();
    let param = [Some(oid.as_str())];
    let mut schema = TableSchema {
        table: name.clone(),
        table_oid: rel.rel_id,
        ..TableSchema::default()
    };
    let mut schemas: Vec<String> = Vec::new();
    let mut need_schema = |create: &mut Vec<String>, s: &str| {
        if !schemas.iter().any(|known| known == s) {
            create.push(format!("CREATE SCHEMA IF NOT EXISTS {};", quote(s)));
            schemas.push(s.to_owned());
        }
    };
    need_schema(&mut schema.create, &rel.schema);
    for row in conn.query(TYPES, &param).map_err(fail)? {
        let (kind, type_name, type_schema) = (text(&row, 0), text(&row, 1), text(&row, 2));
        need_schema(&mut schema.create, &type_schema);
        let create = if kind == "d" {
            "CREATE DOMAIN"
        } else {
            "CREATE TYPE"
        };
        schema
            .create
            .push(once(&format!("{create} {type_name} {}", text(&row, 3))));
    }
    let sequences = conn
        .query(
            &SEQUENCES.replace("SEQUENCE_OPTIONS", SEQUENCE_OPTIONS),
            &param,
        )
        .map_err(fail)?;
    for row in &sequences {
        need_schema(&mut schema.create, &text(row, 1));
        schema.create.push(format!(
            "CREATE SEQUENCE IF NOT EXISTS {} {};",
            text(row, 0),
            text(row, 2)
        ));
    }
    let head = conn
        .query(TABLE, &param)
        .map_err(fail)?
        .into_iter()
        .next()
        .unwrap_or_default();
    let columns = conn
        .query(
            &COLUMNS.replace("SEQUENCE_OPTIONS", SEQUENCE_OPTIONS),
            &param,
        )
        .map_err(fail)?;
    let mut lines = Vec::new();
    let mut comments = Vec::new();
    for row in &columns {
        let column = text(row, 0);
        let mut line = format!("{column} {}", text(row, 1));
        if let Some(collation) = row.get(6).cloned().flatten() {
            line.push_str(&format!(" COLLATE {collation}"));
        }
        let expression = row.get(5).cloned().flatten();
        match (text(row, 3).as_str(), text(row, 4).as_str(), expression) {
            ("s", _, Some(e)) => line.push_str(&format!(" GENERATED ALWAYS AS ({e}) STORED")),
            (_, "a" | "d", _) => line.push_str(&format!(
                " GENERATED {} AS IDENTITY ({})",
                if text(row, 4) == "a" {
                    "ALWAYS"
                } else {
                    "BY DEFAULT"
                },
                text(row, 8)
            )),
            (_, _, Some(e)) => line.push_str(&format!(" DEFAULT {e}")),
            _ => {}
        }
        if flag(row, 2) {
            line.push_str(" NOT NULL");
        }
        lines.push(line);
        if let Some(comment) = row.get(7).cloned().flatten() {
            comments.push(format!(
                "COMMENT ON COLUMN {name}.{column} IS {};",
                scry_pg::text::quote_literal(&comment)
            ));
        }
    }
    let mut create = format!("CREATE TABLE IF NOT EXISTS {name} ({})", lines.join(", "));
    if let Some(key) = head.get(2).cloned().flatten() {
        create.push_str(&format!(" PARTITION BY {key}"));
    }
    if let Some(options) = head.get(3).cloned().flatten().filter(|o| !o.is_empty()) {
        create.push_str(&format!(" WITH ({options})"));
    }
    create.push(';');
    schema.create.push(create);
    for row in conn.query(PARTITIONS, &param).map_err(fail)? {
        need_schema(&mut schema.create, &text(&row, 1));
        let mut partition = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} {}",
            text(&row, 0),
            text(&row, 2),
            text(&row, 3)
        );
        if let Some(key) = row.get(4).cloned().flatten() {
            partition.push_str(&format!(" PARTITION BY {key}"));
        }
        partition.push(';');
        schema.create.push(partition);
    }
    for row in &sequences {
        if let Some(column) = row.get(3).cloned().flatten() {
            schema.create.push(format!(
                "ALTER SEQUENCE {} OWNED BY {name}.{column};",
                text(row, 0)
            ));
        }
    }
    if let Some(comment) = head.get(4).cloned().flatten() {
        schema.create.push(format!(
            "COMMENT ON TABLE {name} IS {};",
            scry_pg::text::quote_literal(&comment)
        ));
    }
    schema.create.extend(comments);
    for row in conn.query(CONSTRAINTS, &param).map_err(fail)? {
        let statement = once(&format!(
            "ALTER TABLE {name} ADD CONSTRAINT {} {}",
            text(&row, 0),
            text(&row, 2)
        ));
        if text(&row, 1) == "f" {
            let references = u32::try_from(crate::rows::number(&row, 3)).unwrap_or(0);
            schema.foreign_keys.push((references, statement));
        } else {
            schema.keys.push(statement);
        }
    }
    for row in conn.query(INDEXES, &param).map_err(fail)? {
        // A partitioned table's index is shown `ON ONLY` it: made so, its partitions would
        // have none.
        let definition = text(&row, 0).replacen(" ON ONLY ", " ON ", 1);
        let statement = definition
            .strip_prefix("CREATE UNIQUE INDEX ")
            .map(|rest| format!("CREATE UNIQUE INDEX IF NOT EXISTS {rest};"))
            .or_else(|| {
                definition
                    .strip_prefix("CREATE INDEX ")
                    .map(|rest| format!("CREATE INDEX IF NOT EXISTS {rest};"))
            })
            .unwrap_or_else(|| once(&definition));
        schema.indexes.push(statement);
    }
    schema.replica_identity = match (text(&head, 1).as_str(), head.get(5).cloned().flatten()) {
        ("f", _) => Some(format!("ALTER TABLE {name} REPLICA IDENTITY FULL;")),
        ("n", _) => Some(format!("ALTER TABLE {name} REPLICA IDENTITY NOTHING;")),
        ("i", Some(index)) => Some(format!(
            "ALTER TABLE {name} REPLICA IDENTITY USING INDEX {index};"
        )),
        _ => None,
    };
    Ok(schema)
}
