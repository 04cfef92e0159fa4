//! Shared by the scry-pg integration tests and the `snapshot` example: the fixture's
//! relation file and the whole COPY → events → batches → bytes → COPY pipeline.
#![allow(dead_code)]

use bytes::Bytes;
use scry_builder::BatchBuilder;
use scry_pg::copy::CopyWriter;
use scry_pg::snapshot::{snapshot_rows_to_copy, SnapshotAdapter};
use scry_types::{ColumnMeta, DatabaseEvent, RelationMeta};

/// The fixture table's COPY BINARY stream, as the server wrote it.
pub const FIXTURE_COPY: &[u8] = include_bytes!("../../fixtures/all_types.copy");
/// The COPY BINARY of [`text_query`] over the same rows: the server's text output of every
/// value.
pub const FIXTURE_TEXT: &[u8] = include_bytes!("../../fixtures/all_types.text.copy");
/// The relation: a `rel_id schema table` line, then `name type_oid type_modifier key` lines.
pub const FIXTURE_RELATION: &str = include_str!("../../fixtures/all_types.relation");

/// Writes a relation in the fixture's tab-separated form.
pub fn format_relation(rel: &RelationMeta) -> String {
    let mut s = format!("{}\t{}\t{}\n", rel.rel_id, rel.schema, rel.table);
    for c in &rel.columns {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            c.name,
            c.type_oid,
            c.type_modifier,
            u8::from(c.is_key)
        ));
    }
    s
}

/// Reads a relation written by [`format_relation`].
pub fn parse_relation(text: &str) -> Result<RelationMeta, String> {
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .ok_or("empty relation file")?
        .split('\t')
        .collect();
    let [rel_id, schema, table] = head[..] else {
        return Err(format!("bad relation line {head:?}"));
    };
    let rel_id = rel_id.parse().map_err(|e| format!("rel_id: {e}"))?;
    let mut columns = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, oid, typmod, key] = f[..] else {
            return Err(format!("bad column line {line:?}"));
        };
        let mut c = ColumnMeta::new(name, oid.parse().map_err(|e| format!("{name}: {e}"))?)
            .type_modifier(typmod.parse().map_err(|e| format!("{name}: {e}"))?);
        if key == "1" {
            c = c.key();
        }
        columns.push(c);
    }
    Ok(RelationMeta::new(rel_id, schema, table, columns))
}

/// What the pipeline produced.
pub struct PipelineOutput {
    /// The serialized batches' sizes in the compat encoding (0.1.1's bytes).
    pub batch_bytes: Vec<usize>,
    /// The serialized batches' sizes in the compact encoding.
    pub compact_bytes: Vec<usize>,
    /// The events read back from the serialized batches.
    pub events: Vec<DatabaseEvent>,
    /// The COPY BINARY stream written back from the events.
    pub copy_out: Bytes,
}

/// COPY BINARY → snapshot events → batches → FlexBuffers bytes in both encodings → batches
/// read back (compat with `read_batch`, compact with the zero-copy `read_batch_bytes`; both
/// checked equal to the ones written) → COPY BINARY from the compact read.
pub fn run_pipeline(rel: &RelationMeta, copy: Bytes) -> Result<PipelineOutput, String> {
    let mut builder = BatchBuilder::new().source_id("scry-pg-test");
    let adapter = SnapshotAdapter::new(rel.clone()).timestamp_us(1_700_000_000_000_000);
    let mut batches = adapter.run(copy, &mut builder).map_err(|e| e.to_string())?;
    batches.extend(builder.finish());
    let mut batch_bytes = Vec::new();
    let mut compact_bytes = Vec::new();
    let mut events = Vec::new();
    for batch in batches {
        let bytes = scry_codec::serialize_batch(&batch).map_err(|e| e.to_string())?;
        let back = scry_codec::read_batch(&bytes).map_err(|e| e.to_string())?;
        if back != batch {
            return Err(format!(
                "batch {} changed through the compat encoding",
                batch.batch_seq
            ));
        }
        batch_bytes.push(bytes.len());

        let compact = scry_codec::serialize_batch_with(&batch, scry_codec::Encoding::Compact)
            .map_err(|e| e.to_string())?;
        let compact = Bytes::from(compact);
        let back = scry_codec::read_batch_bytes(&compact).map_err(|e| e.to_string())?;
        if back != batch {
            return Err(format!(
                "batch {} changed through the compact encoding",
                batch.batch_seq
            ));
        }
        compact_bytes.push(compact.len());
        events.extend(back.events);
    }
    let copy_out = snapshot_rows_to_copy(&events).map_err(|e| e.to_string())?;
    Ok(PipelineOutput {
        batch_bytes,
        compact_bytes,
        events,
        copy_out,
    })
}

/// What [`check_values`] saw.
#[derive(Debug, Default)]
pub struct ValueStats {
    /// Rows checked.
    pub rows: usize,
    /// Non-NULL values decoded, re-encoded byte for byte and rendered.
    pub values: usize,
    /// NULLs.
    pub nulls: usize,
    /// Values of types without a text rendering here (custom types).
    pub custom: usize,
    /// The largest value, in bytes.
    pub largest: usize,
    /// The type tags seen.
    pub tags: std::collections::BTreeSet<u8>,
}

