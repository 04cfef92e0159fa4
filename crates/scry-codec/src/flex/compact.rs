//! The Compact writer, layout version 2 (`crate::compact` describes the bytes): the events
//! go into one blob written straight into the output, the names and row types they refer
//! to into a second, and the batch's low-volume fields through the Compat writer.

use std::collections::HashMap;

use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta, Row, TypeTag};

use super::compat::Compat;
use super::keys::Field;
use super::shared::KeyShape;
use super::sink::Sink;
use super::value::Val;
use crate::compact::{
    field_len, flag, put_delta, put_varint, METAS_KEY, TABLES_KEY, VERSION, VERSION_KEY,
};
use crate::CodecError;

/// Not yet chosen.
const NONE: u32 = u32::MAX;

/// Appends `batch` as a Compact root to `out`; on error `out` is as it was.
pub(crate) fn batch_root(out: &mut Vec<u8>, batch: &DatabaseEventBatch) -> Result<(), CodecError> {
    write_root(out, &batch.events, Some(batch))
}

/// Appends `event` as a bare Compact root to `out`; on error `out` is as it was.
pub(crate) fn event_root(out: &mut Vec<u8>, event: &DatabaseEvent) -> Result<(), CodecError> {
    write_root(out, std::slice::from_ref(event), None)
}

/// Writes the root map for a batch (`Some`) or a bare event. Only the events blob can fail,
/// and it is the first thing written: `blob_with` then leaves `out` as it was.
fn write_root(
    out: &mut Vec<u8>,
    events: &[DatabaseEvent],
    batch: Option<&DatabaseEventBatch>,
) -> Result<(), CodecError> {
    let mut w = Compat::new(Sink::new(out, estimate(events)));
    let mut tables = Tables::default();
    let mut metas = Vec::new();
    let events_blob = w
        .sink()
        .blob_with(|buf| write_events(buf, events, &mut tables, &mut metas))?;
    let tables_blob = w.sink().blob_with(|buf| {
        tables.write(buf);
        Ok::<_, CodecError>(())
    })?;

    // (key, value) in the order FlexBuffers keeps map keys: sorted by their bytes.
    let mut entries: Vec<(usize, Val)> = Vec::with_capacity(10);
    if let Some(b) = batch {
        // The relations first: a reader validates them before `metas`, and relation maps
        // must lie one after the other in reading order.
        let relations = w.relations(&b.relations);
        let source_id = b.source_id.as_deref().map(|s| w.sink().string(s));
        let control = b.control_directive.map(|d| w.sink().short_string(d.name()));
        let sequences = b.sequence_values.as_deref().map(|s| w.sequences(s));
        let backfill = b.backfill_metadata.as_ref().map(|m| w.backfill(m));
        let metas = (!metas.is_empty()).then(|| w.relations(metas.iter().copied()));
        if let Some(v) = backfill {
            entries.push((w.key(Field::BackfillMetadata), v));
        }
        entries.push((w.key(Field::BatchSeq), Val::uint(b.batch_seq)));
        entries.push((w.sink().key(VERSION_KEY), Val::uint(VERSION)));
        if let Some(v) = control {
            entries.push((w.key(Field::ControlDirective), v));
        }
        entries.push((w.key(Field::Events), events_blob));
        if let Some(v) = metas {
            entries.push((w.sink().key(METAS_KEY), v));
        }
        entries.push((w.key(Field::Relations), relations));
        if let Some(v) = sequences {
            entries.push((w.key(Field::SequenceValues), v));
        }
        if let Some(v) = source_id {
            entries.push((w.key(Field::SourceId), v));
        }
    } else {
        let metas = (!metas.is_empty()).then(|| w.relations(metas.iter().copied()));
        entries.push((w.sink().key(VERSION_KEY), Val::uint(VERSION)));
        entries.push((w.key(Field::Events), events_blob));
        if let Some(v) = metas {
            entries.push((w.sink().key(METAS_KEY), v));
        }
    }
    entries.push((w.sink().key(TABLES_KEY), tables_blob));
    let keys: Vec<usize> = entries.iter().map(|e| e.0).collect();
    let vals: Vec<Val> = entries.iter().map(|e| e.1).collect();
    let (_, root) = w.sink().keys_and_map(&keys, &KeyShape::new(&keys), &vals);
    w.finish(root);
    Ok(())
}

