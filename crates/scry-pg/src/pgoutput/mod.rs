//! PostgreSQL's logical replication output (`pgoutput`, protocol versions 1 to 3) read into
//! the protocol's CDC events.
//!
//! - [`parse`] and [`Parser`]: one message's bytes to a [`Message`], every field checked, no
//!   panic on any input; strings and column values borrow from the bytes.
//! - [`ChangeDecoder`]: messages in WAL order to [`Change`]s — Begin, Insert, Update, Delete,
//!   Truncate and Commit [`DatabaseEvent`](scry_types::DatabaseEvent)s of committed
//!   transactions only, and logical decoding messages — with streamed and two-phase
//!   transactions held (in memory, then in a temporary file) until they commit.
//!
//! The bytes are what `pg_logical_slot_get_binary_changes(...)` returns in its `data` column
//! and what `START_REPLICATION ... LOGICAL` carries in each XLogData message, for a slot of
//! the `pgoutput` plugin. With `binary 'true'` column values arrive in their types' binary
//! send format, the bytes COPY BINARY carries, so they go into the protocol unchanged.
//!
//! ```
//! use bytes::Bytes;
//! use scry_pg::pgoutput::{Change, ChangeDecoder};
//! use scry_types::OperationType;
//!
//! // BEGIN; INSERT INTO public.t (id int4) VALUES (7); COMMIT; as pgoutput sends it.
//! let mut relation = b"R\0\0\x40\x01public\0t\0d\0\x01\x01id\0\0\0\0\x17\xff\xff\xff\xff".to_vec();
//! let messages: Vec<(u64, Vec<u8>)> = vec![
//!     (0x100, [&b"B"[..], &0x180u64.to_be_bytes(), &0i64.to_be_bytes(), &735u32.to_be_bytes()].concat()),
//!     (0x110, std::mem::take(&mut relation)),
//!     (0x120, [&b"I\0\0\x40\x01N\0\x01b\0\0\0\x04"[..], &7i32.to_be_bytes()].concat()),
//!     (0x180, [&b"C\0"[..], &0x180u64.to_be_bytes(), &0x1b0u64.to_be_bytes(), &0i64.to_be_bytes()].concat()),
//! ];
//! let mut decoder = ChangeDecoder::new();
//! let mut events = Vec::new();
//! for (lsn, bytes) in messages {
//!     decoder.decode(lsn, &Bytes::from(bytes), &mut |change| {
//!         if let Change::Event(e) = change {
//!             events.push(e);
//!         }
//!     })?;
//! }
//! let ops: Vec<_> = events.iter().map(|e| e.operation).collect();
//! assert_eq!(ops, [OperationType::Begin, OperationType::Insert, OperationType::Commit]);
//! let insert = &events[1];
//! assert_eq!((insert.schema.as_str(), insert.table.as_str(), insert.transaction_id), ("public", "t", 735));
//! assert_eq!(insert.new_row.as_ref().unwrap().values[0].as_bytes(), Some(&[0, 0, 0, 7][..]));
//! assert_eq!(events[2].position, 0x1b0); // Commit: where to resume after this transaction
//! # Ok::<(), scry_pg::pgoutput::ChangeError>(())
//! ```

mod decoder;
mod error;
mod message;
mod parse;
mod rows;
mod spool;
mod start;

pub use decoder::{Change, ChangeDecoder, ChangeError};
pub use error::{PgOutputError, PgOutputProblem};
pub use message::{
    Begin, Commit, Delete, Insert, LogicalMessage, Message, MessageKind, OldRow, Origin, Prepared,
    Relation, RelationColumn, RollbackPrepared, StreamAbort, StreamCommit, StreamStart, Truncate,
    Tuple, TupleColumn, TupleColumns, Type, Update,
};
pub use parse::{parse, Parser};
pub use rows::is_text_format;
pub use start::{protocol_for, start_replication};
