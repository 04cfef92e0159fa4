//! COPY BINARY bytes → SnapshotBegin/SnapshotRow/SnapshotEnd events → batches → serialized
//! bytes, in the compact encoding (the snapshot path's) and in the compat one (0.1.1's),
//! measured in bytes of COPY input per second, next to a memcpy of the same bytes.
//!
//! Two inputs: the committed `all_types` fixture the real server wrote (87 columns of every
//! type, 60 rows, some values over 8 KiB) and 20,000 narrow OLTP-like rows (int4, int8,
//! text, timestamptz, float8, bool, numeric) written with `CopyWriter`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_builder::BatchBuilder;
use scry_codec::Encoding;
use scry_pg::copy::{CopyReader, CopyWriter};
use scry_pg::snapshot::SnapshotAdapter;
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
            ColumnMeta::new("id", oid::INT4).key(),
            ColumnMeta::new("customer", oid::INT8),
            ColumnMeta::new("status", oid::TEXT),
            ColumnMeta::new("created", oid::TIMESTAMPTZ),
            ColumnMeta::new("weight", oid::FLOAT8),
            ColumnMeta::new("paid", oid::BOOL),
            ColumnMeta::new("total", oid::NUMERIC),
        ],
    );
    let mut w = CopyWriter::new();
    for i in 0..rows {
        let values = [
            PgValue::Int4(i),
            PgValue::Int8(i64::from(i) * 7919),
            PgValue::Text(format!("status-{}", i % 7)),
            PgValue::TimestampTz(PgTimestamp(i64::from(i) * 1_000_003)),
            PgValue::Float8(f64::from(i) * 0.25),
            PgValue::Bool(i % 2 == 0),
            PgValue::Numeric(PgNumeric::from(i64::from(i) * 101)),
        ];
        let bytes: Vec<Option<Bytes>> = values.iter().map(PgValue::to_binary).collect();
        let fields: Vec<Option<&[u8]>> = bytes.iter().map(|b| b.as_deref()).collect();
        w.write_row(&fields).unwrap();
    }
    (rel, w.finish())
}

/// The pipeline under test: every full batch is serialized as it is handed back.
fn copy_to_serialized(rel: &RelationMeta, copy: &Bytes, encoding: Encoding) -> usize {
    let adapter = SnapshotAdapter::new(rel.clone()).timestamp_us(1);
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
    ];
    for (name, rel, copy) in &inputs {
        let mut g = c.benchmark_group(format!("pg_copy/{name}"));
        g.throughput(Throughput::Bytes(copy.len() as u64));
        g.bench_function("copy_to_batches_to_compact_bytes", |b| {
            b.iter(|| copy_to_serialized(black_box(rel), black_box(copy), Encoding::Compact));
        });
        g.bench_function("copy_to_batches_to_compat_bytes", |b| {
            b.iter(|| copy_to_serialized(black_box(rel), black_box(copy), Encoding::Compat));
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