/// A reservation hint: the bytes of the first events, extrapolated.
fn estimate(events: &[DatabaseEvent]) -> usize {
    const SAMPLED: usize = 32;
    let row = |r: &Option<Row>| r.as_ref().map_or(0, |r| 10 + fields_bytes(r));
    let opt = |s: &Option<String>| s.as_ref().map_or(0, |s| 10 + s.len());
    let sampled = events.len().min(SAMPLED);
    let sample: usize = events
        .iter()
        .take(sampled)
        .map(|e| {
            40 + row(&e.new_row)
                + row(&e.old_row)
                + opt(&e.event_id)
                + opt(&e.ddl_sql)
                + opt(&e.ddl_object_type)
        })
        .sum();
    let per_event = if sampled == 0 {
        0
    } else {
        sample.div_ceil(sampled)
    };
    per_event.saturating_mul(events.len()).saturating_add(1024)
}

/// The bytes of a row's COPY fields: a length and the data of each value.
fn fields_bytes(r: &Row) -> usize {
    r.values
        .iter()
        .map(|v| 4 + v.data.as_ref().map_or(0, |d| d.len()))
        .sum()
}

/// Writes the event stream.
fn write_events<'b>(
    buf: &mut Vec<u8>,
    events: &'b [DatabaseEvent],
    tables: &mut Tables<'b>,
    metas: &mut Vec<&'b RelationMeta>,
) -> Result<(), CodecError> {
    put_varint(buf, events.len() as u64);
    let (mut ts, mut pos, mut xid) = (0u64, 0u64, 0u64);
    for e in events {
        let inline = inline_columns(e);
        let name = tables.name(e, inline);
        let bit = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = bit(inline, flag::INLINE_COLUMNS)
            | bit(e.event_id.is_some(), flag::EVENT_ID)
            | bit(e.new_row.is_some(), flag::NEW_ROW)
            | bit(e.old_row.is_some(), flag::OLD_ROW)
            | bit(e.relation_meta.is_some(), flag::RELATION_META)
            | bit(e.ddl_sql.is_some(), flag::DDL_SQL)
            | bit(e.ddl_object_type.is_some(), flag::DDL_OBJECT_TYPE);
        buf.push(e.operation.as_u8());
        buf.push(flags);
        put_varint(buf, u64::from(name));
        put_delta(buf, ts, e.timestamp_us);
        put_delta(buf, pos, e.position);
        put_delta(buf, xid, e.transaction_id);
        (ts, pos, xid) = (e.timestamp_us, e.position, e.transaction_id);
        if inline {
            put_varint(buf, e.columns.len() as u64);
            for c in &e.columns {
                put_varint(buf, c.len() as u64);
                buf.extend_from_slice(c.as_bytes());
            }
        }
        for s in [&e.event_id, &e.ddl_sql, &e.ddl_object_type]
            .into_iter()
            .flatten()
        {
            put_varint(buf, s.len() as u64);
            buf.extend_from_slice(s.as_bytes());
        }
        for row in [&e.new_row, &e.old_row].into_iter().flatten() {
            tables.row(buf, name, &row.values)?;
        }
        if let Some(m) = &e.relation_meta {
            metas.push(m);
        }
    }
    Ok(())
}

