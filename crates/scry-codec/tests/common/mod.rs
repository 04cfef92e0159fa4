//! Test inputs: a hand-rolled FlexBuffers writer for malformed and adversarial inputs.
#![allow(dead_code)]

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
    /// A typed vector of UInts whose elements are 1 (`BYTES1`) or 2 (`BYTES2`) bytes wide.
    pub const BYTES1: u8 = 12 << 2;
    pub const BYTES2: u8 = (12 << 2) | 1;
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

    /// Value bytes as the compatible encoding stores them: a typed vector of UInts, 1 byte
    /// wide up to 255 bytes and 2 bytes wide beyond (its length prefix is as wide).
    pub fn bytes(&mut self, b: &[u8]) -> Item {
        self.align();
        if b.len() <= 255 {
            self.buf.push(b.len() as u8);
            let at = self.buf.len();
            self.buf.extend_from_slice(b);
            return Item::At(at, packed::BYTES1);
        }
        let len = u16::try_from(b.len()).expect("at most 65,535 bytes");
        self.buf.extend_from_slice(&len.to_le_bytes());
        let at = self.buf.len();
        for &x in b {
            self.buf.extend_from_slice(&u16::from(x).to_le_bytes());
        }
        Item::At(at, packed::BYTES2)
    }

    /// An enum variant, stored (as the compatible encoding does) as its name.
    pub fn variant(&mut self, name: &str) -> Item {
        Item::At(self.string(name), packed::STRING)
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
