//! A large transaction, from the source's COMMIT until the target has it: pgoutput protocol
//! 1 (the walsender decodes the transaction only once it commits, after spilling it to disk
//! past `logical_decoding_work_mem`) against the protocol the server speaks with
//! in-progress transactions streamed (3 on PostgreSQL 15: the transaction reaches scry while
//! it is written, and scry holds it until its commit).
//!
//! Each sample: `scry_apply::Replication` already streaming the slot into an `Applier` on a
//! thread of its own; one transaction inserting `SCRY_BENCH_LARGE_ROWS` rows (1,000,000 by
//! default) into `bench_rows` on the source; timed from its COMMIT's return until the
//! target has its last row. `logical_decoding_work_mem` is 64 MB, the server's default.
//! Needs a server (`SCRY_PG_URL`); without one it says so and measures nothing.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented functions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use postgres::{Client, NoTls};
use scry_benches::replication::{database, wait_for};

fn rows() -> i64 {
    std::env::var("SCRY_BENCH_LARGE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// One sample: the slot streamed with `protocol` while the transaction runs; the time from
/// its COMMIT until the target has its last row.
fn sample(source_url: &str, target_url: &str, protocol: u32, sample: u64) -> Duration {
    let mut source = Client::connect(source_url, NoTls).expect("connect source");
    let mut target = Client::connect(target_url, NoTls).expect("connect target");
    let slot = "bench_large_slot";
    let _ = source.execute("SELECT pg_drop_replication_slot($1)", &[&slot]);
    source
        .batch_execute("TRUNCATE bench_rows")
        .expect("empty the source");
    target
        .batch_execute("TRUNCATE bench_rows")
        .expect("empty the target");
    source
        .execute(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .expect("slot");
    let origin = format!("bench_large_{protocol}_{sample}");
    let stop = Arc::new(AtomicBool::new(false));
    let streaming = {
        let (source_url, target_url, origin, stop) = (
            source_url.to_owned(),
            target_url.to_owned(),
            origin.clone(),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            let mut replication = scry_apply::Replication::connect(&source_url, slot)
                .expect("replication")
                .protocol(protocol);
            let mut applier =
                scry_apply::Applier::connect(&target_url, replication.stream(), Some(&origin))
                    .expect("applier");
            replication
                .start("bench_pub", applier.progress())
                .expect("start");
            replication
                .run(&mut applier, None, |_, _| !stop.load(Ordering::Relaxed))
                .expect("apply");
        })
    };
    let n = rows();
    source
        .batch_execute(&format!(
            "BEGIN; INSERT INTO bench_rows SELECT g, g % 1000, 'row ' || g, now() \
             FROM generate_series(1, {n}) g; COMMIT"
        ))
        .expect("the large transaction");
    let committed = Instant::now();
    wait_for("the target to have the last row", || {
        target
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM bench_rows WHERE id = $1)",
                &[&n],
            )
            .expect("look")
            .get(0)
    });
    let took = committed.elapsed();
    stop.store(true, Ordering::Relaxed);
    streaming.join().expect("the streaming thread");
    let _ = target.execute("SELECT pg_replication_origin_drop($1)", &[&origin]);
    took
}

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("SCRY_PG_URL") else {
        eprintln!("large transaction benchmark: SCRY_PG_URL is not set; nothing measured");
        return;
    };
    let source_url = database(&url, "scry_large_src");
    let target_url = database(&url, "scry_large_dst");
    Client::connect(&source_url, NoTls)
        .expect("connect")
        .batch_execute("CREATE PUBLICATION bench_pub FOR TABLE bench_rows")
        .expect("publication");
    let mut g = c.benchmark_group("large_transaction/commit_to_target");
    g.throughput(Throughput::Elements(u64::try_from(rows()).unwrap_or(0)));
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(5));
    for (name, protocol) in [("protocol_1", 1), ("streamed", 3)] {
        let mut n = 0u64;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        n += 1;
                        sample(&source_url, &target_url, protocol, n)
                    })
                    .sum()
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
