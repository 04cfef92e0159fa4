//! COPY as `std::io`: [`CopyOut`] reads `COPY ... TO STDOUT`'s data as it arrives,
//! [`CopyIn`] writes `COPY ... FROM STDIN`'s in pieces of [`PIECE`] bytes, and [`pipe`]
//! moves one server's COPY data into another's COPY without looking at it.

use std::io::{self, Read, Write};

use bytes::{Buf, BufMut, Bytes};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{count, unexpected, Conn, DbError, WireError};

/// How much a [`CopyIn`] gathers before it sends.
pub const PIECE: usize = 256 * 1024;

/// The COPY FROM STDIN sub-protocol, message by message ([`CopyIn`] is the `io::Write`
/// over it).
impl Conn {
    /// Starts `COPY ... FROM STDIN` (`sql`): the server is ready for the data.
    pub fn copy_in(&mut self, sql: &str) -> Result<(), WireError> {
        frontend::query(sql, &mut self.output)?;
        self.send()?;
        match self.next()? {
            Message::CopyInResponse(_) => Ok(()),
            Message::ErrorResponse(body) => {
                let e = DbError::parse(&body);
                self.until_ready()?;
                Err(WireError::Server(e))
            }
            other => Err(unexpected(&other, "answering a COPY")),
        }
    }

    /// Sends COPY data. A server that has stopped the COPY (a row it refused) says so here,
    /// when its error has arrived, or at [`copy_done`](Self::copy_done).
    pub fn copy_data(&mut self, data: &[u8]) -> Result<(), WireError> {
        // The server sends nothing during a COPY but notices, unless it stopped it.
        self.take_arrived()?;
        loop {
            match Message::parse(&mut self.input)? {
                None => break,
                Some(Message::NoticeResponse(_) | Message::ParameterStatus(_)) => {}
                Some(Message::NotificationResponse(_)) => {}
                Some(Message::ErrorResponse(body)) => {
                    let e = DbError::parse(&body);
                    self.until_ready()?;
                    return Err(WireError::Server(e));
                }
                Some(other) => return Err(unexpected(&other, "during a COPY")),
            }
        }
        let len = i32::try_from(data.len() + 4)
            .map_err(|_| WireError::Protocol("a COPY piece over 2 GiB".into()))?;
        self.output.put_u8(b'd');
        self.output.put_i32(len);
        self.send()?;
        self.write_bytes(data)
    }

    /// Stops the COPY with `why`: the server refuses it, and the transaction it is in.
    pub fn copy_fail(&mut self, why: &str) -> Result<(), WireError> {
        frontend::copy_fail(why, &mut self.output)?;
        self.send()?;
        match self.copy_end() {
            Err(WireError::Server(_)) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(WireError::Protocol("the server took a failed COPY".into())),
        }
    }

    /// Ends the COPY; the rows it copied.
    pub fn copy_done(&mut self) -> Result<u64, WireError> {
        frontend::copy_done(&mut self.output);
        self.send()?;
        self.copy_end()
    }

    /// The COPY's end: its count, or its error; then the ReadyForQuery.
    fn copy_end(&mut self) -> Result<u64, WireError> {
        let result = match self.next()? {
            Message::CommandComplete(body) => Ok(count(&body)?),
            Message::ErrorResponse(body) => Err(WireError::Server(DbError::parse(&body))),
            other => return Err(unexpected(&other, "ending a COPY")),
        };
        self.until_ready()?;
        result
    }
}

/// `COPY ... TO STDOUT`'s data, read as it arrives (a message at a time); the end of the
/// data is the end of the reader. A server error ends it with an `io::Error` that carries
/// the [`WireError`].
pub struct CopyOut<'c> {
    conn: &'c mut Conn,
    chunk: Bytes,
    done: bool,
}

/// `COPY ... FROM STDIN`'s data, written in pieces; [`finish`](Self::finish) ends it, and a
/// writer dropped unfinished stops the COPY (the server refuses it and the transaction it
/// is in).
pub struct CopyIn<'c> {
    conn: Option<&'c mut Conn>,
    buf: Vec<u8>,
}

impl Conn {
    /// Starts `sql` (`COPY ... TO STDOUT ...`) and returns its data as a reader.
    ///
    /// # Errors
    /// [`WireError::Server`] when the server refuses the statement.
    pub fn copy_out(&mut self, sql: &str) -> Result<CopyOut<'_>, WireError> {
        frontend::query(sql, &mut self.output)?;
        self.send()?;
        match self.next()? {
            Message::CopyOutResponse(_) => Ok(CopyOut {
                conn: self,
                chunk: Bytes::new(),
                done: false,
            }),
            Message::ErrorResponse(body) => {
                let e = DbError::parse(&body);
                self.until_ready()?;
                Err(WireError::Server(e))
            }
            other => Err(unexpected(&other, "answering a COPY TO STDOUT")),
        }
    }

    /// Starts `sql` (`COPY ... FROM STDIN ...`) and returns a writer of its data.
    ///
    /// # Errors
    /// [`WireError::Server`] when the server refuses the statement.
    pub fn copy_in_writer(&mut self, sql: &str) -> Result<CopyIn<'_>, WireError> {
        self.copy_in(sql)?;
        Ok(CopyIn {
            conn: Some(self),
            buf: Vec::with_capacity(PIECE + 1024),
        })
    }
}