/// Whether `e`'s column names go inline: when copying them out of a shared name entry
/// (a unit per name and per byte, as a reader charges it) would cost more than twice the
/// bytes the event takes without them.
#[inline]
fn inline_columns(e: &DatabaseEvent) -> bool {
    let n = e.columns.len();
    if n == 0 {
        return false;
    }
    let names: usize = n + e.columns.iter().map(String::len).sum::<usize>();
    let rows: usize = [&e.new_row, &e.old_row]
        .into_iter()
        .flatten()
        .map(|r| 1 + fields_bytes(r))
        .sum();
    let strings: usize = [&e.event_id, &e.ddl_sql, &e.ddl_object_type]
        .into_iter()
        .flatten()
        .map(|s| 1 + s.len())
        .sum();
    names > 2 * (crate::compact::MIN_EVENT + rows + strings)
}

/// One entry of the name table.
struct Name<'b> {
    schema: &'b str,
    table: &'b str,
    columns: &'b [String],
    /// The row type its last row had.
    last_type: u32,
}

/// The name and row-type tables of the FlexBuffer being written.
#[derive(Default)]
struct Tables<'b> {
    names: Vec<Name<'b>>,
    name_index: HashMap<(&'b str, &'b str, &'b [String]), u32>,
    /// The name of the previous event.
    last_name: Option<u32>,
    /// Each row type's first slot and slot count.
    types: Vec<(u32, u32)>,
    /// Every row type's (tag, OID) slots, in runs.
    slots: Vec<(u8, u32)>,
    type_index: HashMap<Box<[(u8, u32)]>, u32>,
    /// The slots of a row type being chosen.
    scratch: Vec<(u8, u32)>,
}

impl<'b> Tables<'b> {
    /// The index of the event's (schema, table, column names), added if new; without the
    /// column names when they go `inline`.
    #[inline]
    fn name(&mut self, e: &'b DatabaseEvent, inline: bool) -> u32 {
        let columns: &'b [String] = if inline { &[] } else { &e.columns };
        if let Some(last) = self.last_name {
            if let Some(n) = self.names.get(last as usize) {
                if n.schema == e.schema && n.table == e.table && n.columns == columns {
                    return last;
                }
            }
        }
        let key = (e.schema.as_str(), e.table.as_str(), columns);
        let next = self.names.len() as u32;
        let i = *self.name_index.entry(key).or_insert(next);
        if i == next {
            self.names.push(Name {
                schema: key.0,
                table: key.1,
                columns: key.2,
                last_type: NONE,
            });
        }
        self.last_name = Some(i);
        i
    }

    /// The slots of row type `ty`.
    #[inline]
    fn slots_of(&self, ty: u32) -> &[(u8, u32)] {
        let (first, n) = self.types.get(ty as usize).copied().unwrap_or_default();
        self.slots
            .get(first as usize..(first + n) as usize)
            .unwrap_or_default()
    }

    /// True when every value fits its slot of row type `ty`.
    #[inline]
    fn fits(&self, ty: u32, values: &[ColumnValue]) -> bool {
        let slots = self.slots_of(ty);
        slots.len() == values.len()
            && values
                .iter()
                .zip(slots)
                .all(|(v, &(tag, oid))| field_len(v, tag, oid).is_some())
    }

