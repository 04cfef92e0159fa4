//! `scry verify`'s requests that this running replication pause at a position
//! (`scry.pauses` on the target): asked every quarter second between transactions, the
//! pause is made by `scry_apply::Replication` (every transaction before the position
//! applied, none after), answered with the target's progress, and held until the request is
//! withdrawn or [`LONGEST`] has passed.

use std::time::{Duration, Instant};

use scry_apply::{pauses, Applier, Pause, Replication};
use scry_conn::Conn;
use scry_types::Lsn;

use crate::commands::apply::apply_error;
use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;

/// How often the target is asked for a request.
const EVERY: Duration = Duration::from_millis(250);

/// The longest a pause is held, whatever the request says.
pub const LONGEST: Duration = Duration::from_secs(120);

/// The requests of one stream.
pub(super) struct Pauses {
    conn: Conn,
    stream: String,
    handle: Pause,
    asked: Instant,
}

fn on_target(what: &str, e: &scry_conn::WireError) -> CliError {
    CliError::on("target", pg::server_error(what, e))
}

impl Pauses {
    /// A connection of its own to the target, for the requests of `stream`.
    pub(super) fn new(target: &str, stream: &str, handle: Pause) -> Result<Self, CliError> {
        Ok(Self {
            conn: pg::connect(target).map_err(|e| CliError::on("target", e))?,
            stream: stream.to_owned(),
            handle,
            asked: Instant::now(),
        })
    }

    /// Between transactions: a request, when there is one, becomes the pause position.
    pub(super) fn turn(&mut self) -> Result<(), CliError> {
        if self.asked.elapsed() < EVERY || self.handle.get().is_some() {
            return Ok(());
        }
        self.asked = Instant::now();
        let asked = pauses::unanswered(&mut self.conn, &self.stream)
            .map_err(|e| on_target("cannot read scry.pauses", &e))?;
        if asked.is_some() {
            self.handle.at(asked);
        }
        Ok(())
    }

    /// Once paused: says so with the target's progress, and holds the stream (the source
    /// told that it is alive) until the request changes: withdrawn (the pause is lifted), or
    /// moved to another position (the stream goes on up to it).
    pub(super) fn hold(
        &mut self,
        replication: &mut Replication,
        applier: &Applier,
    ) -> Result<(), CliError> {
        let at = self.handle.get().unwrap_or(0);
        let progress = Lsn(applier.progress()).to_string();
        let at_text = Lsn(at).to_string();
        pauses::answer(&mut self.conn, &self.stream, at, applier.progress())
            .map_err(|e| on_target("cannot answer in scry.pauses", &e))?;
        let before = if at == Pause::NEXT {
            "the next transaction".to_owned()
        } else {
            at_text.clone()
        };
        Event::new(
            Level::Info,
            "pause",
            format!("paused before {before} for scry verify (the target holds {progress})"),
        )
        .emit();
        let started = Instant::now();
        let next = loop {
            std::thread::sleep(Duration::from_millis(20));
            replication.keep_alive().map_err(apply_error)?;
            let now = pauses::requested(&mut self.conn, &self.stream)
                .map_err(|e| on_target("cannot read scry.pauses", &e))?;
            if now != Some(at) || crate::interrupt::requested() {
                break now.filter(|_| !crate::interrupt::requested());
            }
            if started.elapsed() >= LONGEST {
                Event::new(
                    Level::Warn,
                    "pause",
                    format!(
                        "the pause before {before} was held {} s, as long as it may be: going on",
                        LONGEST.as_secs()
                    ),
                )
                .emit();
                let _ = pauses::withdraw(&mut self.conn, &self.stream);
                break None;
            }
        };
        self.handle.at(next);
        Ok(())
    }
}
