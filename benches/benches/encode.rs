//! Encoding speed: scry-protocol 0.1.1, the serde reference path, the fast Compat and Compact
//! writers, and a memcpy of the Compat output's length as the floor.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_codec::{serialize_batch, serialize_batch_into, serialize_batch_with, Encoding};
use scry_testkit::reference;
use scry_testkit::workloads;
use scry_types::DatabaseEventBatch;

fn workload(c: &mut Criterion, name: &str, batch: &DatabaseEventBatch) {
    let compat = serialize_batch(batch).expect("encode");
    // 0.1.1's own value of the same batch, made once outside the timed loops.
    let upstream_batch = upstream::database_event::read_batch(&compat).expect("0.1.1 reads it");

    let mut group = c.benchmark_group(format!("encode/{name}"));
    group.throughput(Throughput::Elements(batch.events.len() as u64));
    group.bench_function("upstream_0.1.1", |b| {
        b.iter(|| {
            upstream::database_event::serialize_batch(black_box(&upstream_batch)).expect("encode")
        })
    });
    group.bench_function("reference_serde", |b| {
        b.iter(|| reference::serialize_batch(black_box(batch)).expect("encode"))
    });
    group.bench_function("compat", |b| {
        b.iter(|| serialize_batch(black_box(batch)).expect("encode"))
    });
    group.bench_function("compact", |b| {
        b.iter(|| serialize_batch_with(black_box(batch), Encoding::Compact).expect("encode"))
    });
    let mut reused = Vec::new();
    group.bench_function("compat_into_reused_buffer", |b| {
        b.iter(|| {
            reused.clear();
            serialize_batch_into(black_box(batch), Encoding::Compat, &mut reused).expect("encode");
            reused.len()
        })
    });
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(compat.len());
            out.extend_from_slice(black_box(&compat));
            out
        })
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    workload(c, "small_rows", &workloads::small_rows(1000));
    workload(c, "large_rows", &workloads::large_rows(100));
}

criterion_group!(benches, encode);
criterion_main!(benches);
