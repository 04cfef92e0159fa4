//! `scry replicate`: a source's logical replication slot applied to a target as it streams,
//! in this one process (see `scry_apply::Replication`): what `scry capture --out - | scry
//! apply -` does, without the pipe, the framing and the second process.

use std::time::{Duration, Instant};

use scry_apply::{Applier, OnConflict, Replication, Stopped};
use scry_types::Lsn;

use super::apply::{apply_error, print_conflicts, progress_line, summary};
use super::capture::Until;
use super::CliError;
use crate::progress::Progress;

/// What `scry replicate` streams and how it applies it.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The logical replication slot on the source (plugin pgoutput).
    pub slot: &'a str,
    /// The publication whose tables are replicated.
    pub publication: &'a str,
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
    options
        .retry
        .run(|| run_once(source, target, &options, &mut until))
}

/// One run, up to its end or its failure; `until` is set the first time it is known.
fn run_once(
    source: &str,
    target: &str,
    options: &Options<'_>,
    until: &mut Option<Option<u64>>,
) -> Result<(), CliError> {
    let mut replication = Replication::connect(source, options.slot).map_err(apply_error)?;
    let mut applier = Applier::connect(target, replication.stream(), options.origin)
        .map_err(apply_error)?
        .on_conflict(options.on_conflict);
    let start = applier.progress();
    if options.ddl {
        replication = replication.ddl_prefix(scry_pg::capture::DDL_PREFIX);
    }
    let until = match *until {
        Some(known) => known,
        None => {
            let now = Some(replication.current_position().map_err(apply_error)?);
            *until = Some(now);
            now
        }
    };
    replication
        .start(options.publication, start)
        .map_err(apply_error)?;
    let started = Instant::now();
    let mut progress = Progress::new();
    let stopped = replication
        .run(&mut applier, until, |applier, received| {
            print_conflicts(applier, &mut progress);
            progress.show(|| {
                format!(
                    "{}; {}",
                    progress_line(applier, started),
                    lag(received, applier)
                )
            });
            !crate::interrupt::requested()
        })
        .map_err(apply_error)?;
    print_conflicts(&mut applier, &mut progress);
    progress.finish();
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
    let done = format!(
        "{}; slot {} confirmed to {}",
        summary(&applier, start, started),
        options.slot,
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
        Stopped::Until => {
            eprintln!("{done}");
            Ok(())
        }
    }
}

/// How far the target is behind: the WAL the source has sent past what the target has
/// committed, and the time since the last committed transaction's source commit.
fn lag(received: u64, applier: &Applier) -> String {
    let bytes = received.saturating_sub(applier.progress());
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    let seconds = match applier.last_commit_time_us() {
        0 => String::new(),
        t => format!(
            ", last commit {:.1} s ago",
            now_us.saturating_sub(t) as f64 / 1e6
        ),
    };
    format!("lag {bytes} bytes{seconds}")
}
