//! Progress of reading a long framed stream, on standard error, only when standard error is
//! a terminal (so that redirected or piped stderr never sees it).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Nothing is shown for inputs read faster than this.
const SHOW_AFTER: Duration = Duration::from_millis(500);
/// The shortest time between two updates.
const EVERY: Duration = Duration::from_millis(200);

/// A one-line progress display that redraws itself with `\r`.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    name: String,
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A display for reading `name`, of `total` bytes when known; inactive unless standard
    /// error is a terminal.
    pub fn new(name: &str, total: Option<u64>) -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            name: name.to_owned(),
            total,
            started: Instant::now(),
            last: None,
        }
    }

    /// Notes that `bytes` bytes and `frames` frames have been read; redraws when due.
    pub fn update(&mut self, bytes: u64, frames: u64) {
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
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let line = match self.total {
            Some(total) if total > 0 => format!(
                "{}: {:.1} of {:.1} MiB ({:.0} %), {frames} frames",
                self.name,
                mib(bytes),
                mib(total),
                bytes as f64 * 100.0 / total as f64
            ),
            _ => format!("{}: {:.1} MiB, {frames} frames", self.name, mib(bytes)),
        };
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a failing stderr must not fail the command.
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
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
