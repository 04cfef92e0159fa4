//! The JSON Lines form of batches and events, both directions (`dump --json`, `convert --to
//! json`, `encode`).
//!
//! Every line is one JSON object with exactly one key:
//!
//! - `{"batch": {...}}` is a batch header: every batch field but `events`, plus
//!   `event_count`, the number of `{"event": ...}` lines that follow it and belong to it.
//! - `{"event": {...}}` is an event: of the batch whose header precedes it while that header's
//!   `event_count` is not used up, otherwise a lone (bare or framed) event.
//!
//! Enum fields hold the variant name as the compat wire writes it (`"Insert"`, `"Int32"`,
//! `"Full"`, `"SyncSequences"`); a value is `{"type_tag", "type_oid", "data", "text"}` with
//! `data` the bytes in lower-case hex (`null` when absent). Fields that `scry encode` ignores
//! are informational: `frame`, `encoding` (of the source), `index`, `lsn` and `text`.
//! Unknown fields are an error (a misspelt field must not silently become an absent one).

use std::io::{self, BufRead, Write};

use scry_codec::frame::FrameEncoding;
use scry_types::{
    BackfillMetadata, ColumnMeta, ColumnValue, ControlDirective, DatabaseEvent, DatabaseEventBatch,
    Lsn, OperationType, RelationMeta, ReplicaIdentity, Row, SequenceValue, TypeTag,
};
use serde::{Deserialize, Serialize};

use crate::input::{Origin, Payload};
use crate::value::{hex, unhex, ValueText};

/// One line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// A batch header.
    Batch(Box<BatchJson>),
    /// An event.
    Event(Box<EventJson>),
}

/// A frame's position (informational).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameJson {
    /// The frame's index in its stream.
    pub index: u64,
    /// The byte offset where it starts.
    pub offset: u64,
}

/// A batch header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchJson {
    /// The frame that carried it (informational; absent for bare input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameJson>,
    /// `"compat"` or `"compact"`: the encoding it was read in (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The number of event lines that follow and belong to this batch.
    pub event_count: usize,
    /// `source_id`.
    pub source_id: Option<String>,
    /// `batch_seq`.
    pub batch_seq: u64,
    /// `relations`.
    pub relations: Vec<RelationJson>,
    /// `control_directive`: a `ControlDirective` variant name.
    pub control_directive: Option<String>,
    /// `sequence_values`.
    pub sequence_values: Option<Vec<SequenceValueJson>>,
    /// `backfill_metadata`.
    pub backfill_metadata: Option<BackfillJson>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventJson {
    /// The frame that carried it, for a lone framed event (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<FrameJson>,
    /// The encoding a lone event was read in (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// The event's index in its batch (informational; absent for a lone event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// `event_id`.
    pub event_id: Option<String>,
    /// `timestamp_us`.
    pub timestamp_us: u64,
    /// `operation`: an `OperationType` variant name.
    pub operation: String,
    /// `schema`.
    pub schema: String,
    /// `table`.
    pub table: String,
    /// `position`, the LSN as an integer.
    pub position: u64,
    /// `position` as PostgreSQL prints an LSN (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsn: Option<String>,
    /// `transaction_id`.
    pub transaction_id: u64,
    /// `columns`.
    pub columns: Vec<String>,
    /// `new_row`: its values.
    pub new_row: Option<Vec<ValueJson>>,
    /// `old_row`: its values.
    pub old_row: Option<Vec<ValueJson>>,
    /// `relation_meta`.
    pub relation_meta: Option<RelationJson>,
    /// `ddl_sql`.
    pub ddl_sql: Option<String>,
    /// `ddl_object_type`.
    pub ddl_object_type: Option<String>,
}

/// A column value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueJson {
    /// `type_tag`: a `TypeTag` variant name.
    pub type_tag: String,
    /// `type_oid`.
    pub type_oid: u32,
    /// `data` in lower-case hex; `null` when absent.
    pub data: Option<String>,
    /// PostgreSQL's text output of the value, `null` when it has none (informational).
    #[serde(default)]
    pub text: Option<String>,
}

/// A relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationJson {
    /// `rel_id`.
    pub rel_id: u32,
    /// `schema`.
    pub schema: String,
    /// `table`.
    pub table: String,
    /// `columns`.
    pub columns: Vec<ColumnMetaJson>,
    /// `replica_identity`: a `ReplicaIdentity` variant name.
    pub replica_identity: String,
}

/// A relation's column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMetaJson {
    /// `name`.
    pub name: String,
    /// `type_oid`.
    pub type_oid: u32,
    /// `type_modifier`.
    pub type_modifier: i32,
    /// `is_key`.
    pub is_key: bool,
}

