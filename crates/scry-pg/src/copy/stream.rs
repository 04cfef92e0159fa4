//! [`CopyStream`]: the rows of a COPY BINARY stream read from any [`Read`].

use std::io::{self, Read};

use bytes::{Bytes, BytesMut};

use super::decoder::CopyDecoder;
use super::reader::CopyRow;
use super::CopyError;

/// How many bytes a [`CopyStream`] reads at a time unless told otherwise.
pub const DEFAULT_CHUNK_BYTES: usize = 256 * 1024;

/// Reading or writing a COPY BINARY stream through `std::io` failed: the source or sink,
/// or the stream's bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyIoError {
    /// The source failed.
    #[error("reading the COPY stream: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not a valid COPY BINARY stream.
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// Iterates over the rows of a COPY BINARY stream read from `R` a chunk at a time (for
/// example the `postgres` crate's `copy_out` reader, or a file). Each chunk is a buffer of
/// its own, and a row's fields are slices of the chunk it arrived in (see [`CopyDecoder`]),
/// so memory is bounded by the largest tuple plus one chunk, and by the rows the caller
/// keeps. Ends after the trailer; a stream cut short is an error.
#[derive(Debug)]
pub struct CopyStream<R> {
    source: R,
    decoder: CopyDecoder,
    chunk_bytes: usize,
    /// The buffer chunks are read into: once every row of a chunk is dropped, the next
    /// chunk reuses its memory (`BytesMut::reserve` reclaims it).
    buf: BytesMut,
    eof: bool,
    done: bool,
}

impl<R: Read> CopyStream<R> {
    /// Rows from `source`, read [`DEFAULT_CHUNK_BYTES`] at a time.
    pub fn new(source: R) -> Self {
        Self::with_decoder(source, CopyDecoder::new(), DEFAULT_CHUNK_BYTES)
    }

    /// Rows from `source` through `decoder` (its limits), read `chunk_bytes` (at least 1)
    /// at a time.
    pub fn with_decoder(source: R, decoder: CopyDecoder, chunk_bytes: usize) -> Self {
        Self {
            source,
            decoder,
            chunk_bytes: chunk_bytes.max(1),
            buf: BytesMut::new(),
            eof: false,
            done: false,
        }
    }

    /// The decoder (header, offset, rows read so far).
    pub fn decoder(&self) -> &CopyDecoder {
        &self.decoder
    }

    /// The source back.
    pub fn into_inner(self) -> R {
        self.source
    }

    /// The next row, `Ok(None)` after the trailer.
    pub fn next_row(&mut self) -> Result<Option<CopyRow>, CopyIoError> {
        self.next_with(CopyDecoder::decode, CopyDecoder::decode_eof)
    }

    /// The next row as the tuple's bytes ([`CopyDecoder::decode_tuple`]), `Ok(None)` after
    /// the trailer.
    pub fn next_tuple(&mut self) -> Result<Option<Bytes>, CopyIoError> {
        self.next_with(CopyDecoder::decode_tuple, CopyDecoder::decode_tuple_eof)
    }

    fn next_with<T>(
        &mut self,
        decode: fn(&mut CopyDecoder) -> Result<Option<T>, CopyError>,
        decode_eof: fn(&mut CopyDecoder) -> Result<Option<T>, CopyError>,
    ) -> Result<Option<T>, CopyIoError> {
        if self.done {
            return Ok(None);
        }
        let result = loop {
            if self.eof {
                break decode_eof(&mut self.decoder).map_err(CopyIoError::from);
            }
            match decode(&mut self.decoder) {
                Ok(Some(row)) => break Ok(Some(row)),
                // More input; after the trailer, to see that nothing follows it.
                Ok(None) => {
                    if let Err(e) = self.fill() {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e.into()),
            }
        };
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    /// Reads the next chunk into the decoder; at the source's end sets `eof`.
    fn fill(&mut self) -> Result<(), CopyIoError> {
        let (chunk, ended) = read_chunk(&mut self.source, &mut self.buf, self.chunk_bytes)?;
        if let Some(chunk) = chunk {
            self.decoder.push(chunk);
        }
        self.eof = ended;
        Ok(())
    }
}

/// Reads up to `chunk_bytes` (at least 1) from `source` into `buf`, until that many are
/// there (sources such as a COPY connection return a row per read) or the source ends, and
/// returns them as a chunk of their own (`None` if none were read), and whether the source
/// has ended. Once every slice of a chunk is dropped, the next one reuses its memory
/// (`BytesMut::reserve` reclaims it).
pub(crate) fn read_chunk<R: Read>(
    source: &mut R,
    buf: &mut BytesMut,
    chunk_bytes: usize,
) -> io::Result<(Option<Bytes>, bool)> {
    let chunk_bytes = chunk_bytes.max(1);
    buf.clear();
    buf.reserve(chunk_bytes);
    buf.resize(chunk_bytes, 0);
    let mut n = 0;
    let mut ended = false;
    while n < chunk_bytes {
        match source.read(&mut buf[n..]) {
            Ok(0) => {
                ended = true;
                break;
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(((n > 0).then(|| buf.split_to(n).freeze()), ended))
}

impl<R: Read> Iterator for CopyStream<R> {
    type Item = Result<CopyRow, CopyIoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}
