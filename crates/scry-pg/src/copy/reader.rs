//! [`CopyReader`].

use bytes::Bytes;
use scry_types::{ColumnValue, Row};

use super::{CopyError, SIGNATURE};
use crate::oid::type_tag_from_oid;

/// Flag bit 16: each tuple carries an OID (pre-12 servers `WITH OIDS` only).
const FLAG_OIDS: u32 = 1 << 16;
/// Bits 16–31 are critical: a reader must reject any it does not know.
const CRITICAL: u32 = 0xFFFF_0000;

/// The header of a COPY BINARY stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyHeader {
    /// The flags word (non-critical bits 0–15 may be set; critical bits are zero).
    pub flags: u32,
    /// The header extension (empty today).
    pub extension: Bytes,
}

/// One tuple: its fields' bytes (slices of the stream's buffer, not copies), `None` for
/// NULL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyRow {
    fields: Vec<Option<Bytes>>,
}

impl CopyRow {
    /// A row of these fields.
    #[must_use]
    pub fn new(fields: Vec<Option<Bytes>>) -> Self {
        Self { fields }
    }

    /// The fields.
    #[must_use]
    pub fn fields(&self) -> &[Option<Bytes>] {
        &self.fields
    }

    /// The fields, by value.
    #[must_use]
    pub fn into_fields(self) -> Vec<Option<Bytes>> {
        self.fields
    }

    /// The number of fields.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True for a tuple of no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The protocol row: field `i` becomes a [`ColumnValue`] of type `type_oids[i]` (its
    /// [`TypeTag`](scry_types::TypeTag) from [`type_tag_from_oid`]; OID 0 when `type_oids`
    /// is shorter), NULL fields [`ColumnValue::null`]. The bytes are not copied.
    #[must_use]
    pub fn into_protocol_row(self, type_oids: &[u32]) -> Row {
        self.fields
            .into_iter()
            .enumerate()
            .map(|(i, field)| match field {
                None => ColumnValue::null(),
                Some(data) => {
                    let oid = type_oids.get(i).copied().unwrap_or(0);
                    ColumnValue::from_pg_binary(type_tag_from_oid(oid), oid, data)
                }
            })
            .collect()
    }
}

/// Reads a COPY BINARY stream held in one buffer, row by row. Rows' fields are
/// [`Bytes`] slices of that buffer. Errors, never panics, on malformed input; after an
/// error or the trailer the iterator ends.
#[derive(Debug, Clone)]
pub struct CopyReader {
    data: Bytes,
    pos: usize,
    rows: u64,
    done: bool,
    header: CopyHeader,
}

impl CopyReader {
    /// Checks the signature and reads the header.
    pub fn new(data: impl Into<Bytes>) -> Result<Self, CopyError> {
        let data = data.into();
        if data.get(..SIGNATURE.len()) != Some(&SIGNATURE[..]) {
            return Err(CopyError::BadSignature);
        }
        let mut reader = Self {
            data,
            pos: SIGNATURE.len(),
            rows: 0,
            done: false,
            header: CopyHeader {
                flags: 0,
                extension: Bytes::new(),
            },
        };
        let flags = reader.u32("header flags")?;
        if flags & CRITICAL != 0 || flags & FLAG_OIDS != 0 {
            return Err(CopyError::UnsupportedFlags { flags });
        }
        let ext_len = reader.u32("header extension length")?;
        let ext_len = i32::from_be_bytes(ext_len.to_be_bytes());
        let ext_len =
            usize::try_from(ext_len).map_err(|_| CopyError::BadExtensionLength(ext_len))?;
        let extension = reader.take_bytes(ext_len, "header extension")?;
        reader.header = CopyHeader { flags, extension };
        Ok(reader)
    }

    /// The stream's header.
    #[must_use]
    pub fn header(&self) -> &CopyHeader {
        &self.header
    }

