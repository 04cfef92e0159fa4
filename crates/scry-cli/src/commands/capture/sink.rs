//! The output of `scry capture`: a file resumed where its last whole transaction ends, a
//! NATS JetStream stream resumed where its last message ends (see [`super::nats`]), or
//! standard output.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use scry_codec::frame::FrameReader;
use scry_codec::BatchView;
use scry_pg::capture::{ChangeBatcher, Frame};
use scry_pg::pgoutput::Change;
use scry_types::OperationType;

use super::nats::NatsOut;
use super::{capture_error, Totals};
use crate::commands::CliError;

/// The output: a file resumed where its last whole transaction ends, or standard output.
pub struct Sink {
    name: String,
    out: BufWriter<Box<dyn Write>>,
    file: Option<File>,
    nats: Option<NatsOut>,
    /// The Commit position of the last transaction the file holds.
    pub last_commit: Option<u64>,
    /// The number of the next batch (one past the output's last).
    pub next_batch_seq: u64,
    /// Standard output holds a whole transaction not flushed yet.
    unflushed: bool,
}

impl Sink {
    /// Opens `name` (`-`: standard output; `nats://...`: a stream, for the capture
    /// `stream` identifies), cut back to its last whole transaction.
    pub fn open(
        name: &str,
        stream: &str,
        encoding: scry_codec::Encoding,
    ) -> Result<Self, CliError> {
        if scry_nats::Address::is_nats(name) {
            let nats = NatsOut::open(name, stream, encoding)?;
            return Ok(Self {
                name: name.to_owned(),
                out: BufWriter::new(Box::new(io::sink())),
                file: None,
                last_commit: nats.last_commit(),
                next_batch_seq: nats.next_batch_seq,
                nats: Some(nats),
                unflushed: false,
            });
        }
        let write_error = |source| CliError::Write {
            name: name.to_owned(),
            source,
        };
        if name == "-" {
            return Ok(Self {
                name: name.to_owned(),
                out: BufWriter::with_capacity(256 * 1024, Box::new(io::stdout())),
                file: None,
                nats: None,
                last_commit: None,
                next_batch_seq: 0,
                unflushed: false,
            });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(name)
            .map_err(write_error)?;
        let resume = resume_point(&mut file).map_err(write_error)?;
        file.set_len(resume.keep).map_err(write_error)?;
        file.seek(SeekFrom::Start(resume.keep))
            .map_err(write_error)?;
        let writer = file.try_clone().map_err(write_error)?;
        Ok(Self {
            name: name.to_owned(),
            out: BufWriter::with_capacity(256 * 1024, Box::new(writer)),
            file: Some(file),
            nats: None,
            last_commit: resume.last_commit,
            next_batch_seq: resume.next_batch_seq,
            unflushed: false,
        })
    }

    /// Whether the output is standard output.
    pub fn is_stdout(&self) -> bool {
        self.file.is_none() && self.nats.is_none()
    }

    fn error(&self, source: io::Error) -> CliError {
        CliError::Write {
            name: self.name.clone(),
            source,
        }
    }

    /// Writes a frame the batcher made (a stream gets it as one message).
    pub fn write(&mut self, frame: &Frame<'_>) -> Result<(), CliError> {
        match &mut self.nats {
            Some(nats) => nats.add(frame),
            None => self.out.write_all(frame.bytes).map_err(|e| self.error(e)),
        }
    }

    /// Adds a change to the batcher and writes the frame it completes, noting its Commit.
    pub fn push(
        &mut self,
        batcher: &mut ChangeBatcher,
        change: Change,
        totals: &mut Totals,
        written_commit: &mut Option<u64>,
    ) -> Result<(), CliError> {
        if let Change::Event(e) = &change {
            if e.operation == OperationType::Commit {
                totals.transactions += 1;
                totals.last_commit_us = e.timestamp_us;
            }
            totals.position = e.position;
        }
        if let Change::Event(_) = change {
            totals.events += 1;
        }
        if let Some(nats) = &mut self.nats {
            if !nats.take(&change) {
                return Ok(());
            }
        }
        if let Some(frame) = batcher.push(change).map_err(capture_error)? {
            totals.bytes += frame.bytes.len() as u64;
            let commit = frame.commit_position;
            self.write(&frame)?;
            if commit.is_some() {
                *written_commit = commit;
                // A pipe's reader (`scry apply -`) gets each transaction as soon as the
                // source has no other at hand ([`flush_pipe`](Self::flush_pipe)), not when the
                // buffer fills; a file waits for `durable`.
                self.unflushed = self.file.is_none();
            }
        }
        Ok(())
    }

    /// Sends standard output's whole transactions on to its reader, if some wait (a
    /// stream's gathered frames to JetStream): called when the source has nothing more at
    /// hand, so that a busy stream goes out in few writes and a quiet one without delay.
    pub fn flush_pipe(&mut self) -> Result<(), CliError> {
        if let Some(nats) = &mut self.nats {
            return nats.flush();
        }
        if std::mem::take(&mut self.unflushed) {
            self.out.flush().map_err(|e| self.error(e))?;
        }
        Ok(())
    }

    /// Flushes what is written and, for a file, waits until it is on disk; for a stream,
    /// publishes the frames gathered and waits until JetStream has stored them.
    pub fn durable(&mut self) -> Result<(), CliError> {
        self.unflushed = false;
        if let Some(nats) = &mut self.nats {
            return nats.flush();
        }
        self.out.flush().map_err(|e| self.error(e))?;
        if let Some(file) = &self.file {
            file.sync_data().map_err(|e| self.error(e))?;
        }
        Ok(())
    }
}

/// Where a capture file resumes.
struct Resume {
    /// The bytes to keep: up to the end of the last frame that ends a transaction.
    keep: u64,
    last_commit: Option<u64>,
    next_batch_seq: u64,
}

fn resume_point(file: &mut File) -> io::Result<Resume> {
    let mut resume = Resume {
        keep: 0,
        last_commit: None,
        next_batch_seq: 0,
    };
    file.seek(SeekFrom::Start(0))?;
    for frame in FrameReader::new(io::BufReader::new(&mut *file)) {
        let Ok(frame) = frame else { break };
        let Ok(view) = BatchView::parse(&frame.payload) else {
            break;
        };
        resume.next_batch_seq = view.batch_seq().wrapping_add(1);
        let last = view.events().next_back();
        if let Some(e) = last.filter(|e| e.operation() == OperationType::Commit) {
            resume.keep = frame.offset + frame.wire_len();
            resume.last_commit = Some(e.position());
        }
    }
    Ok(resume)
}
