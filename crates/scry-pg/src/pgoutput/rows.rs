//! What [`ChangeDecoder`] makes of a relation and its rows: each change's event, its rows'
//! values (binary, or PostgreSQL's text output for a text-format column), the relation as
//! the stream describes it, and a TRUNCATE's statement.

use bytes::Bytes;
use scry_types::{
    ColumnMeta, ColumnValue, DatabaseEvent, OperationType, RelationMeta, ReplicaIdentity, Row,
};

use super::decoder::{ChangeDecoder, ChangeError, Known, Open};
use super::message::{Relation, Tuple, TupleColumn};
use crate::oid::type_tag_from_oid;
use crate::text::quote_ident;

impl ChangeDecoder {
    /// A change event of relation `rel_id` without its rows.
    pub(super) fn change(
        &mut self,
        op: OperationType,
        lsn: u64,
        open: Open,
        rel_id: u32,
        message: &'static str,
    ) -> Result<DatabaseEvent, ChangeError> {
        let known = self
            .relations
            .get_mut(&rel_id)
            .ok_or(ChangeError::UnknownRelation {
                lsn,
                message,
                rel_id,
            })?;
        let mut e = DatabaseEvent::new(op, known.meta.schema.clone(), known.meta.table.clone());
        e.position = lsn;
        e.transaction_id = u64::from(open.xid);
        e.timestamp_us = open.timestamp_us;
        e.columns.clone_from(&known.names);
        if known.announce {
            known.announce = false;
            e.relation_meta = Some(known.meta.clone());
        }
        Ok(e)
    }

    pub(super) fn row(
        &self,
        bytes: &Bytes,
        rel_id: u32,
        tuple: &Tuple<'_>,
        lsn: u64,
        message: &'static str,
    ) -> Result<Row, ChangeError> {
        let meta = &self
            .relations
            .get(&rel_id)
            .ok_or(ChangeError::UnknownRelation {
                lsn,
                message,
                rel_id,
            })?
            .meta;
        if tuple.len() != meta.columns.len() {
            return Err(ChangeError::ColumnCount {
                lsn,
                message,
                table: meta.qualified_name(),
                expected: meta.columns.len(),
                actual: tuple.len(),
            });
        }
        let values = tuple
            .columns()
            .zip(&meta.columns)
            .map(|(column, c)| match column {
                TupleColumn::Null => ColumnValue::null(),
                TupleColumn::Unchanged => ColumnValue::unchanged(c.type_oid),
                TupleColumn::Binary(data) => ColumnValue::from_pg_binary(
                    type_tag_from_oid(c.type_oid),
                    c.type_oid,
                    bytes.slice_ref(data),
                ),
                TupleColumn::Text(data) => ColumnValue::from_pg_binary(
                    scry_types::TypeTag::Text,
                    c.type_oid,
                    bytes.slice_ref(data),
                ),
            })
            .collect();
        Ok(Row::new(values))
    }
}

/// True when `value` holds PostgreSQL's text output rather than its binary form: a value
/// [`ChangeDecoder`] made from a text-format (`t`) column, tagged
/// [`TypeTag::Text`](scry_types::TypeTag::Text) while its OID's own tag is another.
#[must_use]
pub fn is_text_format(value: &ColumnValue) -> bool {
    value.type_tag == scry_types::TypeTag::Text
        && value.data.is_some()
        && type_tag_from_oid(value.type_oid) != scry_types::TypeTag::Text
}

pub(super) fn known(r: &Relation<'_>) -> Known {
    let columns: Vec<ColumnMeta> = r
        .columns
        .iter()
        .map(|c| {
            let m = ColumnMeta::new(c.name, c.type_oid).type_modifier(c.type_modifier);
            if c.is_key {
                m.key()
            } else {
                m
            }
        })
        .collect();
    let names = columns.iter().map(|c| c.name.clone()).collect();
    Known {
        meta: RelationMeta::new(r.rel_id, r.schema, r.name, columns)
            .with_replica_identity(ReplicaIdentity::from_pg_char(r.replica_identity)),
        names,
        announce: true,
    }
}

/// `TRUNCATE "schema"."table"` with the options the source used.
pub(super) fn truncate_sql(
    schema: &str,
    table: &str,
    restart_identity: bool,
    cascade: bool,
) -> String {
    let mut sql = format!("TRUNCATE {}.{}", quote_ident(schema), quote_ident(table));
    if restart_identity {
        sql.push_str(" RESTART IDENTITY");
    }
    if cascade {
        sql.push_str(" CASCADE");
    }
    sql
}
