//! The replication side of a connection: `START_REPLICATION ... LOGICAL` and the messages
//! of the stream that follows (PostgreSQL's "Streaming Replication Protocol"): the server's
//! XLogData and primary keepalives, in CopyData; the client's standby status updates.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{unexpected, Conn, DbError, WireError};

/// What the server sends once the stream has started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyBoth {
    /// XLogData: one message of the output plugin, and the WAL position it was written at.
    XLogData {
        /// The message's position (for pgoutput: the change's LSN; a Commit's end LSN).
        start: u64,
        /// The message, as the output plugin wrote it.
        data: Bytes,
    },
    /// A primary keepalive message.
    Keepalive {
        /// How far the server has sent (read) the WAL.
        end: u64,
        /// The server asks for a standby status update at once.
        reply: bool,
    },
    /// The server ended the stream (CopyDone, or CommandComplete from a walsender that
    /// stops).
    End,
}

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

impl Conn {
    /// Runs the replication command `sql` (`START_REPLICATION ...`): once the server agrees
    /// (CopyBothResponse), the stream's messages follow ([`copy_both`](Self::copy_both)).
    pub fn start_copy_both(&mut self, sql: &str) -> Result<(), WireError> {
        frontend::query(sql, &mut self.output)?;
        self.send()?;
        loop {
            // CopyBothResponse ('W') is not among the messages postgres-protocol parses: it
            // is recognised by its type byte and passed over whole.
            match self.whole_message_at(0) {
                Some((b'W', len)) => {
                    self.input.advance(len);
                    return Ok(());
                }
                Some(_) => match Message::parse(&mut self.input)? {
                    Some(Message::NoticeResponse(_) | Message::ParameterStatus(_)) => {}
                    Some(Message::ErrorResponse(body)) => {
                        let e = DbError::parse(&body);
                        self.until_ready()?;
                        return Err(WireError::Server(e));
                    }
                    Some(other) => {
                        return Err(unexpected(&other, "answering START_REPLICATION"));
                    }
                    None => {}
                },
                None => {
                    self.fill(true)?;
                }
            }
        }
    }

    /// The stream's next message, waiting `wait` at most for one to arrive; `None` when none
    /// did.
    pub fn copy_both(&mut self, wait: Duration) -> Result<Option<CopyBoth>, WireError> {
        let deadline = Instant::now() + wait;
        loop {
            match Message::parse(&mut self.input)? {
                Some(Message::CopyData(body)) => {
                    return parse_copy_data(body.into_bytes()).map(Some)
                }
                // A walsender that stops (a server shutting down) ends the stream with
                // CommandComplete alone, once the slot is confirmed as far as it sent.
                Some(Message::CopyDone | Message::CommandComplete(_)) => {
                    return Ok(Some(CopyBoth::End))
                }
                Some(Message::NoticeResponse(_) | Message::ParameterStatus(_)) => {}
                Some(Message::ErrorResponse(body)) => {
                    return Err(WireError::Server(DbError::parse(&body)));
                }
                Some(other) => return Err(unexpected(&other, "in a replication stream")),
                None => {
                    if self.fill(false)? > 0 {
                        continue;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(None);
                    }
                    self.stream
                        .wait(false, Some(left))
                        .map_err(|e| self.fail(e))?;
                }
            }
        }
    }

    /// Sends a standby status update: the stream is received up to `written`, and what
    /// came up to `flushed` is durable where it went (the server may confirm the slot to
    /// it); with `reply`, the server is asked to answer with a keepalive at once.
    pub fn standby_status(
        &mut self,
        written: u64,
        flushed: u64,
        reply: bool,
    ) -> Result<(), WireError> {
        let body = status_update(written, flushed, reply, SystemTime::now());
        self.output.put_u8(b'd');
        self.output.put_i32(4 + body.len() as i32);
        self.output.put_slice(&body);
        self.send()
    }
}

/// The body of a standby status update ('r'): written, flushed and applied positions (the
/// last two the same), the client's clock in microseconds since 2000-01-01, and whether a
/// reply is asked for.
pub(super) fn status_update(written: u64, flushed: u64, reply: bool, now: SystemTime) -> [u8; 34] {
    let micros = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let mut body = [0u8; 34];
    let mut out = &mut body[..];
    out.put_u8(b'r');
    out.put_u64(written);
    out.put_u64(flushed);
    out.put_u64(flushed);
    out.put_i64(micros.saturating_sub(PG_EPOCH_US));
    out.put_u8(u8::from(reply));
    body
}

