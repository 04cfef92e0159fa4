//! `scry apply`: a framed CDC stream (as `scry capture` writes it) applied to a target server,
//! each source transaction once (see `scry_apply`).

use std::io::{self, Read};
use std::time::Instant;

use scry_apply::{Applier, ApplyError};
use scry_codec::frame::FrameReader;
use scry_types::Lsn;

use super::CliError;
use crate::progress::Progress;

/// Applies the stream `input` (`-`: standard input) to the server at `conninfo`, keeping
/// progress in the replication origin `origin`.
pub fn run(conninfo: &str, input: &str, origin: &str) -> Result<(), CliError> {
    let mut applier = Applier::connect(conninfo, origin).map_err(apply_error)?;
    let start = applier.progress();
    let reader: Box<dyn Read> = if input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(input).map_err(|source| CliError::Write {
                name: input.to_owned(),
                source,
            })?,
        )
    };
    crate::interrupt::install();
    let started = Instant::now();
    let mut progress = Progress::new();
    let mut events = 0u64;
    for frame in FrameReader::new(io::BufReader::with_capacity(256 * 1024, reader)) {
        if crate::interrupt::requested() && !applier.in_transaction() {
            return Err(CliError::Interrupted(summary(&applier, start, started)));
        }
        let frame = frame.map_err(|e| CliError::Load(format!("{input}: {e}")))?;
        let batch = scry_codec::read_batch_bytes(&frame.payload).map_err(|e| {
            CliError::Load(format!(
                "{input}: frame {} at byte {}: {e}",
                frame.index, frame.offset
            ))
        })?;
        for event in &batch.events {
            applier.apply(event).map_err(apply_error)?;
            events += 1;
        }
        let t = applier.totals();
        progress.show(|| {
            format!(
                "applied up to {}, {} transactions ({:.0}/s), {} already there, {events} events",
                Lsn(applier.progress()),
                t.committed,
                t.committed as f64 / started.elapsed().as_secs_f64().max(1e-9),
                t.skipped
            )
        });
    }
    if applier.in_transaction() {
        return Err(CliError::Load(format!(
            "{input} ends inside a transaction: it was rolled back; {}",
            summary(&applier, start, started)
        )));
    }
    progress.finish();
    eprintln!("{}", summary(&applier, start, started));
    Ok(())
}

fn summary(applier: &Applier, start: u64, started: Instant) -> String {
    let t = applier.totals();
    format!(
        "applied {} transaction{} ({} changes) in {:.2} s; {} already applied skipped; origin {} from {} to {}",
        t.committed,
        if t.committed == 1 { "" } else { "s" },
        t.changes,
        started.elapsed().as_secs_f64(),
        t.skipped,
        applier.origin(),
        Lsn(start),
        Lsn(applier.progress())
    )
}

fn apply_error(e: ApplyError) -> CliError {
    match e {
        ApplyError::Invalid { .. } => CliError::Load(e.to_string()),
        _ => CliError::Server {
            what: "apply".to_owned(),
            message: e.to_string(),
        },
    }
}
