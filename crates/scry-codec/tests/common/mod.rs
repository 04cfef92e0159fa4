//! Test inputs: the compact encoding, built with the flexbuffers crate's `Builder`. This is a
//! second, independent writer of compact-shaped bytes beside the production encoder
//! (`serialize_batch_with(.., Encoding::Compact)`), with its own layout and sharing
//! (`SHARE_ALL`), so the readers are tested against more than one writer.
#![allow(dead_code)]

use flexbuffers::{Blob, Builder, BuilderOptions, MapBuilder, VectorBuilder};
use scry_types::{
    ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta, Row, SequenceValue,
};

/// Encodes `batch` in the compact encoding: enums as UInt discriminants, data as Blobs, absent
/// options left out. Keys are shared; strings and keys vectors are not, although
/// `SHARE_ALL` asks for them: flexbuffers 2.0's `Builder` declares those options but
/// implements only the key pool (the production writer shares them itself).
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

/// A hand-rolled FlexBuffers writer for malformed and adversarial inputs: every slot is 4
/// bytes wide, and the caller chooses what offsets point at (so objects can be shared).
#[derive(Default)]
pub struct Raw {
    pub buf: Vec<u8>,
}

/// Packed type bytes of 4-byte-wide values.
pub mod packed {
    pub const NULL: u8 = 0;
    pub const UINT: u8 = (2 << 2) | 2;
    pub const STRING: u8 = (5 << 2) | 2;
    pub const MAP: u8 = (9 << 2) | 2;
    pub const VECTOR: u8 = (10 << 2) | 2;
    pub const BLOB: u8 = (25 << 2) | 2;
}

/// One slot: an inline value or an offset to an object, with its packed type.
#[derive(Clone, Copy)]
pub enum Item {
    Inline(u32, u8),
    At(usize, u8),
}

impl Raw {
    fn align(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A NUL-terminated key; returns its position.
    pub fn key(&mut self, s: &str) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        at
    }

    /// A length-prefixed, NUL-terminated string; returns the position of its bytes.
    pub fn string(&mut self, s: &str) -> usize {
        self.align();
        self.u32(s.len() as u32);
        let at = self.buf.len();
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        at
    }

    /// A blob; returns the position of its bytes.
    pub fn blob(&mut self, b: &[u8]) -> usize {
        self.align();
        self.u32(b.len() as u32);
        let at = self.buf.len();
        self.buf.extend_from_slice(b);
        at
    }

    fn slots(&mut self, items: &[Item]) {
        for item in items {
            match *item {
                Item::Inline(v, _) => self.u32(v),
                Item::At(target, _) => {
                    let here = self.buf.len();
                    self.u32((here - target) as u32);
                }
            }
        }
        for item in items {
            let (Item::Inline(_, t) | Item::At(_, t)) = *item;
            self.buf.push(t);
        }
    }

    /// An untyped vector; returns the position of its first element.
    pub fn vector(&mut self, items: &[Item]) -> usize {
        self.align();
        self.u32(items.len() as u32);
        let at = self.buf.len();
        self.slots(items);
        at
    }

    /// A map of (key position, item) entries, which must be sorted by key; returns the
    /// position of its first value.
    pub fn map(&mut self, entries: &[(usize, Item)]) -> usize {
        self.align();
        self.u32(entries.len() as u32);
        let keys = self.buf.len();
        for (k, _) in entries {
            let here = self.buf.len();
            self.u32((here - k) as u32);
        }
        self.align();
        let here = self.buf.len();
        self.u32((here - keys) as u32);
        self.u32(4);
        self.u32(entries.len() as u32);
        let at = self.buf.len();
        let items: Vec<Item> = entries.iter().map(|(_, i)| *i).collect();
        self.slots(&items);
        at
    }

    /// Finishes with `root` as the root and returns the bytes.
    pub fn finish(mut self, root: Item) -> Vec<u8> {
        self.align();
        let t = match root {
            Item::Inline(v, t) => {
                self.u32(v);
                t
            }
            Item::At(target, t) => {
                let here = self.buf.len();
                self.u32((here - target) as u32);
                t
            }
        };
        self.buf.push(t);
        self.buf.push(4);
        self.buf
    }
}