/// One CopyData message of the stream: XLogData ('w') or a primary keepalive ('k').
pub(super) fn parse_copy_data(bytes: Bytes) -> Result<CopyBoth, WireError> {
    let short = |what: &str, need: usize| {
        WireError::Protocol(format!(
            "a replication {what} message of {} bytes, shorter than its {need}-byte header",
            bytes.len()
        ))
    };
    let at = |i: usize| {
        bytes
            .get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes)
    };
    match bytes.first() {
        Some(b'w') => {
            if bytes.len() < 25 {
                return Err(short("XLogData", 25));
            }
            Ok(CopyBoth::XLogData {
                start: at(1),
                data: bytes.slice(25..),
            })
        }
        Some(b'k') => {
            if bytes.len() < 18 {
                return Err(short("keepalive", 18));
            }
            Ok(CopyBoth::Keepalive {
                end: at(1),
                reply: bytes.get(17).is_some_and(|&r| r != 0),
            })
        }
        Some(&tag) => Err(WireError::Protocol(format!(
            "a replication message of unknown type {:?}",
            char::from(tag)
        ))),
        None => Err(WireError::Protocol("an empty replication message".into())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::{parse_copy_data, status_update, CopyBoth, WireError};

    fn message(tag: u8, fields: &[u64], rest: &[u8]) -> Bytes {
        let mut out = vec![tag];
        for f in fields {
            out.extend_from_slice(&f.to_be_bytes());
        }
        out.extend_from_slice(rest);
        Bytes::from(out)
    }

    fn protocol_error(bytes: Bytes) -> String {
        match parse_copy_data(bytes) {
            Err(WireError::Protocol(why)) => why,
            other => panic!("not a protocol error: {other:?}"),
        }
    }

    #[test]
    fn xlogdata_gives_its_start_and_the_plugin_message_after_the_header() {
        let bytes = message(b'w', &[0x1_0000_0010, 0x1_0000_0020, 77], b"C\0rest");
        assert_eq!(
            parse_copy_data(bytes).unwrap(),
            CopyBoth::XLogData {
                start: 0x1_0000_0010,
                data: Bytes::from_static(b"C\0rest"),
            }
        );
        // A message of no bytes is still a message.
        assert_eq!(
            parse_copy_data(message(b'w', &[5, 6, 7], b"")).unwrap(),
            CopyBoth::XLogData {
                start: 5,
                data: Bytes::new(),
            }
        );
    }

    #[test]
    fn a_keepalive_gives_the_servers_position_and_whether_it_wants_a_reply() {
        for (flag, reply) in [(1u8, true), (0, false)] {
            assert_eq!(
                parse_copy_data(message(b'k', &[0xABCD, 99], &[flag])).unwrap(),
                CopyBoth::Keepalive { end: 0xABCD, reply }
            );
        }
    }

    #[test]
    fn short_empty_and_unknown_messages_are_refused_by_name() {
        let short = message(b'w', &[1, 2], &[0; 7]);
        assert_eq!(
            protocol_error(short),
            "a replication XLogData message of 24 bytes, shorter than its 25-byte header"
        );
        assert_eq!(
            protocol_error(message(b'k', &[1, 2], &[])),
            "a replication keepalive message of 17 bytes, shorter than its 18-byte header"
        );
        assert_eq!(
            protocol_error(message(b'x', &[], &[])),
            "a replication message of unknown type 'x'"
        );
        assert_eq!(protocol_error(Bytes::new()), "an empty replication message");
    }

    #[test]
    fn a_status_update_reports_written_flushed_applied_and_the_clock_since_2000() {
        let now = UNIX_EPOCH + Duration::from_secs(946_684_800) + Duration::from_micros(5);
        let body = status_update(0x10, 0x20, true, now);
        let mut want = vec![b'r'];
        for f in [0x10u64, 0x20, 0x20, 5] {
            want.extend_from_slice(&f.to_be_bytes());
        }
        want.push(1);
        assert_eq!(body.to_vec(), want);
        assert_eq!(status_update(1, 1, false, now)[33], 0);
    }
}
