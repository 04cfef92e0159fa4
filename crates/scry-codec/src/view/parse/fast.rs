//! The fast path of the validating pass, for events and their rows and values.
//!
//! It accepts a subset of what the general pass accepts: the shapes both encodings write
//! (maps whose keys it has seen before, inline UInts, Strings, untyped vectors and byte
//! vectors), with the same checks, limits and work charges. Anything else, including every
//! error, makes it give up (`None`); the caller then restores the work counter and runs the
//! general pass over the same event, which either accepts it or reports the exact error. So
//! whenever the fast path succeeds the general pass would have succeeded with the same result.

use scry_types::{OperationType, TypeTag};

use super::order::{map_span, vector_span, Fresh};
use super::template::{Out, Tracer};
use super::{check_utf8, EventRec, Firsts, Parser, StrRef, ValueRec, K_EVENT, K_ROW, K_VALUE};
use crate::flex::fast::{deref, is, rd, wide_are_bytes, width};
use crate::flex::{FlexType, Vector};
use crate::view::ctx::DataRef;
use crate::view::fields::{OPERATIONS, TYPE_TAGS};

/// A map checked to fit: values at `t`, `len` entries of `w` bytes, type bytes at `types`,
/// keys vector at `keys` with `kw`-byte elements.
#[derive(Clone, Copy)]
struct FMap {
    t: usize,
    len: usize,
    w: usize,
    types: usize,
    keys: usize,
    kw: usize,
}

impl FMap {
    /// The map in the `slot_w`-byte slot at `pos`; traces the slot and the map.
    #[inline(always)]
    fn read(b: &[u8], pos: usize, slot_w: usize, packed: u8, tr: &mut Tracer) -> Option<Self> {
        if !is(packed, FlexType::Map) {
            return None;
        }
        tr.same(pos, slot_w);
        Self::at(b, deref(b, pos, slot_w)?, width(packed), tr)
    }

    /// The map at `t` with `w`-byte slots; traces its header, keys and type bytes (its
    /// slots are traced by whoever reads them).
    #[inline(always)]
    fn at(b: &[u8], t: usize, w: usize, tr: &mut Tracer) -> Option<Self> {
        let prefix = t.checked_sub(3 * w)?;
        let len = rd(b, prefix + 2 * w, w)?;
        let kw = rd(b, prefix + w, w)? as usize;
        if !matches!(kw, 1 | 2 | 4 | 8) {
            return None;
        }
        let keys = deref(b, prefix, w)?;
        if rd(b, keys.checked_sub(kw)?, kw)? != len {
            return None;
        }
        let len = usize::try_from(len).ok()?;
        let types = t.checked_add(len.checked_mul(w)?)?;
        if types.checked_add(len)? > b.len() || keys.checked_add(len.checked_mul(kw)?)? > b.len() {
            return None;
        }
        let m = Self {
            t,
            len,
            w,
            types,
            keys,
            kw,
        };
        if tr.on {
            m.trace(b, prefix, tr);
        }
        Some(m)
    }

    /// Traces the header (at `prefix`), the keys vector and the type bytes.
    #[cold]
    fn trace(&self, b: &[u8], prefix: usize, tr: &mut Tracer) {
        tr.same(prefix + self.w, 2 * self.w);
        let scope = tr.open(prefix, self.w, self.keys, Out::None);
        tr.same(self.keys - self.kw, self.kw);
        for i in 0..self.len {
            match self.key(b, i) {
                Some(addr) => tr.key(self.keys + i * self.kw, self.kw, addr),
                None => tr.spoil(),
            }
        }
        tr.close(scope);
        tr.same(self.types, self.len);
    }

    #[inline(always)]
    fn key(&self, b: &[u8], i: usize) -> Option<usize> {
        deref(b, self.keys + i * self.kw, self.kw)
    }

    /// Slot position and packed type of entry `i`.
    #[inline(always)]
    fn entry(&self, b: &[u8], i: usize) -> Option<(usize, u8)> {
        Some((self.t + i * self.w, *b.get(self.types + i)?))
    }
}

