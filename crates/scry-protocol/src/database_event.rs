//! The whole protocol under one path: the module scry-protocol 0.1.1 users import from.
//!
//! # What is here
//!
//! - **The data model** (from `scry-types`): a [`DatabaseEvent`] is one change or marker of a
//!   replication stream (a snapshot row, an insert, an update with its old key, a transaction
//!   boundary, a DDL statement, a control directive); [`Row`]s hold [`ColumnValue`]s, and
//!   [`DatabaseEventBatch`] groups events with the table layouts ([`RelationMeta`]) they use.
//! - **Builders** (from `scry-builder`): [`DatabaseEventBuilder`] for one event,
//!   [`BatchBuilder`] to cut a stream into numbered batches by size or count.
//! - **The codec** (from `scry-codec`): [`serialize_batch`] and [`read_batch`] (and their
//!   `_event` and `_with` forms), in two [`Encoding`]s: `Compat`, the default, whose bytes
//!   are exactly 0.1.1's FlexBuffers, and `Compact`, smaller and faster, for peers that read
//!   it. Reading never trusts its input: [`ReadOptions`] bound it and a [`DecodeError`] says
//!   what is wrong and at which field path and byte.
//! - **Views** ([`BatchView`], [`EventView`], [`RowView`], ...): a batch read in place, with
//!   values borrowed from the input, for receivers that only look at some of it.
//! - **Frames** ([`frame`]): a length, a kind and CRC-32C checksums around each payload, so a
//!   byte stream (a pipe, a socket, a file) carries batches and a torn or corrupt one is
//!   noticed.
//!
//! The same items are also at the crate root, together with the SQL proxy's query events
//! ([`QueryEvent`], [`FlatBuffersSerializer`], ...).
//!
//! # Why values stay in PostgreSQL's binary format
//!
//! A [`ColumnValue`]'s `data` is the value exactly as `COPY ... (FORMAT binary)` and binary
//! logical replication deliver it, with a [`TypeTag`] and the type's OID beside it. A
//! producer copies those bytes in without decoding them and a receiver hands them to
//! `COPY FROM` or to a binary bind parameter without encoding them, so the snapshot path
//! moves bytes rather than values. Decoding, when an application wants a value, is the job
//! of `scry_protocol::pg` (feature `pg`).
//!
//! # A round trip
//!
//! ```
//! use scry_protocol::database_event::{
//!     read_batch, serialize_batch, BatchBuilder, ColumnValue, DatabaseEventBuilder, Row,
//!     TypeTag,
//! };
//!
//! // An insert of one row with an int4 column holding 7 (big-endian, as PostgreSQL sends it).
//! let insert = DatabaseEventBuilder::insert("public", "orders")
//!     .position(0x16_B374_D848)
//!     .new_row(Row::new(vec![ColumnValue::from_pg_binary(
//!         TypeTag::Int32,
//!         23,
//!         7i32.to_be_bytes().to_vec(),
//!     )]))
//!     .build();
//!
//! let mut batches = BatchBuilder::new().source_id("orders-cdc");
//! batches.add_event(insert.clone());
//! let batch = batches.finish().expect("one event is pending");
//!
//! let bytes = serialize_batch(&batch)?; // the bytes 0.1.1 writes
//! let back = read_batch(&bytes)?;
//! assert_eq!(back.events, vec![insert]);
//! assert_eq!(back.source_id.as_deref(), Some("orders-cdc"));
//! # Ok::<(), scry_protocol::database_event::CodecError>(())
//! ```

// Every public item of the layered crates, so that this module holds the whole protocol:
// the data model (scry-types), the builders (scry-builder) and the codec with its views,
// read options, errors and framing (scry-codec).
pub use scry_builder::*;
pub use scry_codec::*;
pub use scry_types::*;
