//! Checksummed framing: writing and reading a frame that carries a serialized batch of
//! `workloads::large_rows(100)` (about 0.8 MiB), against copying the same bytes twice (what
//! writing into a buffer and reading out of one costs without framing).
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented functions.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_codec::frame::{
    FrameDecoder, FrameEncoder, FrameEncoding, FrameReader, FrameWriter, PayloadKind,
};

fn frame(c: &mut Criterion) {
    let payload = scry_codec::serialize_batch(&scry_testkit::workloads::large_rows(100))
        .expect("the workload serializes");
    let mut group = c.benchmark_group("frame/large_rows_100");
    group.throughput(Throughput::Bytes(payload.len() as u64));

    group.bench_function("memcpy_x2", |b| {
        let mut wire = Vec::with_capacity(payload.len());
        let mut out = Vec::with_capacity(payload.len());
        b.iter(|| {
            wire.clear();
            wire.extend_from_slice(black_box(&payload));
            out.clear();
            out.extend_from_slice(black_box(&wire));
            black_box(out.len())
        });
    });

    group.bench_function("writer_reader", |b| {
        let mut wire = Vec::with_capacity(payload.len() + 64);
        b.iter(|| {
            wire.clear();
            let mut writer = FrameWriter::new(&mut wire);
            writer
                .write_frame(
                    PayloadKind::Batch,
                    FrameEncoding::Compat,
                    black_box(&payload),
                )
                .expect("within the maximum");
            let frame = FrameReader::new(black_box(&wire[..]))
                .next_frame()
                .expect("one frame")
                .expect("intact");
            black_box(frame.payload.len())
        });
    });

    group.bench_function("encoder_decoder", |b| {
        let mut encoder = FrameEncoder::new();
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::with_capacity(payload.len() + 64);
        b.iter(|| {
            encoder
                .encode(
                    PayloadKind::Batch,
                    FrameEncoding::Compat,
                    black_box(&payload),
                    &mut buf,
                )
                .expect("within the maximum");
            let frame = decoder.decode(&mut buf).expect("intact").expect("complete");
            black_box(frame.payload.len())
        });
    });
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
