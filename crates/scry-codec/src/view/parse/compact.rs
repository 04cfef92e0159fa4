//! The validating pass over the compact encoding (layout versions 2 and 3, see `crate::compact`):
//! the tables blob, then every event of the events blob, each checked once and recorded as a
//! [`PackedEvent`] the views read without failing.

use scry_types::{OperationType, TypeTag};

use super::{check_utf8, require, Parser, StrRef};
use crate::compact::{
    flag, get_varint, unzigzag, VarintError, COLUMN_ENTRY, LEN_NO_DATA, METAS_KEY, MIN_EVENT,
    MIN_VALUE, NAME_ENTRY, SLOT_ENTRY, TABLES_HEADER, TABLES_KEY, TYPE_ENTRY, VERSION, VERSION_2,
    VERSION_KEY,
};
use crate::flex::{wrong_type, FlexType, Map, Res, Slot, Vector};
use crate::view::fields::find_field;
use crate::{DecodeError, DecodeErrorKind, Limit};

/// An event's column names: a run of entries in the tables blob (where the first lies, how
/// many there are, and where the blob starts: their offsets count from there), or stated
/// inline in the event (`base` 0: where the first one's length lies, and how many).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ColumnRun {
    pub at: u32,
    pub n: u32,
    pub base: u32,
}

/// The inline column name at `at` (validated): the name and where the next one lies.
#[inline]
pub(crate) fn inline_column(buf: &[u8], at: u32) -> Option<(StrRef, u32)> {
    let (len, start) = get_varint(buf, at as usize).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some((StrRef::new(start, end - start)?, end as u32))
}

/// A row: where its row type's first slot lies, where its first field lies, and how many
/// values it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedRow {
    pub slots: u32,
    pub fields: u32,
    pub n: u32,
}

/// Everything an `EventView` of a compact event needs, found by the validating pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedEvent {
    pub operation: OperationType,
    pub timestamp_us: u64,
    pub position: u64,
    pub transaction_id: u64,
    pub event_id: Option<StrRef>,
    pub schema: StrRef,
    pub table: StrRef,
    pub columns: ColumnRun,
    pub new_row: Option<PackedRow>,
    pub old_row: Option<PackedRow>,
    /// The relation map's values.
    pub relation_meta: Option<Vector>,
    pub ddl_sql: Option<StrRef>,
    pub ddl_object_type: Option<StrRef>,
}

/// Column name `i` of a run of the tables blob (validated with the tables).
#[inline]
pub(crate) fn column(buf: &[u8], run: ColumnRun, i: u32) -> Option<StrRef> {
    if i >= run.n || run.base == 0 {
        return None;
    }
    let e = run.at as usize + i as usize * COLUMN_ENTRY;
    let at = u32_at(buf, e)? as usize + run.base as usize;
    let len = u32_at(buf, e + 4)? as usize;
    StrRef::new(at, len)
}

/// Where the slot (tag and OID) of value `i` of a row lies.
#[inline(always)]
pub(crate) fn slot_at(row: PackedRow, i: u32) -> u32 {
    row.slots + i * SLOT_ENTRY as u32
}

/// The tag and OID of the slot at `at`.
#[inline(always)]
pub(crate) fn slot(buf: &[u8], at: u32) -> (TypeTag, u32) {
    let at = at as usize;
    let tag = buf
        .get(at)
        .and_then(|&b| TypeTag::from_byte(b))
        .unwrap_or(TypeTag::Null);
    (tag, u32_at(buf, at + 1).unwrap_or(0))
}

/// The field length at `at`.
#[inline(always)]
pub(crate) fn field_len(buf: &[u8], at: usize) -> i32 {
    buf.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(LEN_NO_DATA, i32::from_be_bytes)
}

#[inline(always)]
fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        buf.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// One entry of the name table, validated.
#[derive(Debug, Clone, Copy)]
struct NameRec {
    schema: StrRef,
    table: StrRef,
    columns: ColumnRun,
    /// What expanding its column names costs (entries and bytes), charged per event.
    cost: usize,
}

/// The validated tables.
struct Tables {
    names: Vec<NameRec>,
    /// Each row type's first slot (absolute) and slot count.
    types: Vec<(u32, u32)>,
}

