//! [`Spool`]: the messages of a transaction held until its outcome is known, in memory up to a
//! limit and in an anonymous temporary file past it.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

/// A held transaction's messages, each with its WAL position, in arrival order.
#[derive(Debug)]
pub(crate) struct Spool {
    /// The messages not spilled, after those in `file`.
    memory: Vec<(u64, Bytes)>,
    memory_bytes: usize,
    /// The spilled messages: `[lsn u64][len u32][bytes]` each, oldest first.
    file: Option<File>,
    file_len: u64,
    /// Where each subtransaction's first message lies, for a subtransaction abort.
    marks: Vec<Mark>,
    /// The WAL position of the first message held.
    first_lsn: Option<u64>,
    limit: usize,
    /// True when the messages came from streamed chunks (they carry subtransaction IDs).
    streamed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    subxid: u32,
    file_len: u64,
    memory_len: usize,
    memory_bytes: usize,
}

impl Spool {
    /// An empty spool that keeps up to `limit` bytes of messages in memory; `streamed` says
    /// whether its messages come from streamed chunks.
    pub(crate) fn new(limit: usize, streamed: bool) -> Self {
        Self {
            memory: Vec::new(),
            memory_bytes: 0,
            file: None,
            file_len: 0,
            marks: Vec::new(),
            first_lsn: None,
            limit,
            streamed,
        }
    }

    /// True when the messages came from streamed chunks.
    pub(crate) fn streamed(&self) -> bool {
        self.streamed
    }

    /// The WAL position of the first message held.
    pub(crate) fn first_lsn(&self) -> Option<u64> {
        self.first_lsn
    }

    /// True when some messages went to disk.
    pub(crate) fn spilled(&self) -> bool {
        self.file_len > 0
    }

    /// Holds a message of subtransaction `subxid`.
    pub(crate) fn push(&mut self, subxid: u32, lsn: u64, message: Bytes) -> io::Result<()> {
        self.first_lsn.get_or_insert(lsn);
        if !self.marks.iter().any(|m| m.subxid == subxid) {
            self.marks.push(Mark {
                subxid,
                file_len: self.file_len,
                memory_len: self.memory.len(),
                memory_bytes: self.memory_bytes,
            });
        }
        self.memory_bytes += message.len();
        self.memory.push((lsn, message));
        if self.memory_bytes > self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Drops subtransaction `subxid`'s messages and everything held after its first one (its
    /// own subtransactions'), as its abort requires.
    pub(crate) fn abort_subtransaction(&mut self, subxid: u32) -> io::Result<()> {
        let Some(at) = self.marks.iter().position(|m| m.subxid == subxid) else {
            return Ok(());
        };
        let mark = self.marks[at];
        self.marks.truncate(at);
        if mark.file_len < self.file_len {
            // The cut lies in the file: what is in memory came after it.
            if let Some(file) = &self.file {
                file.set_len(mark.file_len)?;
            }
            self.file_len = mark.file_len;
            self.memory.clear();
            self.memory_bytes = 0;
        } else {
            self.memory.truncate(mark.memory_len);
            self.memory_bytes = mark.memory_bytes;
        }
        if self.file_len == 0 && self.memory.is_empty() {
            self.first_lsn = None;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(anonymous_file()?),
        };
        file.seek(SeekFrom::Start(self.file_len))?;
        let start = self.file_len;
        // Where each message held in memory lands in the file (and, last, the file's end).
        let mut offsets = Vec::with_capacity(self.memory.len() + 1);
        let mut out = io::BufWriter::new(&mut *file);
        for (lsn, message) in self.memory.drain(..) {
            let len = u32::try_from(message.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 4 GiB"))?;
            offsets.push(self.file_len);
            out.write_all(&lsn.to_be_bytes())?;
            out.write_all(&len.to_be_bytes())?;
            out.write_all(&message)?;
            self.file_len += 12 + u64::from(len);
        }
        out.flush()?;
        offsets.push(self.file_len);
        for mark in self.marks.iter_mut().filter(|m| m.file_len == start) {
            mark.file_len = offsets[mark.memory_len.min(offsets.len() - 1)];
            mark.memory_len = 0;
            mark.memory_bytes = 0;
        }
        self.memory_bytes = 0;
        Ok(())
    }

    /// Hands every held message to `each`, oldest first, and empties the spool.
    pub(crate) fn drain<E: From<io::Error>>(
        &mut self,
        mut each: impl FnMut(u64, Bytes) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(file) = &mut self.file {
            file.seek(SeekFrom::Start(0))?;
            let mut input = BufReader::new(&mut *file).take(self.file_len);
            let mut head = [0u8; 12];
            loop {
                match input.read_exact(&mut head) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e.into()),
                }
                let mut lsn = [0; 8];
                lsn.copy_from_slice(&head[..8]);
                let len = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
                let mut message = vec![0; len];
                input.read_exact(&mut message)?;
                each(u64::from_be_bytes(lsn), Bytes::from(message))?;
            }
        }
        for (lsn, message) in std::mem::take(&mut self.memory) {
            each(lsn, message)?;
        }
        *self = Self::new(self.limit, self.streamed);
        Ok(())
    }
}

/// A temporary file with no name: the system removes it when it is closed, even after a crash.
fn anonymous_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    for attempt in 0u32..100 {
        let path = dir.join(format!(
            "scry-spool-{}-{}-{attempt}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        match File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                // Unlinked at once: the open file stays usable; nothing is left behind.
                let _ = std::fs::remove_file(&path);
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary file name for a transaction spool",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(spool: &mut Spool) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        spool
            .drain::<io::Error>(|lsn, m| {
                out.push((lsn, m.to_vec()));
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn keeps_order_across_memory_and_file() {
        let mut spool = Spool::new(10, true);
        for i in 0..20u8 {
            spool
                .push(1, u64::from(i), Bytes::from(vec![i; 4]))
                .unwrap();
        }
        assert!(spool.spilled());
        assert_eq!(spool.first_lsn(), Some(0));
        let out = collect(&mut spool);
        assert_eq!(
            out,
            (0..20u8)
                .map(|i| (u64::from(i), vec![i; 4]))
                .collect::<Vec<_>>()
        );
        assert!(!spool.spilled());
        assert_eq!(spool.first_lsn(), None);
    }

    #[test]
    fn a_subtransaction_abort_drops_it_and_what_followed() {
        for limit in [1, 10, 1000] {
            let mut spool = Spool::new(limit, true);
            spool.push(1, 1, Bytes::from_static(b"a")).unwrap();
            spool.push(2, 2, Bytes::from_static(b"b")).unwrap();
            spool.push(3, 3, Bytes::from_static(b"c")).unwrap();
            spool.abort_subtransaction(2).unwrap();
            spool.push(1, 4, Bytes::from_static(b"d")).unwrap();
            spool.abort_subtransaction(9).unwrap(); // unknown: nothing happens
            let out = collect(&mut spool);
            assert_eq!(
                out,
                [(1, b"a".to_vec()), (4, b"d".to_vec())],
                "limit {limit}"
            );
        }
    }
}
