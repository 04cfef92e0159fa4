//! What scry reads from and makes on a source server, over [`scry_conn::Conn`]: the same
//! operations `scry snapshot`, `scry capture` and `scry drop` run, for a program that embeds
//! scry.
//!
//! - [`catalog`]: the server's identity, its user tables' relation metadata, and the
//!   statements that make a table (and the types it needs) on a target.
//! - [`schema`]: the statements that make a table on a target as it is on the source
//!   (types, sequences, columns, partitions; then keys, indexes, foreign keys).
//! - [`setup`]: the preflight of what a capture needs, the publication of the tables that can
//!   be replicated as they are, slots, the DDL event trigger, positions and sequences.
//! - [`slots`]: the slots' health (retained WAL, `wal_status`) and the heartbeat that keeps
//!   an idle slot moving.
//!
//! Every error is a [`SourceError`]: the server's refusal with what was being done (and
//! whether it passes by itself, [`SourceError::is_transient`]), or a request that cannot be
//! met.

pub mod catalog;
mod error;
pub mod rows;
pub mod schema;
pub mod setup;
pub mod slots;

pub use error::SourceError;
