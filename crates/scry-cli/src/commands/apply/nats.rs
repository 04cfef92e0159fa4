//! `scry apply nats://...`: the frames of a JetStream stream, read through a durable consumer
//! of this target's own, acknowledged once the target has made them durable.
//!
//! The consumer is named after the target, so each target keeps its own place in the stream
//! and any number of targets read one stream. A message is acknowledged once the target's
//! durable progress has passed its transaction's commit (the commit position in its last
//! key); a message that ends no transaction waits for the one that does. The messages of a
//! snapshot's table are acknowledged once the target has committed the table's load (it
//! commits synchronously, and records the load); the message ending the snapshot once the
//! target's progress reaches the snapshot's position. One acknowledgement covers every
//! message before it. Whatever comes again after a crash
//! (messages handed out and not yet acknowledged) is passed over by the origin, as for a
//! file read again.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use scry_codec::frame::{Frame, FrameError, FrameReader};
use scry_nats::{Address, Consumer, Delivered, Stored};

use crate::commands::CliError;

/// What the consumer's thread hands the applying thread.
pub enum Item {
    /// A message's frame.
    Frame(Result<Frame, FrameError>),
    /// The stream has no more messages (without `--follow`).
    End,
    /// The consumer failed.
    Failed(CliError),
    /// The first message this run was handed lies past the next one the consumer expected
    /// (its acknowledged floor, or the stream's start): the stream removed `missing`
    /// messages it never had. See [`missing`].
    Gap {
        /// What that first message says.
        first: Stored,
        /// How many messages are gone.
        missing: u64,
    },
}

/// What the target holds durably, as the applying thread tells the consumer's thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The target's durable progress: the end of the last source Commit it holds.
    Progress(u64),
    /// The message of this stream sequence ends a snapshot table whose load the target
    /// committed, or had committed before.
    Loaded(u64),
}

/// How long one fetch waits for messages.
const FETCH_WAIT: Duration = Duration::from_millis(200);

