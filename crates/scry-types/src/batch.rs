//! [`DatabaseEventBatch`]: the unit that goes on the wire.

use crate::{BackfillMetadata, ControlDirective, DatabaseEvent, RelationMeta, SequenceValue};

/// A batch of events with its source, sequence number and relation metadata, or a control
/// batch carrying a directive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DatabaseEventBatch {
    /// The events, in order.
    pub events: Vec<DatabaseEvent>,
    /// Source identifier (proxy or connector ID).
    pub source_id: Option<String>,
    /// Batch sequence number, for ordering and deduplication.
    pub batch_seq: u64,
    /// Relation metadata for the batch's tables.
    pub relations: Vec<RelationMeta>,
    /// The directive of a control batch.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub control_directive: Option<ControlDirective>,
    /// Sequence values (with [`ControlDirective::SyncSequences`]).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sequence_values: Option<Vec<SequenceValue>>,
    /// Backfill progress metadata (with a `BackfillStart` event).
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub backfill_metadata: Option<BackfillMetadata>,
}

impl DatabaseEventBatch {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A batch of these events.
    #[must_use]
    pub fn with_events(events: Vec<DatabaseEvent>) -> Self {
        Self {
            events,
            ..Self::default()
        }
    }

    /// A control batch carrying `directive` and no events.
    #[must_use]
    pub fn control(directive: ControlDirective) -> Self {
        Self {
            control_directive: Some(directive),
            ..Self::default()
        }
    }

    /// A [`ControlDirective::SyncSequences`] batch carrying these sequence values.
    #[must_use]
    pub fn sequence_sync(sequences: Vec<SequenceValue>) -> Self {
        Self {
            control_directive: Some(ControlDirective::SyncSequences),
            sequence_values: Some(sequences),
            ..Self::default()
        }
    }

    /// Sets the source ID.
    #[must_use]
    pub fn with_source_id(mut self, source_id: impl Into<String>) -> Self {
        self.source_id = Some(source_id.into());
        self
    }

    /// Sets the batch sequence number.
    #[must_use]
    pub fn with_batch_seq(mut self, seq: u64) -> Self {
        self.batch_seq = seq;
        self
    }

    /// Sets the relation metadata.
    #[must_use]
    pub fn with_relations(mut self, relations: Vec<RelationMeta>) -> Self {
        self.relations = relations;
        self
    }

    /// Sets the control directive.
    #[must_use]
    pub fn with_control_directive(mut self, directive: ControlDirective) -> Self {
        self.control_directive = Some(directive);
        self
    }

    /// Sets the sequence values.
    #[must_use]
    pub fn with_sequence_values(mut self, sequences: Vec<SequenceValue>) -> Self {
        self.sequence_values = Some(sequences);
        self
    }

    /// Sets the backfill metadata.
    #[must_use]
    pub fn with_backfill_metadata(mut self, metadata: BackfillMetadata) -> Self {
        self.backfill_metadata = Some(metadata);
        self
    }

    /// True when the batch carries a control directive.
    #[must_use]
    pub fn is_control_batch(&self) -> bool {
        self.control_directive.is_some()
    }

    /// The number of events.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when the batch has no events.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Size estimate: 32 + the events' [`DatabaseEvent::size_bytes`].
    #[must_use]
    pub fn size_bytes(&self) -> usize {
        32 + self
            .events
            .iter()
            .map(DatabaseEvent::size_bytes)
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OperationType;

    #[test]
    fn constructors() {
        let b = DatabaseEventBatch::new()
            .with_source_id("s")
            .with_batch_seq(42);
        assert_eq!(b.source_id.as_deref(), Some("s"));
        assert_eq!(b.batch_seq, 42);
        assert!(!b.is_control_batch());
        assert!(b.is_empty());
        assert_eq!(b.size_bytes(), 32);

        let c = DatabaseEventBatch::control(ControlDirective::DisableForeignKeys);
        assert!(c.is_control_batch());
        assert_eq!(c.sequence_values, None);

        let s = DatabaseEventBatch::sequence_sync(vec![SequenceValue::new("public", "s", 5)]);
        assert_eq!(s.control_directive, Some(ControlDirective::SyncSequences));
        assert_eq!(s.sequence_values.as_ref().map(Vec::len), Some(1));

        let e =
            DatabaseEventBatch::with_events(vec![DatabaseEvent::new(OperationType::Begin, "", "")])
                .with_backfill_metadata(BackfillMetadata::new(1, 2));
        assert_eq!(e.len(), 1);
        assert_eq!(e.size_bytes(), 32 + 64);
        assert_eq!(e.backfill_metadata, Some(BackfillMetadata::new(1, 2)));
    }
}
