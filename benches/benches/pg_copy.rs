//! COPY BINARY bytes → SnapshotBegin/SnapshotRow/SnapshotEnd batches → framed serialized
//! bytes, next to a memcpy of the same COPY bytes, in bytes of COPY input per second.
//!
//! Two pipelines: `SnapshotEncoder` (tuples straight to framed batch bytes, no event per
//! row: read from an `io::Read`, handed over as one chunk, or handed over as one chunk and
//! appended in place to the caller's buffer) and the adapter's (an owned event per row through `BatchBuilder`, then
//! `serialize_batch_with`), each in the compact encoding and in the compat one (0.1.1's).
//!
//! Three inputs: the committed `all_types` fixture the real server wrote (87 columns of every
//! type, 60 rows, some values over 8 KiB); 20,000 narrow OLTP rows (int8, int4, text of
//! 10–30 bytes, timestamptz, numeric, bool, a NULL); 500 rows of an int8 and a 4 KiB bytea.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_builder::BatchBuilder;
use scry_codec::Encoding;
use scry_pg::copy::{CopyReader, CopyWriter};
use scry_pg::snapshot::{SnapshotAdapter, SnapshotEncoder};
use scry_pg::{oid, PgNumeric, PgTimestamp, PgValue};
use scry_types::{ColumnMeta, RelationMeta};

const FIXTURE: &[u8] = include_bytes!("../../crates/scry-pg/fixtures/all_types.copy");
const FIXTURE_RELATION: &str = include_str!("../../crates/scry-pg/fixtures/all_types.relation");

fn fixture_relation() -> RelationMeta {
    let mut lines = FIXTURE_RELATION.lines();
    let head: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let columns = lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ColumnMeta::new(f[0], f[1].parse().unwrap()).type_modifier(f[2].parse().unwrap())
        })
        .collect();
    RelationMeta::new(head[0].parse().unwrap(), head[1], head[2], columns)
}

fn narrow_rows(rows: i32) -> (RelationMeta, Bytes) {
    let rel = RelationMeta::new(
        1,
        "public",
        "orders",
        vec![
            ColumnMeta::new("id", oid::INT8).key(),
            ColumnMeta::new("customer", oid::INT4),
            ColumnMeta::new("status", oid::TEXT),
            ColumnMeta::new("created", oid::TIMESTAMPTZ),
            ColumnMeta::new("total", oid::NUMERIC),
            ColumnMeta::new("paid", oid::BOOL),
            ColumnMeta::new("note", oid::TEXT),
        ],
    );
    let mut w = CopyWriter::new();
    for i in 0..rows {
        // 10 to 30 bytes.
        let status = format!("status-{:0width$}", i % 97, width = 3 + (i % 21) as usize);
        let values = [
            PgValue::Int8(i64::from(i) * 7919),
            PgValue::Int4(i),
            PgValue::Text(status),
            PgValue::TimestampTz(PgTimestamp(i64::from(i) * 1_000_003)),
            PgValue::Numeric(PgNumeric::from(i64::from(i) * 101)),
            PgValue::Bool(i % 2 == 0),
        ];
        let bytes: Vec<Option<Bytes>> = values.iter().map(PgValue::to_binary).collect();
        let mut fields: Vec<Option<&[u8]>> = bytes.iter().map(|b| b.as_deref()).collect();
        fields.push(None);
        w.write_row(&fields).unwrap();
    }
    (rel, w.finish())
}

fn wide_rows(rows: i64) -> (RelationMeta, Bytes) {
    let rel = RelationMeta::new(
        2,
        "public",
        "blobs",
        vec![
            ColumnMeta::new("id", oid::INT8).key(),
            ColumnMeta::new("body", oid::BYTEA),
        ],
    );
    let mut w = CopyWriter::new();
    for i in 0..rows {
        let id = i.to_be_bytes();
        let body: Vec<u8> = (0..4096).map(|j| (i as usize * 31 + j) as u8).collect();
        w.write_row(&[Some(&id[..]), Some(&body[..])]).unwrap();
    }
    (rel, w.finish())
}