    /// The row type for `values` of an event named `name`: the one its previous row had if
    /// they fit, else the one whose slots are theirs (a NULL or an unchanged marker takes
    /// the previous row's slot where it can, so that it does not start a type of its own).
    fn row_type(&mut self, name: u32, values: &[ColumnValue]) -> u32 {
        let last = self.names.get(name as usize).map_or(NONE, |n| n.last_type);
        if last != NONE && self.fits(last, values) {
            return last;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        {
            let previous = self.slots_of(last);
            for (i, v) in values.iter().enumerate() {
                let before = previous.get(i).copied();
                let slot = match (&v.data, v.type_tag) {
                    (None, TypeTag::Null) if v.type_oid == 0 => {
                        before.unwrap_or((TypeTag::Null as u8, 0))
                    }
                    (None, TypeTag::ToastUnchanged) => match before {
                        Some(b) if b.1 == v.type_oid => b,
                        _ => (TypeTag::ToastUnchanged as u8, v.type_oid),
                    },
                    _ => (v.type_tag as u8, v.type_oid),
                };
                scratch.push(slot);
            }
        }
        let ty = match self.type_index.get(scratch.as_slice()) {
            Some(&ty) => ty,
            None => {
                let ty = self.types.len() as u32;
                self.types
                    .push((self.slots.len() as u32, scratch.len() as u32));
                self.slots.extend_from_slice(&scratch);
                self.type_index.insert(scratch.as_slice().into(), ty);
                ty
            }
        };
        self.scratch = scratch;
        if let Some(n) = self.names.get_mut(name as usize) {
            n.last_type = ty;
        }
        ty
    }

    /// Writes a row of an event named `name`: its row type, then its values as COPY fields.
    #[inline]
    fn row(
        &mut self,
        buf: &mut Vec<u8>,
        name: u32,
        values: &[ColumnValue],
    ) -> Result<(), CodecError> {
        let ty = self.row_type(name, values);
        put_varint(buf, u64::from(ty));
        let slots = self.slots_of(ty);
        for (v, &(tag, oid)) in values.iter().zip(slots) {
            let Some(len) = field_len(v, tag, oid) else {
                return Err(too_large(v));
            };
            buf.extend_from_slice(&len.to_be_bytes());
            if let Some(d) = &v.data {
                buf.extend_from_slice(d);
            }
        }
        Ok(())
    }

    /// Writes the tables blob's bytes.
    fn write(&self, buf: &mut Vec<u8>) {
        use crate::compact::{COLUMN_ENTRY, NAME_ENTRY, SLOT_ENTRY, TABLES_HEADER, TYPE_ENTRY};
        let columns: usize = self.names.iter().map(|n| n.columns.len()).sum();
        let strings: usize = self
            .names
            .iter()
            .map(|n| {
                n.schema.len() + n.table.len() + n.columns.iter().map(String::len).sum::<usize>()
            })
            .sum();
        let fixed = TABLES_HEADER
            + NAME_ENTRY * self.names.len()
            + COLUMN_ENTRY * columns
            + TYPE_ENTRY * self.types.len()
            + SLOT_ENTRY * self.slots.len();
        buf.reserve(fixed + strings);
        let u32s = |buf: &mut Vec<u8>, xs: &[usize]| {
            for &x in xs {
                buf.extend_from_slice(&(x as u32).to_le_bytes());
            }
        };
        u32s(
            buf,
            &[
                self.names.len(),
                columns,
                self.types.len(),
                self.slots.len(),
            ],
        );
        // The strings follow the fixed part in this order: each name's schema, table, then
        // its column names.
        let mut at = fixed;
        let mut first_column = 0;
        for n in &self.names {
            let schema_at = at;
            let table_at = schema_at + n.schema.len();
            at = table_at + n.table.len() + n.columns.iter().map(String::len).sum::<usize>();
            u32s(
                buf,
                &[
                    schema_at,
                    n.schema.len(),
                    table_at,
                    n.table.len(),
                    first_column,
                    n.columns.len(),
                ],
            );
            first_column += n.columns.len();
        }
        let mut at = fixed;
        for n in &self.names {
            at += n.schema.len() + n.table.len();
            for c in n.columns {
                u32s(buf, &[at, c.len()]);
                at += c.len();
            }
        }
        for &(first, n) in &self.types {
            u32s(buf, &[first as usize, n as usize]);
        }
        for &(tag, oid) in &self.slots {
            buf.push(tag);
            buf.extend_from_slice(&oid.to_le_bytes());
        }
        for n in &self.names {
            buf.extend_from_slice(n.schema.as_bytes());
            buf.extend_from_slice(n.table.as_bytes());
            for c in n.columns {
                buf.extend_from_slice(c.as_bytes());
            }
        }
    }
}

/// The error for a value whose data is too long for a COPY field length.
#[cold]
fn too_large(v: &ColumnValue) -> CodecError {
    CodecError::Encode {
        what: "value",
        reason: format!(
            "{} bytes of data: the compact encoding stores at most {} bytes a value",
            v.data.as_ref().map_or(0, |d| d.len()),
            i32::MAX
        ),
    }
}
