//! Progress on standard error, only when standard error is a terminal (so that redirected
//! or piped stderr never sees it; the events between are `crate::log`'s): of reading a long framed stream, and of the tables of
//! `snapshot` and `load` (rows, bytes, rate, the table at work).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Nothing is shown for work done faster than this.
const SHOW_AFTER: Duration = Duration::from_millis(500);
/// The shortest time between two updates.
const EVERY: Duration = Duration::from_millis(200);

/// A one-line display that redraws itself with `\r`.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A display, inactive unless standard error is a terminal (and the events are not
    /// written as JSON).
    pub fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal() && !crate::log::is_json(),
            started: Instant::now(),
            last: None,
        }
    }

    /// Redraws the line with `line()` when due (`line` is not called otherwise).
    pub fn show(&mut self, line: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.started) < SHOW_AFTER
            || self
                .last
                .is_some_and(|last| now.duration_since(last) < EVERY)
        {
            return;
        }
        self.last = Some(now);
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a failing stderr must not fail the command.
        let _ = write!(err, "\r\x1b[K{}", line());
        let _ = err.flush();
    }

    /// Writes `event` on standard error (see `crate::log`), above the display.
    pub fn emit(&mut self, event: crate::log::Event) {
        self.finish();
        event.emit();
    }

    /// Clears the line, if anything was shown.
    pub fn finish(&mut self) {
        if self.last.take().is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The progress of reading one input of `total` bytes (when known).
#[derive(Debug)]
pub struct ReadProgress {
    display: Progress,
    name: String,
    total: Option<u64>,
}

impl ReadProgress {
    /// The display for reading `name`.
    pub fn new(name: &str, total: Option<u64>) -> Self {
        Self {
            display: Progress::new(),
            name: name.to_owned(),
            total,
        }
    }

    /// Notes that `bytes` bytes and `frames` frames have been read; redraws when due.
    pub fn update(&mut self, bytes: u64, frames: u64) {
        let (name, total) = (&self.name, self.total);
        self.display.show(|| read_line(name, total, bytes, frames));
    }

    /// Clears the line, if anything was shown.
    pub fn finish(&mut self) {
        self.display.finish();
    }
}

/// `87.9 of 285.1 MiB (31 %)`, or `87.9 MiB` when the total is not known.
fn share(bytes: u64, total: Option<u64>) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    match total {
        Some(total) if total > 0 => format!(
            "{:.1} of {:.1} MiB ({:.0} %)",
            mib(bytes),
            mib(total),
            bytes as f64 * 100.0 / total as f64
        ),
        _ => format!("{:.1} MiB", mib(bytes)),
    }
}

/// The reading line: `big.scry: 87.9 of 285.1 MiB (31 %), 185 frames`.
fn read_line(name: &str, total: Option<u64>, bytes: u64, frames: u64) -> String {
    format!("{name}: {}, {frames} frames", share(bytes, total))
}

/// Where a table-by-table job (`snapshot`, `load`) is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tables<'a> {
    /// Tables done.
    pub done: u64,
    /// Tables in all, when known.
    pub total: Option<u64>,
    /// Rows done, of every table.
    pub rows: u64,
    /// Bytes moved (written by `snapshot`, read by `load`).
    pub bytes: u64,
    /// The total of `bytes`, when known (the size of `load`'s input file).
    pub total_bytes: Option<u64>,
    /// The table at work and its rows so far.
    pub current: Option<(&'a str, u64)>,
}

impl Tables<'_> {
    /// The line after `elapsed`: `3 of 12 tables, 1250000 rows (415000 rows/s),
    /// 87.9 MiB (29.3 MB/s); public.narrow: 250000 rows`.
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let tables = match self.total {
            Some(total) => format!("{} of {total} tables", self.done),
            None => format!("{} tables", self.done),
        };
        let mut line = format!(
            "{tables}, {} rows ({:.0} rows/s), {} ({:.1} MB/s)",
            self.rows,
            self.rows as f64 / secs,
            share(self.bytes, self.total_bytes),
            self.bytes as f64 / 1e6 / secs
        );
        if let Some((name, rows)) = self.current {
            line.push_str(&format!("; {name}: {rows} rows"));
        }
        line
    }
}

/// How far work of about `expected` units is with `done` of them done after `elapsed`, and
/// how long the rest takes at the pace so far: `None` until a hundredth is done (a pace
/// from less says little).
pub fn forecast(done: f64, expected: f64, elapsed: Duration) -> Option<(f64, Duration)> {
    if expected <= 0.0 {
        return None;
    }
    let fraction = (done / expected).clamp(0.0, 1.0);
    if fraction < 0.01 {
        return None;
    }
    let left = elapsed.as_secs_f64() * (1.0 - fraction) / fraction;
    Some((fraction, Duration::from_secs_f64(left.min(1e9))))
}

/// A duration as a person reads it: `42 s`, `3 min 05 s`, `2 h 07 min`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forecast_takes_the_pace_so_far() {
        // A quarter in 10 s: three quarters more take 30 s.
        assert_eq!(
            forecast(25.0, 100.0, Duration::from_secs(10)),
            Some((0.25, Duration::from_secs(30)))
        );
        assert_eq!(forecast(0.5, 100.0, Duration::from_secs(10)), None);
        assert_eq!(forecast(1.0, 0.0, Duration::from_secs(10)), None);
        assert_eq!(
            forecast(120.0, 100.0, Duration::from_secs(10)),
            Some((1.0, Duration::ZERO))
        );
        assert_eq!(clock(Duration::from_secs(42)), "42 s");
        assert_eq!(clock(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(clock(Duration::from_secs(7620)), "2 h 07 min");
    }

    #[test]
    fn reading_lines_show_bytes_share_and_frames() {
        assert_eq!(
            read_line("big.scry", Some(4 << 20), 1 << 20, 7),
            "big.scry: 1.0 of 4.0 MiB (25 %), 7 frames"
        );
        assert_eq!(read_line("-", None, 3 << 19, 2), "-: 1.5 MiB, 2 frames");
        assert_eq!(read_line("-", Some(0), 0, 0), "-: 0.0 MiB, 0 frames");
    }

    #[test]
    fn table_lines_show_counts_rates_and_the_table_at_work() {
        let at = Tables {
            done: 3,
            total: Some(12),
            rows: 1_250_000,
            bytes: 50 << 20,
            total_bytes: None,
            current: Some(("public.narrow", 250_000)),
        };
        assert_eq!(
            at.line(Duration::from_secs(2)),
            "3 of 12 tables, 1250000 rows (625000 rows/s), 50.0 MiB (26.2 MB/s); \
             public.narrow: 250000 rows"
        );
        let load = Tables {
            done: 0,
            total: None,
            rows: 0,
            bytes: 1 << 20,
            total_bytes: Some(4 << 20),
            current: None,
        };
        assert_eq!(
            load.line(Duration::from_millis(500)),
            "0 tables, 0 rows (0 rows/s), 1.0 of 4.0 MiB (25 %) (2.1 MB/s)"
        );
    }

    #[test]
    fn nothing_is_drawn_for_fast_work() {
        let mut p = Progress::new();
        p.enabled = true;
        let mut called = false;
        p.show(|| {
            called = true;
            String::new()
        });
        assert!(!called);
        assert_eq!(p.last, None);
    }
}