fn io_error(e: WireError) -> io::Error {
    match e {
        WireError::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl Read for CopyOut<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.conn.next().map_err(io_error)? {
                Message::CopyData(body) => self.chunk = body.into_bytes(),
                Message::CopyDone | Message::CommandComplete(_) => {}
                Message::ReadyForQuery(_) => self.done = true,
                Message::ErrorResponse(body) => {
                    let e = DbError::parse(&body);
                    self.conn.until_ready().map_err(io_error)?;
                    self.done = true;
                    return Err(io_error(WireError::Server(e)));
                }
                other => return Err(io_error(unexpected(&other, "in a COPY TO STDOUT"))),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(self.chunk.get(..n).unwrap_or_default());
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

impl CopyOut<'_> {
    /// Appends the data of the messages that have arrived to `out` until it holds `limit`
    /// bytes or none is there yet (waiting for one when nothing came); false once the COPY
    /// has ended. A row's CopyData message is copied straight from the connection's
    /// buffer: no message is built for it.
    fn take_data(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<bool> {
        let mut took = false;
        while out.len() < limit {
            if !self.chunk.is_empty() {
                out.extend_from_slice(&self.chunk);
                self.chunk = Bytes::new();
                took = true;
                continue;
            }
            if self.done {
                return Ok(false);
            }
            let input = &mut self.conn.input;
            if let (Some(&b'd'), Some(len)) = (input.first(), input.get(1..5)) {
                let len = usize::try_from(i32::from_be_bytes(len.try_into().unwrap_or_default()))
                    .unwrap_or(0);
                if len >= 4 && input.len() > len {
                    out.extend_from_slice(input.get(5..=len).unwrap_or_default());
                    input.advance(len + 1);
                    took = true;
                    continue;
                }
            } else if input.len() >= 5 {
                // Anything else (a notice, the end, an error), the reader's own way.
                let mut piece = [0u8; 8192];
                let n = self.read(&mut piece)?;
                out.extend_from_slice(piece.get(..n).unwrap_or_default());
                took |= n > 0;
                continue;
            }
            if took {
                return Ok(true);
            }
            self.conn.fill(true).map_err(io_error)?;
        }
        Ok(true)
    }

    /// Reads the rest of the data, discarding it, up to the server's ReadyForQuery: the
    /// connection is free again.
    ///
    /// # Errors
    /// The server's error, if the COPY failed.
    pub fn finish(mut self) -> io::Result<()> {
        io::copy(&mut self, &mut io::sink()).map(drop)
    }
}

impl Write for CopyIn<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        conn.copy_data(&self.buf).map_err(io_error)?;
        self.buf.clear();
        Ok(())
    }
}

impl CopyIn<'_> {
    /// Sends what is gathered and ends the COPY; the rows the server copied.
    ///
    /// # Errors
    /// The server's error (a row it refused), or the connection's.
    pub fn finish(mut self) -> Result<u64, WireError> {
        if let Some(conn) = self.conn.as_mut() {
            if !self.buf.is_empty() {
                conn.copy_data(&self.buf)?;
                self.buf.clear();
            }
        }
        match self.conn.take() {
            Some(conn) => conn.copy_done(),
            None => Err(WireError::Protocol("the COPY has ended".into())),
        }
    }
}

/// Moves `from`'s data into `to` as it arrives, in pieces of up to [`PIECE`] bytes, without
/// looking at it (both COPYs in the same format); `each` hears of every piece sent (and
/// may stop the copy with an error). Returns the bytes moved; [`CopyIn::finish`] and
/// [`CopyOut::finish`] end the two.
///
/// # Errors
/// Either server's error, the connections', or `each`'s.
pub fn pipe(
    from: &mut CopyOut<'_>,
    to: &mut CopyIn<'_>,
    mut each: impl FnMut(usize) -> io::Result<()>,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let more = from.take_data(&mut to.buf, PIECE)?;
        if to.buf.len() >= PIECE || !more {
            let n = to.buf.len();
            each(n)?;
            to.flush()?;
            total += n as u64;
        }
        if !more {
            return Ok(total);
        }
    }
}

impl Drop for CopyIn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.copy_fail("the copy was abandoned");
        }
    }
}
