//! Change streams through NATS JetStream, for `scry capture` and `scry apply`.
//!
//! - [`Address`]: `nats://HOST:PORT[,HOST:PORT...]/STREAM[?replicas=N]` (or `tls://`),
//!   accepted wherever a file name goes.
//! - [`Publisher`]: publishes each framed batch as one message on `STREAM.<source>.<slot>`,
//!   with headers giving its positions, and tells when JetStream has stored what was sent.
//! - [`Consumer`]: a durable consumer per target, whose messages are acknowledged only once
//!   the target committed them.
//! - [`StreamReader`]: a stream's messages, first to last, as one framed byte stream, for
//!   reading a stream without consuming it.

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