/// A sequence value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceValueJson {
    /// `schema`.
    pub schema: String,
    /// `name`.
    pub name: String,
    /// `last_value`.
    pub last_value: i64,
    /// `is_called`.
    pub is_called: bool,
    /// `increment_by`.
    pub increment_by: i64,
    /// `min_value`.
    pub min_value: i64,
    /// `max_value`.
    pub max_value: i64,
}

/// Backfill metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillJson {
    /// `table_count`.
    pub table_count: u32,
    /// `estimated_total_rows`.
    pub estimated_total_rows: u64,
}

/// The name of an encoding, as the JSON and the stats write it.
/// (`"unknown"` for a bare event that neither encoding writes as it is).
pub const fn encoding_name(encoding: Option<FrameEncoding>) -> &'static str {
    match encoding {
        Some(FrameEncoding::Compat) => "compat",
        Some(FrameEncoding::Compact) => "compact",
        None => "unknown",
    }
}

fn frame_json(origin: &Origin) -> Option<FrameJson> {
    origin.frame.map(|f| FrameJson {
        index: f.index,
        offset: f.offset,
    })
}

impl BatchJson {
    /// The header of `batch`, read from `origin`, followed by `event_count` event lines.
    pub fn new(batch: &DatabaseEventBatch, origin: &Origin, event_count: usize) -> Self {
        Self {
            frame: frame_json(origin),
            encoding: Some(encoding_name(origin.encoding).to_owned()),
            event_count,
            source_id: batch.source_id.clone(),
            batch_seq: batch.batch_seq,
            relations: batch.relations.iter().map(RelationJson::new).collect(),
            control_directive: batch.control_directive.map(|d| d.name().to_owned()),
            sequence_values: batch
                .sequence_values
                .as_ref()
                .map(|s| s.iter().map(SequenceValueJson::new).collect()),
            backfill_metadata: batch.backfill_metadata.map(|m| BackfillJson {
                table_count: m.table_count,
                estimated_total_rows: m.estimated_total_rows,
            }),
        }
    }

    /// The batch this header describes, holding `events`.
    pub fn into_batch(self, events: Vec<DatabaseEvent>) -> Result<DatabaseEventBatch, FieldError> {
        Ok(DatabaseEventBatch {
            events,
            source_id: self.source_id,
            batch_seq: self.batch_seq,
            relations: self
                .relations
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.into_relation()
                        .map_err(|e| e.within(&format!("relations[{i}]")))
                })
                .collect::<Result<_, _>>()?,
            control_directive: self
                .control_directive
                .map(|d| parse_enum(&d, ControlDirective::from_name, "ControlDirective"))
                .transpose()
                .map_err(|e| e.within("control_directive"))?,
            sequence_values: self
                .sequence_values
                .map(|s| s.into_iter().map(SequenceValueJson::into_value).collect()),
            backfill_metadata: self
                .backfill_metadata
                .map(|m| BackfillMetadata::new(m.table_count, m.estimated_total_rows)),
        })
    }
}

impl EventJson {
    /// The JSON of `event`; `index` is its index in its batch, `origin` is given for a lone
    /// event.
    pub fn new(event: &DatabaseEvent, index: Option<usize>, origin: Option<&Origin>) -> Self {
        let row = |row: &Option<Row>| {
            row.as_ref()
                .map(|r| r.values.iter().map(ValueJson::new).collect())
        };
        Self {
            frame: origin.and_then(frame_json),
            encoding: origin.map(|o| encoding_name(o.encoding).to_owned()),
            index,
            event_id: event.event_id.clone(),
            timestamp_us: event.timestamp_us,
            operation: event.operation.name().to_owned(),
            schema: event.schema.clone(),
            table: event.table.clone(),
            position: event.position,
            lsn: Some(Lsn(event.position).to_string()),
            transaction_id: event.transaction_id,
            columns: event.columns.clone(),
            new_row: row(&event.new_row),
            old_row: row(&event.old_row),
            relation_meta: event.relation_meta.as_ref().map(RelationJson::new),
            ddl_sql: event.ddl_sql.clone(),
            ddl_object_type: event.ddl_object_type.clone(),
        }
    }

