//! Query events (the SQL proxy's batches): ours against scry-protocol 0.1.1 on the same events.
//!
//! `FlatBuffersSerializer::serialize_batch` and `FlexBuffersDeserializer::deserialize_batch`
//! of ours (`scry_codec`) and of 0.1.1 (`upstream`), on two workloads of 1,000 events:
//! `plain` (SQL text, database, connection, duration, row count; no parameters) and `params`
//! (each event with four parameters: an int8, a text, a timestamptz and a uuid, and an
//! anonymized form with fingerprints). Both sides write identical bytes (the interop tests
//! check it), so each reads the same input. Throughput is in events.

use std::time::{Duration, SystemTime};

use criterion::{black_box, criterion_main, BenchmarkId, Criterion, Throughput};
use scry_testkit::upstream::query_to_upstream as to_upstream;
use scry_types::{ParamValue, QueryEvent, QueryEventBuilder};

fn event(i: u64, with_params: bool) -> QueryEvent {
    let mut b = QueryEventBuilder::new(format!(
        "SELECT id, name, total FROM orders WHERE customer_id = $1 AND status = $2 -- {i}"
    ))
    .event_id(format!("00000000-0000-4000-8000-{i:012}"))
    .timestamp(SystemTime::UNIX_EPOCH + Duration::from_micros(1_733_390_000_000_000 + i * 37))
    .database("shop")
    .connection_id(format!("conn-{}", i % 64))
    .duration(Duration::from_micros(200 + i % 1000))
    .rows(i % 50);
    if with_params {
        b = b
            .params(vec![
                ParamValue::Int64(i as i64 * 7919),
                ParamValue::Text(format!("status-{}", i % 5)),
                ParamValue::TimestampTz(786_000_000_000_000 + i as i64),
                ParamValue::Uuid([i as u8; 16]),
            ])
            .normalized_query(
                "SELECT id, name, total FROM orders WHERE customer_id = ? AND status = ?",
            )
            .value_fingerprints(vec![
                format!("{:08x}", i * 2_654_435_761),
                "5f2b1c0d".into(),
            ]);
    }
    b.build()
}

fn workloads() -> Vec<(&'static str, Vec<QueryEvent>)> {
    vec![
        ("plain_1000", (0..1000).map(|i| event(i, false)).collect()),
        ("params_1000", (0..1000).map(|i| event(i, true)).collect()),
    ]
}

fn serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("query/serialize_batch");
    for (name, events) in workloads() {
        let theirs: Vec<_> = events.iter().map(to_upstream).collect();
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", name), &events, |b, events| {
            b.iter(|| {
                scry_codec::FlatBuffersSerializer::serialize_batch(black_box(events), "proxy-1", 9)
            });
        });
        group.bench_with_input(BenchmarkId::new("0.1.1", name), &theirs, |b, events| {
            b.iter(|| {
                upstream::FlatBuffersSerializer::serialize_batch(black_box(events), "proxy-1", 9)
            });
        });
    }
    group.finish();
}

fn deserialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("query/deserialize_batch");
    for (name, events) in workloads() {
        let bytes = scry_codec::FlatBuffersSerializer::serialize_batch(&events, "proxy-1", 9);
        group.throughput(Throughput::Elements(events.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours", name), &bytes, |b, bytes| {
            b.iter(|| scry_codec::FlexBuffersDeserializer::deserialize_batch(black_box(bytes)));
        });
        group.bench_with_input(BenchmarkId::new("0.1.1", name), &bytes, |b, bytes| {
            b.iter(|| upstream::FlexBuffersDeserializer::deserialize_batch(black_box(bytes)));
        });
    }
    group.finish();
}

mod group {
    //! The generated group function, which `criterion_group!` leaves undocumented.
    #![allow(missing_docs)]
    use super::{deserialize, serialize};
    criterion::criterion_group!(benches, serialize, deserialize);
}

criterion_main!(group::benches);
