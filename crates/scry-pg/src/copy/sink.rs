//! [`CopySink`]: a COPY BINARY stream written onto any [`Write`] as it is made.

use std::io::{self, Write};

use scry_types::ColumnValue;

use super::stream::CopyIoError;
use super::CopyWriter;

/// How many bytes a [`CopySink`] gathers before writing them on unless told otherwise.
pub const DEFAULT_FLUSH_BYTES: usize = 256 * 1024;

/// Writes a COPY BINARY stream onto `W` (for example the `postgres` crate's `copy_in`
/// writer, for `COPY ... FROM STDIN (FORMAT binary)`): the header first, tuples gathered
/// and written on every [`DEFAULT_FLUSH_BYTES`], the trailer on
/// [`finish`](Self::finish). It holds at most one flush's worth and one tuple, whatever the
/// stream's length; field bytes are copied once, from the caller's slices into the gather
/// buffer.
#[derive(Debug)]
pub struct CopySink<W: Write> {
    out: W,
    writer: CopyWriter,
    flush_bytes: usize,
    written: u64,
}

impl<W: Write> CopySink<W> {
    /// A sink onto `out`, flushing every [`DEFAULT_FLUSH_BYTES`].
    pub fn new(out: W) -> Self {
        Self::with_flush_bytes(out, DEFAULT_FLUSH_BYTES)
    }

    /// A sink onto `out`, writing on once `flush_bytes` are gathered.
    pub fn with_flush_bytes(out: W, flush_bytes: usize) -> Self {
        Self {
            out,
            writer: CopyWriter::with_capacity(flush_bytes.min(1 << 24)),
            flush_bytes,
            written: 0,
        }
    }

    /// The number of tuples written.
    pub fn rows_written(&self) -> u64 {
        self.writer.rows_written()
    }

    /// The bytes handed to `W` so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Writes one tuple of raw fields (`None` is NULL); nothing of it on error.
    pub fn write_row(&mut self, fields: &[Option<&[u8]>]) -> Result<(), CopyIoError> {
        self.writer.write_row(fields)?;
        self.maybe_flush()
    }

    /// Writes one tuple of protocol values (an unchanged-TOAST marker is an error).
    pub fn write_values(&mut self, values: &[ColumnValue]) -> Result<(), CopyIoError> {
        self.writer.write_values(values)?;
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> Result<(), CopyIoError> {
        if self.writer.len() >= self.flush_bytes {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let bytes = self.writer.take();
        self.out.write_all(&bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the trailer, flushes `W` and hands it back.
    pub fn finish(self) -> Result<W, CopyIoError> {
        let Self {
            mut out, writer, ..
        } = self;
        out.write_all(&writer.finish())?;
        out.flush()?;
        Ok(out)
    }
}
