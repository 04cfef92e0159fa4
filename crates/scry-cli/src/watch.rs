//! The guard rails of a long replication: while `replicate` streams, a second (ordinary)
//! connection to the source reads the slot's health every [`CHECK_EVERY`] and, with
//! `--heartbeat`, writes the heartbeat at that interval.
//!
//! - The retained WAL crossing `--warn-retained` is warned of (again once it has fallen
//!   below and crossed anew), and so is every change of the slot's `wal_status` away from
//!   `reserved` (and the return to it).
//! - A lost slot ends the command with what it means and what to run next: its changes can
//!   no longer be read, so retrying is no use.
//! - With `--metrics`, the slot's figures go to the metrics.

use std::time::{Duration, Instant};

use scry_conn::Conn;
use scry_source::slots::{self, SlotState};

use crate::commands::CliError;
use crate::log::{Event, Level};

/// How often the slot's health is read.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

/// What to watch, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rails {
    /// Write the heartbeat this often (`--heartbeat`).
    pub heartbeat: Option<Duration>,
    /// Warn when the slot retains more WAL than this, in bytes (`--warn-retained`).
    pub warn_retained: u64,
}

/// The watcher of one slot; see the module's documentation.
pub struct Watch {
    source: String,
    slot: String,
    rails: Rails,
    conn: Option<Conn>,
    last_check: Option<Instant>,
    last_beat: Option<Instant>,
    /// The last state warned of, so that each warning is said once.
    over: bool,
    wal_status: Option<String>,
}

impl Watch {
    /// A watcher of `slot` on the server at `source`; it connects at its first turn.
    pub fn new(source: &str, slot: &str, rails: Rails) -> Self {
        Self {
            source: source.to_owned(),
            slot: slot.to_owned(),
            rails,
            conn: None,
            last_check: None,
            last_beat: None,
            over: false,
            wal_status: Some("reserved".to_owned()),
        }
    }

    /// Does what is due: the heartbeat, the slot's health. Cheap when nothing is.
    ///
    /// # Errors
    /// [`CliError::Lost`] when the source cannot be reached (the run is retried);
    /// [`CliError::Server`] when the slot is lost or gone.
    pub fn turn(&mut self) -> Result<(), CliError> {
        let due =
            |last: Option<Instant>, every: Duration| last.is_none_or(|t| t.elapsed() >= every);
        let beat = self
            .rails
            .heartbeat
            .is_some_and(|every| due(self.last_beat, every));
        let check = due(self.last_check, CHECK_EVERY);
        if !beat && !check {
            return Ok(());
        }
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self
                .conn
                .insert(crate::pg::connect(&self.source).map_err(|e| CliError::on("source", e))?),
        };
        if beat {
            self.last_beat = Some(Instant::now());
            slots::heartbeat(conn).map_err(|e| CliError::on("source", e.into()))?;
        }
        if check {
            self.last_check = Some(Instant::now());
            let state = slots::slots(conn, Some(&self.slot))
                .map_err(|e| CliError::on("source", e.into()))?
                .into_iter()
                .next()
                .ok_or_else(|| CliError::Server {
                    what: "source".into(),
                    message: format!(
                        "replication slot {} was dropped while it was streamed",
                        self.slot
                    ),
                })?;
            self.check(&state)?;
        }
        Ok(())
    }

    /// Warns of what changed in the slot's health; a lost slot is the command's end.
    fn check(&mut self, state: &SlotState) -> Result<(), CliError> {
        if let Some(metrics) = crate::metrics::get() {
            metrics.slot(state);
        }
        if state.is_lost() {
            return Err(CliError::Server {
                what: "source".into(),
                message: format!(
                    "replication slot {}: {}",
                    self.slot,
                    slots::lost_slot_advice(&self.slot)
                ),
            });
        }
        let retained = state
            .retained_bytes
            .map_or(0, |b| u64::try_from(b).unwrap_or(0));
        let over = retained > self.rails.warn_retained;
        if over && !self.over {
            Event::new(
                Level::Warn,
                "slot",
                format!(
                    "slot {} retains {} of WAL on the source, over --warn-retained {}: the \
                     target is behind, or the slot is not being confirmed",
                    self.slot,
                    size(retained),
                    size(self.rails.warn_retained)
                ),
            )
            .field("slot", self.slot.clone())
            .field("retained_bytes", retained)
            .emit();
        }
        self.over = over;
        if state.wal_status != self.wal_status {
            let status = state.wal_status.as_deref().unwrap_or("unknown");
            let (level, meaning) = match status {
                "reserved" => (Level::Info, "the WAL it needs is within max_wal_size again"),
                "extended" => (
                    Level::Warn,
                    "it retains more WAL than max_wal_size; the server keeps it for the slot",
                ),
                _ => (
                    Level::Warn,
                    "the server will remove WAL the slot still needs at the next checkpoint \
                     unless the slot catches up (max_slot_wal_keep_size)",
                ),
            };
            let safe = state.safe_wal_size.map_or_else(String::new, |b| {
                format!("; {} until lost", size(b.max(0) as u64))
            });
            Event::new(
                level,
                "slot",
                format!("slot {}: wal_status {status}: {meaning}{safe}", self.slot),
            )
            .field("slot", self.slot.clone())
            .field("wal_status", status)
            .field("safe_wal_size", state.safe_wal_size)
            .emit();
            self.wal_status = state.wal_status.clone();
        }
        Ok(())
    }
}

/// Bytes as a person reads them.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / f64::from(1u32 << 20)),
        b => format!("{:.1} kB", b as f64 / 1024.0),
    }
}

/// A size (`--warn-retained`, `--split-larger-than`): bytes, or a number with `kB`, `MB`, `GB` or `TB` (powers of
/// 1024, as PostgreSQL's settings count them).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (1GB, 512MB, 1073741824)"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "kB" | "KB" => 10,
        "MB" => 20,
        "GB" => 30,
        "TB" => 40,
        _ => return Err(format!("{text:?}: the unit is kB, MB, GB or TB")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_postgresql_counts_them() {
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("512MB"), Ok(512 << 20));
        assert_eq!(parse_size("64kB"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("1 GiB").is_err());
        assert!(parse_size("GB").is_err());
        assert!(parse_size("99999999999TB").is_err());
    }

    fn slot(retained: i64, wal_status: &str) -> SlotState {
        SlotState {
            name: "s".into(),
            plugin: "pgoutput".into(),
            active_pid: None,
            confirmed: None,
            wal: 0,
            lag_bytes: None,
            retained_bytes: Some(retained),
            wal_status: Some(wal_status.into()),
            safe_wal_size: None,
        }
    }

    #[test]
    fn a_lost_slot_ends_the_run_with_what_to_do() {
        let rails = Rails {
            heartbeat: None,
            warn_retained: 1 << 20,
        };
        let mut w = Watch::new("host=nowhere", "s", rails);
        assert!(w.check(&slot(10, "reserved")).is_ok());
        assert!(!w.over);
        assert!(w.check(&slot(2 << 20, "extended")).is_ok());
        assert!(w.over, "crossing the threshold is remembered");
        assert_eq!(w.wal_status.as_deref(), Some("extended"));
        let e = w.check(&slot(2 << 20, "lost")).expect_err("lost");
        assert!(matches!(e, CliError::Server { .. }));
        assert!(
            e.to_string().contains("scry drop SOURCE TARGET --slot s"),
            "{e}"
        );
    }
}
