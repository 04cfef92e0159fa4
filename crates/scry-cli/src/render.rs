//! The human-readable form of batches and events (`scry dump`).
//!
//! ```text
//! batch seq=7 source_id="cdc-1" events=1 relations=0 (frame 0 at byte 0, compat, 190 bytes)
//!   event 0: UPDATE public.users lsn=16/B374D848 xid=742 time=2023-11-14 22:13:20.000000+00
//!     new_row:
//!       id = 42
//!       name = "alice smith"
//!       bio = NULL
//!       photo = (unchanged TOAST)
//! ```
//!
//! Values read as PostgreSQL's text output. Text that is empty, contains white space, control
//! characters or `"`, or reads `NULL`, is quoted and escaped (`"alice smith"`); other text is
//! printed as it is. SQL NULL is `NULL`, an unchanged TOAST value `(unchanged TOAST)`, and a
//! value without a text form its bytes as `\x…` followed by `(hex: why)`.

use std::io::{self, Write};

use scry_types::{DatabaseEvent, DatabaseEventBatch, Lsn, RelationMeta, Row};

use crate::input::Origin;
use crate::json::encoding_name;
use crate::value::ValueText;

/// `(frame 0 at byte 0, compat, 190 bytes)` or `(bare, compat, 190 bytes)`.
pub fn origin(origin: &Origin) -> String {
    let place = origin.frame.map_or_else(
        || "bare".to_owned(),
        |f| format!("frame {} at byte {}", f.index, f.offset),
    );
    format!(
        "({place}, {}, {} bytes)",
        encoding_name(origin.encoding),
        origin.payload_len
    )
}

/// The batch's header line and its batch-level fields (everything but the events).
pub fn batch_header(
    out: &mut impl Write,
    batch: &DatabaseEventBatch,
    from: &Origin,
) -> io::Result<()> {
    write!(out, "batch seq={}", batch.batch_seq)?;
    if let Some(source) = &batch.source_id {
        write!(out, " source_id={source:?}")?;
    }
    writeln!(
        out,
        " events={} relations={} {}",
        batch.events.len(),
        batch.relations.len(),
        origin(from)
    )?;
    if let Some(directive) = batch.control_directive {
        writeln!(out, "  control_directive {directive}")?;
    }
    if let Some(sequences) = &batch.sequence_values {
        writeln!(out, "  sequence_values: {}", sequences.len())?;
        for s in sequences {
            writeln!(
                out,
                "    {}.{} last_value={} is_called={} increment_by={} min_value={} max_value={}",
                s.schema,
                s.name,
                s.last_value,
                s.is_called,
                s.increment_by,
                s.min_value,
                s.max_value
            )?;
        }
    }
    if let Some(m) = batch.backfill_metadata {
        writeln!(
            out,
            "  backfill_metadata table_count={} estimated_total_rows={}",
            m.table_count, m.estimated_total_rows
        )?;
    }
    for rel in &batch.relations {
        writeln!(out, "  relation {}", relation(rel))?;
    }
    Ok(())
}

/// `public.users rel_id=16384 replica_identity=Full: id(oid 23, key), name(oid 25)`.
pub fn relation(rel: &RelationMeta) -> String {
    let columns: Vec<String> = rel
        .columns
        .iter()
        .map(|c| {
            let mut s = format!("{}(oid {}", c.name, c.type_oid);
            if c.type_modifier != -1 {
                s.push_str(&format!(", typmod {}", c.type_modifier));
            }
            if c.is_key {
                s.push_str(", key");
            }
            s.push(')');
            s
        })
        .collect();
    format!(
        "{}.{} rel_id={} replica_identity={}: {}",
        rel.schema,
        rel.table,
        rel.rel_id,
        rel.replica_identity.name(),
        columns.join(", ")
    )
}

