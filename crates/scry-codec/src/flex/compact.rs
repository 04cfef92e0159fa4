//! The Compact writer, layout version 3 (`crate::compact` describes the bytes): the events
//! go into one blob written straight into the output, the names and row types they refer
//! to into a second, and the batch's low-volume fields through the Compat writer.

use std::hash::{BuildHasher, BuildHasherDefault};

use scry_types::{ColumnValue, DatabaseEvent, DatabaseEventBatch, RelationMeta, Row, TypeTag};

use super::compat::Compat;
use super::hash::{FastHasher, FastMap};
use super::shared::KeyShape;
use super::sink::Sink;
use super::value::Val;
use crate::compact::{
    field_len, flag, put_delta, put_varint, METAS_KEY, TABLES_KEY, VERSION, VERSION_KEY,
};
use crate::copy_tuple::CopyTuple;
use crate::schema::Field;
use crate::{CodecError, CopyRows};

/// Not yet chosen.
const NONE: u32 = u32::MAX;

/// Up to this many names (or row types) are looked through one by one, which for a batch of
/// a few tables costs less than hashing a wide table's column names (or slots); past it,
/// they are found through a hash index.
const LINEAR: usize = 8;

/// Appends `batch` as a Compact root to `out`; on error `out` is as it was.
pub(crate) fn batch_root(out: &mut Vec<u8>, batch: &DatabaseEventBatch) -> Result<(), CodecError> {
    write_root(out, &batch.events, Some(batch))
}

/// Appends `event` as a bare Compact root to `out`; on error `out` is as it was.
pub(crate) fn event_root(out: &mut Vec<u8>, event: &DatabaseEvent) -> Result<(), CodecError> {
    write_root(out, std::slice::from_ref(event), None)
}

/// Writes the root map for a batch (`Some`) or a bare event. Only the events blob can fail
/// (a value too long for a COPY field), and it is the first thing written: `blob_with` then
/// leaves `out` as it was.
fn write_root(
    out: &mut Vec<u8>,
    events: &[DatabaseEvent],
    batch: Option<&DatabaseEventBatch>,
) -> Result<(), CodecError> {
    let mut w = Compat::new(Sink::new(out, estimate(events)));
    let mut written = Events::default();
    let events_blob = w.sink().blob_with(|buf| {
        put_varint(buf, events.len() as u64);
        events.iter().try_for_each(|e| written.event(buf, e))
    })?;
    written.finish(w, events_blob, batch);
    Ok(())
}

