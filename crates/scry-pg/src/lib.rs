//! PostgreSQL binary values for the scry `database_event` protocol.
//!
//! - [`oid`]: built-in type OIDs, [`type_tag_from_oid`],
//!   [`canonical_oid`] and the array ⇄ element OID pairs.
//! - [`PgValue`]: a typed value of every [`TypeTag`](scry_types::TypeTag) category, its
//!   binary form ([`PgValue::to_binary`], [`decode`]), the protocol's
//!   [`ColumnValue`](scry_types::ColumnValue) ([`PgValue::to_column_value`]) and PostgreSQL's
//!   own text output ([`PgValue::to_text`]).
//! - [`copy`]: a zero-copy reader and a writer of `COPY ... (FORMAT binary)` streams.
//! - [`pgoutput`]: logical replication messages (`pgoutput`, versions 1 to 3) parsed and turned
//!   into CDC events: Begin/Commit, Insert/Update/Delete with old and new rows, unchanged
//!   TOAST markers, Truncate, logical messages; streamed and two-phase transactions held until
//!   they commit.
//! - `capture` (feature `capture`, on by default): those events to framed batches, a batch
//!   per transaction, each frame saying which Commit it reaches.
//! - `snapshot` (feature `snapshot`, on by default): a table's COPY BINARY stream and its
//!   [`RelationMeta`](scry_types::RelationMeta) to SnapshotBegin, SnapshotRow… and
//!   SnapshotEnd events, batched.
//!
//! ```
//! use scry_pg::{decode, oid, PgValue};
//!
//! let v = PgValue::array(oid::TEXT, vec!["a b".into(), PgValue::Null, "c".into()])?;
//! let cv = v.to_column_value();
//! assert_eq!(cv.type_oid, oid::TEXT_ARRAY);
//! let back = decode(cv.type_oid, cv.as_bytes().unwrap_or_default())?;
//! assert_eq!(back.to_text().as_deref(), Some(r#"{"a b",NULL,c}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "capture")]
pub mod capture;
pub mod copy;
mod error;
pub mod oid;
pub mod pgoutput;
#[cfg(feature = "snapshot")]
pub mod snapshot;
pub mod text;
mod value;
mod wire;

pub use error::{DecodeProblem, PgDecodeError};
pub use oid::{canonical_oid, type_tag_from_oid, TypeTagOidExt};
pub use value::*;
