//! A bounds-checked big-endian reader over a value's bytes, and the writer helpers.

use crate::error::DecodeProblem;

/// Reads big-endian fields from a byte slice; every read checks the length first.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeProblem> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        match rest.get(..n) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(DecodeProblem::Truncated {
                offset: self.pos,
                needed: n,
                available: rest.len(),
            }),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeProblem> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeProblem> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn i16(&mut self) -> Result<i16, DecodeProblem> {
        self.array().map(i16::from_be_bytes)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeProblem> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32, DecodeProblem> {
        self.array().map(i32::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeProblem> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeProblem> {
        self.array().map(i64::from_be_bytes)
    }

    pub(crate) fn f64(&mut self) -> Result<f64, DecodeProblem> {
        self.array().map(f64::from_be_bytes)
    }

    /// Fails when bytes are left over.
    pub(crate) fn finish(self) -> Result<(), DecodeProblem> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeProblem::Trailing { count }),
        }
    }
}

/// Checks a fixed length, then returns the bytes as an array.
pub(crate) fn fixed<const N: usize>(data: &[u8]) -> Result<[u8; N], DecodeProblem> {
    <[u8; N]>::try_from(data).map_err(|_| DecodeProblem::Length {
        expected: N,
        actual: data.len(),
    })
}

/// UTF-8 text.
pub(crate) fn utf8(data: &[u8]) -> Result<String, DecodeProblem> {
    std::str::from_utf8(data)
        .map(str::to_owned)
        .map_err(|e| DecodeProblem::Utf8 {
            offset: e.valid_up_to(),
        })
}

/// A length or count that must fit in a non-negative `i32` on the wire.
pub(crate) fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
