//! Change streams through NATS JetStream, for `scry capture` and `scry apply`.
//!
//! - [`Address`]: `nats://HOST:PORT[,HOST:PORT...]/STREAM[?replicas=N]` (or `tls://`),
//!   accepted wherever a file name goes.
//! - [`Publisher`]: publishes framed batches (one or several a message, a large one in parts)
//!   on `STREAM.<source>.<slot>`, with headers giving their positions, each message stored
//!   before the next is sent.
//! - [`Consumer`]: a durable consumer per target, whose messages are acknowledged only once
//!   the target committed them.
//! - [`StreamReader`]: a stream's messages, first to last, as one framed byte stream, for
//!   reading a stream without consuming it.
//!
//! A frame larger than the server's `max_payload` goes as several messages, its parts,
//! which every reader here puts together again (see `parts`).

mod address;
mod consumer;
mod error;
mod parts;
mod publisher;
mod reader;
mod runtime;

pub use address::{Address, AddressError, DEFAULT_PORT, MAX_REPLICAS};
pub use consumer::{Consumer, Delivered};
pub use error::NatsError;
pub use publisher::{Last, Publisher, Stored};
pub use reader::StreamReader;
pub use runtime::ClientOptions;
