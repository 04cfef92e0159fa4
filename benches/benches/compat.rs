//! Issue 2: our codec against scry-protocol 0.1.1, side by side, on the same batches.
//!
//! `serialize_batch` and `read_batch` of ours (`scry_codec`) and of 0.1.1 (`upstream`) on
//! `workloads::small_rows(1000)` (5-column CDC rows of ~50 bytes) and
//! `workloads::large_rows(100)` (COPY rows carrying 4 KiB values). Throughput is in events.
//! 0.1.1 encodes the same value, built by serde round trip through its own reader, so both
//! sides serialize equal batches and read identical bytes.

use criterion::{black_box, criterion_main, BenchmarkId, Criterion, Throughput};
use scry_testkit::workloads;
use scry_types::DatabaseEventBatch;

fn workloads() -> Vec<(&'static str, DatabaseEventBatch)> {
    vec![
        ("small_rows_1000", workloads::small_rows(1000)),
        ("large_rows_100", workloads::large_rows(100)),
    ]
}

/// The same batch as 0.1.1's type: 0.1.1 reads the bytes we write (the interop suite checks
/// that these bytes are identical to what 0.1.1 writes for it).
fn as_upstream(batch: &DatabaseEventBatch) -> upstream::database_event::DatabaseEventBatch {
    let bytes = scry_codec::serialize_batch(batch).unwrap_or_else(|e| panic!("encode: {e}"));
    upstream::database_event::read_batch(&bytes).unwrap_or_else(|e| panic!("0.1.1 decode: {e:#}"))
}

fn serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("compat/serialize_batch");
    for (name, batch) in workloads() {
        let theirs = as_upstream(&batch);
        group.throughput(Throughput::Elements(batch.events.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", name), &batch, |b, batch| {
            b.iter(|| scry_codec::serialize_batch(black_box(batch)));
        });
        group.bench_with_input(BenchmarkId::new("0.1.1", name), &theirs, |b, batch| {
            b.iter(|| upstream::database_event::serialize_batch(black_box(batch)));
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("compat/read_batch");
    for (name, batch) in workloads() {
        let bytes = scry_codec::serialize_batch(&batch).unwrap_or_else(|e| panic!("encode: {e}"));
        group.throughput(Throughput::Elements(batch.events.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", name), &bytes, |b, bytes| {
            b.iter(|| scry_codec::read_batch(black_box(bytes)));
        });
        group.bench_with_input(BenchmarkId::new("0.1.1", name), &bytes, |b, bytes| {
            b.iter(|| upstream::database_event::read_batch(black_box(bytes)));
        });
    }
    group.finish();
}

mod group {
    //! The generated group function, which `criterion_group!` leaves undocumented.
    #![allow(missing_docs)]
    use super::{read, serialize};
    criterion::criterion_group!(benches, serialize, read);
}

criterion_main!(group::benches);