#[cold]
fn varint_error(e: VarintError, at: usize, input_len: usize) -> DecodeError {
    match e {
        VarintError::Truncated => DecodeError::new(
            DecodeErrorKind::OutOfBounds {
                end: at as u64 + 1,
                input_len,
            },
            at,
        ),
        VarintError::Malformed => DecodeError::new(DecodeErrorKind::MalformedVarint, at),
    }
}

#[cold]
fn index_error(table: &'static str, index: u64, len: usize, at: usize) -> DecodeError {
    DecodeError::new(
        DecodeErrorKind::IndexOutOfRange {
            table,
            index,
            len: len as u64,
        },
        at,
    )
}

/// A compact root's `metas` and the `relations` its indexes name (none for a bare event).
#[derive(Clone, Copy)]
struct Metas {
    metas: Vector,
    relations: Option<Vector>,
}

#[cold]
fn count_error(what: &'static str, expected: u64, found: u64, at: usize) -> DecodeError {
    DecodeError::new(
        DecodeErrorKind::CountMismatch {
            what,
            expected,
            found,
        },
        at,
    )
}

/// What a table of runs (name entries over column entries, row types over slots) must be:
/// each run of `n` starts where the previous one ended (`next`), within the limit, and lies
/// inside the `total` entries it refers to; then `next` moves past it.
struct Runs {
    /// What a run's first entry is called, for errors ("first column of a name entry").
    first_of: &'static str,
    /// What its entries are called ("column").
    entry: &'static str,
    total: usize,
    next: usize,
}

impl Runs {
    fn take(&mut self, first: usize, n: usize, max: usize, at: usize) -> Res<()> {
        if first != self.next {
            return Err(count_error(
                self.first_of,
                self.next as u64,
                first as u64,
                at,
            ));
        }
        Parser::limit(Limit::Columns, max, n, at)?;
        match first.checked_add(n) {
            Some(end) if end <= self.total => {
                self.next = end;
                Ok(())
            }
            _ => Err(index_error(
                self.entry,
                first as u64 + n as u64,
                self.total,
                at,
            )),
        }
    }

    /// Every entry must belong to a run: `what` names them for the error.
    fn all_used(&self, what: &'static str, at: usize) -> Res<()> {
        if self.next != self.total {
            return Err(count_error(what, self.total as u64, self.next as u64, at));
        }
        Ok(())
    }
}

/// A read position inside one blob: the bytes it may read end at `end`.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
    end: usize,
}

impl Cursor<'_> {
    #[cold]
    fn past_end(&self, n: usize) -> DecodeError {
        DecodeError::new(
            DecodeErrorKind::OutOfBounds {
                end: self.at as u64 + n as u64,
                input_len: self.buf.len(),
            },
            self.at,
        )
    }

    /// The next `n` bytes' position, moving past them.
    #[inline(always)]
    fn take(&mut self, n: usize) -> Res<usize> {
        let at = self.at;
        match at.checked_add(n) {
            Some(next) if next <= self.end => {
                self.at = next;
                Ok(at)
            }
            _ => Err(self.past_end(n)),
        }
    }

    #[inline(always)]
    fn u8(&mut self) -> Res<u8> {
        let at = self.take(1)?;
        Ok(self.buf.get(at).copied().unwrap_or(0))
    }

    #[inline(always)]
    fn u32(&mut self) -> Res<u32> {
        let at = self.take(4)?;
        Ok(u32_at(self.buf, at).unwrap_or(0))
    }

    #[inline(always)]
    fn i32be(&mut self) -> Res<i32> {
        let at = self.take(4)?;
        Ok(field_len(self.buf, at))
    }

    #[inline(always)]
    fn varint(&mut self) -> Res<u64> {
        let b = self.buf.get(..self.end).unwrap_or_default();
        match get_varint(b, self.at) {
            Ok((x, next)) => {
                self.at = next;
                Ok(x)
            }
            Err(e) => Err(varint_error(e, self.at, self.buf.len())),
        }
    }
}

