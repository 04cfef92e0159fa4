//! Comparing at one position while a replication runs: the source read in a snapshot
//! taken with a temporary slot (its consistent point `P` says exactly which transactions
//! it holds), and the target read while the `scry replicate` that follows it is paused
//! before the first transaction committed at or after `P` (`scry.pauses`; see
//! `crate::commands::replicate`). Both then hold the same transactions, and any difference
//! is one. So that the stream cannot pass `P` while the snapshot is taken, it is first
//! paused before its next transaction, then let go up to `P`. The replication resumes as
//! soon as the target's snapshot is taken.

use std::time::{Duration, Instant};

use scry_apply::{pauses, Pause};
use scry_conn::Conn;
use scry_types::Lsn;

use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;

/// How long the replication is waited for to pause, each time.
const WAIT: Duration = Duration::from_secs(30);

fn on<'a>(side: &'static str, what: &'a str) -> impl Fn(scry_conn::WireError) -> CliError + 'a {
    move |e| CliError::on(side, pg::server_error(what, &e))
}

/// When `scry replicate SOURCE TARGET` follows the source into the target now, puts `src`
/// and `tgt` into read-only transactions at one position and returns it; `None` when no
/// such replication runs, or it did not pause in time (the servers are then compared as
/// they are, in rounds).
pub fn freeze(
    source: &str,
    target: &str,
    src: &mut Conn,
    tgt: &mut Conn,
) -> Result<Option<u64>, CliError> {
    let slot = crate::commands::replicate::clone::derived_name(tgt)?;
    let active = pg::first_row(
        src,
        "SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = $1), false)",
        &[Some(&slot)],
        "source: cannot read pg_replication_slots",
    )?;
    let paused_table = pg::first_row(
        tgt,
        "SELECT to_regclass('scry.pauses') IS NOT NULL",
        &[],
        "target: cannot look for scry.pauses",
    )?;
    if !pg::flag(&active, 0) || !pg::flag(&paused_table, 0) {
        return Ok(None);
    }
    let (system, database) =
        scry_source::catalog::identity(src).map_err(|e| CliError::on("source", e.into()))?;
    let stream = scry_apply::stream_identity(&system, &database, &slot);
    let mut asker = Asker {
        conn: pg::connect(target).map_err(|e| CliError::on("target", e))?,
        stream,
        asked: Instant::now(),
    };
    // First the stream stops before its next transaction, so that it cannot pass the
    // snapshot's position while the snapshot is taken; then it goes on up to that position.
    asker.ask(Pause::NEXT)?;
    let paused = match asker.paused(Pause::NEXT)? {
        Some(_) => {
            let exported = scry_source::setup::snapshot_at_position(
                source,
                &format!("scry_verify_{}", std::process::id()),
            )
            .map_err(|e| CliError::on("source", e.into()))?;
            src.simple(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
                scry_pg::text::quote_literal(&exported.snapshot)
            ))
            .map_err(on("source", "cannot read in the exported snapshot"))?;
            let at = exported.consistent_point;
            drop(exported);
            asker.ask(at)?;
            asker.paused(at)?.map(|held| (at, held))
        }
        None => None,
    };
    if paused.is_some() {
        tgt.simple("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1")
            .map_err(on("target", "cannot take a snapshot"))?;
    }
    asker.withdraw()?;
    let asked = asker.asked;
    // Exact only when the target holds no transaction committed at or after the position.
    match paused {
        Some((at, held)) if held <= at => {
            let at_text = Lsn(at).to_string();
            Event::new(
                Level::Info,
                "position",
                format!(
                    "comparing at source position {at_text}: the replication paused there \
                     ({:.2} s in all)",
                    asked.elapsed().as_secs_f64()
                ),
            )
            .field("position", at_text)
            .emit();
            Ok(Some(at))
        }
        _ => {
            let _ = src.simple("ROLLBACK");
            let _ = tgt.simple("ROLLBACK");
            Event::new(
                Level::Warn,
                "position",
                format!(
                    "the replication did not pause within {} s: comparing the servers as they \
                     are, in rounds",
                    WAIT.as_secs()
                ),
            )
            .emit();
            Ok(None)
        }
    }
}

/// The stream's pause requests, on a connection of their own.
struct Asker {
    conn: Conn,
    stream: String,
    asked: Instant,
}

impl Asker {
    /// Asks for a pause at `at` (a position, or [`Pause::NEXT`]).
    fn ask(&mut self, at: u64) -> Result<(), CliError> {
        pauses::request(&mut self.conn, &self.stream, at)
            .map_err(on("target", "cannot ask for a pause in scry.pauses"))
    }

    /// Waits ([`WAIT`] at most) for the pause at `at`; the target's progress then.
    fn paused(&mut self, at: u64) -> Result<Option<u64>, CliError> {
        let started = Instant::now();
        loop {
            let answer = pauses::answered(&mut self.conn, &self.stream, at)
                .map_err(on("target", "cannot read scry.pauses"))?;
            if answer.is_some() || started.elapsed() >= WAIT || crate::interrupt::requested() {
                return Ok(answer);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Withdraws the request: the stream goes on.
    fn withdraw(&mut self) -> Result<(), CliError> {
        pauses::withdraw(&mut self.conn, &self.stream)
            .map_err(on("target", "cannot withdraw the pause from scry.pauses"))
    }
}