/// The values vector of a map at `t` with `len` entries of `w` bytes.
#[inline(always)]
fn vector(t: usize, len: usize, w: usize) -> Vector {
    Vector {
        pos: t as u32,
        len: len as u32,
        width: w as u8,
        elem: None,
    }
}

/// The packed type of a map with 1-byte slots.
const MAP_W1: u8 = (FlexType::Map as u8) << 2;
/// The packed type of a map with 2-byte slots.
const MAP_W2: u8 = ((FlexType::Map as u8) << 2) | 1;

/// The low `w` bytes of `word` shifted right by `at` bytes.
#[inline(always)]
fn field(word: u128, at: usize, w: usize) -> usize {
    let v = word.checked_shr(8 * at as u32).unwrap_or(0);
    (v & ((1u128 << (8 * w)) - 1)) as usize
}

/// The 16 bytes at `pos` as one little-endian word (`None` within 16 bytes of the end).
#[inline(always)]
fn window(b: &[u8], pos: usize) -> Option<u128> {
    let bytes: [u8; 16] = b.get(pos..pos.checked_add(16)?)?.try_into().ok()?;
    Some(u128::from_le_bytes(bytes))
}

/// A column value map at `t` with `W`-byte slots (1 or 2) holding all three fields, whose
/// keys are the known `data`, `type_oid` and `type_tag` keys (`addrs`): the map's header,
/// slots and type bytes are read as one 16-byte window and its keys vector as another, so
/// the checks are shifts and compares instead of bounds-checked reads. It checks what
/// [`FMap::read`] and the key comparison of the general fast path check (header, keys vector
/// length and width, every byte in bounds, each key's offset). Returns each field's slot
/// position and packed type, and the slot width; `None` when the map is not of this shape
/// (then the general fast path looks at it).
#[inline(always)]
fn value_window<const W: usize>(
    b: &[u8],
    t: usize,
    addrs: &[u32; 16],
    tr: &mut Tracer,
) -> Option<[(usize, u8); 4]> {
    let start = t.checked_sub(3 * W)?;
    let m = window(b, start)?;
    let (keys_off, kw, len) = (field(m, 0, W), field(m, W, W), field(m, 2 * W, W));
    if len != 3 || !matches!(kw, 1 | 2 | 4) || keys_off == 0 || keys_off > start {
        return None;
    }
    let keys = start - keys_off;
    match kw {
        1 => value_keys::<1>(b, keys, addrs)?,
        2 => value_keys::<2>(b, keys, addrs)?,
        _ => value_keys::<4>(b, keys, addrs)?,
    }
    if tr.on {
        trace_value_map::<W>(start, keys, kw, addrs, tr);
    }
    let ty = |i: usize| field(m, 6 * W + i, 1) as u8;
    Some([(t, ty(0)), (t + W, ty(1)), (t + 2 * W, ty(2)), (W, 0)])
}

/// Traces what [`value_window`] read of the map whose header is at `start`: header, keys
/// vector (`kw`-byte entries at `keys`, leading to `addrs`) and type bytes.
#[cold]
fn trace_value_map<const W: usize>(
    start: usize,
    keys: usize,
    kw: usize,
    addrs: &[u32; 16],
    tr: &mut Tracer,
) {
    tr.same(start + W, 2 * W);
    let scope = tr.open(start, W, keys, Out::None);
    tr.same(keys - kw, kw);
    for (i, &addr) in addrs.iter().take(3).enumerate() {
        tr.key(keys + i * kw, kw, addr as usize);
    }
    tr.close(scope);
    tr.same(start + 6 * W, 3);
}

/// Checks a value map's 3-entry keys vector at `keys` with `KW`-byte elements (its length
/// just before it), read as one 16-byte window: its length is 3 and each key's offset leads
/// from its slot exactly back to the known key in `addrs`. `KW` is a constant so that the
/// window's fields are fixed shifts.
#[inline(always)]
fn value_keys<const KW: usize>(b: &[u8], keys: usize, addrs: &[u32; 16]) -> Option<()> {
    let k = window(b, keys.checked_sub(KW)?)?;
    if field(k, 0, KW) != 3 {
        return None;
    }
    for (i, &addr) in addrs.iter().take(3).enumerate() {
        let at = keys + i * KW;
        if addr as usize >= at || field(k, (i + 1) * KW, KW) != at - addr as usize {
            return None;
        }
    }
    Some(())
}

