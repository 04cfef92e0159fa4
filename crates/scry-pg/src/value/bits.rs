//! [`PgBits`]: `bit(n)` and `varbit` strings.

use std::fmt;

use crate::error::DecodeProblem;
use crate::wire::Cursor;

/// A bit string: `len` bits packed most significant bit first into `bytes`
/// (`len.div_ceil(8)` bytes; the padding bits of the last byte are zero).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PgBits {
    len: usize,
    bytes: Vec<u8>,
}

impl PgBits {
    /// The bits of a `'0'`/`'1'` string, or `None` when it holds another character.
    #[must_use]
    pub fn from_bit_str(s: &str) -> Option<Self> {
        let mut bytes = vec![0u8; s.len().div_ceil(8)];
        for (i, ch) in s.bytes().enumerate() {
            match ch {
                b'0' => {}
                b'1' => {
                    let byte = bytes.get_mut(i / 8)?;
                    *byte |= 0x80 >> (i % 8);
                }
                _ => return None,
            }
        }
        Some(Self {
            len: s.len(),
            bytes,
        })
    }

    /// The number of bits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no bits.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bit `i` (0 is the first), or `None` past the end.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<bool> {
        if i >= self.len {
            return None;
        }
        self.bytes.get(i / 8).map(|b| b & (0x80 >> (i % 8)) != 0)
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&crate::wire::len_i32(self.len).to_be_bytes());
        out.extend_from_slice(&self.bytes);
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Self, DecodeProblem> {
        let mut c = Cursor::new(data);
        let n = c.i32()?;
        let len = usize::try_from(n).map_err(|_| DecodeProblem::Invalid {
            field: "bit length",
            value: n.into(),
        })?;
        let bytes = c.take(len.div_ceil(8))?.to_vec();
        c.finish()?;
        if len % 8 != 0 {
            let pad_mask = 0xFFu8 >> (len % 8);
            if bytes.last().is_some_and(|b| b & pad_mask != 0) {
                return Err(DecodeProblem::Invalid {
                    field: "bit string padding (nonzero bits past the length)",
                    value: n.into(),
                });
            }
        }
        Ok(Self { len, bytes })
    }
}

impl fmt::Display for PgBits {
    /// `0`s and `1`s.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = (0..self.len)
            .map(|i| if self.get(i) == Some(true) { '1' } else { '0' })
            .collect();
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_msb_first_and_round_trips() {
        let b = PgBits::from_bit_str("1010000011").unwrap();
        assert_eq!(b.as_bytes(), [0b1010_0000, 0b1100_0000]);
        assert_eq!(b.to_string(), "1010000011");
        let mut out = Vec::new();
        b.encode(&mut out);
        assert_eq!(out, [0, 0, 0, 10, 0b1010_0000, 0b1100_0000]);
        assert_eq!(PgBits::decode(&out), Ok(b));
        assert_eq!(PgBits::from_bit_str("102"), None);
        assert!(PgBits::from_bit_str("").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_lengths_and_padding() {
        assert!(matches!(
            PgBits::decode(&[0, 0, 0, 9, 0xff]),
            Err(DecodeProblem::Truncated { .. })
        ));
        assert_eq!(
            PgBits::decode(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeProblem::Invalid {
                field: "bit length",
                value: -1
            })
        );
        assert!(matches!(
            PgBits::decode(&[0, 0, 0, 4, 0x0f]),
            Err(DecodeProblem::Invalid { .. })
        ));
    }
}
