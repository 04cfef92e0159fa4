//! Changes a second from a slot's backlog into a target, four ways, in alternating rounds:
//!
//! - `replicate`: `scry replicate --until now`, one process;
//! - `pipe`: `scry capture --source stream --out - --confirm-from TARGET | scry apply -`;
//! - `nats`: `scry capture --out nats://...` and `scry apply TARGET nats://... --follow`
//!   side by side, until the target holds everything (one JetStream node, file storage);
//! - and, split in its halves: `publish`, the capture into a new stream with no consumer,
//!   then `consume`, the apply of that whole stream;
//! - `native`: PostgreSQL's subscriber (`CREATE SUBSCRIPTION` on the same slot, copying
//!   nothing), for reference (its RSS is the server's, not measured).
//!
//! Each run starts from empty tables and a new slot holding the same backlog: `TRANSACTIONS`
//! transactions (3 inserts, an update and a delete each), committed before the run starts.
//! Every run ends with the target's rows equal to the source's. Prints each way's median
//! changes a second and the largest peak RSS of its processes, and the ratios to
//! `replicate`.
//!
//! `SCRY_PG_URL=... SCRY_NATS_URL=nats://... cargo run --release -p scry-benches --example
//! nats_compare -- [ROUNDS] [TRANSACTIONS]` (3 rounds of 20000 transactions by default).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use postgres::Client;
use scry_benches::replication::{digest, fresh, scry_binary, subscribe, unsubscribe, Setup};

const SLOT: &str = "nats_bench_slot";
const ORIGIN: &str = "nats_bench";
const WAYS: [&str; 6] = ["replicate", "pipe", "nats", "publish", "consume", "native"];

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(3, |n| n.parse().expect("ROUNDS"));
    let transactions: i64 = args
        .next()
        .map_or(20_000, |n| n.parse().expect("TRANSACTIONS"));
    let Ok(nats) = std::env::var("SCRY_NATS_URL") else {
        eprintln!("nats_compare: SCRY_NATS_URL is not set (.ci/nats.sh prints it)");
        return;
    };
    let Some(mut setup) = Setup::new("scry_nats_bench") else {
        return;
    };
    setup
        .source
        .batch_execute(&format!(
            "CREATE PROCEDURE bench_backlog() LANGUAGE plpgsql AS $$
             BEGIN
               FOR t IN 0..{transactions} - 1 LOOP
                 INSERT INTO bench_rows VALUES (t * 3, t, 'row', now()), (t * 3 + 1, t, 'row', now()),
                   (t * 3 + 2, t, 'row', now());
                 UPDATE bench_rows SET a = a + 1, b = 'updated' WHERE id = t * 3;
                 DELETE FROM bench_rows WHERE id = t * 3 + 2;
                 COMMIT;
               END LOOP;
             END $$"
        ))
        .expect("backlog procedure");
    let scry = scry_binary();
    let changes = 5.0 * transactions as f64;
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); WAYS.len()];
    let mut rss = [0u64; WAYS.len()];
    for round in 0..rounds {
        for step in 0..4 {
            // The order of the runs turns round by round.
            let way = (step + round) % 4;
            for (i, (secs, kb)) in run(&mut setup, &scry, &nats, way, round) {
                rates[i].push(changes / secs);
                rss[i] = rss[i].max(kb);
                eprintln!(
                    "round {}: {} {:.2} s ({:.0} changes/s), {}",
                    round + 1,
                    WAYS[i],
                    secs,
                    changes / secs,
                    rss_text(kb)
                );
            }
        }
    }
    let _ = setup.admin.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
        &[&SLOT],
    );
    scry_benches::replication::worker_start_throttle(&mut setup.admin, None);
    let medians: Vec<f64> = rates.iter_mut().map(|r| median(r)).collect();
    println!("{rounds} rounds, a backlog of {transactions} transactions ({changes} changes) each");
    for (i, way) in WAYS.iter().enumerate() {
        println!(
            "{way:>10}: median {:>9.0} changes/s ({:.2}x replicate's), {}",
            medians[i],
            medians[i] / medians[0],
            rss_text(rss[i])
        );
    }
}