/// How the encoder under test is handed the COPY bytes and gives back the frames.
#[derive(Clone, Copy)]
enum Path {
    /// Read from an `io::Read`, every batch framed into `out` as it fills.
    Read,
    /// Handed over as one chunk (as a producer that holds them, or receives them as
    /// `Bytes`, does): no read copy on the way in.
    Chunk,
    /// As `Chunk`, the frames appended to `out` in place (no second copy).
    Appended,
}

/// The encoder under test (`encoder` goes on from table to table, as one snapshot's does).
fn encode_frames(
    path: Path,
    adapter: &SnapshotAdapter,
    copy: &Bytes,
    encoder: &mut SnapshotEncoder,
    out: &mut Vec<u8>,
) -> usize {
    out.clear();
    let chunks = [Ok(copy.clone())];
    match path {
        Path::Read => encoder.write_table(adapter, &copy[..], out),
        Path::Chunk => encoder.write_table_chunks(adapter, chunks, out),
        Path::Appended => encoder.append_table_chunks(adapter, chunks, out),
    }
    .unwrap();
    out.len()
}

/// The pipeline under test: every full batch is serialized as it is handed back.
fn copy_to_serialized(adapter: &SnapshotAdapter, copy: &Bytes, encoding: Encoding) -> usize {
    let mut builder = BatchBuilder::new();
    let mut total = 0;
    for batch in adapter.run(copy.clone(), &mut builder).unwrap() {
        total += scry_codec::serialize_batch_with(&batch, encoding)
            .unwrap()
            .len();
    }
    if let Some(batch) = builder.finish() {
        total += scry_codec::serialize_batch_with(&batch, encoding)
            .unwrap()
            .len();
    }
    total
}

fn bench(c: &mut Criterion) {
    let inputs = [
        (
            "all_types_fixture",
            fixture_relation(),
            Bytes::from_static(FIXTURE),
        ),
        {
            let (rel, copy) = narrow_rows(20_000);
            ("narrow_rows_20k", rel, copy)
        },
        {
            let (rel, copy) = wide_rows(500);
            ("bytea_4k_rows_500", rel, copy)
        },
    ];
    for (name, rel, copy) in &inputs {
        // The table's metadata is the encoder's input, as the COPY bytes are: made once.
        let adapter = SnapshotAdapter::new(rel.clone()).timestamp_us(1);
        let mut g = c.benchmark_group(format!("pg_copy/{name}"));
        g.throughput(Throughput::Bytes(copy.len() as u64));
        let mut out = Vec::new();
        for (label, path, encoding) in [
            ("encoder_to_compact_frames", Path::Read, Encoding::Compact),
            ("encoder_to_compat_frames", Path::Read, Encoding::Compat),
            (
                "encoder_chunk_to_compact_frames",
                Path::Chunk,
                Encoding::Compact,
            ),
            (
                "encoder_chunk_to_compat_frames",
                Path::Chunk,
                Encoding::Compat,
            ),
            (
                "encoder_chunk_appended_compact_frames",
                Path::Appended,
                Encoding::Compact,
            ),
            (
                "encoder_chunk_appended_compat_frames",
                Path::Appended,
                Encoding::Compat,
            ),
        ] {
            let mut encoder = SnapshotEncoder::new(encoding);
            g.bench_function(label, |b| {
                b.iter(|| {
                    let (adapter, copy) = (black_box(&adapter), black_box(copy));
                    encode_frames(path, adapter, copy, &mut encoder, &mut out)
                });
            });
        }
        g.bench_function("adapter_to_compact_bytes", |b| {
            b.iter(|| copy_to_serialized(black_box(&adapter), black_box(copy), Encoding::Compact));
        });
        g.bench_function("adapter_to_compat_bytes", |b| {
            b.iter(|| copy_to_serialized(black_box(&adapter), black_box(copy), Encoding::Compat));
        });
        g.bench_function("copy_reader_rows", |b| {
            b.iter(|| {
                CopyReader::new(black_box(copy).clone())
                    .unwrap()
                    .map(|r| r.unwrap().len())
                    .sum::<usize>()
            });
        });
        g.bench_function("memcpy", |b| {
            b.iter(|| black_box(copy.as_ref()).to_vec());
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
