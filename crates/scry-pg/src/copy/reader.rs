//! [`CopyReader`].

use bytes::Bytes;
use scry_types::{ColumnValue, Row, TypeTag};

use super::decoder::CopyDecoder;
use super::CopyError;
use crate::oid::type_tag_from_oid;

/// The header of a COPY BINARY stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
        self.into_row_of(|i| {
            let oid = type_oids.get(i).copied().unwrap_or(0);
            (type_tag_from_oid(oid), oid)
        })
    }

    /// The protocol row, field `i` (unless NULL) a value of the type tag and OID
    /// `type_of(i)` (for a caller that knows its columns' tags already).
    pub(crate) fn into_row_of(self, type_of: impl Fn(usize) -> (TypeTag, u32)) -> Row {
        self.fields
            .into_iter()
            .enumerate()
            .map(|(i, field)| match field {
                None => ColumnValue::null(),
                Some(data) => {
                    let (tag, oid) = type_of(i);
                    ColumnValue::from_pg_binary(tag, oid, data)
                }
            })
            .collect()
    }
}

/// Reads a COPY BINARY stream held in one buffer, row by row: a [`CopyDecoder`] given the
/// whole stream as its one chunk. Rows' fields are [`Bytes`] slices of that buffer. Errors,
/// never panics, on malformed input; after an error or the trailer the iterator ends.
#[derive(Debug, Clone)]
pub struct CopyReader {
    decoder: CopyDecoder,
    header: CopyHeader,
}

impl CopyReader {
    /// Checks the signature and reads the header.
    pub fn new(data: impl Into<Bytes>) -> Result<Self, CopyError> {
        let mut decoder = CopyDecoder::new();
        decoder.push(data.into());
        decoder.header_eof()?;
        let header = decoder.header().cloned().unwrap_or_default();
        Ok(Self { decoder, header })
    }

    /// The stream's header.
    #[must_use]
    pub fn header(&self) -> &CopyHeader {
        &self.header
    }

    /// The offset of the next unread byte.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.decoder.offset() as usize
    }

    /// The number of rows read so far.
    #[must_use]
    pub fn rows_read(&self) -> u64 {
        self.decoder.rows_read()
    }

    /// True once the trailer has been read.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.decoder.is_finished()
    }

    /// The next row, `Ok(None)` after the trailer.
    pub fn next_row(&mut self) -> Result<Option<CopyRow>, CopyError> {
        self.decoder.decode_eof()
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
    use crate::copy::{CopyWriter, SIGNATURE};

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
