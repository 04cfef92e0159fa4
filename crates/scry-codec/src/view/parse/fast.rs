//! The fast path of the validating pass, for events and their rows and values.
//!
//! It accepts a subset of what the general pass accepts: the shapes both encodings write
//! (maps whose keys it has seen before, inline UInts, Strings, untyped vectors, byte vectors
//! and blobs), with the same checks, limits and work charges. Anything else, including every
//! error, makes it give up (`None`); the caller then restores the work counter and runs the
//! general pass over the same event, which either accepts it or reports the exact error. So
//! whenever the fast path succeeds the general pass would have succeeded with the same result.

use scry_types::{OperationType, TypeTag};

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
    #[inline(always)]
    fn read(b: &[u8], pos: usize, slot_w: usize, packed: u8) -> Option<Self> {
        if !is(packed, FlexType::Map) {
            return None;
        }
        let w = width(packed);
        let t = deref(b, pos, slot_w)?;
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
        Some(Self {
            t,
            len,
            w,
            types,
            keys,
            kw,
        })
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

/// An untyped vector checked to fit: elements at `t`, type bytes after them.
#[inline(always)]
fn untyped_vector(b: &[u8], pos: usize, slot_w: usize, packed: u8) -> Option<Vector> {
    if !is(packed, FlexType::Vector) {
        return None;
    }
    let w = width(packed);
    let t = deref(b, pos, slot_w)?;
    let len = usize::try_from(rd(b, t.checked_sub(w)?, w)?).ok()?;
    if t.checked_add(len.checked_mul(w + 1)?)? > b.len() {
        return None;
    }
    Some(Vector {
        pos: t as u32,
        len: len as u32,
        width: w as u8,
        elem: None,
    })
}

impl Parser<'_, '_> {
    #[inline(always)]
    fn fcharge(&mut self, units: usize) {
        self.work = self.work.saturating_add(units as u64);
    }

    /// A String: bounds, limit, charge, UTF-8.
    #[inline(always)]
    fn fstr(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<StrRef> {
        if !is(packed, FlexType::String) {
            return None;
        }
        let cw = width(packed);
        let t = deref(b, pos, w)?;
        let len = usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?;
        let bytes = b.get(t..t.checked_add(len)?)?;
        if len > self.o.max_string_bytes {
            return None;
        }
        self.fcharge(len);
        check_utf8(bytes).ok()?;
        Some(StrRef {
            pos: t as u32,
            len: len as u32,
        })
    }

    /// Null or a String.
    #[inline(always)]
    fn fopt_str(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<Option<StrRef>> {
        if is(packed, FlexType::Null) {
            return Some(None);
        }
        self.fstr(b, pos, w, packed).map(Some)
    }

    /// An inline UInt.
    #[inline(always)]
    fn fu64(b: &[u8], pos: usize, w: usize, packed: u8) -> Option<u64> {
        if !is(packed, FlexType::UInt) {
            return None;
        }
        rd(b, pos, w)
    }

    /// An enum: a String naming a variant, or a UInt discriminant.
    #[inline(always)]
    fn fenum<E: Copy, const N: usize>(
        &mut self,
        b: &[u8],
        (pos, w, packed): (usize, usize, u8),
        names: &crate::view::fields::NameIndex<N>,
        all: &[E],
        from_byte: fn(u8) -> Option<E>,
    ) -> Option<E> {
        if is(packed, FlexType::String) {
            let cw = width(packed);
            let t = deref(b, pos, w)?;
            let len = usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?;
            b.get(t..t.checked_add(len)?)?;
            self.fcharge(len);
            names.find_at(b, t, len).and_then(|i| all.get(i).copied())
        } else if is(packed, FlexType::UInt) {
            self.compact = true;
            u8::try_from(rd(b, pos, w)?).ok().and_then(from_byte)
        } else {
            None
        }
    }

    /// A value's `data`.
    #[inline(always)]
    fn fdata(&mut self, b: &[u8], pos: usize, w: usize, packed: u8) -> Option<DataRef> {
        let ty = FlexType::from_u8(packed >> 2)?;
        let cw = width(packed);
        let (t, len) = match ty {
            FlexType::Null => return Some(DataRef::Absent),
            FlexType::Blob => {
                self.compact = true;
                let t = deref(b, pos, w)?;
                (t, usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?)
            }
            FlexType::VectorUInt => {
                let t = deref(b, pos, w)?;
                (t, usize::try_from(rd(b, t.checked_sub(cw)?, cw)?).ok()?)
            }
            FlexType::VectorUInt2 => (deref(b, pos, w)?, 2),
            FlexType::VectorUInt3 => (deref(b, pos, w)?, 3),
            FlexType::VectorUInt4 => (deref(b, pos, w)?, 4),
            FlexType::Vector => {
                // Only the empty vector (what serde writes for empty data) is taken here.
                let t = deref(b, pos, w)?;
                if rd(b, t.checked_sub(cw)?, cw)? != 0 {
                    return None;
                }
                return Some(DataRef::Contiguous { pos: 0, len: 0 });
            }
            _ => return None,
        };
        let elem_w = if ty == FlexType::Blob { 1 } else { cw };
        let raw = b.get(t..t.checked_add(len.checked_mul(elem_w)?)?)?;
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
        let m = FMap::read(b, pos, w, packed)?;
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
        self.fcharge(m.len);
        let data = if first == 0 {
            let (p, t) = m.entry(b, 0)?;
            self.fdata(b, p, m.w, t)?
        } else {
            self.compact = true;
            DataRef::Absent
        };
        let (p, t) = m.entry(b, 1 - first)?;
        let oid = u32::try_from(Self::fu64(b, p, m.w, t)?).ok()?;
        let (p, t) = m.entry(b, 2 - first)?;
        let tag = self.fenum(b, (p, m.w, t), &TYPE_TAGS, TypeTag::ALL, TypeTag::from_byte)?;
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
        let m = FMap::read(b, pos, w, packed)?;
        if m.len != 1 || m.key(b, 0)? != *self.keys.get(K_ROW)?.field_addrs.first()? as usize {
            return None;
        }
        self.fcharge(1);
        let (p, t) = m.entry(b, 0)?;
        let v = untyped_vector(b, p, m.w, t)?;
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
        let v = untyped_vector(b, pos, w, packed)?;
        let (len, vw) = (v.len as usize, usize::from(v.width));
        if len > self.o.max_columns {
            return None;
        }
        self.fcharge(len);
        let t0 = v.pos as usize;
        for j in 0..len {
            let pt = *b.get(t0 + len * vw + j)?;
            let name = self.fstr(b, t0 + j * vw, vw, pt)?;
            if let Some(r) = self.record.as_mut() {
                r.columns.push(name);
            }
        }
        Some(v)
    }

    /// An event map, or `None` to leave it to the general pass.
    pub(super) fn fast_event(&mut self, pos: usize, w: usize, packed: u8) -> Option<EventRec> {
        let b = self.r.buf();
        let m = FMap::read(b, pos, w, packed)?;
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
            let (columns_len, values_len) = self.record_lens();
            match id {
                0 => {
                    firsts.columns = columns_len;
                    columns = Some(self.fcolumns(b, p, w, t)?);
                }
                1 => ddl_object_type = self.fopt_str(b, p, w, t)?,
                2 => ddl_sql = self.fopt_str(b, p, w, t)?,
                3 => event_id = self.fopt_str(b, p, w, t)?,
                4 => {
                    firsts.new_row = values_len;
                    new_row = self.frow(b, p, w, t)?;
                }
                5 => {
                    firsts.old_row = values_len;
                    old_row = self.frow(b, p, w, t)?;
                }
                6 => {
                    operation = Some(self.fenum(
                        b,
                        (p, w, t),
                        &OPERATIONS,
                        OperationType::ALL,
                        OperationType::from_byte,
                    )?)
                }
                7 => position = Some(Self::fu64(b, p, w, t)?),
                8 => {
                    if !is(t, FlexType::Null) {
                        let slot = self.r.slot(p, w as u8, t).ok()?;
                        relation_meta = Some(self.relation(slot).ok()?);
                    }
                }
                9 => schema = Some(self.fstr(b, p, w, t)?),
                10 => table = Some(self.fstr(b, p, w, t)?),
                11 => timestamp_us = Some(Self::fu64(b, p, w, t)?),
                12 => transaction_id = Some(Self::fu64(b, p, w, t)?),
                _ => return None,
            }
        }
        let always = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8);
        if mask & always != always {
            self.compact = true;
        }
        if self.work > self.budget {
            return None;
        }
        Some(EventRec {
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
            firsts,
        })
    }
}
