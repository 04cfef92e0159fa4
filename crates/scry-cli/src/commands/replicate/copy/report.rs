//! What the copy tells as it goes: each table as it is done, and a progress line with how
//! far it is and when it ends.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::Shared;
use crate::log::{Event, Level};
use crate::progress::{Progress, Tables};

/// What a job tells as it goes.
pub(super) enum Done {
    /// A table copied whole: its name, rows, bytes of COPY data, and how long it took.
    Copied {
        name: String,
        rows: u64,
        bytes: u64,
        took: Duration,
    },
    /// A table's keys and indexes made: how many statements, and how long they took.
    Indexed {
        name: String,
        statements: usize,
        took: Duration,
    },
}
/// Tells each table as it is done and shows the progress until the jobs end; the rows.
pub(super) fn report(done: &mpsc::Receiver<Done>, shared: &Shared<'_>, started: Instant) -> u64 {
    let mut progress = Progress::new();
    let (mut count, mut rows) = (0u64, 0u64);
    loop {
        match done.recv_timeout(Duration::from_millis(200)) {
            Ok(Done::Copied {
                name,
                rows: copied,
                bytes,
                took,
            }) => {
                count += 1;
                rows += copied;
                if let Some(metrics) = crate::metrics::get() {
                    metrics.copied(&name, copied);
                }
                let line = format!(
                    "{name}: {copied} rows, {bytes} bytes copied in {:.2} s",
                    took.as_secs_f64()
                );
                progress.emit(
                    Event::new(Level::Info, "table", line)
                        .field("table", name)
                        .field("rows", copied)
                        .field("bytes", bytes)
                        .field("seconds", took.as_secs_f64()),
                );
            }
            Ok(Done::Indexed {
                name,
                statements,
                took,
            }) => {
                let line = format!(
                    "{name}: {statements} constraint{} and index{} made in {:.2} s",
                    if statements == 1 { "" } else { "s" },
                    if statements == 1 { "" } else { "es" },
                    took.as_secs_f64()
                );
                progress.emit(
                    Event::new(Level::Info, "indexes", line)
                        .field("table", name)
                        .field("statements", statements)
                        .field("seconds", took.as_secs_f64()),
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let at = Tables {
            done: count,
            total: Some(shared.tables.len() as u64),
            rows,
            bytes: shared.bytes.load(Ordering::Relaxed),
            total_bytes: None,
            current: None,
        };
        progress.show(|| format!("{}{}", at.line(started.elapsed()), outlook(shared, started)));
    }
    progress.finish();
    rows
}

/// How far the copy is and when it ends at its pace so far, then the same for the table in
/// progress that ends last: `; 42 %, ETA 1 min 10 s; public.big at 38 %, ETA 1 min 05 s`.
/// A table's bytes to come are its size on the source scaled by the COPY bytes per byte of
/// the tables done (1 until one is).
fn outlook(shared: &Shared<'_>, started: Instant) -> String {
    let tallies = shared
        .tallies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let streamed = |i: usize| {
        shared
            .streamed
            .get(i)
            .map_or(0, |b| b.load(Ordering::Relaxed)) as f64
    };
    let heap = |i: usize| shared.tables.get(i).map_or(0, |t| t.bytes) as f64;
    let finished = || tallies.iter().enumerate().filter(|(_, t)| t.left == 0);
    let (copied, sized): (f64, f64) =
        finished().fold((0.0, 0.0), |(c, h), (i, _)| (c + streamed(i), h + heap(i)));
    let ratio = if copied > 0.0 && sized > 0.0 {
        copied / sized
    } else {
        1.0
    };
    let (mut done, mut expected) = (0.0, 0.0);
    let mut last: Option<(usize, f64, Duration)> = None;
    for (i, tally) in tallies.iter().enumerate() {
        let so_far = streamed(i);
        if tally.left == 0 {
            done += so_far;
            expected += so_far;
            continue;
        }
        let to_come = (heap(i) * ratio).max(so_far);
        done += so_far;
        expected += to_come;
        let forecast = tally
            .started
            .and_then(|at| crate::progress::forecast(so_far, to_come, at.elapsed()));
        if let Some((fraction, left)) = forecast {
            if last.is_none_or(|(_, _, l)| left > l) {
                last = Some((i, fraction, left));
            }
        }
    }
    let mut text = crate::progress::forecast(done, expected, started.elapsed()).map_or_else(
        String::new,
        |(fraction, left)| {
            format!(
                "; {:.0} %, ETA {}",
                fraction * 100.0,
                crate::progress::clock(left)
            )
        },
    );
    if let Some((i, fraction, left)) = last {
        if let Some(t) = shared.tables.get(i) {
            text.push_str(&format!(
                "; {} at {:.0} %, ETA {}",
                t.table.relation.qualified_name(),
                fraction * 100.0,
                crate::progress::clock(left)
            ));
        }
    }
    text
}
