//! Fast lookups of map keys (against the tables of [`crate::schema`]) and of enum names.

use crate::flex::{key_name, Map, Reader, Res, Slot, Vector};
use crate::schema::Field;
use scry_types::{ControlDirective, OperationType, ReplicaIdentity, TypeTag};

/// The index in `names` of the field named by this key prefix, if any.
#[inline]
pub(crate) fn field_index(names: &[Field], prefix: &[u8]) -> Option<usize> {
    let name = key_name(prefix)?;
    names.iter().position(|n| n.name().as_bytes() == name)
}

/// How many leading keys of a map a [`KeyCache`] remembers.
const CACHED_KEYS: usize = 16;

/// Remembers, per key position, the last key address seen there and the field it names.
/// Writers share key strings (and the compact encoding shares whole keys vectors), so maps of
/// one struct usually point at the same key addresses: a hit costs one comparison instead of
/// a string match. The cache is exact: one address always holds the same key.
///
/// It also keeps the address of every known field's key (`field_addrs`), which the fast
/// path (`parse::fast`) checks keys against.
#[derive(Debug, Clone)]
pub(crate) struct KeyCache {
    addrs: [u32; CACHED_KEYS],
    ids: [u8; CACHED_KEYS],
    /// The last key address seen for each field id (`u32::MAX`: none yet).
    pub field_addrs: [u32; CACHED_KEYS],
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            addrs: [u32::MAX; CACHED_KEYS],
            ids: [u8::MAX; CACHED_KEYS],
            field_addrs: [u32::MAX; CACHED_KEYS],
        }
    }
}

impl KeyCache {
    /// The field id of key `i` at `addr` if this cache knows it (`u8::MAX`: a known unknown
    /// key), `None` when it would have to look at the key's bytes.
    #[inline(always)]
    pub(crate) fn known(&self, i: usize, addr: usize) -> Option<u8> {
        if let (Some(&a), Some(&id)) = (self.addrs.get(i), self.ids.get(i)) {
            if a as usize == addr {
                return Some(id);
            }
        }
        self.field_addrs
            .iter()
            .position(|&a| a as usize == addr)
            .map(|id| id as u8)
    }

    /// The index in `names` of key `i` of `m` (`None` for an unknown key).
    #[inline(always)]
    pub(crate) fn field(
        &mut self,
        r: &Reader<'_>,
        m: &Map,
        i: usize,
        names: &[Field],
    ) -> Res<Option<usize>> {
        let kw = m.keys_width;
        let slot = (m.keys_pos as usize).saturating_add(i.saturating_mul(usize::from(kw)));
        let addr = r.deref(slot, kw)?;
        if let (Some(a), Some(id)) = (self.addrs.get(i), self.ids.get(i)) {
            if *a as usize == addr {
                return Ok((*id != u8::MAX).then_some(usize::from(*id)));
            }
        }
        let (_, prefix) = r.key_prefix(m.keys_pos as usize, kw, i)?;
        let found = field_index(names, prefix);
        if let Some(a) = found.and_then(|f| self.field_addrs.get_mut(f)) {
            *a = addr as u32;
        }
        if let (Some(a), Some(id)) = (self.addrs.get_mut(i), self.ids.get_mut(i)) {
            *a = addr as u32;
            *id = found.map_or(u8::MAX, |f| f as u8);
        }
        Ok(found)
    }
}

/// Finds the slot of field `name` in the map whose values are `values`, already validated
/// by the parser (first match; the parser rejects duplicates). Used when a map's keys are not
/// in canonical order.
pub(crate) fn find_field(r: &Reader<'_>, values: &Vector, name: &str) -> Option<Slot> {
    let (keys_pos, keys_width) = r.map_keys(values).ok()?;
    (0..values.len as usize).find_map(|i| {
        let (_, prefix) = r.key_prefix(keys_pos, keys_width, i).ok()?;
        if key_name(prefix)? == name.as_bytes() {
            r.element(values, i).ok()
        } else {
            None
        }
    })
}

/// A const-built open-addressing hash table from variant names to their index in `ALL`.
/// Names (at most 24 bytes) are compared as three little-endian words, read straight from
/// the input when 24 bytes are available there.
pub(crate) struct NameIndex<const N: usize> {
    words: [[u64; 3]; N],
    lens: [usize; N],
    slots: [u8; 256],
}

const fn name_hash(w0: u64, len: usize) -> usize {
    ((w0 ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// The mask of the bytes of word `i` that belong to a name of `len` bytes.
#[inline(always)]
const fn word_mask(len: usize, i: usize) -> u64 {
    let valid = len.saturating_sub(8 * i);
    if valid >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * valid)) - 1
    }
}

/// The masks of a name's three words, by the name's length (0 to 24).
static NAME_MASKS: [[u64; 3]; 25] = {
    let mut out = [[0u64; 3]; 25];
    let mut len = 0;
    while len <= 24 {
        out[len] = [word_mask(len, 0), word_mask(len, 1), word_mask(len, 2)];
        len += 1;
    }
    out
};

/// A name of at most 24 bytes as three zero-padded little-endian words.
const fn words_of(b: &[u8]) -> [u64; 3] {
    let mut w = [0u64; 3];
    let mut i = 0;
    while i < b.len() && i < 24 {
        w[i / 8] |= (b[i] as u64) << (8 * (i % 8));
        i += 1;
    }
    w
}

