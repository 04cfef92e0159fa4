//! What `scry load` tells its user: progress on a terminal, a line per table, what was
//! skipped, the summary.

use std::time::{Duration, Instant};

use crate::log::{Event, Level};
use crate::pg;
use crate::progress::{Progress, Tables};

/// `1 table`, `2 tables`.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The tables loaded so far, what was skipped, and the display.
#[derive(Debug)]
pub struct Report {
    display: Progress,
    started: Instant,
    total_bytes: Option<u64>,
    /// Tables loaded.
    pub done: u64,
    /// Rows loaded, of every table.
    pub rows: u64,
    /// The damaged places, as the errors named them.
    pub damaged: Vec<String>,
    /// The tables not loaded because a frame of theirs was damaged.
    pub not_loaded: Vec<String>,
    /// Events skipped because they are not inside a table's snapshot (their table's
    /// `SnapshotBegin` was lost, or they are not snapshot events).
    pub stray_events: u64,
    /// Tables whose snapshot began in the stream.
    pub tables_seen: u64,
    /// Tables passed over: the target records their load from the same snapshot.
    pub skipped: u64,
}

impl Report {
    /// The report of loading an input of `total_bytes` (when known).
    pub fn new(total_bytes: Option<u64>) -> Self {
        Self {
            display: Progress::new(),
            started: Instant::now(),
            total_bytes,
            done: 0,
            rows: 0,
            damaged: Vec::new(),
            not_loaded: Vec::new(),
            stray_events: 0,
            tables_seen: 0,
            skipped: 0,
        }
    }

    /// `name` is being loaded, `rows` rows of it so far, `offset` bytes of input read.
    pub fn at_work(&mut self, name: &str, rows: u64, offset: u64) {
        let at = Tables {
            done: self.done,
            total: None,
            rows: self.rows + rows,
            bytes: offset,
            total_bytes: self.total_bytes,
            current: Some((name, rows)),
        };
        let elapsed = self.started.elapsed();
        self.display.show(|| at.line(elapsed));
    }

    /// `name` is loaded: `rows` rows in `took`.
    pub fn table_done(&mut self, name: &str, rows: u64, took: Duration) {
        self.done += 1;
        self.rows += rows;
        self.display.emit(
            Event::new(
                Level::Info,
                "table",
                format!("{name}: {rows} rows in {:.2} s", took.as_secs_f64()),
            )
            .field("table", name)
            .field("rows", rows)
            .field("seconds", took.as_secs_f64()),
        );
    }

    /// `name` is passed over: the target records its load from the snapshot at `position`.
    pub fn table_skipped(&mut self, name: &str, position: u64) {
        self.skipped += 1;
        self.display.emit(
            Event::new(
                Level::Info,
                "table",
                format!(
                    "{name}: already loaded from this snapshot (at {}), skipped",
                    scry_types::Lsn(position)
                ),
            )
            .field("table", name)
            .field("skipped", true),
        );
    }

    /// A damaged frame was skipped, inside the snapshot of `table` (rolled back) or
    /// outside any.
    pub fn damaged(&mut self, table: Option<&str>, what: &str) {
        let line = match table {
            Some(name) => {
                self.not_loaded.push(name.to_owned());
                format!("{name}: not loaded (rolled back): {what}; skipping to the next good frame")
            }
            None => format!("skipping to the next good frame: {what}"),
        };
        self.display.emit(
            Event::new(Level::Warn, "damaged", line)
                .field("table", table)
                .field("error", what),
        );
        self.damaged.push(what.to_owned());
    }

    /// Prints the summary line, with what was skipped.
    pub fn summary(&mut self, bytes_skipped: u64) {
        let mut line = format!(
            "loaded {} tables, {} rows in {:.2} s",
            self.done,
            self.rows,
            self.started.elapsed().as_secs_f64(),
        );
        if self.skipped > 0 {
            line.push_str(&format!(
                "; {} already loaded skipped",
                count(self.skipped as usize, "table")
            ));
        }
        if !self.damaged.is_empty() {
            line.push_str(&format!(
                "; skipped {} ({bytes_skipped} bytes)",
                count(self.damaged.len(), "damaged frame")
            ));
        }
        if !self.not_loaded.is_empty() {
            line.push_str(&format!("; not loaded: {}", self.not_loaded.join(", ")));
        }
        if self.stray_events > 0 {
            line.push_str(&format!(
                "; {} events outside any table's snapshot skipped",
                self.stray_events
            ));
        }
        line.push_str(&pg::peak_rss_note());
        self.display.emit(
            Event::new(Level::Info, "summary", line)
                .field("tables", self.done)
                .field("rows", self.rows),
        );
    }
}
