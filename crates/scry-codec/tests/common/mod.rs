//! Test inputs: the compact encoding, built with the flexbuffers crate's `Builder` (the
//! production encoder lives on another branch; these inputs only feed the reader tests).
#![allow(dead_code)]

use flexbuffers::{Blob, Builder, BuilderOptions, MapBuilder, VectorBuilder};
use scry_types::{
    ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta, Row, SequenceValue,
};

/// Encodes `batch` in the compact encoding: enums as UInt discriminants, data as Blobs, absent
/// options left out, keys vectors and strings shared.
pub fn compact_batch(batch: &DatabaseEventBatch) -> Vec<u8> {
    let mut b = Builder::new(BuilderOptions::SHARE_ALL);
    let mut m = b.start_map();
    let mut events = m.start_vector("events");
    for e in &batch.events {
        let mut em = events.start_map();
        event_fields(&mut em, e);
        em.end_map();
    }
    events.end_vector();
    if let Some(s) = &batch.source_id {
        m.push("source_id", s.as_str());
    }
    m.push("batch_seq", batch.batch_seq);
    let mut rels = m.start_vector("relations");
    for r in &batch.relations {
        let mut rm = rels.start_map();
        relation_fields(&mut rm, r);
        rm.end_map();
    }
    rels.end_vector();
    if let Some(d) = batch.control_directive {
        m.push("control_directive", d.as_u8());
    }
    if let Some(seqs) = &batch.sequence_values {
        let mut v = m.start_vector("sequence_values");
        for s in seqs {
            let mut sm = v.start_map();
            sequence_fields(&mut sm, s);
            sm.end_map();
        }
        v.end_vector();
    }
    if let Some(bf) = &batch.backfill_metadata {
        let mut bm = m.start_map("backfill_metadata");
        bm.push("table_count", bf.table_count);
        bm.push("estimated_total_rows", bf.estimated_total_rows);
        bm.end_map();
    }
    m.end_map();
    b.take_buffer()
}

/// Encodes one bare event in the compact encoding.
pub fn compact_event(event: &DatabaseEvent) -> Vec<u8> {
    let mut b = Builder::new(BuilderOptions::SHARE_ALL);
    let mut m = b.start_map();
    event_fields(&mut m, event);
    m.end_map();
    b.take_buffer()
}

fn event_fields(m: &mut MapBuilder<'_>, e: &DatabaseEvent) {
    if let Some(id) = &e.event_id {
        m.push("event_id", id.as_str());
    }
    m.push("timestamp_us", e.timestamp_us);
    m.push("operation", e.operation.as_u8());
    m.push("schema", e.schema.as_str());
    m.push("table", e.table.as_str());
    m.push("position", e.position);
    m.push("transaction_id", e.transaction_id);
    if let Some(r) = &e.new_row {
        row(m, "new_row", r);
    }
    if let Some(r) = &e.old_row {
        row(m, "old_row", r);
    }
    let mut cols = m.start_vector("columns");
    for c in &e.columns {
        cols.push(c.as_str());
    }
    cols.end_vector();
    if let Some(r) = &e.relation_meta {
        let mut rm = m.start_map("relation_meta");
        relation_fields(&mut rm, r);
        rm.end_map();
    }
    if let Some(s) = &e.ddl_sql {
        m.push("ddl_sql", s.as_str());
    }
    if let Some(s) = &e.ddl_object_type {
        m.push("ddl_object_type", s.as_str());
    }
}

fn row(m: &mut MapBuilder<'_>, key: &str, r: &Row) {
    let mut rm = m.start_map(key);
    let mut vals = rm.start_vector("values");
    for v in &r.values {
        value(&mut vals, v);
    }
    vals.end_vector();
    rm.end_map();
}

fn value(vals: &mut VectorBuilder<'_>, v: &ColumnValue) {
    let mut vm = vals.start_map();
    vm.push("type_tag", v.type_tag.as_u8());
    vm.push("type_oid", v.type_oid);
    if let Some(d) = &v.data {
        vm.push("data", Blob(&d[..]));
    }
    vm.end_map();
}

fn relation_fields(m: &mut MapBuilder<'_>, r: &RelationMeta) {
    m.push("rel_id", r.rel_id);
    m.push("schema", r.schema.as_str());
    m.push("table", r.table.as_str());
    let mut cols = m.start_vector("columns");
    for c in &r.columns {
        let mut cm = cols.start_map();
        cm.push("name", c.name.as_str());
        cm.push("type_oid", c.type_oid);
        cm.push("type_modifier", c.type_modifier);
        cm.push("is_key", c.is_key);
        cm.end_map();
    }
    cols.end_vector();
    m.push("replica_identity", r.replica_identity.as_u8());
}

fn sequence_fields(m: &mut MapBuilder<'_>, s: &SequenceValue) {
    m.push("schema", s.schema.as_str());
    m.push("name", s.name.as_str());
    m.push("last_value", s.last_value);
    m.push("is_called", s.is_called);
    m.push("increment_by", s.increment_by);
    m.push("min_value", s.min_value);
    m.push("max_value", s.max_value);
}