impl<const N: usize> NameIndex<N> {
    /// Builds the table (at compile time).
    pub(crate) const fn new(names: [&'static str; N]) -> Self {
        let mut slots = [u8::MAX; 256];
        let mut words = [[0u64; 3]; N];
        let mut lens = [0usize; N];
        let mut i = 0;
        while i < N {
            let b = names[i].as_bytes();
            assert!(b.len() <= 24 && !b.is_empty());
            words[i] = words_of(b);
            lens[i] = b.len();
            let mut h = name_hash(words[i][0], b.len());
            while slots[h] != u8::MAX {
                h = (h + 1) & 255;
            }
            slots[h] = i as u8;
            i += 1;
        }
        Self { words, lens, slots }
    }

    #[inline(always)]
    fn lookup(&self, w: [u64; 3], len: usize) -> Option<usize> {
        let mut h = name_hash(w[0], len);
        for _ in 0..256 {
            let idx = usize::from(*self.slots.get(h)?);
            if idx == usize::from(u8::MAX) {
                return None;
            }
            if *self.lens.get(idx)? == len && *self.words.get(idx)? == w {
                return Some(idx);
            }
            h = (h + 1) & 255;
        }
        None
    }

    /// The index of the variant named `name`.
    #[inline]
    pub(crate) fn find(&self, name: &[u8]) -> Option<usize> {
        if name.is_empty() || name.len() > 24 {
            return None;
        }
        self.lookup(words_of(name), name.len())
    }

    /// The index of the variant named by the `len` bytes at `pos` of `buf` (which the caller
    /// has checked lie inside `buf`).
    #[inline(always)]
    pub(crate) fn find_at(&self, buf: &[u8], pos: usize, len: usize) -> Option<usize> {
        if len == 0 || len > 24 {
            return None;
        }
        match pos.checked_add(24).and_then(|end| buf.get(pos..end)) {
            Some(chunk) => {
                let masks = NAME_MASKS.get(len)?;
                let (w0, rest) = chunk.split_first_chunk::<8>()?;
                let (w1, rest) = rest.split_first_chunk::<8>()?;
                let w2 = rest.first_chunk::<8>()?;
                let w = [
                    u64::from_le_bytes(*w0) & masks[0],
                    u64::from_le_bytes(*w1) & masks[1],
                    u64::from_le_bytes(*w2) & masks[2],
                ];
                self.lookup(w, len)
            }
            None => self.find(buf.get(pos..pos.checked_add(len)?)?),
        }
    }
}

macro_rules! names_of {
    ($ty:ty, $n:expr) => {{
        let mut out = [""; $n];
        let mut i = 0;
        while i < $n {
            out[i] = <$ty>::ALL[i].name();
            i += 1;
        }
        out
    }};
}

/// Every `TypeTag` name.
pub(crate) static TYPE_TAGS: NameIndex<{ TypeTag::ALL.len() }> =
    NameIndex::new(names_of!(TypeTag, TypeTag::ALL.len()));
/// Every `OperationType` name.
pub(crate) static OPERATIONS: NameIndex<{ OperationType::ALL.len() }> =
    NameIndex::new(names_of!(OperationType, OperationType::ALL.len()));
/// Every `ReplicaIdentity` name.
pub(crate) static REPLICA_IDENTITIES: NameIndex<{ ReplicaIdentity::ALL.len() }> =
    NameIndex::new(names_of!(ReplicaIdentity, ReplicaIdentity::ALL.len()));
/// Every `ControlDirective` name.
pub(crate) static CONTROL_DIRECTIVES: NameIndex<{ ControlDirective::ALL.len() }> =
    NameIndex::new(names_of!(ControlDirective, ControlDirective::ALL.len()));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_indexes_find_every_variant_and_nothing_else() {
        for (i, t) in TypeTag::ALL.iter().enumerate() {
            assert_eq!(TYPE_TAGS.find(t.name().as_bytes()), Some(i));
        }
        for (i, t) in OperationType::ALL.iter().enumerate() {
            assert_eq!(OPERATIONS.find(t.name().as_bytes()), Some(i));
        }
        for (i, t) in ReplicaIdentity::ALL.iter().enumerate() {
            assert_eq!(REPLICA_IDENTITIES.find(t.name().as_bytes()), Some(i));
        }
        for (i, t) in ControlDirective::ALL.iter().enumerate() {
            assert_eq!(CONTROL_DIRECTIVES.find(t.name().as_bytes()), Some(i));
        }
        assert_eq!(TYPE_TAGS.find(b"int32"), None);
        // Read in place, with the bytes after the name ignored (and near the end of input).
        let buf = b"xxTimestampTz\0yyyyyyyyyyyyyyyyyyyyyyyyyy";
        assert_eq!(TYPE_TAGS.find_at(buf, 2, 11), Some(13));
        assert_eq!(TYPE_TAGS.find_at(buf, 2, 9), Some(12));
        assert_eq!(TYPE_TAGS.find_at(b"..Bool", 2, 4), Some(1));
        assert_eq!(TYPE_TAGS.find_at(b"..Boolx", 2, 5), None);
        assert_eq!(TYPE_TAGS.find(b""), None);
        assert_eq!(OPERATIONS.find(b"Int32"), None);
    }

    #[test]
    fn every_field_name_fits_the_key_prefix_the_reader_looks_at() {
        for field in crate::schema::TABLES.into_iter().flatten() {
            assert!(field.name().len() < crate::flex::KEY_PREFIX, "{field:?}");
        }
    }
}
