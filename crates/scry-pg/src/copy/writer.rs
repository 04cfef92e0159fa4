//! [`CopyWriter`].

use bytes::{BufMut, Bytes, BytesMut};
use scry_types::{ColumnValue, Row};

use super::{CopyError, SIGNATURE};

/// Writes a COPY BINARY stream: the header on creation, one tuple per `write_*` call, the
/// trailer on [`finish`](Self::finish).
#[derive(Debug, Clone)]
pub struct CopyWriter {
    buf: BytesMut,
    rows: u64,
}

impl Default for CopyWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CopyWriter {
    /// A stream with the header written (flags 0, no extension).
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// Like [`new`](Self::new), reserving `capacity` bytes.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(capacity.max(SIGNATURE.len() + 10));
        buf.put_slice(SIGNATURE);
        buf.put_u32(0);
        buf.put_u32(0);
        Self { buf, rows: 0 }
    }

    /// The number of tuples written.
    #[must_use]
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// The bytes held (written since creation or the last [`take`](Self::take)).
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing is held: never before the first [`take`](Self::take), as the
    /// header is written on creation.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn begin(&mut self, count: usize) -> Result<(), CopyError> {
        let count = i16::try_from(count).map_err(|_| CopyError::TooManyFields(count))?;
        self.buf.put_i16(count);
        Ok(())
    }

    fn field(&mut self, index: usize, data: Option<&[u8]>) -> Result<(), CopyError> {
        match data {
            None => self.buf.put_i32(-1),
            Some(d) => {
                let len = i32::try_from(d.len()).map_err(|_| CopyError::FieldTooLong {
                    field: index,
                    len: d.len(),
                })?;
                self.buf.put_i32(len);
                self.buf.put_slice(d);
            }
        }
        Ok(())
    }

    /// Writes one tuple of raw fields (`None` is NULL). On error nothing is written.
    pub fn write_row(&mut self, fields: &[Option<&[u8]>]) -> Result<(), CopyError> {
        let mark = self.buf.len();
        let result = self.write_fields(fields.len(), fields.iter().copied().map(Ok));
        if result.is_err() {
            self.buf.truncate(mark);
        }
        result
    }

    /// Writes one tuple of protocol values: NULLs as NULL, the bytes of every other value.
    /// An unchanged-TOAST marker is an error. On error nothing is written.
    pub fn write_values(&mut self, values: &[ColumnValue]) -> Result<(), CopyError> {
        let mark = self.buf.len();
        let fields = values.iter().enumerate().map(|(i, v)| {
            if v.is_unchanged() {
                Err(CopyError::UnchangedToast { field: i })
            } else {
                Ok(v.as_bytes())
            }
        });
        let result = self.write_fields(values.len(), fields);
        if result.is_err() {
            self.buf.truncate(mark);
        }
        result
    }

    /// [`write_values`](Self::write_values) of a [`Row`].
    pub fn write_protocol_row(&mut self, row: &Row) -> Result<(), CopyError> {
        self.write_values(&row.values)
    }

    fn write_fields<'a>(
        &mut self,
        count: usize,
        fields: impl Iterator<Item = Result<Option<&'a [u8]>, CopyError>>,
    ) -> Result<(), CopyError> {
        self.begin(count)?;
        for (i, f) in fields.enumerate() {
            self.field(i, f?)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Takes the bytes written so far (the header and the tuples since the last take), for
    /// sending on while the stream goes on; [`finish`](Self::finish) then gives the rest.
    pub fn take(&mut self) -> Bytes {
        self.buf.split().freeze()
    }

    /// Writes the trailer and hands back the stream (since the last [`take`](Self::take)).
    #[must_use]
    pub fn finish(mut self) -> Bytes {
        self.buf.put_i16(-1);
        self.buf.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::TypeTag;

    #[test]
    fn writes_the_documented_layout() {
        let mut w = CopyWriter::new();
        w.write_row(&[Some(&[7][..]), None]).unwrap();
        assert_eq!(w.rows_written(), 1);
        let out = w.finish();
        let mut expected = SIGNATURE.to_vec();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(&[0, 2, 0, 0, 0, 1, 7, 0xff, 0xff, 0xff, 0xff]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(&out[..], &expected[..]);
        assert_eq!(
            &CopyWriter::new().finish()[..],
            &[&SIGNATURE[..], &[0; 8], &[0xff, 0xff]].concat()[..]
        );
    }

    #[test]
    fn protocol_values_and_errors() {
        let mut w = CopyWriter::new();
        let before = w.len();
        let err = w.write_values(&[
            ColumnValue::from_pg_binary(TypeTag::Int32, 23, vec![0, 0, 0, 1]),
            ColumnValue::unchanged(25),
        ]);
        assert_eq!(err, Err(CopyError::UnchangedToast { field: 1 }));
        assert_eq!(w.len(), before);
        let too_many = vec![None; 40_000];
        assert_eq!(
            w.write_row(&too_many),
            Err(CopyError::TooManyFields(40_000))
        );
        assert_eq!(w.len(), before);
        w.write_protocol_row(&Row::new(vec![ColumnValue::null()]))
            .unwrap();
        assert_eq!(w.rows_written(), 1);
    }
}
