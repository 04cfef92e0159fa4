//! Change streams through NATS JetStream, for `scry capture` and `scry apply`.
//!
//! - [`Address`]: `nats://HOST:PORT[,HOST:PORT...]/STREAM[?replicas=N]` (or `tls://`),
//!   accepted wherever a file name goes.
//! - [`Publisher`]: publishes each framed batch as one message on `STREAM.<source>.<slot>`,
//!   with headers giving its positions, and tells when JetStream has stored what was sent.
//! - [`Consumer`]: a durable consumer per target, whose messages are acknowledged only once
//!   the target committed them.

mod address;
mod consumer;
mod error;
mod publisher;
mod runtime;

pub use address::{Address, AddressError, DEFAULT_PORT, MAX_REPLICAS};
pub use consumer::{Consumer, Delivered};
pub use error::NatsError;
pub use publisher::{Last, Publisher, Stored};
