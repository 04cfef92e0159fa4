//! [`QueryEvent`].

use std::time::{Duration, SystemTime};

use super::ParamValue;

/// One statement as a SQL proxy observed it.
///
/// Build one with [`QueryEventBuilder`](super::QueryEventBuilder), which fills in a random
/// `event_id`, the current time, and `"unknown"` for the database and connection. With the
/// `serde` feature it serializes (to JSON, say) with the field names below; `params`, an
/// absent `normalized_query` and absent `value_fingerprints` are left out when empty.
///
/// In a FlexBuffers batch the timestamp and duration travel as whole microseconds, so a
/// value read back from a batch has lost anything finer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct QueryEvent {
    /// This event's identifier (the builder makes a random UUID, in its hyphenated text).
    pub event_id: String,
    /// When the proxy received the statement.
    pub timestamp: SystemTime,
    /// The statement's SQL. With anonymization on, the proxy puts the normalized text here
    /// as well as in `normalized_query`.
    pub query: String,
    /// The statement's parameters, decoded from its Bind message, in order.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub params: Vec<ParamValue>,
    /// True when the proxy could not decode every parameter (it did not know a type), so
    /// `params` is partial.
    #[cfg_attr(feature = "serde", serde(default))]
    pub params_incomplete: bool,
    /// The statement with its literals replaced by placeholders (anonymization on).
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub normalized_query: Option<String>,
    /// Fingerprints of the literals the normalization removed (anonymization on): equal
    /// values have equal fingerprints, so hot values can be spotted without seeing them.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub value_fingerprints: Option<Vec<String>>,
    /// How long the statement ran.
    pub duration: Duration,
    /// Rows returned or affected, when the server said.
    pub rows: Option<u64>,
    /// False when the statement failed.
    pub success: bool,
    /// The server's error message, for a failed statement.
    pub error: Option<String>,
    /// The database the connection uses.
    pub database: String,
    /// The proxy's identifier of the client connection.
    pub connection_id: String,
}
