//! Deterministic generators of protocol values for tests, benchmarks and fuzz seeds.
//!
//! Everything here is a pure function of a seed, so a failing case can be replayed by its
//! seed alone. [`Gen`] draws arbitrary batches that cover every enum variant, NULL and
//! unchanged-TOAST values, every data width the compatible wire encoding distinguishes,
//! empty and non-ASCII strings, integer extremes and every optional field both present and
//! absent; [`workloads`] builds the benchmark batches; [`canonical_cases`] are the fixed values
//! whose wire bytes the snapshot tests pin, and [`dump`] renders bytes readably.
#![deny(missing_docs)]

pub mod alloc;
pub mod canonical;
pub mod dump;
pub mod pgoutput;
pub mod query;
pub mod reference;
mod rng;
pub mod server;
#[cfg(feature = "upstream")]
pub mod upstream;
pub mod workloads;

pub use canonical::{canonical_cases, CanonicalCase, CanonicalPayload};
pub use rng::{Gen, EDGE_DATA_LENS};
