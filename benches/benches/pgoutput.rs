//! CDC: pgoutput message bytes → `ChangeDecoder` → `ChangeBatcher` → framed batches (a batch
//! per transaction), next to a memcpy of the same message bytes, in changes per second.
//!
//! The stream is `scry_testkit::pgoutput::narrow_insert_stream`: 2000 transactions of 10
//! narrow-row INSERTs (int8, int4, text of 10-30 bytes, timestamptz, bool, a NULL), as the
//! server's walsender hands them over, one message at a time.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented functions.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_codec::Encoding;
use scry_pg::capture::ChangeBatcher;
use scry_pg::pgoutput::ChangeDecoder;

const TRANSACTIONS: u32 = 2000;
const ROWS: u32 = 10;

/// Decodes and frames the whole stream into `out`; returns the frames' bytes.
fn capture(messages: &[(u64, Bytes)], encoding: Encoding, out: &mut Vec<u8>) -> usize {
    out.clear();
    let mut decoder = ChangeDecoder::new();
    let mut batcher = ChangeBatcher::new(encoding).source_id("bench");
    for (lsn, message) in messages {
        decoder
            .decode(*lsn, message, &mut |change| {
                if let Some(frame) = batcher.push(change).expect("batches") {
                    out.extend_from_slice(frame.bytes);
                }
            })
            .expect("decodes");
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    let messages: Vec<(u64, Bytes)> =
        scry_testkit::pgoutput::narrow_insert_stream(TRANSACTIONS, ROWS)
            .into_iter()
            .map(|(lsn, m)| (lsn, Bytes::from(m)))
            .collect();
    let input_bytes: usize = messages.iter().map(|(_, m)| m.len()).sum();
    let changes = u64::from(TRANSACTIONS * ROWS);
    let mut out = Vec::new();
    for encoding in [Encoding::Compact, Encoding::Compat] {
        let n = capture(&messages, encoding, &mut out);
        eprintln!(
            "pgoutput {encoding:?}: {changes} changes, {input_bytes} bytes of messages -> {n} bytes of frames"
        );
    }

    let mut g = c.benchmark_group("pgoutput/narrow_inserts_2000x10");
    g.throughput(Throughput::Elements(changes));
    g.bench_function("to_compact_frames", |b| {
        b.iter(|| capture(black_box(&messages), Encoding::Compact, &mut out));
    });
    g.bench_function("to_compat_frames", |b| {
        b.iter(|| capture(black_box(&messages), Encoding::Compat, &mut out));
    });
    g.bench_function("decode_only", |b| {
        let mut decoder = ChangeDecoder::new();
        b.iter(|| {
            let mut n = 0usize;
            for (lsn, message) in black_box(&messages) {
                decoder
                    .decode(*lsn, message, &mut |_| n += 1)
                    .expect("decodes");
            }
            n
        });
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            for (_, message) in black_box(&messages) {
                out.extend_from_slice(message);
            }
            out.len()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