impl Parser<'_, '_> {
    /// True when the root map `m` is a compact one (it has the version key).
    pub(super) fn is_compact_root(&self, m: &Map) -> bool {
        find_field(&self.r, &m.values, VERSION_KEY).is_some()
    }

    /// The version key of a compact root, checked.
    fn compact_version(&mut self, m: &Map) -> Res<()> {
        let at = m.values.pos as usize;
        let s = require(find_field(&self.r, &m.values, VERSION_KEY), VERSION_KEY, at)?;
        let v = self.u64(s).map_err(|e| e.in_field(VERSION_KEY))?;
        if v != VERSION && v != VERSION_2 {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedVersion { version: v },
                s.pos,
            )
            .in_field(VERSION_KEY));
        }
        Ok(())
    }

    /// The events of a compact root `m` whose `events` field is `events`: pushed to `out`.
    /// Call after the root's other fields (the relations) were validated.
    pub(super) fn compact_events(
        &mut self,
        m: &Map,
        events: Slot,
        bare: bool,
        relations: Option<Vector>,
        out: &mut Vec<PackedEvent>,
    ) -> Res<()> {
        self.compact_version(m)?;
        let at = m.values.pos as usize;
        let tables = require(find_field(&self.r, &m.values, TABLES_KEY), TABLES_KEY, at)?;
        let tables = self.tables(tables).map_err(|e| e.in_field(TABLES_KEY))?;
        let metas = match find_field(&self.r, &m.values, METAS_KEY) {
            Some(s) => Some(
                self.metas(s, relations)
                    .map_err(|e| e.in_field(METAS_KEY))?,
            ),
            None => None,
        };
        let metas = metas.map(|metas| Metas { metas, relations });
        self.event_stream(&tables, events, metas, bare, out)
            .map_err(|e| e.in_field("events"))
    }

    /// The `metas` vector: each entry a relation map, or the index (a UInt) of an entry of
    /// `relations` (validated before) that no other entry names, so that no relation is
    /// read more than twice.
    fn metas(&mut self, s: Slot, relations: Option<Vector>) -> Res<Vector> {
        let len = relations.map_or(0, |v| v.len as usize);
        let mut named = vec![false; len];
        let max = self.o.max_relations;
        self.each(s, "a vector of relations", Limit::Relations, max, |p, e| {
            if e.ty != FlexType::UInt {
                return p.relation(e).map(drop);
            }
            let index = p.u64(e)?;
            let Some(seen) = usize::try_from(index).ok().and_then(|i| named.get_mut(i)) else {
                return Err(index_error("relations", index, len, e.pos));
            };
            if std::mem::replace(seen, true) {
                return Err(DecodeError::new(
                    DecodeErrorKind::RelationNamedTwice { index },
                    e.pos,
                ));
            }
            Ok(())
        })
    }

    /// A blob's position and length.
    fn blob_of(&self, s: Slot) -> Res<(usize, usize)> {
        if s.ty != FlexType::Blob {
            return Err(wrong_type("a Blob", s));
        }
        self.r.blob(s)
    }

    /// A string of `len` bytes at `at` in a tables blob: inside `[lo, hi)`, within the
    /// limit, charged and valid UTF-8.
    fn table_string(&mut self, at: usize, len: usize, lo: usize, hi: usize) -> Res<StrRef> {
        Self::limit(Limit::StringBytes, self.o.max_string_bytes, len, at)?;
        let end = at.checked_add(len).filter(|&e| at >= lo && e <= hi);
        if end.is_none() {
            return Err(DecodeError::new(
                DecodeErrorKind::OutOfBounds {
                    end: at as u64 + len as u64,
                    input_len: self.r.buf().len(),
                },
                at,
            ));
        }
        self.utf8(at, len)
    }

    /// The `len` bytes at `at` (inside the input) as a string: charged, valid UTF-8.
    fn utf8(&mut self, at: usize, len: usize) -> Res<StrRef> {
        self.charge(len, at)?;
        let bytes = self.r.range(at, len)?;
        if let Err(e) = check_utf8(bytes) {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidUtf8 {
                    valid_up_to: e.valid_up_to(),
                },
                at,
            ));
        }
        StrRef::new(at, len)
            .ok_or_else(|| DecodeError::new(DecodeErrorKind::BadOffset { offset: 0 }, at))
    }

    /// The tables blob.
    fn tables(&mut self, s: Slot) -> Res<Tables> {
        let (base, len) = self.blob_of(s)?;
        let buf = self.r.buf();
        let mut c = Cursor {
            buf,
            at: base,
            end: base + len,
        };
        let names = c.u32()? as usize;
        let columns = c.u32()? as usize;
        let types = c.u32()? as usize;
        let slots = c.u32()? as usize;
        // The fixed part must fit the blob before anything is allocated for it.
        let fixed = [
            (names, NAME_ENTRY),
            (columns, COLUMN_ENTRY),
            (types, TYPE_ENTRY),
            (slots, SLOT_ENTRY),
        ]
        .iter()
        .try_fold(TABLES_HEADER as u64, |a, &(n, w)| {
            a.checked_add((n as u64).checked_mul(w as u64)?)
        })
        .filter(|&f| f <= len as u64)
        .ok_or_else(|| c.past_end(len + 1))? as usize;
        self.charge(names + columns + types + slots, base)?;
        let (lo, hi) = (base + fixed, base + len);
        let columns_at = base + TABLES_HEADER + names * NAME_ENTRY;
        let types_at = columns_at + columns * COLUMN_ENTRY;
        let slots_at = types_at + types * TYPE_ENTRY;

        let mut recs = Vec::with_capacity(names);
        let mut column_runs = Runs {
            first_of: "first column of a name entry",
            entry: "column",
            total: columns,
            next: 0,
        };
        for i in 0..names {
            let mut entry = |p: &mut Self| -> Res<NameRec> {
                let at = c.at;
                let [sa, sl, ta, tl, first, n] =
                    [(); 6].map(|()| c.u32().map(|x| x as usize).unwrap_or(0));
                let schema = p
                    .table_string(base + sa, sl, lo, hi)
                    .map_err(|e| e.in_field("schema"))?;
                let table = p
                    .table_string(base + ta, tl, lo, hi)
                    .map_err(|e| e.in_field("table"))?;
                column_runs.take(first, n, p.o.max_columns, at)?;
                let mut cost = n;
                for k in first..first + n {
                    let e = columns_at + k * COLUMN_ENTRY;
                    let (na, nl) = (
                        u32_at(buf, e).unwrap_or(0) as usize,
                        u32_at(buf, e + 4).unwrap_or(0) as usize,
                    );
                    p.table_string(base + na, nl, lo, hi)
                        .map_err(|e| e.at_index(k - first).in_field("columns"))?;
                    cost = cost.saturating_add(nl);
                }
                Ok(NameRec {
                    schema,
                    table,
                    columns: ColumnRun {
                        at: (columns_at + first * COLUMN_ENTRY) as u32,
                        n: n as u32,
                        base: base as u32,
                    },
                    cost,
                })
            };
            let rec = entry(self).map_err(|e| e.at_index(i).in_field("names"))?;
            recs.push(rec);
        }
        column_runs.all_used("column entries used by the name table", columns_at)?;

        let mut type_recs = Vec::with_capacity(types);
        let mut slot_runs = Runs {
            first_of: "first slot of a row type",
            entry: "slot",
            total: slots,
            next: 0,
        };
        for i in 0..types {
            let at = types_at + i * TYPE_ENTRY;
            let first = u32_at(buf, at).unwrap_or(0) as usize;
            let n = u32_at(buf, at + 4).unwrap_or(0) as usize;
            slot_runs
                .take(first, n, self.o.max_columns, at)
                .map_err(|e| e.at_index(i).in_field("types"))?;
            type_recs.push(((slots_at + first * SLOT_ENTRY) as u32, n as u32));
        }
        slot_runs.all_used("slots used by the row types", slots_at)?;
        for i in 0..slots {
            let at = slots_at + i * SLOT_ENTRY;
            let tag = buf.get(at).copied().unwrap_or(0);
            if TypeTag::from_byte(tag).is_none() {
                return Err(DecodeError::new(
                    DecodeErrorKind::InvalidDiscriminant {
                        enum_name: "TypeTag",
                        value: tag.into(),
                    },
                    at,
                )
                .at_index(i)
                .in_field("slots"));
            }
        }
        Ok(Tables {
            names: recs,
            types: type_recs,
        })
    }

    /// The events blob.
    fn event_stream(
        &mut self,
        tables: &Tables,
        s: Slot,
        metas: Option<Metas>,
        bare: bool,
        out: &mut Vec<PackedEvent>,
    ) -> Res<()> {
        let (pos, len) = self.blob_of(s)?;
        let mut c = Cursor {
            buf: self.r.buf(),
            at: pos,
            end: pos + len,
        };
        let count_at = c.at;
        let count = c.varint()?;
        if bare && count != 1 {
            return Err(count_error("events of a bare event", 1, count, count_at));
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        Self::limit(Limit::Events, self.o.max_events, count, count_at)?;
        let room = (c.end - c.at) / MIN_EVENT;
        if count > room {
            return Err(c.past_end(count.saturating_mul(MIN_EVENT)));
        }
        out.reserve_exact(count);
        let metas_len = metas.map_or(0, |m| m.metas.len as usize);
        let mut next_meta = 0usize;
        let mut prev = (0u64, 0u64, 0u64);
        for i in 0..count {
            let e = self
                .packed_event(tables, &mut c, &mut prev, metas, &mut next_meta)
                .map_err(|e| e.at_index(i))?;
            out.push(e);
        }
        if c.at != c.end {
            return Err(DecodeError::new(
                DecodeErrorKind::TrailingBytes {
                    what: "events blob",
                    count: c.end - c.at,
                },
                c.at,
            ));
        }
        if next_meta != metas_len {
            return Err(count_error(
                "relation metadata used by the events",
                metas_len as u64,
                next_meta as u64,
                pos,
            )
            .in_field(METAS_KEY));
        }
        Ok(())
    }

    /// An event's inline column names.
    fn inline_columns(&mut self, c: &mut Cursor<'_>) -> Res<ColumnRun> {
        let count_at = c.at;
        let n = usize::try_from(c.varint()?).unwrap_or(usize::MAX);
        Self::limit(Limit::Columns, self.o.max_columns, n, count_at)?;
        let at = c.at;
        self.charge(n, at)?;
        for i in 0..n {
            self.event_string(c).map_err(|e| e.at_index(i))?;
        }
        Ok(ColumnRun {
            at: at as u32,
            n: n as u32,
            base: 0,
        })
    }

    /// A length-prefixed string of an event.
    fn event_string(&mut self, c: &mut Cursor<'_>) -> Res<StrRef> {
        let len = usize::try_from(c.varint()?).unwrap_or(usize::MAX);
        Self::limit(Limit::StringBytes, self.o.max_string_bytes, len, c.at)?;
        let at = c.take(len)?;
        self.utf8(at, len)
    }

    /// One event.
    #[inline]
    fn packed_event(
        &mut self,
        tables: &Tables,
        c: &mut Cursor<'_>,
        prev: &mut (u64, u64, u64),
        metas: Option<Metas>,
        next_meta: &mut usize,
    ) -> Res<PackedEvent> {
        let op_at = c.at;
        let op = c.u8()?;
        let operation = OperationType::from_byte(op).ok_or_else(|| {
            DecodeError::new(
                DecodeErrorKind::InvalidDiscriminant {
                    enum_name: "OperationType",
                    value: op.into(),
                },
                op_at,
            )
            .in_field("operation")
        })?;
        let flags = c.u8()?;
        if flags & !flag::ALL != 0 {
            return Err(DecodeError::new(
                DecodeErrorKind::UnknownFlags { flags },
                op_at + 1,
            ));
        }
        let name_at = c.at;
        let name = c.varint()?;
        let n = usize::try_from(name)
            .ok()
            .and_then(|i| tables.names.get(i))
            .ok_or_else(|| index_error("name", name, tables.names.len(), name_at))?;
        // The owned copy expands the column names for every event.
        self.charge(n.cost, name_at)?;
        let delta = |c: &mut Cursor<'_>, before: u64| -> Res<u64> {
            Ok(before.wrapping_add(unzigzag(c.varint()?) as u64))
        };
        let timestamp_us = delta(c, prev.0)?;
        let position = delta(c, prev.1)?;
        let transaction_id = delta(c, prev.2)?;
        *prev = (timestamp_us, position, transaction_id);
        let columns = if flags & flag::INLINE_COLUMNS != 0 {
            if n.columns.n != 0 {
                return Err(count_error(
                    "column names of a name entry used with inline names",
                    0,
                    n.columns.n.into(),
                    name_at,
                ));
            }
            self.inline_columns(c).map_err(|e| e.in_field("columns"))?
        } else {
            n.columns
        };
        let mut string = |p: &mut Self, bit: u8, field: &'static str| -> Res<Option<StrRef>> {
            if flags & bit == 0 {
                return Ok(None);
            }
            p.event_string(c).map(Some).map_err(|e| e.in_field(field))
        };
        let event_id = string(self, flag::EVENT_ID, "event_id")?;
        let ddl_sql = string(self, flag::DDL_SQL, "ddl_sql")?;
        let ddl_object_type = string(self, flag::DDL_OBJECT_TYPE, "ddl_object_type")?;
        let new_row = if flags & flag::NEW_ROW != 0 {
            Some(
                self.packed_row(tables, c)
                    .map_err(|e| e.in_field("new_row"))?,
            )
        } else {
            None
        };
        let old_row = if flags & flag::OLD_ROW != 0 {
            Some(
                self.packed_row(tables, c)
                    .map_err(|e| e.in_field("old_row"))?,
            )
        } else {
            None
        };
        let relation_meta = if flags & flag::RELATION_META != 0 {
            let len = metas.map_or(0, |m| m.metas.len as usize);
            let i = *next_meta;
            let Some(m) = metas.filter(|_| i < len) else {
                return Err(index_error("metas", i as u64, len, op_at).in_field("relation_meta"));
            };
            *next_meta += 1;
            let s = self.r.element(&m.metas, i)?;
            // An index names a relation of the batch (checked with `metas`).
            let s = match (s.ty, m.relations) {
                (FlexType::UInt, Some(relations)) => {
                    let j = usize::try_from(self.u64(s)?).unwrap_or(usize::MAX);
                    self.r.element(&relations, j)?
                }
                _ => s,
            };
            Some(self.r.map_values(s, "a relation map")?)
        } else {
            None
        };
        Ok(PackedEvent {
            operation,
            timestamp_us,
            position,
            transaction_id,
            event_id,
            schema: n.schema,
            table: n.table,
            columns,
            new_row,
            old_row,
            relation_meta,
            ddl_sql,
            ddl_object_type,
        })
    }

    /// One row: its type, then a COPY field per value.
    #[inline]
    fn packed_row(&mut self, tables: &Tables, c: &mut Cursor<'_>) -> Res<PackedRow> {
        let type_at = c.at;
        let ty = c.varint()?;
        let &(slots, n) = usize::try_from(ty)
            .ok()
            .and_then(|i| tables.types.get(i))
            .ok_or_else(|| index_error("row type", ty, tables.types.len(), type_at))?;
        let fields = c.at;
        if (n as usize).saturating_mul(MIN_VALUE) > c.end - c.at {
            return Err(c.past_end(n as usize * MIN_VALUE));
        }
        self.charge(n as usize, fields)?;
        for i in 0..n as usize {
            let at = c.at;
            let len = c.i32be()?;
            let mut field = || -> Res<()> {
                if len >= 0 {
                    let len = len as usize;
                    Self::limit(Limit::ValueBytes, self.o.max_value_bytes, len, at)?;
                    c.take(len)?;
                    self.data_bytes += len;
                } else if len < LEN_NO_DATA {
                    return Err(DecodeError::new(
                        DecodeErrorKind::BadFieldLength { length: len },
                        at,
                    ));
                }
                Ok(())
            };
            field().map_err(|e| e.in_field("data").at_index(i).in_field("values"))?;
        }
        Ok(PackedRow {
            slots,
            fields: fields as u32,
            n,
        })
    }
}
