//! [`Fields`]: the present fields of one struct, gathered in key order before its map is
//! written.

use super::value::Val;

/// Up to `N` fields of a map: each slot (the field's position in the struct's sorted key
/// table) holds the key's address and the value, and a bit says whether it is present.
pub(crate) struct Fields<const N: usize> {
    keys: [usize; N],
    vals: [Val; N],
    present: u32,
}

impl<const N: usize> Fields<N> {
    /// Every field present.
    pub(crate) const ALL: u32 = if N >= 32 { u32::MAX } else { (1 << N) - 1 };

    /// No field yet.
    #[inline]
    pub(crate) fn new() -> Self {
        Fields {
            keys: [0; N],
            vals: [Val::NULL; N],
            present: 0,
        }
    }

    /// Sets the field in `slot`.
    #[inline]
    pub(crate) fn set(&mut self, slot: usize, key: usize, val: Val) {
        if let (Some(k), Some(v)) = (self.keys.get_mut(slot), self.vals.get_mut(slot)) {
            *k = key;
            *v = val;
            self.present |= 1 << slot;
        }
    }

    /// Which slots are present, one bit each.
    #[inline]
    pub(crate) fn mask(&self) -> u32 {
        self.present
    }

    /// The keys' addresses and the values of a struct whose fields are all present.
    #[inline(always)]
    pub(crate) fn all(&self) -> Option<(&[usize; N], &[Val; N])> {
        (self.present == Self::ALL).then_some((&self.keys, &self.vals))
    }

    /// The present keys' addresses and values, in slot order, moved to the front of the
    /// returned arrays, and how many there are.
    #[inline(always)]
    pub(crate) fn gathered(&self) -> ([usize; N], [Val; N], usize) {
        let mut keys = [0usize; N];
        let mut vals = [Val::NULL; N];
        let mut n = 0;
        let mut rest = self.present;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if let (Some(kk), Some(vv), Some(&k), Some(&v)) = (
                keys.get_mut(n),
                vals.get_mut(n),
                self.keys.get(i),
                self.vals.get(i),
            ) {
                *kk = k;
                *vv = v;
            }
            n += 1;
        }
        (keys, vals, n)
    }

    /// Calls `f` with the present keys' addresses and values, in slot order.
    #[inline(always)]
    pub(crate) fn with_present<R>(&self, f: impl FnOnce(&[usize], &[Val]) -> R) -> R {
        if let Some((keys, vals)) = self.all() {
            return f(keys, vals);
        }
        let (keys, vals, n) = self.gathered();
        f(
            keys.get(..n).unwrap_or_default(),
            vals.get(..n).unwrap_or_default(),
        )
    }
}
