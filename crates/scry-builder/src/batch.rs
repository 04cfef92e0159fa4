//! [`BatchBuilder`].

use scry_types::{DatabaseEvent, DatabaseEventBatch, RelationMeta};

/// Groups events into batches of at most `max_events` events and about `max_bytes` estimated
/// bytes ([`DatabaseEvent::size_bytes`]), numbering them with consecutive `batch_seq`s.
///
/// The flush rule is 0.1.1's: [`add_event`](Self::add_event) hands back the pending batch,
/// and starts the next one with the new event, when the pending batch is not empty and either
/// holds `max_events` events already or would pass `max_bytes` with the new event. A single
/// event larger than `max_bytes` therefore still makes a batch of its own.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    events: Vec<DatabaseEvent>,
    relations: Vec<RelationMeta>,
    source_id: Option<String>,
    batch_seq: u64,
    current_bytes: usize,
    max_events: usize,
    max_bytes: usize,
}

impl BatchBuilder {
    /// Default maximum number of events per batch.
    pub const DEFAULT_MAX_EVENTS: usize = 1000;
    /// Default maximum estimated bytes per batch.
    pub const DEFAULT_MAX_BYTES: usize = 1_000_000;

    /// A builder with the default limits, no source ID, starting at `batch_seq` 0.
    #[must_use]
    pub fn new() -> Self {
        Self {
            events: Vec::new(),
            relations: Vec::new(),
            source_id: None,
            batch_seq: 0,
            current_bytes: 0,
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }

    /// Sets the source ID that every batch carries.
    #[must_use]
    pub fn source_id(mut self, id: impl Into<String>) -> Self {
        self.source_id = Some(id.into());
        self
    }

    /// Sets the `batch_seq` of the next batch.
    #[must_use]
    pub fn batch_seq(mut self, seq: u64) -> Self {
        self.batch_seq = seq;
        self
    }

    /// Sets the maximum number of events per batch.
    #[must_use]
    pub fn max_events(mut self, max: usize) -> Self {
        self.max_events = max;
        self
    }

    /// Sets the maximum estimated bytes per batch.
    #[must_use]
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// Adds an event. Returns the pending batch when it was full (see the type's docs); the
    /// event then starts the next batch.
    pub fn add_event(&mut self, event: DatabaseEvent) -> Option<DatabaseEventBatch> {
        let event_size = event.size_bytes();
        let full = !self.events.is_empty()
            && (self.events.len() >= self.max_events
                || self.current_bytes.saturating_add(event_size) > self.max_bytes);
        let flushed = full.then(|| self.flush());
        self.current_bytes = self.current_bytes.saturating_add(event_size);
        self.events.push(event);
        flushed
    }

    /// Adds relation metadata to the pending batch, unless it already holds one with the same
    /// `rel_id`.
    pub fn add_relation(&mut self, meta: RelationMeta) {
        if !self.relations.iter().any(|r| r.rel_id == meta.rel_id) {
            self.relations.push(meta);
        }
    }

    /// True when no event is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The number of pending events.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// The estimated size of the pending events.
    #[must_use]
    pub fn current_bytes(&self) -> usize {
        self.current_bytes
    }

    /// The `batch_seq` the next flushed batch will carry.
    #[must_use]
    pub fn next_batch_seq(&self) -> u64 {
        self.batch_seq
    }

    /// The relation metadata pending for the next batch.
    #[must_use]
    pub fn relations(&self) -> &[RelationMeta] {
        &self.relations
    }

    /// Hands back the pending events and relations as a batch (even when empty) and moves to
    /// the next `batch_seq`.
    #[must_use = "the flushed batch must be sent"]
    pub fn flush(&mut self) -> DatabaseEventBatch {
        let batch = DatabaseEventBatch {
            events: std::mem::take(&mut self.events),
            source_id: self.source_id.clone(),
            batch_seq: self.batch_seq,
            relations: std::mem::take(&mut self.relations),
            control_directive: None,
            sequence_values: None,
            backfill_metadata: None,
        };
        self.batch_seq = self.batch_seq.wrapping_add(1);
        self.current_bytes = 0;
        batch
    }

    /// The pending events as a last batch, or `None` when no event is pending.
    #[must_use]
    pub fn finish(mut self) -> Option<DatabaseEventBatch> {
        (!self.events.is_empty()).then(|| self.flush())
    }
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_types::{ColumnValue, OperationType, Row, TypeTag};

    fn event_of_size(size: usize) -> DatabaseEvent {
        // 64 base + 0 names + a value of 5 + n bytes.
        let mut e = DatabaseEvent::new(OperationType::Insert, "", "");
        e.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Bytea,
            17,
            vec![0u8; size - 69],
        )]));
        assert_eq!(e.size_bytes(), size);
        e
    }

    #[test]
    fn flushes_on_event_count() {
        let mut b = BatchBuilder::new().source_id("src").max_events(2);
        let e = DatabaseEvent::new(OperationType::Insert, "public", "users");
        assert!(b.add_event(e.clone()).is_none());
        assert!(b.add_event(e.clone()).is_none());
        let full = b.add_event(e.clone()).expect("third event flushes");
        assert_eq!(full.events.len(), 2);
        assert_eq!(full.batch_seq, 0);
        assert_eq!(full.source_id.as_deref(), Some("src"));
        assert_eq!(b.len(), 1);
        assert_eq!(b.next_batch_seq(), 1);
        let rest = b.finish().expect("one event left");
        assert_eq!((rest.batch_seq, rest.events.len()), (1, 1));
    }

    #[test]
    fn flushes_when_the_size_would_pass_the_limit() {
        let mut b = BatchBuilder::new().max_bytes(300);
        assert!(b.add_event(event_of_size(100)).is_none());
        assert!(b.add_event(event_of_size(200)).is_none()); // 300: not past the limit
        assert_eq!(b.current_bytes(), 300);
        let full = b.add_event(event_of_size(100)).expect("401 > 300");
        assert_eq!(full.events.len(), 2);
        assert_eq!(b.current_bytes(), 100);
    }

    #[test]
    fn an_oversized_event_gets_a_batch_of_its_own() {
        let mut b = BatchBuilder::new().max_bytes(100);
        assert!(b.add_event(event_of_size(500)).is_none());
        let full = b.add_event(event_of_size(500)).expect("flushes");
        assert_eq!(full.events.len(), 1);
    }

    #[test]
    fn relations_are_deduplicated_by_rel_id_and_go_with_the_batch() {
        let mut b = BatchBuilder::new().batch_seq(10);
        let r1 = RelationMeta::new(1, "s", "a", vec![]);
        let r1b = RelationMeta::new(1, "s", "renamed", vec![]);
        let r2 = RelationMeta::new(2, "s", "b", vec![]);
        b.add_relation(r1.clone());
        b.add_relation(r1b);
        b.add_relation(r2.clone());
        assert_eq!(b.relations(), [r1.clone(), r2.clone()]);
        let batch = b.flush();
        assert_eq!(batch.relations, [r1, r2]);
        assert_eq!(batch.batch_seq, 10);
        assert!(b.relations().is_empty());
        assert_eq!(b.flush().batch_seq, 11);
    }

    #[test]
    fn finish_of_an_empty_builder_is_none() {
        assert_eq!(BatchBuilder::default().finish(), None);
        let b = BatchBuilder::new();
        assert!(b.is_empty());
    }
}
