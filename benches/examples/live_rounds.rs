//! The live apply benchmark (`benches/benches/apply.rs`, `apply/live_1000_transactions`) as
//! alternating rounds: each round runs `scry replicate` and PostgreSQL's subscriber once,
//! in turn (which goes first alternates too), so that a change in the machine's load affects
//! both alike. Prints each one's median time and native's time over scry's, per round, as a
//! median: scry's throughput as a multiple of native's.
//!
//! `SCRY_PG_URL=... cargo run --release -p scry-benches --example live_rounds -- [ROUNDS]`
//! (15 rounds by default; needs `wal_level = logical`).

use std::time::Duration;

use scry_benches::replication::{live_run, scry_binary, worker_start_throttle, Live, Setup};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |n| n.parse().expect("ROUNDS: a number"));
    let Some(mut setup) = Setup::new("scry_live_bench") else {
        return;
    };
    let scry = scry_binary();
    let (mut ours, mut native, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [Live::Scry, Live::Native]
        } else {
            [Live::Native, Live::Scry]
        };
        let mut times = [Duration::ZERO; 2];
        for how in order {
            times[usize::from(how == Live::Native)] = live_run(&mut setup, &scry, how);
        }
        ours.push(ms(times[0]));
        native.push(ms(times[1]));
        ratios.push(ms(times[1]) / ms(times[0]));
        eprintln!(
            "round {}: scry {:.1} ms, native {:.1} ms",
            round + 1,
            ms(times[0]),
            ms(times[1])
        );
    }
    worker_start_throttle(&mut setup.admin, None);
    println!(
        "{rounds} rounds of 1000 transactions: scry median {:.1} ms, native median {:.1} ms, \
         scry's throughput / native's per round: median {:.3}",
        median(&mut ours),
        median(&mut native),
        median(&mut ratios)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