/// Fails for an event with a value too long for a COPY field length: what an event pushed
/// on its own is checked with first, since a failed `Events::event` may leave an entry in
/// the tables that no event refers to.
pub(crate) fn check(e: &DatabaseEvent) -> Result<(), CodecError> {
    for row in [&e.new_row, &e.old_row].into_iter().flatten() {
        if let Some(v) = row.values.iter().find(|v| {
            v.data
                .as_ref()
                .is_some_and(|d| i32::try_from(d.len()).is_err())
        }) {
            return Err(too_large(v.data.as_ref().map_or(0, |d| d.len())));
        }
    }
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

/// The events of one Compact FlexBuffer as they are written, and the names, row types and
/// relation metadata they refer to, written after them.
#[derive(Default)]
pub(crate) struct Events {
    /// The events written.
    count: u64,
    /// The previous event's timestamp, position and transaction ID (the deltas' bases).
    last: (u64, u64, u64),
    tables: Tables,
    metas: Vec<RelationMeta>,
    /// Relations of batches written before, whose strings the next `metas` are copied into.
    spare_metas: Vec<RelationMeta>,
    /// What the last COPY row found out (see `copy_row`); `rows` is `u64::MAX` before any.
    copy_cache: CopyCache,
}

/// What the last COPY row of a `CopyRows` found out: its name entry and row type, which of
/// the row type's first 64 slots are its columns' types (where a non-NULL field fits), and
/// the bytes every next row of the run starts with while the row type fits.
#[derive(Default)]
struct CopyCache {
    rows: u64,
    inline: bool,
    name: u32,
    ty: u32,
    ok: u64,
    /// Every slot from the 65th on is its column's type.
    ok_beyond: bool,
    /// The event's timestamp, position and transaction ID: `head` holds zero deltas.
    at: (u64, u64, u64),
    /// The event head (zero deltas) and the row type's varint.
    head: Vec<u8>,
}

/// The low `n` bits (all 64 from 64 on).
#[inline(always)]
fn mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

impl Events {
    /// Makes this the writer of a new FlexBuffer's events, as `Events::default()` is, but
    /// keeping what it allocated (the tables, the names and relations it copied) to reuse.
    pub(crate) fn reset(&mut self) {
        self.count = 0;
        self.last = (0, 0, 0);
        self.tables.reset();
        self.spare_metas.extend(self.metas.drain(..).rev());
        let mut head = std::mem::take(&mut self.copy_cache.head);
        head.clear();
        self.copy_cache = CopyCache {
            head,
            ..CopyCache::default()
        };
    }

    /// The number of events written.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// Appends `e` to the event stream in `buf`. Fails (with `buf` as it was, the tables
    /// perhaps not) only as [`check`] does.
    #[inline]
    pub(crate) fn event(&mut self, buf: &mut Vec<u8>, e: &DatabaseEvent) -> Result<(), CodecError> {
        let rows: usize = [&e.new_row, &e.old_row]
            .into_iter()
            .flatten()
            .map(|r| 1 + fields_bytes(r))
            .sum();
        let before = buf.len();
        let inline = inline_columns(e, rows);
        let columns: &[String] = if inline { &[] } else { &e.columns };
        let name = self.tables.name(&e.schema, &e.table, columns);
        self.head(buf, e, inline, e.new_row.is_some(), name);
        for row in [&e.new_row, &e.old_row].into_iter().flatten() {
            if let Err(err) = self.tables.row(buf, name, &row.values) {
                buf.truncate(before);
                return Err(err);
            }
        }
        if let Some(m) = &e.relation_meta {
            let mut copy = self.spare_metas.pop().unwrap_or_else(empty_relation);
            copy.clone_from(m);
            self.metas.push(copy);
        }
        self.count += 1;
        Ok(())
    }

    /// Appends a row event of `rows` (its event's header fields, a new row of `tuple`),
    /// `tuple` a COPY BINARY tuple checked to hold as many fields as `rows` has columns
    /// (field `i` a value of type `rows.types[i]`, `ColumnValue::null()` when NULL); its
    /// fields are copied as they are.
    pub(crate) fn copy_row(&mut self, buf: &mut Vec<u8>, rows: &CopyRows, tuple: &CopyTuple<'_>) {
        let e = rows.event();
        let fields = tuple.field_bytes();
        // As `inline_columns`, with the names' cost counted once in `rows`.
        let inline = rows.names_cost != 0
            && rows.names_cost
                > 2 * (crate::compact::MIN_EVENT + 1 + fields.len() + rows.strings_cost);
        let at = (e.timestamp_us, e.position, e.transaction_id);
        let n = rows.types().len();
        let c = &self.copy_cache;
        // The previous row of `rows` was the last event and its row type holds this one:
        // then this row starts with the same bytes.
        if c.rows == rows.id
            && c.inline == inline
            && c.at == at
            && self.last == at
            && self.tables.last_name == Some(c.name)
            && (c.ok_beyond || n <= 64)
            && (!tuple.nulls() & !c.ok & mask(n)) == 0
            && self.tables.last_type(c.name) == c.ty
        {
            buf.reserve(c.head.len() + fields.len());
            buf.extend_from_slice(&c.head);
            buf.extend_from_slice(fields);
            self.count += 1;
            return;
        }
        self.new_copy_run(buf, rows, tuple, inline);
    }

    /// [`copy_row`](Self::copy_row) when the row does not start as the previous one did:
    /// writes it in full, and what the rows after it can reuse.
    #[inline(never)]
    fn new_copy_run(
        &mut self,
        buf: &mut Vec<u8>,
        rows: &CopyRows,
        tuple: &CopyTuple<'_>,
        inline: bool,
    ) {
        let e = rows.event();
        let types = rows.types();
        let name = if self.copy_cache.rows == rows.id && self.copy_cache.inline == inline {
            self.tables.last_name = Some(self.copy_cache.name);
            self.copy_cache.name
        } else {
            let columns: &[String] = if inline { &[] } else { &e.columns };
            self.tables.name(&e.schema, &e.table, columns)
        };
        self.head(buf, e, inline, true, name);
        let ty = self.tables.row_type(name, types.len(), cells(tuple, types));
        put_varint(buf, u64::from(ty));
        buf.extend_from_slice(tuple.field_bytes());
        self.count += 1;
        let slots = self.tables.slots_of(ty);
        let own = |(&(tag, oid), &slot): (&(TypeTag, u32), &(u8, u32))| slot == (tag as u8, oid);
        let ok = types
            .iter()
            .zip(slots)
            .take(64)
            .enumerate()
            .filter(|&(_, pair)| own(pair))
            .fold(0u64, |m, (i, _)| m | 1 << i);
        let ok_beyond = types.iter().zip(slots).skip(64).all(own);
        let mut head = std::mem::take(&mut self.copy_cache.head);
        head.clear();
        // The deltas from this row are zero.
        self.head(&mut head, e, inline, true, name);
        put_varint(&mut head, u64::from(ty));
        self.copy_cache = CopyCache {
            rows: rows.id,
            inline,
            name,
            ty,
            ok,
            ok_beyond,
            at: self.last,
            head,
        };
    }

    /// Writes an event's operation, flags, name `name` and deltas (and its inline column
    /// names). The flags say `new_row` as given and `old_row` and `relation_meta` as `e` has
    /// them (a COPY row's event has neither).
    #[inline(always)]
    fn head(
        &mut self,
        buf: &mut Vec<u8>,
        e: &DatabaseEvent,
        inline: bool,
        new_row: bool,
        name: u32,
    ) {
        let bit = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = bit(inline, flag::INLINE_COLUMNS)
            | bit(e.event_id.is_some(), flag::EVENT_ID)
            | bit(new_row, flag::NEW_ROW)
            | bit(e.old_row.is_some(), flag::OLD_ROW)
            | bit(e.relation_meta.is_some(), flag::RELATION_META)
            | bit(e.ddl_sql.is_some(), flag::DDL_SQL)
            | bit(e.ddl_object_type.is_some(), flag::DDL_OBJECT_TYPE);
        buf.push(e.operation.as_u8());
        buf.push(flags);
        put_varint(buf, u64::from(name));
        let (ts, pos, xid) = self.last;
        put_delta(buf, ts, e.timestamp_us);
        put_delta(buf, pos, e.position);
        put_delta(buf, xid, e.transaction_id);
        self.last = (e.timestamp_us, e.position, e.transaction_id);
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
    }

    /// Ends the FlexBuffer behind `w`, whose first item is the events blob `events_blob`:
    /// the tables blob, a batch's fields (`Some`; `None` for a bare event) and the root.
    pub(crate) fn finish(
        &self,
        mut w: Compat<'_>,
        events_blob: Val,
        batch: Option<&DatabaseEventBatch>,
    ) {
        let tables = &self.tables;
        let tables_blob = w.sink().blob_with(|buf| {
            tables.write(buf);
            Ok::<_, std::convert::Infallible>(())
        });
        let Ok(tables_blob) = tables_blob;
        // (key, value) in the order FlexBuffers keeps map keys: sorted by their bytes.
        let mut entries: Vec<(usize, Val)> = Vec::with_capacity(10);
        if let Some(b) = batch {
            // The relations first: a reader validates them before `metas`, and relation
            // maps must lie one after the other in reading order.
            let relations = w.relations(&b.relations);
            let source_id = b.source_id.as_deref().map(|s| w.sink().string(s));
            let control = b.control_directive.map(|d| w.sink().short_string(d.name()));
            let sequences = b.sequence_values.as_deref().map(|s| w.sequences(s));
            let backfill = b.backfill_metadata.as_ref().map(|m| w.backfill(m));
            let metas = (!self.metas.is_empty()).then(|| w.metas(&self.metas, &b.relations));
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
            let metas = (!self.metas.is_empty()).then(|| w.relations(&self.metas));
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
    }
}

/// Whether `e`'s column names go inline: when copying them out of a shared name entry
/// (a unit per name and per byte, as a reader charges it) would cost more than twice the
/// bytes the event takes without them (`rows`: its rows' bytes, a row-type byte each).
#[inline]
fn inline_columns(e: &DatabaseEvent, rows: usize) -> bool {
    let n = e.columns.len();
    if n == 0 {
        return false;
    }
    let names: usize = n + e.columns.iter().map(String::len).sum::<usize>();
    let strings: usize = [&e.event_id, &e.ddl_sql, &e.ddl_object_type]
        .into_iter()
        .flatten()
        .map(|s| 1 + s.len())
        .sum();
    names > 2 * (crate::compact::MIN_EVENT + rows + strings)
}

/// An empty relation, to copy one into.
fn empty_relation() -> RelationMeta {
    RelationMeta::new(0, String::new(), String::new(), Vec::new())
}

/// Makes `dst` a copy of `src`, into the strings `dst` holds (the next batch of a table
/// finds them equal already: comparing is cheaper than copying).
fn assign_strings(dst: &mut Vec<String>, src: &[String]) {
    dst.truncate(src.len());
    let (held, more) = src.split_at(dst.len());
    for (d, s) in dst.iter_mut().zip(held) {
        assign_str(d, s);
    }
    dst.extend_from_slice(more);
}

/// Makes `dst` a copy of `src`, unless it is one.
#[inline]
fn assign_str(dst: &mut String, src: &str) {
    if dst != src {
        dst.clear();
        dst.push_str(src);
    }
}

/// One entry of the name table.
#[derive(Default)]
struct Name {
    schema: String,
    table: String,
    columns: Vec<String>,
    /// The row type its last row had.
    last_type: u32,
}

impl Name {
    #[inline(always)]
    fn is(&self, schema: &str, table: &str, columns: &[String]) -> bool {
        self.schema == schema && self.table == table && self.columns == columns
    }
}

/// A value as the row-type choice sees it.
#[derive(Clone, Copy)]
pub(crate) enum Cell {
    /// Data of this type tag and OID.
    Data(TypeTag, u32),
    /// `ColumnValue::null()`: fits every slot.
    Null,
    /// The unchanged-TOAST marker of this OID: fits a slot of that OID.
    Unchanged(u32),
    /// No data, of this type tag and OID: fits only their slot.
    NoData(TypeTag, u32),
}

impl Cell {
    #[inline(always)]
    fn of(v: &ColumnValue) -> Cell {
        match (&v.data, v.type_tag) {
            (Some(_), tag) => Cell::Data(tag, v.type_oid),
            (None, TypeTag::Null) if v.type_oid == 0 => Cell::Null,
            (None, TypeTag::ToastUnchanged) => Cell::Unchanged(v.type_oid),
            (None, tag) => Cell::NoData(tag, v.type_oid),
        }
    }

    /// Whether the value fits slot `(tag, oid)`: as `field_len` says.
    #[inline(always)]
    fn fits(self, (tag, oid): (u8, u32)) -> bool {
        match self {
            Cell::Data(t, o) | Cell::NoData(t, o) => t as u8 == tag && o == oid,
            Cell::Null => true,
            Cell::Unchanged(o) => o == oid,
        }
    }

    /// The slot a new row type gives the value, `before` the one the previous row type had
    /// (a NULL or an unchanged marker takes it where it can, so as not to start a type of
    /// its own).
    #[inline(always)]
    fn slot(self, before: Option<(u8, u32)>) -> (u8, u32) {
        match self {
            Cell::Null => before.unwrap_or((TypeTag::Null as u8, 0)),
            Cell::Unchanged(oid) => match before {
                Some(b) if b.1 == oid => b,
                _ => (TypeTag::ToastUnchanged as u8, oid),
            },
            Cell::Data(tag, oid) | Cell::NoData(tag, oid) => (tag as u8, oid),
        }
    }
}

/// The fields of `tuple` as the row-type choice sees them: field `i` of type `types[i]`.
/// Which are NULL is known from the tuple's NULL bits up to 128 fields; past that the tuple
/// is walked.
fn cells<'a>(tuple: &CopyTuple<'a>, types: &'a [(TypeTag, u32)]) -> Cells<'a> {
    Cells {
        types: types.iter().enumerate(),
        nulls: tuple.nulls_128(),
        walk: (types.len() > 128).then(|| tuple.data()),
    }
}

/// See [`cells`].
#[derive(Clone)]
struct Cells<'a> {
    types: std::iter::Enumerate<std::slice::Iter<'a, (TypeTag, u32)>>,
    nulls: u128,
    walk: Option<crate::copy_tuple::Fields<'a>>,
}

impl Iterator for Cells<'_> {
    type Item = Cell;

    #[inline]
    fn next(&mut self) -> Option<Cell> {
        let (i, &(tag, oid)) = self.types.next()?;
        let null = match &mut self.walk {
            Some(fields) => fields.next()?.is_none(),
            None => self.nulls >> i & 1 == 1,
        };
        Some(if null {
            Cell::Null
        } else {
            Cell::Data(tag, oid)
        })
    }
}

