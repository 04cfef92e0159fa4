//! What `scry stats` counts: events by operation and by table, value bytes by column type,
//! payloads by encoding, the largest values and the LSN range.

use std::collections::BTreeMap;
use std::io::{self, Write};

use scry_types::{ColumnValue, DatabaseEvent, Lsn, OperationType, Row, TypeTag};

use crate::input::{Origin, Payload, Unit};
use crate::json::encoding_name;

/// How many of the largest values are kept.
pub const LARGEST: usize = 5;

/// Where a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuePlace {
    /// `frame 3, event 12` / `bare batch, event 0` / `frame 3 (lone event)`.
    pub event: String,
    /// `public.users`.
    pub table: String,
    /// `new_row.values[2]`, with the column's name when the event has one.
    pub field: String,
    /// The value's tag.
    pub tag: TypeTag,
    /// Its data length.
    pub len: usize,
}

/// Value count and data bytes of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TypeBytes {
    /// Values with data.
    pub values: u64,
    /// Values without data (NULL, unchanged TOAST).
    pub without_data: u64,
    /// Their data bytes.
    pub bytes: u64,
}

/// The counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Framed payloads read (0 for bare input).
    pub frames: u64,
    /// Batches read.
    pub batches: u64,
    /// Lone events read (not in a batch).
    pub lone_events: u64,
    /// Events, in batches or lone.
    pub events: u64,
    /// Payload bytes (serialized batches and events, without framing).
    pub payload_bytes: u64,
    /// Payloads by encoding: (payloads, bytes).
    pub by_encoding: BTreeMap<&'static str, (u64, u64)>,
    /// Events by operation.
    pub by_operation: BTreeMap<OperationType, u64>,
    /// Row-carrying events by `schema.table`.
    pub by_table: BTreeMap<String, u64>,
    /// Values and their bytes by type tag.
    pub by_type: BTreeMap<TypeTag, TypeBytes>,
    /// The largest values, largest first.
    pub largest: Vec<ValuePlace>,
    /// The smallest and largest non-zero event position.
    pub lsn_range: Option<(u64, u64)>,
}

impl Stats {
    /// Counts one unit.
    pub fn add(&mut self, unit: &Unit) {
        let o = &unit.origin;
        if o.frame.is_some() {
            self.frames += 1;
        }
        self.payload_bytes += o.payload_len as u64;
        let enc = self
            .by_encoding
            .entry(encoding_name(o.encoding))
            .or_default();
        enc.0 += 1;
        enc.1 += o.payload_len as u64;
        match &unit.payload {
            Payload::Batch(batch) => {
                self.batches += 1;
                for (i, event) in batch.events.iter().enumerate() {
                    self.add_event(event, || place(o, Some(i)));
                }
            }
            Payload::Event(event) => {
                self.lone_events += 1;
                self.add_event(event, || place(o, None));
            }
        }
    }

    fn add_event(&mut self, event: &DatabaseEvent, at: impl Fn() -> String) {
        self.events += 1;
        *self.by_operation.entry(event.operation).or_default() += 1;
        if event.new_row.is_some() || event.old_row.is_some() || !event.table.is_empty() {
            *self.by_table.entry(event.qualified_name()).or_default() += 1;
        }
        if event.position != 0 {
            let p = event.position;
            self.lsn_range = Some(
                self.lsn_range
                    .map_or((p, p), |(lo, hi)| (lo.min(p), hi.max(p))),
            );
        }
        for (field, row) in [("new_row", &event.new_row), ("old_row", &event.old_row)] {
            if let Some(row) = row {
                self.add_row(event, field, row, &at);
            }
        }
    }

    fn add_row(&mut self, event: &DatabaseEvent, field: &str, row: &Row, at: &impl Fn() -> String) {
        for (i, value) in row.values.iter().enumerate() {
            let t = self.by_type.entry(value.type_tag).or_default();
            match &value.data {
                Some(data) => {
                    t.values += 1;
                    t.bytes += data.len() as u64;
                    self.consider_largest(event, field, i, value, at);
                }
                None => t.without_data += 1,
            }
        }
    }

    fn consider_largest(
        &mut self,
        event: &DatabaseEvent,
        field: &str,
        i: usize,
        value: &ColumnValue,
        at: &impl Fn() -> String,
    ) {
        let len = value.data.as_ref().map_or(0, |d| d.len());
        if self.largest.len() == LARGEST && self.largest.last().is_some_and(|l| l.len >= len) {
            return;
        }
        let column = event
            .columns
            .get(i)
            .map_or_else(String::new, |c| format!(" ({c})"));
        let entry = ValuePlace {
            event: at(),
            table: event.qualified_name(),
            field: format!("{field}.values[{i}]{column}"),
            tag: value.type_tag,
            len,
        };
        let pos = self.largest.partition_point(|l| l.len >= len);
        self.largest.insert(pos, entry);
        self.largest.truncate(LARGEST);
    }

    /// Writes the report.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "payloads: {}, {}, {}, {}",
            count(self.batches, "batch", "batches"),
            count(self.lone_events, "lone event", "lone events"),
            count(self.frames, "frame", "frames"),
            count(self.payload_bytes, "byte", "bytes")
        )?;
        writeln!(out, "events: {}", self.events)?;
        writeln!(out, "{:<24}{:>10}{:>15}", "encoding:", "payloads", "bytes")?;
        for (name, (n, bytes)) in &self.by_encoding {
            writeln!(out, "  {name:<22}{n:>10}{bytes:>15}")?;
        }
        writeln!(out, "{:<24}{:>10}", "by operation:", "events")?;
        for (op, n) in &self.by_operation {
            writeln!(out, "  {:<22}{n:>10}", op.label())?;
        }
        writeln!(out, "{:<24}{:>10}", "by table:", "events")?;
        let mut tables: Vec<_> = self.by_table.iter().collect();
        tables.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (table, n) in tables {
            writeln!(out, "  {table:<22}{n:>10}")?;
        }
        writeln!(
            out,
            "{:<24}{:>10}{:>15}{:>14}",
            "bytes by type:", "values", "bytes", "without data"
        )?;
        for (tag, t) in &self.by_type {
            writeln!(
                out,
                "  {:<22}{:>10}{:>15}{:>14}",
                tag.name(),
                t.values,
                t.bytes,
                t.without_data
            )?;
        }
        writeln!(out, "largest values:")?;
        for v in &self.largest {
            writeln!(
                out,
                "  {:>10} bytes  {} {} {}: {}",
                v.len,
                v.tag.name(),
                v.event,
                v.table,
                v.field
            )?;
        }
        match self.lsn_range {
            Some((lo, hi)) => writeln!(out, "lsn range: {} .. {}", Lsn(lo), Lsn(hi)),
            None => writeln!(out, "lsn range: none (no event has a non-zero position)"),
        }
    }
}

/// `1 batch`, `2 batches`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `frame 3 event 12`, `bare batch event 0`, `frame 3 lone event`, `bare lone event`.
fn place(origin: &Origin, event: Option<usize>) -> String {
    let unit = origin
        .frame
        .map_or_else(|| "bare".to_owned(), |f| format!("frame {}", f.index));
    match event {
        Some(i) if origin.frame.is_some() => format!("{unit} event {i}"),
        Some(i) => format!("{unit} batch event {i}"),
        None => format!("{unit} lone event"),
    }
}
