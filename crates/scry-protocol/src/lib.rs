//! # scry-protocol
//!
//! How PostgreSQL replication events travel between the programs of a replication pipeline:
//! a producer (a COPY snapshot or backfill, a logical-replication CDC stream, a SQL proxy)
//! turns row changes into [`DatabaseEvent`]s, batches them with a [`BatchBuilder`] and
//! serializes them as FlexBuffers; a receiver reads the batches and applies them. Column
//! values travel as PostgreSQL's own binary format.
//!
//! This crate is a thin facade over `scry-types` (the data model), `scry-builder` (the
//! builders) and `scry-codec` (the wire format). Every item is available at the crate root
//! and under [`database_event`], the module path of scry-protocol 0.1.1, whose bytes this
//! crate reads and, by default, writes exactly. With the default `pg` feature, [`pg`] holds
//! PostgreSQL's binary values and the COPY BINARY snapshot path (`scry-pg`).
#![deny(missing_docs)]

pub mod database_event;

pub use database_event::*;

/// The time types of [`QueryEvent`]'s fields, re-exported as scry-protocol 0.1.1 does.
pub use std::time::{Duration, SystemTime};

/// PostgreSQL binary values, OIDs, PostgreSQL's text output and COPY BINARY streams: the
/// `scry-pg` crate (feature `pg`, on by default).
#[cfg(feature = "pg")]
pub use scry_pg as pg;

/// The README's Rust examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The Rust examples of `docs/wire-format.md`, as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/wire-format.md")]
pub struct WireFormatDoctests;
