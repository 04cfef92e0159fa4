//! [`QueryEventBuilder`].

use std::time::{Duration, SystemTime};

use super::{ParamValue, QueryEvent};

/// Builds a [`QueryEvent`] from its SQL text, setting the rest by chained calls.
///
/// What is not set: a random (version 4) UUID as `event_id`, the time of
/// [`new`](Self::new) as `timestamp`, no parameters, a zero duration, no row count,
/// success, and `"unknown"` as database and connection.
///
/// ```
/// use std::time::Duration;
/// use scry_types::{ParamValue, QueryEventBuilder};
///
/// let event = QueryEventBuilder::new("UPDATE accounts SET balance = $1 WHERE id = $2")
///     .params(vec![ParamValue::Numeric("10.50".into()), ParamValue::Int64(7)])
///     .database("bank")
///     .connection_id("conn-9")
///     .duration(Duration::from_micros(830))
///     .rows(1)
///     .build();
/// assert_eq!(event.params.len(), 2);
/// assert_eq!(event.event_id.len(), 36);
/// assert!(event.success && event.error.is_none());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct QueryEventBuilder {
    event: QueryEvent,
}

impl QueryEventBuilder {
    /// A builder for the statement `query`, with the defaults above.
    pub fn new(query: impl Into<String>) -> Self {
        QueryEventBuilder {
            event: QueryEvent {
                event_id: uuid::Uuid::new_v4().hyphenated().to_string(),
                timestamp: SystemTime::now(),
                query: query.into(),
                params: Vec::new(),
                params_incomplete: false,
                normalized_query: None,
                value_fingerprints: None,
                duration: Duration::ZERO,
                rows: None,
                success: true,
                error: None,
                database: "unknown".to_owned(),
                connection_id: "unknown".to_owned(),
            },
        }
    }

    /// Replaces the random event ID (a proxy that makes its own, or a reproducible test).
    pub fn event_id(mut self, event_id: impl Into<String>) -> Self {
        self.event.event_id = event_id.into();
        self
    }

    /// Replaces the time the statement was received (by default, when `new` ran).
    pub fn timestamp(mut self, timestamp: SystemTime) -> Self {
        self.event.timestamp = timestamp;
        self
    }

    /// The statement's decoded parameters.
    pub fn params(mut self, params: Vec<ParamValue>) -> Self {
        self.event.params = params;
        self
    }

    /// Marks the parameters as partly undecoded.
    pub fn params_incomplete(mut self, incomplete: bool) -> Self {
        self.event.params_incomplete = incomplete;
        self
    }

    /// The statement with its literals replaced by placeholders.
    pub fn normalized_query(mut self, normalized_query: impl Into<String>) -> Self {
        self.event.normalized_query = Some(normalized_query.into());
        self
    }

    /// Fingerprints of the literals the normalization removed.
    pub fn value_fingerprints(mut self, fingerprints: Vec<String>) -> Self {
        self.event.value_fingerprints = Some(fingerprints);
        self
    }

    /// How long the statement ran.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.event.duration = duration;
        self
    }

    /// Rows returned or affected.
    pub fn rows(mut self, rows: u64) -> Self {
        self.event.rows = Some(rows);
        self
    }

    /// Whether the statement succeeded.
    pub fn success(mut self, success: bool) -> Self {
        self.event.success = success;
        self
    }

    /// The server's error message. It does not clear `success`: call
    /// [`success(false)`](Self::success) too.
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.event.error = Some(error.into());
        self
    }

    /// The database the connection uses.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.event.database = database.into();
        self
    }

    /// The proxy's identifier of the client connection.
    pub fn connection_id(mut self, connection_id: impl Into<String>) -> Self {
        self.event.connection_id = connection_id.into();
        self
    }

    /// The event.
    #[must_use]
    pub fn build(self) -> QueryEvent {
        self.event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_fresh_uuid_now_and_unknown_names() {
        let before = SystemTime::now();
        let a = QueryEventBuilder::new("SELECT 1").build();
        let b = QueryEventBuilder::new("SELECT 1").build();
        assert_ne!(a.event_id, b.event_id);
        let id = uuid::Uuid::parse_str(&a.event_id).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(a.event_id, id.hyphenated().to_string());
        assert!(a.timestamp >= before && a.timestamp <= SystemTime::now());
        assert_eq!(
            (a.database.as_str(), a.connection_id.as_str()),
            ("unknown", "unknown")
        );
        assert_eq!(a.duration, Duration::ZERO);
        assert!(a.success && a.rows.is_none() && a.error.is_none());
        assert!(a.params.is_empty() && !a.params_incomplete);
        assert!(a.normalized_query.is_none() && a.value_fingerprints.is_none());
    }

    #[test]
    fn every_setter_lands_in_its_field() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let e = QueryEventBuilder::new("SELECT $1")
            .event_id("e-1")
            .timestamp(at)
            .params(vec![ParamValue::Int32(5)])
            .params_incomplete(true)
            .normalized_query("SELECT ?")
            .value_fingerprints(vec!["f".into()])
            .duration(Duration::from_millis(3))
            .rows(2)
            .success(false)
            .error("boom")
            .database("db")
            .connection_id("c")
            .build();
        assert_eq!(
            e,
            QueryEvent {
                event_id: "e-1".into(),
                timestamp: at,
                query: "SELECT $1".into(),
                params: vec![ParamValue::Int32(5)],
                params_incomplete: true,
                normalized_query: Some("SELECT ?".into()),
                value_fingerprints: Some(vec!["f".into()]),
                duration: Duration::from_millis(3),
                rows: Some(2),
                success: false,
                error: Some("boom".into()),
                database: "db".into(),
                connection_id: "c".into(),
            }
        );
    }
}