/// The name and row-type tables of the FlexBuffer being written.
#[derive(Default)]
struct Tables {
    names: Vec<Name>,
    /// Entries of tables written before, whose strings new entries are copied into.
    spare_names: Vec<Name>,
    /// Name indices by the hash of their (schema, table, column names).
    name_index: FastMap<u64, Vec<u32>>,
    hasher: BuildHasherDefault<FastHasher>,
    /// The name of the previous event.
    last_name: Option<u32>,
    /// Each row type's first slot and slot count.
    types: Vec<(u32, u32)>,
    /// Every row type's (tag, OID) slots, in runs.
    slots: Vec<(u8, u32)>,
    type_index: FastMap<Box<[(u8, u32)]>, u32>,
    /// The slots of a row type being chosen.
    scratch: Vec<(u8, u32)>,
}

impl Tables {
    /// Empties the tables, keeping what they allocated.
    fn reset(&mut self) {
        // Reversed: the next batch, popping them, meets them in the order this one made
        // them (a table's entries then find the strings of the same entry).
        self.spare_names.extend(self.names.drain(..).rev());
        self.name_index.clear();
        self.last_name = None;
        self.types.clear();
        self.slots.clear();
        self.type_index.clear();
        self.scratch.clear();
    }

    /// The index of (schema, table, column names), added if new.
    #[inline(always)]
    fn name(&mut self, schema: &str, table: &str, columns: &[String]) -> u32 {
        if let Some(last) = self.last_name {
            if self
                .names
                .get(last as usize)
                .is_some_and(|n| n.is(schema, table, columns))
            {
                return last;
            }
        }
        self.other_name(schema, table, columns)
    }