    /// The offset of the next unread byte.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The number of rows read so far.
    #[must_use]
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// True once the trailer has been read.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.done
    }

    fn take_bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes, CopyError> {
        let available = self.data.len().saturating_sub(self.pos);
        if n > available {
            return Err(CopyError::Truncated {
                what,
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let slice = self.data.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(slice)
    }

    fn word<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CopyError> {
        let available = self.data.len().saturating_sub(self.pos);
        let bytes = self
            .data
            .get(self.pos..)
            .and_then(|rest| rest.get(..N))
            .ok_or(CopyError::Truncated {
                what,
                offset: self.pos,
                needed: N,
                available,
            })?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        self.pos += N;
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, CopyError> {
        self.word(what).map(u32::from_be_bytes)
    }

    /// The next row, `Ok(None)` after the trailer.
    pub fn next_row(&mut self) -> Result<Option<CopyRow>, CopyError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_row();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_row(&mut self) -> Result<Option<CopyRow>, CopyError> {
        let start = self.pos;
        if start == self.data.len() {
            return Err(CopyError::MissingTrailer { offset: start });
        }
        let count = i16::from_be_bytes(self.word("tuple field count")?);
        if count == -1 {
            let rest = self.data.len() - self.pos;
            if rest != 0 {
                return Err(CopyError::TrailingData {
                    offset: self.pos,
                    count: rest,
                });
            }
            return Ok(None);
        }
        let count = usize::try_from(count).map_err(|_| CopyError::BadFieldCount {
            row: self.rows,
            offset: start,
            count,
        })?;
        // Each field takes at least its 4-byte length: reserve no more than the rest of the
        // stream can hold, whatever the count claims.
        let rest = self.data.len().saturating_sub(self.pos);
        let mut fields = Vec::with_capacity(count.min(rest / 4));
        for field in 0..count {
            let offset = self.pos;
            let len = i32::from_be_bytes(self.word("field length")?);
            if len == -1 {
                fields.push(None);
                continue;
            }
            let len = usize::try_from(len).map_err(|_| CopyError::BadFieldLength {
                row: self.rows,
                field,
                offset,
                len,
            })?;
            fields.push(Some(self.take_bytes(len, "field data")?));
        }
        self.rows += 1;
        Ok(Some(CopyRow { fields }))
    }
}

impl Iterator for CopyReader {
    type Item = Result<CopyRow, CopyError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::CopyWriter;

    fn stream() -> Bytes {
        let mut w = CopyWriter::new();
        w.write_row(&[Some(&[0, 0, 0, 1][..]), None]).unwrap();
        w.write_row(&[Some(&b"abc"[..]), Some(&[][..])]).unwrap();
        w.finish()
    }

    #[test]
    fn reads_rows_as_slices_of_the_input() {
        let data = stream();
        let mut r = CopyReader::new(data.clone()).unwrap();
        assert_eq!(r.header().flags, 0);
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            row.fields(),
            [Some(Bytes::from_static(&[0, 0, 0, 1])), None]
        );
        let field = row.fields()[0].as_ref().unwrap();
        // Zero copy: the field points into the input buffer.
        let base = data.as_ptr() as usize;
        let at = field.as_ptr() as usize;
        assert!(at >= base && at < base + data.len());
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            row.fields(),
            [Some(Bytes::from_static(b"abc")), Some(Bytes::new())]
        );
        assert_eq!(r.next_row(), Ok(None));
        assert!(r.is_finished());
        assert_eq!(r.rows_read(), 2);
        assert_eq!(CopyReader::new(data).unwrap().count(), 2);
    }

    #[test]
    fn protocol_rows_carry_tags() {
        let row = CopyReader::new(stream()).unwrap().next().unwrap().unwrap();
        let row = row.into_protocol_row(&[23, 25]);
        assert_eq!(
            row.values,
            [
                ColumnValue::from_pg_binary(scry_types::TypeTag::Int32, 23, vec![0, 0, 0, 1]),
                ColumnValue::null()
            ]
        );
    }

    #[test]
    fn malformed_streams_are_errors() {
        assert_eq!(
            CopyReader::new(Bytes::from_static(b"PGCOPY\n")).unwrap_err(),
            CopyError::BadSignature
        );
        let mut flags = SIGNATURE.to_vec();
        flags.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            CopyReader::new(flags).unwrap_err(),
            CopyError::UnsupportedFlags { flags: 0x0001_0000 }
        );
        let mut ext = SIGNATURE.to_vec();
        ext.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 4, 1, 2]);
        assert!(matches!(
            CopyReader::new(ext).unwrap_err(),
            CopyError::Truncated {
                what: "header extension",
                ..
            }
        ));

        let good = stream();
        let no_trailer = good.slice(..good.len() - 2);
        let results: Vec<_> = CopyReader::new(no_trailer).unwrap().collect();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[2],
            Err(CopyError::MissingTrailer {
                offset: good.len() - 2
            })
        );
        let mut trailing = good.to_vec();
        trailing.push(0);
        let last = CopyReader::new(trailing).unwrap().last().unwrap();
        assert_eq!(
            last,
            Err(CopyError::TrailingData {
                offset: good.len(),
                count: 1
            })
        );
        let mut bad_len = SIGNATURE.to_vec();
        bad_len.extend_from_slice(&[0; 8]);
        bad_len.extend_from_slice(&[0, 1, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(
            CopyReader::new(bad_len).unwrap().next().unwrap(),
            Err(CopyError::BadFieldLength {
                row: 0,
                field: 0,
                offset: 21,
                len: -2
            })
        );
    }

    #[test]
    fn every_truncation_and_corruption_is_handled() {
        let good = stream();
        for cut in 0..good.len() {
            if let Ok(r) = CopyReader::new(good.slice(..cut)) {
                let results: Vec<_> = r.collect();
                assert!(results.last().is_some_and(Result::is_err), "cut {cut}");
            }
        }
        for i in 0..good.len() {
            let mut b = good.to_vec();
            b[i] ^= 0xff;
            if let Ok(r) = CopyReader::new(b) {
                for _ in r {}
            }
        }
    }
}