/// One run of `way` (0: replicate, 1: pipe, 2: nats, then publish and consume, 3: native)
/// from a fresh backlog; the seconds and the peak RSS (kB) of each way measured.
fn run(
    setup: &mut Setup,
    scry: &std::path::Path,
    nats: &str,
    way: usize,
    round: usize,
) -> Vec<(usize, (f64, u64))> {
    let src = setup.source_url.clone();
    let dst = setup.target_url.clone();
    let slot = ["--slot", SLOT, "--publication", "bench_pub"];
    let origin = ["--origin", ORIGIN];
    // Started on the backlog; timed until the target holds it, then stopped.
    let timed = |setup: &mut Setup, start: &mut dyn FnMut() -> Vec<Child>| {
        backlog(setup);
        let started = Instant::now();
        let children = start();
        let expected = digest(&mut setup.source);
        wait_for_target(&mut setup.target, &expected);
        let secs = started.elapsed().as_secs_f64();
        (secs, finish(children, true))
    };
    match way {
        0 => vec![(
            0,
            timed(setup, &mut || {
                vec![spawn(
                    scry,
                    &["replicate", &src, &dst],
                    &[&slot, &origin, &["--until", "now"]],
                )]
            }),
        )],
        1 => vec![(
            1,
            timed(setup, &mut || {
                let mut capture = timed_command(scry);
                capture
                    .args(["capture", &src])
                    .args(slot)
                    .args(["--source", "stream", "--out", "-", "--confirm-from", &dst])
                    .args(origin)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut capture = capture.spawn().expect("capture");
                let mut apply = timed_command(scry);
                apply
                    .args(["apply", &dst, "-"])
                    .args(origin)
                    .stdin(capture.stdout.take().expect("a pipe"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped());
                vec![capture, apply.spawn().expect("apply")]
            }),
        )],
        3 => {
            backlog(setup);
            let started = Instant::now();
            subscribe(&mut setup.target, &src, SLOT);
            let expected = digest(&mut setup.source);
            wait_for_target(&mut setup.target, &expected);
            let secs = started.elapsed().as_secs_f64();
            unsubscribe(&mut setup.target);
            vec![(5, (secs, 0))]
        }
        _ => {
            let stream = format!("{nats}/NATSBENCH{round}x{}", now_ms());
            let both = timed(setup, &mut || {
                vec![
                    spawn(scry, &["capture", &src, "--out", &stream], &[&slot]),
                    spawn(scry, &["apply", &dst, &stream, "--follow"], &[&origin]),
                ]
            });
            // The same backlog into a stream of its own with no consumer, then applied
            // from it alone.
            let stream = format!("{nats}/NATSBENCH{round}y{}", now_ms());
            backlog(setup);
            let started = Instant::now();
            let capture = spawn(
                scry,
                &["capture", &src, "--out", &stream],
                &[&slot, &["--until", "now"]],
            );
            let rss = finish(vec![capture], false);
            let publish = (started.elapsed().as_secs_f64(), rss);
            let started = Instant::now();
            let apply = spawn(scry, &["apply", &dst, &stream], &[&origin]);
            let rss = finish(vec![apply], false);
            let consume = (started.elapsed().as_secs_f64(), rss);
            let expected = digest(&mut setup.source);
            assert_eq!(
                digest(&mut setup.target),
                expected,
                "consume: the target differs"
            );
            vec![(2, both), (3, publish), (4, consume)]
        }
    }
}

/// Both tables empty, the target's origin gone, a new slot holding the backlog.
fn backlog(setup: &mut Setup) {
    fresh(&mut setup.source, &mut setup.target, SLOT);
    let _ = setup.target.execute(
        "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1",
        &[&ORIGIN],
    );
    setup
        .source
        .batch_execute("CALL bench_backlog()")
        .expect("backlog");
}

/// Waits until the target's rows are the source's, looking every 25 ms (the digest reads
/// the whole table: more often would take from the runs measured).
fn wait_for_target(target: &mut Client, expected: &(i64, String)) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while digest(target) != *expected {
        assert!(Instant::now() < deadline, "the target within 600 s");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// `scry` under `/usr/bin/time`, which writes the peak RSS (kB) as standard error's last
/// line.
fn timed_command(scry: &std::path::Path) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.args(["-f", "%M"]).arg(scry);
    c
}

fn spawn(scry: &std::path::Path, args: &[&str], more: &[&[&str]]) -> Child {
    let mut c = timed_command(scry);
    c.args(args);
    for m in more {
        c.args(*m);
    }
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c.spawn().expect("scry")
}

/// Waits for `children` (with `stop`, stopped first as Ctrl-C would: a following apply, a
/// capture into a pipe) and returns the largest peak RSS (kB) among them.
fn finish(children: Vec<Child>, stop: bool) -> u64 {
    if stop {
        for child in &children {
            // SIGINT to scry, the child of `time`: it ends cleanly and `time` reports.
            let _ = Command::new("pkill")
                .args(["-INT", "-P", &child.id().to_string()])
                .status();
        }
    }
    let mut peak = 0;
    for child in children {
        let out = child.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&out.stderr);
        // What scry said (its summary, warnings, waits), to read beside its time.
        for line in text.lines().filter(|l| l.trim().parse::<u64>().is_err()) {
            eprintln!("  {line}");
        }
        let kb = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0);
        peak = peak.max(kb);
    }
    peak
}

/// A peak RSS for the report: not measured (0) for the server's own subscriber.
fn rss_text(kb: u64) -> String {
    if kb == 0 {
        "peak RSS not measured (a server process)".to_owned()
    } else {
        format!("peak RSS {:.1} MB", kb as f64 / 1024.0)
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
