//! Builders for the scry `database_event` protocol.
//!
//! [`DatabaseEventBuilder`] makes one [`DatabaseEvent`](scry_types::DatabaseEvent) with a
//! fluent API; [`BatchBuilder`] groups events into
//! [`DatabaseEventBatch`](scry_types::DatabaseEventBatch)es under a count and size limit,
//! numbering them with consecutive `batch_seq`s. The semantics are those of scry-protocol
//! 0.1.1, so a producer that switches crates cuts its stream into the same batches.
//!
//! ```
//! use scry_builder::{BatchBuilder, DatabaseEventBuilder};
//!
//! let mut batches = BatchBuilder::new().source_id("cdc-1").max_events(2);
//! let mut flushed = Vec::new();
//! for xid in 0..5 {
//!     let event = DatabaseEventBuilder::begin().transaction_id(xid).build();
//!     flushed.extend(batches.add_event(event));
//! }
//! flushed.extend(batches.finish());
//! let sizes: Vec<_> = flushed.iter().map(|b| (b.batch_seq, b.events.len())).collect();
//! assert_eq!(sizes, [(0, 2), (1, 2), (2, 1)]);
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod batch;
mod event;

pub use batch::BatchBuilder;
pub use event::DatabaseEventBuilder;