    /// The event this JSON describes (informational fields ignored).
    pub fn into_event(self) -> Result<DatabaseEvent, FieldError> {
        let row = |values: Option<Vec<ValueJson>>, field: &str| {
            values
                .map(|values| {
                    values
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| {
                            v.into_value()
                                .map_err(|e| e.within(&format!("{field}.values[{i}]")))
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map(Row::new)
                })
                .transpose()
        };
        Ok(DatabaseEvent {
            event_id: self.event_id,
            timestamp_us: self.timestamp_us,
            operation: parse_enum(&self.operation, OperationType::from_name, "OperationType")
                .map_err(|e| e.within("operation"))?,
            schema: self.schema,
            table: self.table,
            position: self.position,
            transaction_id: self.transaction_id,
            new_row: row(self.new_row, "new_row")?,
            old_row: row(self.old_row, "old_row")?,
            columns: self.columns,
            relation_meta: self
                .relation_meta
                .map(|r| r.into_relation().map_err(|e| e.within("relation_meta")))
                .transpose()?,
            ddl_sql: self.ddl_sql,
            ddl_object_type: self.ddl_object_type,
        })
    }
}

impl ValueJson {
    /// The JSON of a column value, with its PostgreSQL text when it has one.
    pub fn new(value: &ColumnValue) -> Self {
        Self {
            type_tag: value.type_tag.name().to_owned(),
            type_oid: value.type_oid,
            data: value.data.as_deref().map(hex),
            text: ValueText::of(value).into_text(),
        }
    }