/// The consumer's thread: sends frames on `items` and acknowledges each message once the
/// durable progress received on `durable` has passed its transaction's commit. Returns when
/// the applying thread drops `durable` (after its last progress).
pub fn spawn(
    conninfo: &str,
    origin: Option<&str>,
    input: &str,
    consumer_name: &str,
    follow: bool,
    items: mpsc::SyncSender<Item>,
    durable: mpsc::Receiver<Done>,
) -> Result<std::thread::JoinHandle<()>, CliError> {
    let address = Address::parse(input).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut consumer = open(&address, consumer_name, follow)?;
    ahead_of_target(&mut consumer, conninfo, origin, input)?;
    let mut expected = Some(consumer.goes_on_after() + 1);
    Ok(std::thread::spawn(move || {
        let mut held: VecDeque<Delivered> = VecDeque::new();
        let mut ended = false;
        loop {
            // Acknowledge what the target made durable; once the stream has ended, only
            // that, until the applying thread is done.
            loop {
                let progress = if ended {
                    durable.recv().map_err(|_| mpsc::TryRecvError::Disconnected)
                } else {
                    durable.try_recv()
                };
                match progress {
                    Ok(done) => {
                        if let Err(e) = ack_through(&consumer, &mut held, done) {
                            let _ = items.send(Item::Failed(e));
                            return;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => return,
                }
            }
            let fetched = match consumer.next(256, FETCH_WAIT) {
                Ok(f) => f,
                Err(e) => {
                    let _ = items.send(Item::Failed(crate::nats::error(e)));
                    return;
                }
            };
            if fetched.is_empty() && !follow {
                match consumer.remaining() {
                    Ok(0) => {
                        ended = true;
                        if items.send(Item::End).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = items.send(Item::Failed(crate::nats::error(e)));
                        return;
                    }
                }
                continue;
            }
            for mut d in fetched {
                if let Some(next) = expected.take().filter(|n| d.first_sequence > *n) {
                    let gap = Item::Gap {
                        first: d.stored,
                        missing: d.first_sequence - next,
                    };
                    if items.send(gap).is_err() {
                        return;
                    }
                }
                // The payload goes with its frames; what waits for its acknowledgement is
                // small.
                let (payload, sequence) = (std::mem::take(&mut d.payload), d.sequence);
                held.push_back(d);
                for frame in frames_of(&payload, sequence) {
                    if items.send(Item::Frame(frame)).is_err() {
                        return;
                    }
                }
            }
        }
    }))
}

/// Opens the target's consumer; with `follow`, a stream no capture has made yet is waited
/// for (as a file not written yet would be followed), saying so once.
fn open(address: &Address, name: &str, follow: bool) -> Result<Consumer, CliError> {
    let mut said = false;
    loop {
        match Consumer::open(address, crate::nats::options(), name) {
            Err(scry_nats::NatsError::NoStream { .. }) if follow => {
                if !said {
                    crate::log::Event::new(
                        crate::log::Level::Info,
                        "consumer",
                        format!("{address}: no capture has made the stream yet; waiting for it"),
                    )
                    .emit();
                    said = true;
                }
                if crate::interrupt::requested() {
                    return Err(CliError::Interrupted("nothing applied".to_owned()));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            opened => return opened.map_err(crate::nats::error),
        }
    }
}

/// Starts the consumer again at the stream's first message when it has acknowledged a
/// transaction the target does not hold (a target database made anew, or restored from an
/// older backup, under the same name): reading on from there would skip what the target
/// lacks. The origin passes over what it does hold.
fn ahead_of_target(
    consumer: &mut Consumer,
    conninfo: &str,
    origin: Option<&str>,
    input: &str,
) -> Result<(), CliError> {
    let nats = crate::nats::error;
    let Some((stored, payload)) = consumer.acknowledged_floor().map_err(nats)? else {
        return Ok(());
    };
    let frame = frame_of(&payload, 0).map_err(|e| CliError::Load(format!("{input}: {e}")))?;
    let batch = scry_codec::read_batch_bytes(&frame.payload)
        .map_err(|e| CliError::Load(format!("{input}: {e}")))?;
    let stream = super::stream_of(&batch, input, origin)?;
    let mut applier =
        scry_apply::Applier::connect(conninfo, &stream, origin).map_err(super::apply_error)?;
    let held = if stored.inside_snapshot() {
        // A snapshot table's messages were acknowledged with its load: the target holds
        // them if it records that load.
        let end = batch
            .events
            .iter()
            .rfind(|e| e.operation == scry_types::OperationType::SnapshotEnd);
        match end {
            Some(e) => applier
                .snapshot_loaded(&e.schema, &e.table, e.position)
                .map_err(super::apply_error)?,
            None => false,
        }
    } else {
        stored.covered_by(applier.progress())
    };
    if held {
        return Ok(());
    }
    crate::log::Event::new(
        crate::log::Level::Warn,
        "consumer",
        format!(
            "{input}: this target's consumer had acknowledged changes up to {} that the \
             target does not hold (its origin is at {}): reading the stream again from its \
             first message",
            scry_types::Lsn(stored.last.0),
            scry_types::Lsn(applier.progress())
        ),
    )
    .emit();
    consumer.restart().map_err(nats)
}

/// What a target whose progress is `progress` lacks when the first message its consumer is
/// handed, `first`, comes after `missing` messages the stream removed (its limits, by age,
/// size or count) before the consumer had them: the changes from the target's progress up
/// to `first`, unless the target is past them already. `None` when `first` begins a
/// snapshot, which builds the target anew.
pub fn missing(first: &Stored, missing: u64, progress: u64) -> Option<String> {
    if first.snapshot.is_some() || progress > first.first.0 {
        return None;
    }
    Some(format!(
        "the stream removed {missing} message{} this target's consumer never had (its \
         limits): it goes on with a change of the transaction committed at {}, and this \
         target's origin is at {}, so any change committed in between is missing here. \
         Build the target from a snapshot (capture --snapshot into the stream), or keep the \
         stream's messages longer",
        if missing == 1 { "" } else { "s" },
        scry_types::Lsn(first.first.0),
        scry_types::Lsn(progress)
    ))
}

/// The frames a message's payload carries, each numbered `sequence` (the message's place
/// in the stream); one error ends them.
fn frames_of(payload: &Bytes, sequence: u64) -> Vec<Result<Frame, FrameError>> {
    let mut out = Vec::new();
    for frame in FrameReader::new(payload.as_ref()) {
        let failed = frame.is_err();
        out.push(frame.map(|f| Frame {
            index: sequence,
            ..f
        }));
        if failed {
            break;
        }
    }
    if out.is_empty() {
        out.push(frame_of(payload, sequence));
    }
    out
}

/// The first frame a message's payload carries, numbered `sequence` (the message's place in
/// the stream).
fn frame_of(payload: &[u8], sequence: u64) -> Result<Frame, FrameError> {
    let mut frames = FrameReader::new(payload);
    let frame = frames.next().unwrap_or(Err(FrameError::Truncated {
        index: sequence,
        offset: 0,
        available: 0,
        needed: 1,
    }))?;
    Ok(Frame {
        index: sequence,
        ..frame
    })
}

/// Acknowledges every held message the target now holds (see [`Done`] and
/// `Stored::covered_by`), with one acknowledgement of the last of them (the consumer
/// acknowledges all before it).
fn ack_through(
    consumer: &Consumer,
    held: &mut VecDeque<Delivered>,
    done: Done,
) -> Result<(), CliError> {
    let done = match done {
        Done::Progress(progress) => held
            .iter()
            .take_while(|d| d.stored.covered_by(progress))
            .count(),
        Done::Loaded(sequence) => held.iter().take_while(|d| d.sequence <= sequence).count(),
    };
    if let Some(last) = held.drain(..done).next_back() {
        consumer.ack(&last).map_err(crate::nats::error)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn change(batch_seq: u64, frames: u32, commit: u64, index: u32) -> Stored {
        Stored {
            batch_seq,
            frames,
            encoding: "compact",
            first: (commit, index),
            last: (commit + 0x10, 0),
            commit: Some(commit + 0x10),
            resume: Some(commit + 0x10),
            snapshot: None,
        }
    }

    #[test]
    fn a_consumer_going_on_past_removed_messages_says_what_its_target_lacks() {
        let said = missing(&change(9, 2, 0x100, 0), 8, 0).expect("a warning");
        assert!(said.contains("removed 8 messages"), "{said}");
        assert!(said.contains("committed at 0/100"), "{said}");
        // A target whose progress is not past the first change's transaction lacks it too.
        assert!(missing(&change(9, 2, 0x100, 3), 1, 0x100).is_some());
        // A target past it lacks nothing the stream removed.
        assert_eq!(missing(&change(9, 2, 0x100, 0), 8, 0x101), None);
        // A snapshot builds any target.
        let snapshot = Stored {
            snapshot: Some(0x80),
            commit: None,
            resume: None,
            ..change(0, 1, 0, 0)
        };
        assert_eq!(missing(&snapshot, 40, 0), None);
    }
}