/// Whether the `len` bytes at `t` are at most 16 ASCII bytes, tested in one 16-byte window
/// (false also when the window does not fit: then the caller checks the slice).
#[inline(always)]
fn short_ascii(b: &[u8], t: usize, len: usize) -> bool {
    if len > 16 {
        return false;
    }
    let Some(word) = window(b, t) else {
        return false;
    };
    let mask = 1u128
        .checked_shl(8 * len as u32)
        .map_or(u128::MAX, |m| m - 1);
    word & mask & 0x8080_8080_8080_8080_8080_8080_8080_8080 == 0
}

/// An untyped vector checked to fit: elements at `t`, type bytes after them.
#[inline(always)]
fn untyped_vector(
    b: &[u8],
    pos: usize,
    slot_w: usize,
    packed: u8,
    tr: &mut Tracer,
) -> Option<Vector> {
    if !is(packed, FlexType::Vector) {
        return None;
    }
    let w = width(packed);
    let t = deref(b, pos, slot_w)?;
    let len = usize::try_from(rd(b, t.checked_sub(w)?, w)?).ok()?;
    if t.checked_add(len.checked_mul(w + 1)?)? > b.len() {
        return None;
    }
    // The slot, the length and the type bytes (the elements are traced as they are read).
    tr.same(pos, slot_w);
    tr.same(t - w, w);
    tr.same(t + len * w, len);
    Some(Vector {
        pos: t as u32,
        len: len as u32,
        width: w as u8,
        elem: None,
    })
}

impl Parser<'_, '_> {
    /// An object no writer shares, at `pos` with bytes `span`: after the previous one of
    /// its kind (see `order`), traced for a template.
    #[inline(always)]
    fn ffresh(&mut self, kind: Fresh, pos: usize, span: (usize, usize)) -> Option<()> {
        self.order.follow(kind, pos, span).ok()?;
        self.tracer.fresh(kind, pos, span);
        Some(())
    }

    #[inline(always)]
    fn fcharge(&mut self, units: usize) {
        self.work = self.work.saturating_add(units as u64);
    }

    /// A String: bounds, limit, charge, UTF-8.
    #[inline(always)]
    fn fstr(&mut self, b: &[u8], pos: usize, w: usize, packed: u8, out: Out) -> Option<StrRef> {
        if !is(packed, FlexType::String) {
            return None;
        }
        let cw = width(packed);
        let t = deref(b, pos, w)?;
        let len = usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?;
        if self.tracer.on {
            let scope = self.tracer.open(pos, w, t, out);
            self.tracer.same(t - cw, cw);
            self.tracer.string(t, len, out);
            self.tracer.close(scope);
        }
        let bytes = b.get(t..t.checked_add(len)?)?;
        if len > self.o.max_string_bytes {
            return None;
        }
        self.fcharge(len);
        if !short_ascii(b, t, len) {
            check_utf8(bytes).ok()?;
        }
        StrRef::new(t, len)
    }

    /// Null or a String.
    #[inline(always)]
    fn fopt_str(
        &mut self,
        b: &[u8],
        pos: usize,
        w: usize,
        packed: u8,
        out: Out,
    ) -> Option<Option<StrRef>> {
        if is(packed, FlexType::Null) {
            return Some(None);
        }
        self.fstr(b, pos, w, packed, out).map(Some)
    }

    /// An inline UInt.
    #[inline(always)]
    fn fu64(&mut self, b: &[u8], pos: usize, w: usize, packed: u8, out: Out) -> Option<u64> {
        if !is(packed, FlexType::UInt) {
            return None;
        }
        self.tracer.uint(pos, w, out);
        rd(b, pos, w)
    }

