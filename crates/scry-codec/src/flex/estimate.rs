//! The encoded size to reserve up front, so the output is (nearly always) allocated once.
//!
//! Every slot is counted 8 bytes wide and every item gets its largest alignment padding, so
//! an event's bound holds for both encodings; it only walks lengths, never bytes. A batch's
//! figure walks only its first [`SAMPLED_EVENTS`] events and extrapolates, so that the input
//! is not read twice: if later events are larger, the writer grows the buffer as it goes.

use scry_types::{DatabaseEvent, DatabaseEventBatch, RelationMeta, Row};

/// Every key name with its NUL, written at most once per FlexBuffer.
const KEYS: usize = 400;
/// The root's slot, padding, type and width bytes.
const ROOT: usize = 8 + 7 + 2;

/// A string or blob of `len` bytes: length slot, padding, bytes, NUL.
const fn string(len: usize) -> usize {
    len + 16
}

/// A map of `n` fields with its keys vector.
const fn map(n: usize) -> usize {
    // Keys vector: padding, length, n offsets. Map: padding, 3 prefix slots, n slots, n types.
    (7 + 8 + 8 * n) + (7 + 24 + 9 * n)
}

/// An untyped vector of `n` elements: padding, length, n slots, n types.
const fn vector(n: usize) -> usize {
    7 + 8 + 9 * n
}

/// Value bytes as the widest of the two encodings stores them.
const fn data(len: usize) -> usize {
    let slot = if len <= u8::MAX as usize {
        1
    } else if len <= u16::MAX as usize {
        2
    } else if len <= u32::MAX as usize {
        4
    } else {
        8
    };
    len * slot + 16
}

fn row(r: &Row) -> usize {
    map(1)
        + vector(r.values.len())
        + r.values
            .iter()
            .map(|v| map(3) + string(16) + v.data.as_ref().map_or(0, |d| data(d.len())))
            .sum::<usize>()
}

fn relation(r: &RelationMeta) -> usize {
    map(5)
        + string(r.schema.len())
        + string(r.table.len())
        + string(16)
        + vector(r.columns.len())
        + r.columns
            .iter()
            .map(|c| map(4) + string(c.name.len()))
            .sum::<usize>()
}

fn event(e: &DatabaseEvent) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, |s| string(s.len()));
    map(13)
        + opt(&e.event_id)
        + string(24)
        + string(e.schema.len())
        + string(e.table.len())
        + e.new_row.as_ref().map_or(0, row)
        + e.old_row.as_ref().map_or(0, row)
        + vector(e.columns.len())
        + e.columns.iter().map(|c| string(c.len())).sum::<usize>()
        + e.relation_meta.as_ref().map_or(0, relation)
        + opt(&e.ddl_sql)
        + opt(&e.ddl_object_type)
}

/// Events walked to estimate a batch.
pub(crate) const SAMPLED_EVENTS: usize = 32;

/// The bytes `batch` takes in either encoding: an upper bound if its events are no larger,
/// on average, than its first [`SAMPLED_EVENTS`].
pub(crate) fn batch_size(b: &DatabaseEventBatch) -> usize {
    let sampled = b.events.len().min(SAMPLED_EVENTS);
    let sample: usize = b.events.iter().take(sampled).map(event).sum();
    let events = if sampled == 0 {
        0
    } else {
        sample.div_ceil(sampled).saturating_mul(b.events.len())
    };
    KEYS + ROOT
        + map(7)
        + vector(b.events.len())
        + events
        + b.source_id.as_ref().map_or(0, |s| string(s.len()))
        + vector(b.relations.len())
        + b.relations.iter().map(relation).sum::<usize>()
        + string(24)
        + b.sequence_values.as_ref().map_or(0, |seqs| {
            vector(seqs.len())
                + seqs
                    .iter()
                    .map(|s| map(7) + string(s.schema.len()) + string(s.name.len()))
                    .sum::<usize>()
        })
        + map(2)
}

/// An upper bound of the bytes `event` takes in either encoding.
pub(crate) fn event_size(e: &DatabaseEvent) -> usize {
    KEYS + ROOT + event(e)
}
