//! The connection's socket: TCP, TLS over TCP, or a Unix socket.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;

/// The socket: TCP, TLS over TCP, or Unix.
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<crate::tls::Tls>),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl Stream {
    /// Makes reads and writes return `WouldBlock` instead of waiting: [`wait`](Self::wait)
    /// does the waiting.
    pub(super) fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nonblocking(true),
            Self::Tls(t) => t.socket().set_nonblocking(true),
            #[cfg(unix)]
            Self::Unix(s) => s.set_nonblocking(true),
        }
    }

    /// Waits until the socket has something to read or, with `write`, room to write,
    /// whichever comes first, or until `timeout` (`None`: no limit) has passed; returns
    /// whether it has something to read. A closed or failed socket counts as readable (the
    /// next read tells what happened).
    #[cfg(unix)]
    pub(super) fn wait(
        &mut self,
        write: bool,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<bool> {
        use rustix::event::{PollFd, PollFlags};
        // TLS: bytes already decrypted are there to read; records not yet written need room.
        let mut write = write;
        if let Self::Tls(t) = self {
            if t.has_plaintext() {
                return Ok(true);
            }
            write |= t.pending_write();
        }
        let fd = self.fd();
        let mut flags = PollFlags::IN;
        if write {
            flags |= PollFlags::OUT;
        }
        let mut fds = [PollFd::new(&fd, flags)];
        poll(&mut fds, timeout)?;
        Ok(readable(&fds[0]))
    }

    /// Waits until `self` or `other` has something to read (or is closed or failed),
    /// `timeout` at most.
    #[cfg(unix)]
    pub(super) fn wait_pair(
        &mut self,
        other: &mut Self,
        timeout: std::time::Duration,
    ) -> io::Result<()> {
        use rustix::event::PollFd;
        let (flags_a, flags_b) = (self.tls_flags(), other.tls_flags());
        let (Some(flags_a), Some(flags_b)) = (flags_a, flags_b) else {
            return Ok(());
        };
        let (a, b) = (self.fd(), other.fd());
        let mut fds = [PollFd::new(&a, flags_a), PollFd::new(&b, flags_b)];
        poll(&mut fds, Some(timeout))
    }

    /// What to wait for on this socket: reading, and writing while TLS records wait to be
    /// written; `None` when decrypted bytes are already there to read.
    #[cfg(unix)]
    fn tls_flags(&mut self) -> Option<rustix::event::PollFlags> {
        use rustix::event::PollFlags;
        let Self::Tls(t) = self else {
            return Some(PollFlags::IN);
        };
        if t.has_plaintext() {
            None
        } else if t.pending_write() {
            Some(PollFlags::IN | PollFlags::OUT)
        } else {
            Some(PollFlags::IN)
        }
    }

    #[cfg(unix)]
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Tls(t) => t.socket().as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }

    /// Waits a moment (no readiness wait without `poll`): the caller tries both again.
    #[cfg(not(unix))]
    pub(super) fn wait_pair(
        &mut self,
        _other: &mut Self,
        timeout: std::time::Duration,
    ) -> io::Result<()> {
        std::thread::sleep(timeout.min(std::time::Duration::from_micros(200)));
        Ok(())
    }

    /// Waits a moment (no readiness wait without `poll`): the caller tries again.
    #[cfg(not(unix))]
    pub(super) fn wait(
        &mut self,
        _write: bool,
        timeout: Option<std::time::Duration>,
    ) -> io::Result<bool> {
        let moment = std::time::Duration::from_micros(200);
        std::thread::sleep(timeout.map_or(moment, |t| t.min(moment)));
        Ok(true)
    }

    pub(super) fn shutdown(&mut self) {
        let _ = match self {
            Self::Tcp(s) => s.shutdown(Shutdown::Both),
            Self::Tls(t) => {
                t.shutdown();
                Ok(())
            }
            #[cfg(unix)]
            Self::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

/// poll(2) on `fds` until one is ready or `timeout` (`None`: no limit; a limit too far to
/// express waits without one) has passed, again after a signal.
#[cfg(unix)]
fn poll(
    fds: &mut [rustix::event::PollFd<'_>],
    timeout: Option<std::time::Duration>,
) -> io::Result<()> {
    let limit = timeout.and_then(|t| rustix::event::Timespec::try_from(t).ok());
    loop {
        match rustix::event::poll(fds, limit.as_ref()) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether poll(2) found `fd` readable; a closed or failed socket counts as readable (the
/// next read tells what happened).
#[cfg(unix)]
fn readable(fd: &rustix::event::PollFd<'_>) -> bool {
    use rustix::event::PollFlags;
    fd.revents()
        .intersects(PollFlags::IN | PollFlags::ERR | PollFlags::HUP | PollFlags::NVAL)
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Tls(t) => t.read(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Tls(t) => t.write(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
