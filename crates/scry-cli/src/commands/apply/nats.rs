//! `scry apply nats://...`: the frames of a JetStream stream, read through a durable consumer
//! of this target's own, acknowledged once the target has made them durable.
//!
//! The consumer is named after the target's replication origin, so each target keeps its own
//! place in the stream and any number of targets read one stream. A message is acknowledged
//! once the target's durable progress has passed its transaction's commit (the commit
//! position in its last key); a message that ends no transaction waits for the one that
//! does. Whatever comes again after a crash (messages handed out and not yet acknowledged)
//! is passed over by the origin, as for a file read again.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::time::Duration;

use scry_codec::frame::{Frame, FrameError, FrameReader};
use scry_nats::{Address, Consumer, Delivered};

use crate::commands::CliError;

/// What the consumer's thread hands the applying thread.
pub enum Item {
    /// A message's frame.
    Frame(Result<Frame, FrameError>),
    /// The stream has no more messages (without `--follow`).
    End,
    /// The consumer failed.
    Failed(CliError),
}

/// How long one fetch waits for messages.
const FETCH_WAIT: Duration = Duration::from_millis(200);

/// The consumer's thread: sends frames on `items` and acknowledges each message once the
/// durable progress received on `durable` has passed its transaction's commit. Returns when
/// the applying thread drops `durable` (after its last progress).
pub fn spawn(
    input: &str,
    consumer_name: &str,
    follow: bool,
    items: mpsc::SyncSender<Item>,
    durable: mpsc::Receiver<u64>,
) -> Result<std::thread::JoinHandle<()>, CliError> {
    let address = Address::parse(input).map_err(|e| CliError::Usage(e.to_string()))?;
    let mut consumer = Consumer::open(&address, crate::nats::creds(), consumer_name)
        .map_err(|e| CliError::Load(e.to_string()))?;
    Ok(std::thread::spawn(move || {
        let mut held: VecDeque<Delivered> = VecDeque::new();
        let mut ended = false;
        loop {
            // Acknowledge what the target made durable.
            let mut done = false;
            loop {
                match durable.try_recv() {
                    Ok(progress) => {
                        if let Err(e) = ack_through(&consumer, &mut held, progress) {
                            let _ = items.send(Item::Failed(e));
                            return;
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        done = true;
                        break;
                    }
                }
            }
            if done {
                return;
            }
            if ended {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let fetched = match consumer.next(256, FETCH_WAIT) {
                Ok(f) => f,
                Err(e) => {
                    let _ = items.send(Item::Failed(CliError::Load(e.to_string())));
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
                        let _ = items.send(Item::Failed(CliError::Load(e.to_string())));
                        return;
                    }
                }
                continue;
            }
            for d in fetched {
                let frame = frame_of(&d);
                held.push_back(d);
                if items.send(Item::Frame(frame)).is_err() {
                    return;
                }
            }
        }
    }))
}

/// The one frame a message carries, numbered by the message's place in the stream.
fn frame_of(d: &Delivered) -> Result<Frame, FrameError> {
    let mut frames = FrameReader::new(&d.payload[..]);
    let frame = frames.next().unwrap_or(Err(FrameError::Truncated {
        index: d.sequence,
        offset: 0,
        available: 0,
        needed: 1,
    }))?;
    Ok(Frame {
        index: d.sequence,
        ..frame
    })
}

/// Acknowledges, in order, every held message whose transaction committed before
/// `progress` (the target's durable progress: a Commit's end, past its commit record).
fn ack_through(
    consumer: &Consumer,
    held: &mut VecDeque<Delivered>,
    progress: u64,
) -> Result<(), CliError> {
    while let Some(d) = held.front() {
        if d.stored.last.0 >= progress {
            break;
        }
        consumer.ack(d).map_err(|e| CliError::Load(e.to_string()))?;
        held.pop_front();
    }
    Ok(())
}
