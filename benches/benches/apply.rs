//! The receiver against PostgreSQL's own: a backlog of narrow-row changes waiting in a logical
//! replication slot, applied to a second database, from the first read of the slot until the
//! target holds everything.
//!
//! - `scry`: the slot streamed by `scry_apply::Replication` (`START_REPLICATION`, decoded
//!   by `ChangeDecoder`) into `scry_apply::Applier` (pipelined, one target transaction per
//!   source transaction, progress in a replication origin), in this process, until the
//!   source has sent what was committed when it started.
//! - `native`: `CREATE SUBSCRIPTION` on the same kind of slot (the built-in walsender and
//!   apply worker), timed until the target's rows equal the source's; the launcher's
//!   throttle between worker starts (`wal_retrieve_retry_interval`) is set to 1 ms for the
//!   run, so the worker starts at once.
//!
//! The workload: 1000 transactions, each inserting 3 rows, updating one and deleting one
//! (5000 changes) into `bench_rows (id int8 key, a int4, b text, c timestamptz)`. Each sample
//! builds its backlog anew outside the timing. Needs a server (`SCRY_PG_URL`, as `.ci/test`
//! sets it, with `wal_level = logical`); without one it says so and measures nothing.
//!
//! `apply/live_1000_transactions` measures what issue 18 asks for: replication running while
//! the workload commits on the source, timed from the workload's start until the target
//! holds all of it (the source's commits, one client, are part of both times).
//! - `scry`: `scry replicate <source> <target>` (the `scry` binary, built in release first),
//!   started before the workload;
//! - `scry_pipe`: `scry capture --source stream --out - --confirm-from <target> | scry
//!   apply -`, the same parts in two processes joined by a pipe;
//! - `native`: a subscription on the same kind of slot, its worker running before the
//!   workload.
#![allow(missing_docs)] // criterion_group! and criterion_main! generate undocumented functions.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use scry_benches::replication::{
    backlog, digest, live_run, scry_binary, subscribe, unsubscribe, worker_start_throttle, Live,
    Setup, CHANGES,
};

fn bench(c: &mut Criterion) {
    let Some(Setup {
        source_url,
        target_url,
        mut source,
        mut target,
        mut admin,
    }) = Setup::new("scry_bench")
    else {
        return;
    };

    let mut g = c.benchmark_group("apply/narrow_mix_1000_transactions");
    g.throughput(Throughput::Elements(CHANGES));
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(3));
    let mut sample = 0u64;
    g.bench_function("scry", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sample += 1;
                backlog(&mut source, &mut target, "bench_scry_slot");
                let origin = format!("bench_{sample}");
                let started = Instant::now();
                // As `scry replicate` connects: the source first, whose identity the
                // target's origin is bound to.
                let mut replication =
                    scry_apply::Replication::connect(&source_url, "bench_scry_slot")
                        .expect("replication");
                let mut applier =
                    scry_apply::Applier::connect(&target_url, replication.stream(), Some(&origin))
                        .expect("applier");
                let until = replication
                    .current_position()
                    .expect("the source's position");
                replication
                    .start("bench_pub", applier.progress())
                    .expect("start");
                let stopped = replication
                    .run(&mut applier, Some(until), |_, _| true)
                    .expect("apply");
                assert_eq!(stopped, scry_apply::Stopped::Until);
                total += started.elapsed();
                drop(replication);
                drop(applier);
                // The applier's backend lets go of the origin as it exits, a moment later.
                let deadline = Instant::now() + Duration::from_secs(10);
                while let Err(e) =
                    target.execute("SELECT pg_replication_origin_drop($1)", &[&origin])
                {
                    assert!(Instant::now() < deadline, "drop origin: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert_eq!(
                    digest(&mut target),
                    digest(&mut source),
                    "scry applied it all"
                );
            }
            total
        });
    });
    g.bench_function("native", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                backlog(&mut source, &mut target, "bench_native_slot");
                let expected = digest(&mut source);
                let started = Instant::now();
                subscribe(&mut target, &source_url, "bench_native_slot");
                let deadline = Instant::now() + Duration::from_secs(120);
                while digest(&mut target) != expected {
                    assert!(Instant::now() < deadline, "the subscriber did not catch up");
                    std::thread::sleep(Duration::from_millis(2));
                }
                total += started.elapsed();
                unsubscribe(&mut target);
            }
            total
        });
    });
    g.finish();
    worker_start_throttle(&mut admin, None);
}

fn live(c: &mut Criterion) {
    let Some(mut setup) = Setup::new("scry_live_bench") else {
        return;
    };
    let scry = scry_binary();
    let mut g = c.benchmark_group("apply/live_1000_transactions");
    g.throughput(Throughput::Elements(CHANGES));
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(5));
    for (name, how) in [
        ("scry", Live::Scry),
        ("scry_pipe", Live::ScryPipe),
        ("native", Live::Native),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| live_run(&mut setup, &scry, how)).sum());
        });
    }
    g.finish();
    worker_start_throttle(&mut setup.admin, None);
}

criterion_group!(benches, bench, live);
criterion_main!(benches);