    /// [`Tables::name`] when it is not the previous event's.
    fn other_name(&mut self, schema: &str, table: &str, columns: &[String]) -> u32 {
        let found = if self.names.len() <= LINEAR {
            self.names.iter().position(|n| n.is(schema, table, columns))
        } else {
            let hash = self.hasher.hash_one((schema, table, columns));
            self.name_index.get(&hash).and_then(|bucket| {
                bucket.iter().map(|&i| i as usize).find(|&i| {
                    self.names
                        .get(i)
                        .is_some_and(|n| n.is(schema, table, columns))
                })
            })
        };
        let i = match found {
            Some(i) => i as u32,
            None => {
                let i = self.names.len();
                let mut name = self.spare_names.pop().unwrap_or_default();
                assign_str(&mut name.schema, schema);
                assign_str(&mut name.table, table);
                assign_strings(&mut name.columns, columns);
                name.last_type = NONE;
                self.names.push(name);
                // Indexed once there are too many to look through: all of them then.
                let unindexed = if i == LINEAR { 0..=i } else { i..=i };
                if i >= LINEAR {
                    for j in unindexed {
                        if let Some(n) = self.names.get(j) {
                            let hash = self.hasher.hash_one((
                                n.schema.as_str(),
                                n.table.as_str(),
                                &n.columns[..],
                            ));
                            self.name_index.entry(hash).or_default().push(j as u32);
                        }
                    }
                }
                i as u32
            }
        };
        self.last_name = Some(i);
        i
    }