/// Decodes every value of `copy` (a stream of `rel`'s rows), checks that encoding it again
/// gives the same bytes and that its text rendering equals the server's, taken from
/// `text_copy`: the COPY BINARY of [`text_query`], id first. Returns the mismatches found (at most `limit`).
pub fn check_values(
    rel: &RelationMeta,
    copy: Bytes,
    text_copy: Bytes,
    limit: usize,
) -> Result<ValueStats, Vec<String>> {
    use scry_pg::copy::CopyReader;
    let mut texts = std::collections::HashMap::new();
    let mut problems = Vec::new();
    let reader = CopyReader::new(text_copy).map_err(|e| vec![e.to_string()])?;
    for row in reader {
        let row = row.map_err(|e| vec![e.to_string()])?;
        let fields = row.into_fields();
        let id = fields
            .first()
            .and_then(|f| f.as_ref())
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|s| s.parse::<i32>().ok())
            .ok_or_else(|| vec!["text row without an id".to_owned()])?;
        texts.insert(id, fields);
    }
    let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
    let mut stats = ValueStats::default();
    let reader = CopyReader::new(copy).map_err(|e| vec![e.to_string()])?;
    for row in reader {
        let row = row
            .map_err(|e| vec![e.to_string()])?
            .into_protocol_row(&oids);
        stats.rows += 1;
        let id = match scry_pg::decode_column(&row.values[0]) {
            Ok(scry_pg::PgValue::Int4(id)) => id,
            other => return Err(vec![format!("first column is not an int4 id: {other:?}")]),
        };
        let Some(server) = texts.get(&id) else {
            return Err(vec![format!("no server text for id {id}")]);
        };
        for (i, cv) in row.values.iter().enumerate() {
            let col = &rel.columns[i].name;
            stats.tags.insert(cv.type_tag.as_u8());
            let want = server
                .get(i)
                .cloned()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let value = match scry_pg::decode_column(cv) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("id {id} {col}: {e}"));
                    continue;
                }
            };
            match &cv.data {
                None => stats.nulls += 1,
                Some(data) => {
                    stats.values += 1;
                    stats.largest = stats.largest.max(data.len());
                    if value.to_binary().as_deref() != Some(&data[..]) {
                        problems.push(format!("id {id} {col}: re-encoding changed the bytes"));
                    }
                }
            }
            let got = value.to_text();
            if got.is_none() && matches!(value, scry_pg::PgValue::Other { .. }) {
                stats.custom += 1;
                continue;
            }
            if got != want {
                problems.push(format!(
                    "id {id} {col}: rendered {got:?}, server says {want:?}"
                ));
            }
        }
        if problems.len() >= limit {
            break;
        }
    }
    if problems.is_empty() {
        Ok(stats)
    } else {
        problems.truncate(limit);
        Err(problems)
    }
}

/// The query whose COPY is the text fixture: every column through its type's output
/// function (what text-format COPY prints; `format('%s', v)` calls it, whereas a `::text`
/// cast of `bool`, `bpchar` or `inet` does something else), NULLs kept, ordered by id.
pub fn text_query(rel: &RelationMeta, filter: &str) -> String {
    let cols: Vec<String> = rel
        .columns
        .iter()
        .map(|c| {
            format!(
                "CASE WHEN {0} IS NULL THEN NULL ELSE format('%s', {0}) END",
                c.name
            )
        })
        .collect();
    format!(
        "SELECT {} FROM {}.{} {filter} ORDER BY id",
        cols.join(", "),
        rel.schema,
        rel.table
    )
}

/// A COPY stream of `rows` rows of `width`-byte values, made as it is read.
pub struct Endless {
    header: Vec<u8>,
    row: Vec<u8>,
    rows: u64,
    made: u64,
    at: usize,
    trailer: bool,
}

impl Endless {
    /// The stream: each row a `width`-byte value, a NULL and `x`.
    pub fn new(rows: u64, width: usize) -> Self {
        let mut w = CopyWriter::new();
        let value = vec![0xAB; width];
        w.write_row(&[Some(&value), None, Some(&b"x"[..])]).unwrap();
        let one = w.finish().to_vec();
        // Header (19 bytes), one tuple, trailer (2 bytes).
        Self {
            header: one[..19].to_vec(),
            row: one[19..one.len() - 2].to_vec(),
            rows,
            made: 0,
            at: 0,
            trailer: false,
        }
    }
}

impl std::io::Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let piece: &[u8] = if !self.header.is_empty() {
                &self.header
            } else if self.made < self.rows {
                &self.row
            } else if !self.trailer {
                &[0xFF, 0xFF]
            } else {
                break;
            };
            let k = (piece.len() - self.at).min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&piece[self.at..self.at + k]);
            n += k;
            self.at += k;
            if self.at == piece.len() {
                self.at = 0;
                if !self.header.is_empty() {
                    self.header.clear();
                } else if self.made < self.rows {
                    self.made += 1;
                } else {
                    self.trailer = true;
                }
            }
        }
        Ok(n)
    }
}