    /// An enum: a String naming a variant.
    #[inline(always)]
    fn fenum<E: Copy, const N: usize>(
        &mut self,
        b: &[u8],
        (pos, w, packed): (usize, usize, u8),
        names: &crate::view::fields::NameIndex<N>,
        all: &[E],
        out: Out,
    ) -> Option<E> {
        if !is(packed, FlexType::String) {
            return None;
        }
        let cw = width(packed);
        let t = deref(b, pos, w)?;
        let len = usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?;
        b.get(t..t.checked_add(len)?)?;
        self.fcharge(len);
        if self.tracer.on {
            let scope = self.tracer.open(pos, w, t, Out::None);
            self.tracer.same(t - cw, cw);
            self.tracer.name(t, len, out);
            self.tracer.close(scope);
        }
        names.find_at(b, t, len).and_then(|i| all.get(i).copied())
    }

    /// A value's `data`.
    #[inline(always)]
    fn fdata(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<DataRef> {
        let ty = FlexType::from_u8(packed >> 2)?;
        let cw = width(packed);
        let (t, len) = match ty {
            FlexType::Null => return Some(DataRef::Absent),
            FlexType::VectorUInt => {
                let t = deref(b, pos, w)?;
                self.tracer.same(t.wrapping_sub(cw), cw);
                (t, usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?)
            }
            FlexType::VectorUInt2 => (deref(b, pos, w)?, 2),
            FlexType::VectorUInt3 => (deref(b, pos, w)?, 3),
            FlexType::VectorUInt4 => (deref(b, pos, w)?, 4),
            FlexType::Vector => {
                // Only the empty vector (what serde writes for empty data) is taken here.
                // Its result has no position to move with the event: no template.
                self.tracer.spoil();
                let t = deref(b, pos, w)?;
                if rd(b, t.checked_sub(cw)?, cw)? != 0 {
                    return None;
                }
                return Some(DataRef::Contiguous { pos: 0, len: 0 });
            }
            _ => return None,
        };
        let elem_w = cw;
        let raw = b.get(t..t.checked_add(len.checked_mul(elem_w)?)?)?;
        self.tracer.same(pos, w);
        if elem_w > 1 {
            self.tracer.wide(t, len, elem_w);
        }
        if len > self.o.max_value_bytes {
            return None;
        }
        self.fcharge(len);
        self.data_bytes = self.data_bytes.saturating_add(len);
        if elem_w > 1 {
            if !wide_are_bytes(raw, elem_w) {
                return None;
            }
            return Some(DataRef::Wide(Vector {
                pos: t as u32,
                len: len as u32,
                width: elem_w as u8,
                elem: Some(FlexType::UInt),
            }));
        }
        Some(DataRef::Contiguous { pos: t, len })
    }

    /// A column value map in canonical key order.
    #[inline(always)]
    fn fvalue(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<()> {
        let index = self.tracer.next_value();
        let addrs = &self.keys.get(K_VALUE)?.field_addrs;
        let tr = &mut self.tracer;
        let (window, vt) = match packed {
            MAP_W1 => {
                let t = deref(b, pos, w)?;
                (value_window::<1>(b, t, addrs, tr), t)
            }
            MAP_W2 => {
                let t = deref(b, pos, w)?;
                (value_window::<2>(b, t, addrs, tr), t)
            }
            _ => (None, 0),
        };
        if let Some([(dp, dt), (op, ot), (tp, tt), (vw, _)]) = window {
            self.tracer.same(pos, w);
            self.ffresh(Fresh::Value, dp, map_span(dp, 3, vw))?;
            self.fcharge(3);
            let data = self.fdata(b, dp, vw, dt)?;
            return self.fvalue_rest(
                b,
                data,
                [(op, vw, ot), (tp, vw, tt)],
                vector(vt, 3, vw),
                index,
            );
        }
        let m = FMap::read(b, pos, w, packed, &mut self.tracer)?;
        let first = match m.len {
            3 => 0,
            2 => 1,
            _ => return None,
        };
        let addrs = self.keys.get(K_VALUE)?.field_addrs;
        for i in 0..m.len {
            if m.key(b, i)? != *addrs.get(first + i)? as usize {
                return None;
            }
        }
        self.ffresh(Fresh::Value, m.t, map_span(m.t, m.len, m.w))?;
        self.fcharge(m.len);
        let data = if first == 0 {
            let (p, t) = m.entry(b, 0)?;
            self.fdata(b, p, m.w, t)?
        } else {
            DataRef::Absent
        };
        let (op, ot) = m.entry(b, 1 - first)?;
        let (tp, tt) = m.entry(b, 2 - first)?;
        let slots = [(op, m.w, ot), (tp, m.w, tt)];
        self.fvalue_rest(b, data, slots, vector(m.t, m.len, m.w), index)
    }

    /// The rest of value `index`, whose map is `map` and data `data`: its OID and type tag
    /// (`slots`: position, width and packed type of each), then its trace and record.
    #[inline(always)]
    fn fvalue_rest(
        &mut self,
        b: &[u8],
        data: DataRef,
        [(op, ow, ot), tag]: [(usize, usize, u8); 2],
        map: Vector,
        index: u16,
    ) -> Option<()> {
        let oid = u32::try_from(self.fu64(b, op, ow, ot, Out::Oid(index))?).ok()?;
        let (names, all) = (&TYPE_TAGS, TypeTag::ALL);
        let tag = self.fenum(b, tag, names, all, Out::Tag(index))?;
        if self.tracer.on {
            self.tracer.value(map, data);
        }
        if let Some(r) = self.record.as_mut() {
            r.values.push(ValueRec { tag, oid, data });
        }
        Some(())
    }

    /// Null or a row map; returns its `values` vector.
    #[inline(always)]
    fn frow(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<Option<Vector>> {
        if is(packed, FlexType::Null) {
            return Some(None);
        }
        let m = FMap::read(b, pos, w, packed, &mut self.tracer)?;
        if m.len != 1 || m.key(b, 0)? != *self.keys.get(K_ROW)?.field_addrs.first()? as usize {
            return None;
        }
        self.ffresh(Fresh::Row, m.t, map_span(m.t, m.len, m.w))?;
        self.fcharge(1);
        let (p, t) = m.entry(b, 0)?;
        let v = untyped_vector(b, p, m.w, t, &mut self.tracer)?;
        let (len, vw) = (v.len as usize, usize::from(v.width));
        if len > self.o.max_columns {
            return None;
        }
        self.fcharge(len);
        let t0 = v.pos as usize;
        for j in 0..len {
            let pt = *b.get(t0 + len * vw + j)?;
            self.fvalue(b, t0 + j * vw, vw, pt)?;
        }
        Some(Some(v))
    }

    /// The event's column names: an untyped vector of Strings.
    #[inline(always)]
    fn fcolumns(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<Vector> {
        let v = untyped_vector(b, pos, w, packed, &mut self.tracer)?;
        let (len, vw) = (v.len as usize, usize::from(v.width));
        let pos = v.pos as usize;
        self.ffresh(Fresh::Columns, pos, vector_span(pos, len, vw))?;
        if len > self.o.max_columns {
            return None;
        }
        self.fcharge(len);
        let t0 = v.pos as usize;
        for j in 0..len {
            let pt = *b.get(t0 + len * vw + j)?;
            let index = self.tracer.next_column();
            let name = self.fstr(b, t0 + j * vw, vw, pt, Out::Column(index))?;
            if let Some(r) = self.record.as_mut() {
                r.columns.push(name);
            }
        }
        Some(v)
    }

    /// An event map, or `None` to leave it to the general pass.
    /// With `trace`, the tracer records what it reads (for a template).
    pub(super) fn fast_event(
        &mut self,
        pos: usize,
        w: usize,
        packed: u8,
        trace: bool,
    ) -> Option<EventRec> {
        let b = self.r.buf();
        if !is(packed, FlexType::Map) {
            return None;
        }
        let t = deref(b, pos, w)?;
        if trace {
            self.tracer.start(t);
        }
        let m = FMap::at(b, t, width(packed), &mut self.tracer)?;
        self.fcharge(m.len);
        let mut columns = None;
        let mut ddl_object_type = None;
        let mut ddl_sql = None;
        let mut event_id = None;
        let mut new_row = None;
        let mut old_row = None;
        let mut operation = None;
        let mut position = None;
        let mut relation_meta = None;
        let mut schema = None;
        let mut table = None;
        let mut timestamp_us = None;
        let mut transaction_id = None;
        let mut mask = 0u32;
        let mut firsts = Firsts::default();
        for i in 0..m.len {
            let id = self.keys.get(K_EVENT)?.known(i, m.key(b, i)?)?;
            if id == u8::MAX {
                continue;
            }
            let bit = 1u32.checked_shl(u32::from(id))?;
            if mask & bit != 0 {
                return None;
            }
            mask |= bit;
            let (p, t) = m.entry(b, i)?;
            let w = m.w;
            match id {
                0 => {
                    firsts.columns = self.record_lens().0;
                    columns = Some(self.fcolumns(b, p, w, t)?);
                }
                1 => ddl_object_type = self.fopt_str(b, p, w, t, Out::DdlObjectType)?,
                2 => ddl_sql = self.fopt_str(b, p, w, t, Out::DdlSql)?,
                3 => event_id = self.fopt_str(b, p, w, t, Out::EventId)?,
                4 => {
                    firsts.new_row = self.record_lens().1;
                    new_row = self.frow(b, p, w, t)?;
                }
                5 => {
                    firsts.old_row = self.record_lens().1;
                    old_row = self.frow(b, p, w, t)?;
                }
                6 => {
                    operation = Some(self.fenum(
                        b,
                        (p, w, t),
                        &OPERATIONS,
                        OperationType::ALL,
                        Out::Operation,
                    )?)
                }
                7 => position = Some(self.fu64(b, p, w, t, Out::Position)?),
                8 => {
                    if !is(t, FlexType::Null) {
                        self.tracer.spoil();
                        let slot = self.r.slot(p, w as u8, t).ok()?;
                        relation_meta = Some(self.relation(slot).ok()?);
                    }
                }
                9 => schema = Some(self.fstr(b, p, w, t, Out::Schema)?),
                10 => table = Some(self.fstr(b, p, w, t, Out::Table)?),
                11 => timestamp_us = Some(self.fu64(b, p, w, t, Out::Timestamp)?),
                12 => transaction_id = Some(self.fu64(b, p, w, t, Out::TransactionId)?),
                _ => return None,
            }
        }
        if self.work > self.budget {
            return None;
        }
        let rec = EventRec {
            operation: operation?,
            timestamp_us: timestamp_us?,
            position: position?,
            transaction_id: transaction_id?,
            event_id,
            schema: schema?,
            table: table?,
            columns: columns?,
            new_row,
            old_row,
            relation_meta,
            ddl_sql,
            ddl_object_type,
            layout: None,
        };
        self.record_firsts(firsts, new_row.is_some(), old_row.is_some());
        Some(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ascii_looks_at_the_string_only() {
        let mut b = vec![0xFFu8; 40];
        b[4..10].copy_from_slice(b"schema");
        assert!(short_ascii(&b, 4, 6));
        assert!(!short_ascii(&b, 4, 7));
        assert!(short_ascii(&b, 4, 0));
        // The window would pass the end: left to the slice check.
        assert!(!short_ascii(&b, 30, 2));
        let ascii = [b'a'; 40];
        assert!(short_ascii(&ascii, 0, 16));
        assert!(!short_ascii(&ascii, 0, 17));
        assert!(!short_ascii(&ascii, 25, 1));
        assert!(short_ascii(&ascii, 24, 1));
    }

    #[test]
    fn fields_of_a_window() {
        let w = u128::from_le_bytes(
            *b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10",
        );
        assert_eq!(field(w, 0, 1), 1);
        assert_eq!(field(w, 1, 2), 0x0302);
        assert_eq!(field(w, 12, 4), 0x100f_0e0d);
        assert_eq!(field(w, 16, 1), 0);
    }
}
