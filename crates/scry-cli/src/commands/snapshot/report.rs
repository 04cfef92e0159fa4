//! What `scry snapshot` tells its user: progress on a terminal, a line per table, the
//! summary.

use std::time::{Duration, Instant};

use scry_pg::snapshot::TableSummary;

use crate::commands::CliError;
use crate::log::{Event, Level};
use crate::pg;
use crate::progress::{Progress, Tables};

/// The tables written so far, and the display.
#[derive(Debug)]
pub struct Report {
    display: Progress,
    started: Instant,
    tables: usize,
    done: u64,
    rows: u64,
    bytes: u64,
}

impl Report {
    /// The report of a snapshot of `tables` tables.
    pub fn new(tables: usize) -> Self {
        Self {
            display: Progress::new(),
            started: Instant::now(),
            tables,
            done: 0,
            rows: 0,
            bytes: 0,
        }
    }

    /// `name` is being written: `rows` rows and `bytes` bytes of it so far.
    pub fn at_work(&mut self, name: &str, rows: u64, bytes: u64) {
        let at = Tables {
            done: self.done,
            total: Some(self.tables as u64),
            rows: self.rows + rows,
            bytes: self.bytes + bytes,
            total_bytes: None,
            current: Some((name, rows)),
        };
        let elapsed = self.started.elapsed();
        self.display.show(|| at.line(elapsed));
    }

    /// `name` is written whole, in `took`.
    pub fn table_done(&mut self, name: &str, summary: &TableSummary, took: Duration) {
        self.done += 1;
        self.rows += summary.rows;
        self.bytes += summary.encoded_bytes;
        let line = format!(
            "{name}: {} rows, {} batches, {} bytes of COPY → {} bytes written in {:.2} s",
            summary.rows,
            summary.batches,
            summary.copy_bytes,
            summary.encoded_bytes,
            took.as_secs_f64()
        );
        self.display.emit(
            Event::new(Level::Info, "table", line)
                .field("table", name)
                .field("rows", summary.rows)
                .field("bytes", summary.encoded_bytes)
                .field("seconds", took.as_secs_f64()),
        );
    }

    /// The error after a stop on Ctrl-C while `name` was being written.
    pub fn interrupted(&self, name: &str) -> CliError {
        CliError::Interrupted(format!(
            "{} tables ({} rows) written whole, then the first batches of {name} (without \
             its SnapshotEnd); the output ends after the last whole frame",
            self.done, self.rows
        ))
    }

    /// Prints the summary line.
    pub fn summary(&mut self, lsn: u64, jobs: usize) {
        let secs = self.started.elapsed().as_secs_f64();
        let over = if jobs > 1 {
            format!(" over {jobs} connections")
        } else {
            String::new()
        };
        let line = format!(
            "snapshot at LSN {}: {} tables, {} rows, {} bytes in {secs:.2} s ({:.1} MB/s){over}{}",
            scry_types::Lsn(lsn),
            self.done,
            self.rows,
            self.bytes,
            self.bytes as f64 / 1e6 / secs.max(1e-9),
            pg::peak_rss_note()
        );
        self.display.emit(
            Event::new(Level::Info, "summary", line)
                .field("tables", self.done)
                .field("rows", self.rows)
                .field("bytes", self.bytes)
                .field("seconds", secs),
        );
    }
}