    /// The row type the last row of name entry `name` had.
    #[inline(always)]
    fn last_type(&self, name: u32) -> u32 {
        self.names.get(name as usize).map_or(NONE, |n| n.last_type)
    }

    /// The slots of row type `ty`.
    #[inline]
    fn slots_of(&self, ty: u32) -> &[(u8, u32)] {
        let (first, n) = self.types.get(ty as usize).copied().unwrap_or_default();
        self.slots
            .get(first as usize..(first + n) as usize)
            .unwrap_or_default()
    }

    /// True when each of the `n` values fits its slot of row type `ty`.
    #[inline]
    fn fits(&self, ty: u32, n: usize, cells: impl Iterator<Item = Cell>) -> bool {
        let slots = self.slots_of(ty);
        slots.len() == n && cells.zip(slots).all(|(c, &slot)| c.fits(slot))
    }

    /// The row type for the `n` values `cells` of an event named `name`: the one its
    /// previous row had if they fit, else the one whose slots are theirs.
    fn row_type(&mut self, name: u32, n: usize, cells: impl Iterator<Item = Cell> + Clone) -> u32 {
        let last = self.last_type(name);
        if last != NONE && self.fits(last, n, cells.clone()) {
            return last;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        {
            let previous = self.slots_of(last);
            for (i, c) in cells.enumerate() {
                scratch.push(c.slot(previous.get(i).copied()));
            }
        }
        let found = if self.types.len() <= LINEAR {
            (0..self.types.len() as u32).find(|&t| self.slots_of(t) == scratch.as_slice())
        } else {
            self.type_index.get(scratch.as_slice()).copied()
        };
        let ty = match found {
            Some(ty) => ty,
            None => {
                let ty = self.types.len();
                self.types
                    .push((self.slots.len() as u32, scratch.len() as u32));
                self.slots.extend_from_slice(&scratch);
                // Indexed once there are too many to look through: all of them then.
                let unindexed = if ty == LINEAR { 0..=ty } else { ty..=ty };
                if ty >= LINEAR {
                    for t in unindexed {
                        let slots: Box<[(u8, u32)]> = self.slots_of(t as u32).into();
                        self.type_index.insert(slots, t as u32);
                    }
                }
                ty as u32
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
        let ty = self.row_type(name, values.len(), values.iter().map(Cell::of));
        put_varint(buf, u64::from(ty));
        let slots = self.slots_of(ty);
        for (v, &(tag, oid)) in values.iter().zip(slots) {
            let Some(len) = field_len(v, tag, oid) else {
                return Err(too_large(v.data.as_ref().map_or(0, |d| d.len())));
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
        // Column entries and slots, many and of a fixed size: written into place.
        let mut at = fixed;
        let entries = buf.len();
        buf.resize(entries + COLUMN_ENTRY * columns, 0);
        let mut slots = buf
            .get_mut(entries..)
            .unwrap_or_default()
            .chunks_exact_mut(8);
        for n in &self.names {
            at += n.schema.len() + n.table.len();
            for (c, slot) in n.columns.iter().zip(&mut slots) {
                slot[..4].copy_from_slice(&(at as u32).to_le_bytes());
                slot[4..].copy_from_slice(&(c.len() as u32).to_le_bytes());
                at += c.len();
            }
        }
        for &(first, n) in &self.types {
            u32s(buf, &[first as usize, n as usize]);
        }
        let entries = buf.len();
        buf.resize(entries + SLOT_ENTRY * self.slots.len(), 0);
        let into = buf
            .get_mut(entries..)
            .unwrap_or_default()
            .chunks_exact_mut(SLOT_ENTRY);
        for (&(tag, oid), slot) in self.slots.iter().zip(into) {
            slot[0] = tag;
            slot[1..].copy_from_slice(&oid.to_le_bytes());
        }
        for n in &self.names {
            buf.extend_from_slice(n.schema.as_bytes());
            buf.extend_from_slice(n.table.as_bytes());
            for c in &n.columns {
                buf.extend_from_slice(c.as_bytes());
            }
        }
    }
}

/// The error for a value of `len` bytes, too long for a COPY field length.
#[cold]
fn too_large(len: usize) -> CodecError {
    CodecError::Encode {
        what: "value",
        reason: format!(
            "{len} bytes of data: the compact encoding stores at most {} bytes a value",
            i32::MAX
        ),
    }
}
