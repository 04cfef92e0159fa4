//! The data model of the scry `database_event` protocol.
//!
//! The events that a PostgreSQL replication producer (a COPY snapshot, a logical-replication
//! CDC stream, a SQL proxy) sends to a receiver: [`DatabaseEvent`]s carrying [`Row`]s of
//! [`ColumnValue`]s in PostgreSQL's binary format, grouped into [`DatabaseEventBatch`]es, plus
//! the metadata and control payloads around them.
//!
//! This crate holds the types only; it compiles no codec. Builders live in `scry-builder`,
//! the FlexBuffers codec in `scry-codec`, and `scry-protocol` puts them all together.
//! With the default `serde` feature every type implements `Serialize` and `Deserialize`
//! shaped exactly like scry-protocol 0.1.1's, so any serde format sees the same structure.
//!
//! ```
//! use scry_types::{ColumnValue, DatabaseEvent, OperationType, Row, TypeTag};
//!
//! let mut event = DatabaseEvent::new(OperationType::Insert, "public", "users");
//! event.new_row = Some(Row::new(vec![
//!     ColumnValue::from_pg_binary(TypeTag::Int32, 23, 42i32.to_be_bytes().to_vec()),
//!     ColumnValue::null(),
//! ]));
//! assert_eq!(event.size_bytes(), 64 + 6 + 5 + 9 + 5);
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[macro_use]
mod macros;

mod batch;
mod event;
mod lsn;
mod message;
mod operation;
mod query;
mod relation;
mod sequence;
#[cfg(feature = "serde")]
mod serde_data;
mod type_tag;
pub mod validate;
mod value;

pub use batch::DatabaseEventBatch;
pub use bytes::Bytes;
pub use event::DatabaseEvent;
pub use lsn::{Lsn, ParseLsnError};
pub use message::LogicalMessage;
pub use operation::{ControlDirective, OperationType, ReplicaIdentity};
pub use query::{ParamValue, QueryEvent, QueryEventBuilder};
pub use relation::{ColumnMeta, RelationMeta};
pub use sequence::{BackfillMetadata, SequenceValue};
pub use type_tag::TypeTag;
pub use validate::{RowSide, ValidationErrors, Violation, ViolationKind};
pub use value::{ColumnValue, Row};

/// A byte is not the discriminant of any variant of a protocol enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownDiscriminant {
    /// The enum's name (`"TypeTag"`).
    pub enum_name: &'static str,
    /// The byte.
    pub value: u8,
}

impl std::fmt::Display for UnknownDiscriminant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not the discriminant of any {} variant",
            self.value, self.enum_name
        )
    }
}

impl std::error::Error for UnknownDiscriminant {}

/// A string is not the name of any variant of a protocol enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// The enum's name (`"TypeTag"`).
    pub enum_name: &'static str,
    /// The string.
    pub name: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not the name of any {} variant",
            self.name, self.enum_name
        )
    }
}

impl std::error::Error for UnknownName {}
