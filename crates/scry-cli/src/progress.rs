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
        let line = line(&self.name, self.total, bytes, frames);
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

/// The progress line: `big.scry: 87.9 of 285.1 MiB (31 %), 185 frames`.
fn line(name: &str, total: Option<u64>, bytes: u64, frames: u64) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    match total {
        Some(total) if total > 0 => format!(
            "{name}: {:.1} of {:.1} MiB ({:.0} %), {frames} frames",
            mib(bytes),
            mib(total),
            bytes as f64 * 100.0 / total as f64
        ),
        _ => format!("{name}: {:.1} MiB, {frames} frames", mib(bytes)),
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_bytes_share_and_frames() {
        assert_eq!(
            line("big.scry", Some(4 << 20), 1 << 20, 7),
            "big.scry: 1.0 of 4.0 MiB (25 %), 7 frames"
        );
        assert_eq!(line("-", None, 3 << 19, 2), "-: 1.5 MiB, 2 frames");
        assert_eq!(line("-", Some(0), 0, 0), "-: 0.0 MiB, 0 frames");
    }

    #[test]
    fn nothing_is_drawn_for_a_fast_read() {
        let mut p = Progress::new("x", Some(10));
        p.enabled = true;
        p.update(5, 1);
        assert_eq!(p.last, None);
    }
}