    /// The column value (`text` ignored).
    pub fn into_value(self) -> Result<ColumnValue, FieldError> {
        let type_tag = parse_enum(&self.type_tag, TypeTag::from_name, "TypeTag")
            .map_err(|e| e.within("type_tag"))?;
        let data = self
            .data
            .map(|d| {
                unhex(&d).map_err(|e| FieldError {
                    path: "data".to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()?;
        Ok(ColumnValue {
            type_tag,
            type_oid: self.type_oid,
            data: data.map(Into::into),
        })
    }
}

impl RelationJson {
    /// The JSON of a relation.
    pub fn new(rel: &RelationMeta) -> Self {
        Self {
            rel_id: rel.rel_id,
            schema: rel.schema.clone(),
            table: rel.table.clone(),
            columns: rel
                .columns
                .iter()
                .map(|c| ColumnMetaJson {
                    name: c.name.clone(),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: rel.replica_identity.name().to_owned(),
        }
    }

    /// The relation.
    pub fn into_relation(self) -> Result<RelationMeta, FieldError> {
        Ok(RelationMeta {
            rel_id: self.rel_id,
            schema: self.schema,
            table: self.table,
            columns: self
                .columns
                .into_iter()
                .map(|c| ColumnMeta {
                    name: c.name,
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    is_key: c.is_key,
                })
                .collect(),
            replica_identity: parse_enum(
                &self.replica_identity,
                ReplicaIdentity::from_name,
                "ReplicaIdentity",
            )
            .map_err(|e| e.within("replica_identity"))?,
        })
    }
}

impl SequenceValueJson {
    fn new(s: &SequenceValue) -> Self {
        Self {
            schema: s.schema.clone(),
            name: s.name.clone(),
            last_value: s.last_value,
            is_called: s.is_called,
            increment_by: s.increment_by,
            min_value: s.min_value,
            max_value: s.max_value,
        }
    }

    fn into_value(self) -> SequenceValue {
        SequenceValue {
            schema: self.schema,
            name: self.name,
            last_value: self.last_value,
            is_called: self.is_called,
            increment_by: self.increment_by,
            min_value: self.min_value,
            max_value: self.max_value,
        }
    }
}

/// Writes `batch` as its header line and the lines of its events at `selected` indices.
pub fn write_batch(
    out: &mut impl Write,
    batch: &DatabaseEventBatch,
    origin: &Origin,
    selected: &[usize],
) -> io::Result<()> {
    write_line(
        out,
        &Line::Batch(Box::new(BatchJson::new(batch, origin, selected.len()))),
    )?;
    for &i in selected {
        if let Some(event) = batch.events.get(i) {
            write_line(
                out,
                &Line::Event(Box::new(EventJson::new(event, Some(i), None))),
            )?;
        }
    }
    Ok(())
}

/// Writes a lone event's line.
pub fn write_event(out: &mut impl Write, event: &DatabaseEvent, origin: &Origin) -> io::Result<()> {
    write_line(
        out,
        &Line::Event(Box::new(EventJson::new(event, None, Some(origin)))),
    )
}

fn write_line(out: &mut impl Write, line: &Line) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A field of a JSON line whose value is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// The field's path inside the line's object (`new_row.values[2].type_tag`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// The same error, inside `outer`.
    fn within(self, outer: &str) -> Self {
        let path = if self.path.is_empty() {
            outer.to_owned()
        } else if self.path.starts_with('[') {
            format!("{outer}{}", self.path)
        } else {
            format!("{outer}.{}", self.path)
        };
        Self { path, ..self }
    }
}

fn parse_enum<T>(
    name: &str,
    from_name: impl Fn(&str) -> Option<T>,
    enum_name: &str,
) -> Result<T, FieldError> {
    from_name(name).ok_or_else(|| FieldError {
        path: String::new(),
        message: format!("{name:?} is not the name of any {enum_name} variant"),
    })
}

/// Why JSON Lines input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// Reading failed.
    #[error("cannot read {name}: {source}")]
    Io {
        /// The file name.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a JSON object of the documented form.
    #[error("{name}:{line}: {message}")]
    Syntax {
        /// The file name.
        name: String,
        /// The line number (1 for the first).
        line: usize,
        /// serde_json's message (with the column).
        message: String,
    },
    /// A field holds an unacceptable value.
    #[error("{name}:{line}: {kind}.{source}")]
    Field {
        /// The file name.
        name: String,
        /// The line number.
        line: usize,
        /// `batch` or `event`.
        kind: &'static str,
        /// What and where.
        source: FieldError,
    },
    /// The lines do not follow the batch structure.
    #[error("{name}:{line}: {message}")]
    Structure {
        /// The file name.
        name: String,
        /// The line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Reads JSON Lines into the batches and lone events they describe, in order.
pub fn read_lines(name: &str, reader: impl BufRead) -> Result<Vec<Payload>, JsonError> {
    let mut out = Vec::new();
    // The open batch: its header, the line it is on and the events read so far.
    let mut open: Option<(BatchJson, usize, Vec<DatabaseEvent>)> = None;
    let mut last = 0;
    for (i, text) in reader.lines().enumerate() {
        let line = i + 1;
        last = line;
        let text = text.map_err(|source| JsonError::Io {
            name: name.to_owned(),
            source,
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&text).map_err(|e| JsonError::Syntax {
            name: name.to_owned(),
            line,
            message: e.to_string(),
        })?;
        let field = |kind, source| JsonError::Field {
            name: name.to_owned(),
            line,
            kind,
            source,
        };
        match parsed {
            Line::Batch(header) => {
                if let Some((h, at, events)) = &open {
                    return Err(JsonError::Structure {
                        name: name.to_owned(),
                        line,
                        message: format!(
                            "batch header, but the batch of line {at} still expects {} of its \
                             {} events",
                            h.event_count - events.len(),
                            h.event_count
                        ),
                    });
                }
                if header.event_count == 0 {
                    let batch = header
                        .into_batch(Vec::new())
                        .map_err(|e| field("batch", e))?;
                    out.push(Payload::Batch(batch));
                } else {
                    let count = header.event_count;
                    open = Some((*header, line, Vec::with_capacity(count.min(4096))));
                }
            }
            Line::Event(event) => {
                let event = event.into_event().map_err(|e| field("event", e))?;
                match open.take() {
                    None => out.push(Payload::Event(event)),
                    Some((header, at, mut events)) => {
                        events.push(event);
                        if events.len() == header.event_count {
                            let batch =
                                header.into_batch(events).map_err(|e| JsonError::Field {
                                    name: name.to_owned(),
                                    line: at,
                                    kind: "batch",
                                    source: e,
                                })?;
                            out.push(Payload::Batch(batch));
                        } else {
                            open = Some((header, at, events));
                        }
                    }
                }
            }
        }
    }
    if let Some((h, at, events)) = open {
        return Err(JsonError::Structure {
            name: name.to_owned(),
            line: last,
            message: format!(
                "input ends, but the batch of line {at} has {} of its {} events",
                events.len(),
                h.event_count
            ),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_json_is_stable() {
        let v = ColumnValue::from_pg_binary(TypeTag::Bytea, 17, vec![0xde, 0xad]);
        let json = serde_json::to_string(&ValueJson::new(&v)).unwrap_or_default();
        assert!(json.starts_with(r#"{"type_tag":"Bytea","type_oid":17,"data":"dead","text":"#));
        let null = serde_json::to_string(&ValueJson::new(&ColumnValue::null())).unwrap_or_default();
        assert_eq!(
            null,
            r#"{"type_tag":"Null","type_oid":0,"data":null,"text":null}"#
        );
    }

    #[test]
    fn bad_enum_names_the_field() {
        let line = r#"{"event":{"event_id":null,"timestamp_us":1,"operation":"Insrt","schema":"s","table":"t","position":0,"transaction_id":0,"columns":[],"new_row":null,"old_row":null,"relation_meta":null,"ddl_sql":null,"ddl_object_type":null}}"#;
        let err = read_lines("in.jsonl", line.as_bytes())
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "in.jsonl:1: event.operation: \"Insrt\" is not the name of any OperationType \
                 variant"
            )
        );
    }
}
