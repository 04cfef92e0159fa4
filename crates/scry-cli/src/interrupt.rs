//! Ctrl-C (SIGINT), SIGTERM (how systemd and Kubernetes stop a service) and SIGHUP: the first
//! one asks the command to stop at its next clean point (a frame boundary, between
//! transactions), which then prints its summary; a second one ends the process at once.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// The exit code after a stop on a signal (128 + SIGINT, as shells report Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 130;

static STOP: AtomicBool = AtomicBool::new(false);

/// Installs the handler (once; later calls do nothing).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// True once Ctrl-C was pressed (or SIGTERM or SIGHUP came).
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// A writer that refuses to start a `write_all` (a whole frame, as `SnapshotEncoder` writes
/// them) once Ctrl-C was pressed, so the output ends after the last whole frame.
pub struct StopAtFrame<W>(pub W);

impl<W: Write> Write for StopAtFrame<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if requested() {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "stopped on Ctrl-C",
            ));
        }
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