/// One event: a summary line starting with `label`, then its rows and other fields indented
/// by `indent` spaces and two more.
pub fn event(
    out: &mut impl Write,
    label: &str,
    event: &DatabaseEvent,
    indent: usize,
) -> io::Result<()> {
    let pad = " ".repeat(indent);
    write!(out, "{pad}{label}: {}", event.operation)?;
    if !event.schema.is_empty() || !event.table.is_empty() {
        write!(out, " {}.{}", event.schema, event.table)?;
    }
    write!(
        out,
        " lsn={} xid={} time={}",
        Lsn(event.position),
        event.transaction_id,
        timestamp(event.timestamp_us)
    )?;
    if let Some(id) = &event.event_id {
        write!(out, " event_id={id:?}")?;
    }
    writeln!(out)?;
    if let Some(row) = &event.new_row {
        write_row(out, &pad, "new_row", row, &event.columns)?;
    }
    if let Some(row) = &event.old_row {
        write_row(out, &pad, "old_row", row, &event.columns)?;
    }
    if event.new_row.is_none() && event.old_row.is_none() && !event.columns.is_empty() {
        writeln!(out, "{pad}  columns: {}", event.columns.join(", "))?;
    }
    if let Some(sql) = &event.ddl_sql {
        writeln!(out, "{pad}  ddl_sql: {sql:?}")?;
    }
    if let Some(kind) = &event.ddl_object_type {
        writeln!(out, "{pad}  ddl_object_type: {kind:?}")?;
    }
    if let Some(rel) = &event.relation_meta {
        writeln!(out, "{pad}  relation_meta: {}", relation(rel))?;
    }
    Ok(())
}

fn write_row(
    out: &mut impl Write,
    pad: &str,
    field: &str,
    row: &Row,
    columns: &[String],
) -> io::Result<()> {
    writeln!(out, "{pad}  {field}:")?;
    for (i, value) in row.values.iter().enumerate() {
        let name = columns
            .get(i)
            .map_or_else(|| format!("[{i}]"), Clone::clone);
        writeln!(
            out,
            "{pad}    {name} = {}",
            value_text(&ValueText::of(value))
        )?;
    }
    Ok(())
}

/// A value as `dump` shows it (see the module documentation).
pub fn value_text(value: &ValueText) -> String {
    match value {
        ValueText::Null => "NULL".to_owned(),
        ValueText::Unchanged => "(unchanged TOAST)".to_owned(),
        ValueText::Text(text) => {
            let plain = !text.is_empty()
                && text != "NULL"
                && !text
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"');
            if plain {
                text.clone()
            } else {
                format!("{text:?}")
            }
        }
        ValueText::Hex { hex, why } => format!("{hex} (hex: {why})"),
    }
}

/// Microseconds since the Unix epoch as PostgreSQL prints a `timestamptz` in UTC:
/// `2023-11-14 22:13:20.000000+00`.
pub fn timestamp(us: u64) -> String {
    let secs = us / 1_000_000;
    let micros = us % 1_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{micros:06}+00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, so that leap days end each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_like_postgres_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00.000000+00");
        assert_eq!(
            timestamp(1_700_000_000_000_001),
            "2023-11-14 22:13:20.000001+00"
        );
        // 2000-02-29 (a leap day of a century divisible by 400) and the day after.
        assert_eq!(
            timestamp(951_782_400_000_000),
            "2000-02-29 00:00:00.000000+00"
        );
        assert_eq!(
            timestamp(951_868_800_000_000),
            "2000-03-01 00:00:00.000000+00"
        );
        assert_eq!(timestamp(u64::MAX), "586524-01-19 08:01:49.551615+00");
    }

    #[test]
    fn text_is_quoted_only_when_ambiguous() {
        let t = |s: &str| value_text(&ValueText::Text(s.to_owned()));
        assert_eq!(t("42"), "42");
        assert_eq!(t("alice smith"), "\"alice smith\"");
        assert_eq!(t(""), "\"\"");
        assert_eq!(t("NULL"), "\"NULL\"");
        assert_eq!(t("a\nb"), "\"a\\nb\"");
        assert_eq!(value_text(&ValueText::Null), "NULL");
        assert_eq!(value_text(&ValueText::Unchanged), "(unchanged TOAST)");
    }
}
