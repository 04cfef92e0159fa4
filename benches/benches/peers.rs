//! Our codec against the general-purpose formats a producer could send the same events in:
//! protobuf (prost), bincode 1, postcard, MessagePack (rmp-serde, named fields) and JSON
//! (serde_json), with a memcpy of our compact bytes as the floor.
//!
//! The point is to place FlexBuffers, as we write and read it, among the usual alternatives
//! on size and speed: what the compat and compact encodings cost over the smallest and fastest
//! schema-driven formats, and what the borrowed view saves over decoding into owned structs.
//! The workloads are `workloads::small_rows(2000)` (5-column CDC rows of ~50 bytes) and
//! `workloads::large_rows(300)` (COPY rows carrying a 4 KiB value); throughput is in events.
//!
//! Each peer works on mirror structs holding every field of the batch (`peers/model.rs`),
//! built once outside the timed loops: its encode starts from its mirror and its decode ends
//! in one, as an application using that format would hold its data. Ours encode from
//! `&DatabaseEventBatch` and decode with `read_batch_bytes`. A scan reads every value's bytes
//! with `workloads::byte_sum`: ours through the [`BatchView`](scry_codec::BatchView) without
//! decoding (`view_scan`), a peer after decoding into its mirror, which is the only way it
//! can. Prost decodes from `Bytes`, so its value data are slices of the input as in
//! `read_batch_bytes`; the serde peers copy each value into a `ByteBuf`.
//!
//! Before anything is timed every decoder must give back exactly what was encoded, every
//! scan must see the workload's payload, and each mirror must carry every field (arbitrary
//! `Gen` batches, with every optional field present and absent, survive a round trip through
//! each format and back to a `DatabaseEventBatch`). A table of wire sizes is printed first.

// criterion_group! and criterion_main! generate undocumented functions.
#![allow(missing_docs)]

#[path = "peers/model.rs"]
mod model;

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::{mirror, proto};
use prost::Message;
use scry_benches::view_scan;
use scry_codec::{read_batch_bytes, serialize_batch_with, Encoding};
use scry_testkit::{workloads, Gen};
use scry_types::DatabaseEventBatch;

type Encode = fn(&mirror::Batch) -> Vec<u8>;
type Decode = fn(&[u8]) -> mirror::Batch;

/// The serde peers: name (the benchmark id), encode, decode.
const SERDE_PEERS: [(&str, Encode, Decode); 4] = [
    (
        "bincode",
        |m| bincode::serialize(m).expect("bincode encode"),
        |b| bincode::deserialize(b).expect("bincode decode"),
    ),
    (
        "postcard",
        |m| postcard::to_allocvec(m).expect("postcard encode"),
        |b| postcard::from_bytes(b).expect("postcard decode"),
    ),
    (
        "rmp_serde",
        |m| rmp_serde::to_vec_named(m).expect("rmp_serde encode"),
        |b| rmp_serde::from_slice(b).expect("rmp_serde decode"),
    ),
    (
        "serde_json",
        |m| serde_json::to_vec(m).expect("serde_json encode"),
        |b| serde_json::from_slice(b).expect("serde_json decode"),
    ),
];

fn prost_decode(bytes: &Bytes) -> proto::Batch {
    proto::Batch::decode(bytes.clone()).expect("prost decode")
}

/// How many value bytes and their sum, as `view_scan` reports them.
fn scan<'a>(data: impl Iterator<Item = &'a [u8]>) -> (usize, u64) {
    data.fold((0, 0), |(len, sum), d| {
        (len + d.len(), sum + workloads::byte_sum(d))
    })
}

/// One workload in every format, made and checked outside the timed loops.
struct Workload {
    name: &'static str,
    batch: DatabaseEventBatch,
    compat: Bytes,
    compact: Bytes,
    proto: proto::Batch,
    prost: Bytes,
    mirror: mirror::Batch,
    /// Each serde peer's bytes, in the order of [`SERDE_PEERS`].
    serde: Vec<Vec<u8>>,
}

impl Workload {
    fn new(name: &'static str, batch: DatabaseEventBatch) -> Self {
        let encode = |e| Bytes::from(serialize_batch_with(&batch, e).expect("encode"));
        let (compat, compact) = (encode(Encoding::Compat), encode(Encoding::Compact));
        let proto = proto::Batch::from(&batch);
        let prost = Bytes::from(proto.encode_to_vec());
        let mirror = mirror::Batch::from(&batch);
        let serde = SERDE_PEERS.iter().map(|(_, enc, _)| enc(&mirror)).collect();
        let w = Self {
            name,
            batch,
            compat,
            compact,
            proto,
            prost,
            mirror,
            serde,
        };
        w.check();
        w
    }

    /// Every decoder gives back what was encoded and every scan sees the whole payload.
    fn check(&self) {
        let payload = (
            workloads::payload_bytes(&self.batch),
            workloads::payload_sum(&self.batch),
        );
        for bytes in [&self.compat, &self.compact] {
            assert_eq!(read_batch_bytes(bytes).expect("read"), self.batch);
            assert_eq!(view_scan(bytes), Some(payload), "{} view scan", self.name);
        }
        assert_eq!(DatabaseEventBatch::from(&self.proto), self.batch);
        let decoded = prost_decode(&self.prost);
        assert_eq!(decoded, self.proto, "{} prost", self.name);
        assert_eq!(
            scan(decoded.value_data()),
            payload,
            "{} prost scan",
            self.name
        );
        assert_eq!(DatabaseEventBatch::from(&self.mirror), self.batch);
        for ((peer, _, decode), bytes) in SERDE_PEERS.iter().zip(&self.serde) {
            let decoded = decode(bytes);
            assert_eq!(decoded, self.mirror, "{} {peer}", self.name);
            assert_eq!(
                scan(decoded.value_data()),
                payload,
                "{} {peer} scan",
                self.name
            );
        }
    }

