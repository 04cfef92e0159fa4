//! Decoding throughput: this crate's readers against scry-protocol 0.1.1's and the serde
//! reference path, on the benchmark workloads serialized once in each encoding (0.1.1 and
//! the serde path read only the compatible one).
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use scry_benches::view_scan;
use scry_codec::{
    read_batch, read_batch_bytes, serialize_batch, serialize_batch_with, BatchView, Encoding,
};
use scry_testkit::workloads;
use scry_types::DatabaseEventBatch;

fn bench(c: &mut Criterion) {
    let cases = [
        ("small_rows_1000", workloads::small_rows(1000)),
        ("large_rows_100", workloads::large_rows(100)),
    ];
    for (name, batch) in cases {
        let compat = serialize_batch(&batch).expect("serialize");
        let compact = serialize_batch_with(&batch, Encoding::Compact).expect("serialize");
        for (encoding, bytes) in [("compat", compat), ("compact", compact)] {
            let shared = Bytes::from(bytes.clone());
            assert_eq!(read_batch(&bytes).expect("read"), batch);
            assert_eq!(
                view_scan(&bytes),
                Some((
                    workloads::payload_bytes(&batch),
                    workloads::payload_sum(&batch)
                )),
                "view scan reads every value byte"
            );
            let mut g = c.benchmark_group(format!("decode/{name}/{encoding}"));
            g.throughput(Throughput::Elements(batch.events.len() as u64));
            if encoding == "compat" {
                // 0.1.1 and the serde path read only the compatible encoding.
                g.bench_function(BenchmarkId::from_parameter("upstream_0.1.1"), |b| {
                    b.iter(|| {
                        upstream::database_event::read_batch(black_box(&bytes)).expect("read")
                    })
                });
                g.bench_function(BenchmarkId::from_parameter("reference_serde"), |b| {
                    b.iter(|| {
                        flexbuffers::from_slice::<DatabaseEventBatch>(black_box(&bytes))
                            .expect("read")
                    })
                });
            }
            g.bench_function(BenchmarkId::from_parameter("read_batch"), |b| {
                b.iter(|| read_batch(black_box(&bytes)).expect("read"))
            });
            g.bench_function(BenchmarkId::from_parameter("read_batch_bytes"), |b| {
                b.iter(|| read_batch_bytes(black_box(&shared)).expect("read"))
            });
            g.bench_function(BenchmarkId::from_parameter("view_parse"), |b| {
                b.iter(|| BatchView::parse(black_box(&bytes)).map(|v| v.len()))
            });
            g.bench_function(BenchmarkId::from_parameter("view_scan"), |b| {
                b.iter(|| view_scan(black_box(&bytes)))
            });
            g.bench_function(BenchmarkId::from_parameter("memcpy"), |b| {
                b.iter(|| black_box(&bytes).to_vec())
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
