//! [`FastHasher`]: the hasher of the writers' lookup tables.
//!
//! The compact writer looks up every table name and row type it meets; the standard
//! library's SipHash, built to withstand keys chosen by an attacker, costs more than the
//! rest of the lookup for a wide table. The keys here are the producer's own schema (its
//! table and column names and type OIDs), not input from a peer, so a multiply-rotate hash
//! in the manner of rustc's `FxHasher` serves.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` hashed with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// The multiplier: an odd constant with well-spread bits (rustc's `FxHasher`'s).
const K: u64 = 0x517c_c1b7_2722_0a95;

/// A fast, non-cryptographic hasher for keys the producer controls.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline(always)]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            // The length too, so that trailing zero bytes are not lost.
            self.add(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;
    use std::hash::BuildHasherDefault;

    fn hash<T: std::hash::Hash>(t: T) -> u64 {
        BuildHasherDefault::<FastHasher>::default().hash_one(t)
    }

    #[test]
    fn equal_keys_hash_alike_and_near_keys_apart() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        assert_eq!(
            hash(("public", "t", names(&["a", "b"]))),
            hash(("public", "t", names(&["a", "b"])))
        );
        let near = [
            hash(("public", "t", names(&["a", "b"]))),
            hash(("public", "t", names(&["ab"]))),
            hash(("public", "t", names(&["a", "b", ""]))),
            hash(("public", "tt", names(&["a", "b"]))),
            hash(("publi", "ct", names(&["a", "b"]))),
            hash([0u8; 7].as_slice()),
            hash([0u8; 6].as_slice()),
            hash([(1u8, 23u32), (1, 25)].as_slice()),
            hash([(1u8, 25u32), (1, 23)].as_slice()),
        ];
        for (i, a) in near.iter().enumerate() {
            for b in &near[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