    /// Every format's bytes, named as the benchmark ids name them.
    fn wire(&self) -> Vec<(&'static str, usize)> {
        let mut wire = vec![
            ("compat", self.compat.len()),
            ("compact", self.compact.len()),
            ("prost", self.prost.len()),
        ];
        wire.extend(
            SERDE_PEERS
                .iter()
                .zip(&self.serde)
                .map(|((p, ..), b)| (*p, b.len())),
        );
        wire
    }
}

/// Arbitrary batches, with every optional field both present and absent, survive each peer's
/// round trip back to a `DatabaseEventBatch`: the mirrors leave no field out.
fn check_mirrors_carry_every_field() {
    for seed in 0..200 {
        let batch = Gen::new(seed).batch(6);
        let p = proto::Batch::from(&batch);
        let back = prost_decode(&Bytes::from(p.encode_to_vec()));
        assert_eq!(DatabaseEventBatch::from(&back), batch, "prost, seed {seed}");
        let m = mirror::Batch::from(&batch);
        for (peer, encode, decode) in SERDE_PEERS {
            let back = decode(&encode(&m));
            assert_eq!(
                DatabaseEventBatch::from(&back),
                batch,
                "{peer}, seed {seed}"
            );
        }
    }
}

fn print_wire_sizes(workloads: &[Workload]) {
    println!("wire bytes per event (ratio to the value payload)");
    println!(
        "{:<12} {:<11} {:>11} {:>10} {:>8}",
        "workload", "format", "bytes", "per event", "ratio"
    );
    for w in workloads {
        let events = w.batch.events.len();
        let payload = workloads::payload_bytes(&w.batch);
        println!(
            "{:<12} {:<11} {:>11} {:>10.1} {:>8.3}",
            w.name,
            "(payload)",
            payload,
            payload as f64 / events as f64,
            1.0
        );
        for (format, len) in w.wire() {
            println!(
                "{:<12} {:<11} {:>11} {:>10.1} {:>8.3}",
                w.name,
                format,
                len,
                len as f64 / events as f64,
                len as f64 / payload as f64
            );
        }
    }
    println!();
}

fn encode(c: &mut Criterion, w: &Workload) {
    let mut g = c.benchmark_group(format!("peers/encode/{}", w.name));
    g.throughput(Throughput::Elements(w.batch.events.len() as u64));
    for (id, encoding) in [("compat", Encoding::Compat), ("compact", Encoding::Compact)] {
        g.bench_function(id, |b| {
            b.iter(|| serialize_batch_with(black_box(&w.batch), encoding).expect("encode"))
        });
    }
    g.bench_function("prost", |b| b.iter(|| black_box(&w.proto).encode_to_vec()));
    for (peer, encode, _) in SERDE_PEERS {
        g.bench_function(peer, |b| b.iter(|| encode(black_box(&w.mirror))));
    }
    memcpy(&mut g, &w.compact);
    g.finish();
}

fn decode(c: &mut Criterion, w: &Workload) {
    let mut g = c.benchmark_group(format!("peers/decode/{}", w.name));
    g.throughput(Throughput::Elements(w.batch.events.len() as u64));
    for (id, bytes) in [("compat", &w.compat), ("compact", &w.compact)] {
        g.bench_function(id, |b| {
            b.iter(|| read_batch_bytes(black_box(bytes)).expect("read"))
        });
    }
    g.bench_function("prost", |b| b.iter(|| prost_decode(black_box(&w.prost))));
    for ((peer, _, decode), bytes) in SERDE_PEERS.iter().zip(&w.serde) {
        g.bench_function(*peer, |b| b.iter(|| decode(black_box(bytes))));
    }
    memcpy(&mut g, &w.compact);
    g.finish();
}

fn scan_values(c: &mut Criterion, w: &Workload) {
    let mut g = c.benchmark_group(format!("peers/scan/{}", w.name));
    g.throughput(Throughput::Elements(w.batch.events.len() as u64));
    for (id, bytes) in [("compat", &w.compat), ("compact", &w.compact)] {
        g.bench_function(id, |b| b.iter(|| view_scan(black_box(bytes))));
    }
    g.bench_function("prost", |b| {
        b.iter(|| scan(prost_decode(black_box(&w.prost)).value_data()))
    });
    for ((peer, _, decode), bytes) in SERDE_PEERS.iter().zip(&w.serde) {
        g.bench_function(*peer, |b| {
            b.iter(|| scan(decode(black_box(bytes)).value_data()))
        });
    }
    memcpy(&mut g, &w.compact);
    g.finish();
}

/// The floor: the compact bytes copied into a buffer allocated once.
fn memcpy(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, bytes: &[u8]) {
    let mut out = Vec::with_capacity(bytes.len());
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(bytes));
            out.len()
        })
    });
}

fn peers(c: &mut Criterion) {
    check_mirrors_carry_every_field();
    let workloads = [
        Workload::new("small_rows", workloads::small_rows(2000)),
        Workload::new("large_rows", workloads::large_rows(300)),
    ];
    print_wire_sizes(&workloads);
    for w in &workloads {
        encode(c, w);
        decode(c, w);
        scan_values(c, w);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = peers
}
criterion_main!(benches);
