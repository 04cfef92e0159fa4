//! `scry replicate`: a source's logical replication slot applied to a target as it streams,
//! in this one process (see `scry_apply::Replication`): what `scry capture --out - | scry
//! apply -` does, without the pipe, the framing and the second process. Without `--slot`,
//! it first makes what it needs on both servers and copies the tables ([`clone`]).

pub mod clone;
mod copy;
mod pauses;
mod ranges;
mod state;

use std::time::{Duration, Instant};

use scry_apply::{Applier, OnConflict, Replication, Stopped};
use scry_types::Lsn;

use super::apply::{apply_error, print_conflicts, progress_line, summary};
use super::capture::Until;
use super::CliError;
use crate::log::{Event, Level};
use crate::metrics::{Position, RunCounts};
use crate::progress::Progress;

/// What `scry replicate` streams and how it applies it.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The logical replication slot on the source (plugin pgoutput) and the publication
    /// whose tables are replicated, both made by the user; `None`: made by [`clone`], with
    /// the tables copied first.
    pub given: Option<(&'a str, &'a str)>,
    /// Without `given`: which tables, and how many connections copy them.
    pub plan: &'a clone::Plan,
    /// The replication origin that records the target's progress (by default, the one
    /// derived from the stream and the target database).
    pub origin: Option<&'a str>,
    /// What to do when the target refuses a row change because of its own state.
    pub on_conflict: OnConflict,
    /// Stop once everything committed before this is applied; without it, run until Ctrl-C.
    pub until: Option<Until>,
    /// Apply the DDL statements carried as logical messages under `scry.ddl`.
    pub ddl: bool,
    /// Once `until` is met, set the target's sequences to the source's (logical decoding
    /// does not carry them).
    pub sequences: bool,
    /// How long to keep trying again after a server restart or a dropped connection.
    pub retry: crate::retry::Retry,
    /// The heartbeat and the slot's health checks (see `crate::watch`).
    pub rails: crate::watch::Rails,
}

/// Streams the slot on the server at `source` into the server at `target`, connecting
/// again (see `crate::retry`) when a server restarts or the connection drops: each run
/// starts from what the target's origin holds, so nothing is lost or applied twice.
pub fn run(source: &str, target: &str, options: Options<'_>) -> Result<(), CliError> {
    // Ctrl-C from the start: during the set-up it stops the run at its first turn.
    crate::interrupt::install();
    // `--until now` is the source's position when the command starts, whatever the retries.
    let mut until = match options.until {
        None => Some(None),
        Some(Until::Lsn(lsn)) => Some(Some(lsn)),
        Some(Until::Now) => None,
    };
    options.retry.run(|| {
        // Before anything is made or copied: `now` is when the command started.
        let until = match until {
            Some(known) => known,
            None => {
                let mut conn = crate::pg::connect(source).map_err(|e| CliError::on("source", e))?;
                let now = scry_source::setup::current_lsn(&mut conn)
                    .map_err(|e| CliError::on("source", e.into()))?;
                until = Some(Some(now));
                Some(now)
            }
        };
        loop {
            let prepared;
            let (slot, publication, copied) = match options.given {
                Some((slot, publication)) => (slot, publication, None),
                None => {
                    prepared = clone::prepare(source, target, options.plan)?;
                    (
                        prepared.slot.as_str(),
                        prepared.publication.as_str(),
                        Some(&prepared.copied),
                    )
                }
            };
            // Ranges to copy again are copied by the next turn's `prepare`.
            if run_once(source, target, (slot, publication, copied), &options, until)? {
                return Ok(());
            }
        }
    })
}

/// The slot, the publication, and (when `replicate` copied the tables) each table's copy
/// position.
type Streamed<'a> = (&'a str, &'a str, Option<&'a scry_apply::CopyPositions>);

/// One run, up to its end or its failure; false when ranges of a table copied in ranges of
/// its key are to be copied again before the stream goes on (they are marked so on the
/// target).
fn run_once(
    source: &str,
    target: &str,
    (slot, publication, copied): Streamed<'_>,
    options: &Options<'_>,
    until: Option<u64>,
) -> Result<bool, CliError> {
    let mut replication = Replication::connect(source, slot).map_err(apply_error)?;
    if let Some(copied) = copied {
        replication = replication.skip_copied(copied.clone());
    }
    let mut applier = Applier::connect(target, replication.stream(), options.origin)
        .map_err(apply_error)?
        .on_conflict(options.on_conflict);
    let start = applier.progress();
    if options.ddl {
        replication = replication.ddl_prefix(scry_pg::capture::DDL_PREFIX);
    }

    replication.start(publication, start).map_err(apply_error)?;
    let started = Instant::now();
    let mut progress = Progress::new();
    let mut watch = crate::watch::Watch::new(source, slot, options.rails);
    let (mut counted, mut failed) = (RunCounts::default(), None);
    // `scry verify` finds and pauses only the replication whose slot `replicate SOURCE
    // TARGET` made (see `clone::derived_name`): a slot of the user's is not asked about.
    let mut pauses = match copied {
        Some(_) => Some(pauses::Pauses::new(
            target,
            replication.stream(),
            replication.pause_handle(),
        )?),
        None => None,
    };
    let stopped = loop {
        let stopped = replication
            .run(&mut applier, until, |applier, replication| {
                print_conflicts(applier, &mut progress);
                let lag = Lag::of(replication, applier);
                if let Some(metrics) = crate::metrics::get() {
                    metrics.count(&mut counted, counts(applier, replication));
                    metrics.position(Position {
                        lag_bytes: lag.bytes,
                        lag_seconds: lag.seconds,
                        applied: applier.progress(),
                        confirmed: replication.confirmed(),
                    });
                }
                progress.show(|| format!("{}; {lag}", progress_line(applier, started)));
                let turned = watch
                    .turn()
                    .and_then(|()| pauses.as_mut().map_or(Ok(()), pauses::Pauses::turn));
                if let Err(e) = turned {
                    failed = Some(e);
                    return false;
                }
                !crate::interrupt::requested()
            })
            .map_err(apply_error)?;
        if stopped != Stopped::Paused || failed.is_some() {
            break stopped;
        }
        if let Some(pauses) = pauses.as_mut() {
            pauses.hold(&mut replication, &applier)?;
        }
    };
    if let Some(e) = failed {
        progress.finish();
        return Err(e);
    }
    print_conflicts(&mut applier, &mut progress);
    progress.finish();
    if let (Stopped::Recopy, Some(recopy)) = (stopped, replication.recopy()) {
        let mut tgt = crate::pg::connect(target).map_err(|e| CliError::on("target", e))?;
        ranges::mark_recopy(&mut tgt, replication.stream(), recopy)?;
        Event::new(
            Level::Warn,
            "recopy",
            format!(
                "{}.{}: an UPDATE moved a row into a key range copied before it, from one \
                 copied after it, so the new row's unchanged values are not on the target \
                 (or a TRUNCATE came between the copies of its ranges): copying range{} {} \
                 again in a new snapshot, then going on",
                recopy.schema,
                recopy.table,
                if recopy.ranges.len() == 1 { "" } else { "s" },
                recopy
                    .ranges
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .emit();
        return Ok(false);
    }
    if options.sequences && stopped == Stopped::Until {
        let values = super::capture::sequences(&mut crate::pg::connect(source)?)?;
        applier.sync_sequences(&values).map_err(apply_error)?;
    }
    // The slot is confirmed up to the last transactions once the target has them durably.
    // (A target that has not answered is not waited for: see `Replication::run`.)
    if stopped != Stopped::Ended && applier.queued() == 0 {
        replication
            .settle(&mut applier, Duration::from_secs(2))
            .map_err(apply_error)?;
    }
    let passed_over = match replication.skipped_copied() {
        0 => String::new(),
        n => format!("; {n} changes passed over, their tables' copies having them"),
    };
    let done = format!(
        "{}{passed_over}; slot {} confirmed to {}",
        summary(&applier, start, started),
        slot,
        Lsn(replication.confirmed())
    );
    match stopped {
        Stopped::Asked => Err(CliError::Interrupted(done)),
        Stopped::Ended => Err(CliError::Lost {
            what: "source".to_owned(),
            message: format!(
                "the server ended the replication stream (shutting down, or its walsender \
                 was stopped): {done}"
            ),
        }),
        Stopped::Until | Stopped::Recopy | Stopped::Paused => {
            Event::new(Level::Info, "summary", done).emit();
            Ok(true)
        }
    }
}

/// What a run has counted, for the metrics.
fn counts(applier: &Applier, replication: &Replication) -> RunCounts {
    let t = applier.totals();
    RunCounts {
        transactions: t.committed,
        changes: t.changes,
        received_bytes: replication.bytes_received(),
        conflicts: t.conflicts,
    }
}

/// How far the target is behind: the WAL the source has sent that the target has not
/// committed ([`Replication::lag_bytes`]), and, while that is not nothing, the time since
/// the source committed the last transaction the target has.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Lag {
    bytes: u64,
    seconds: f64,
}

impl Lag {
    fn of(replication: &Replication, applier: &Applier) -> Self {
        let bytes = replication.lag_bytes(applier);
        let seconds = match (bytes, applier.last_commit_time_us()) {
            (0, _) | (_, 0) => 0.0,
            (_, t) => {
                let now_us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
                now_us.saturating_sub(t) as f64 / 1e6
            }
        };
        Self { bytes, seconds }
    }
}

impl std::fmt::Display for Lag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lag {} bytes, {:.1} s", self.bytes, self.seconds)
    }
}
