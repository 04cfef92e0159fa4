//! `scry apply`: a framed CDC stream (as `scry capture` writes it) applied to a target server,
//! each source transaction once, and snapshot streams loaded with COPY (see `scry_apply`).

use std::io::{self, Read};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scry_apply::{Applier, ApplyError, OnConflict};
use scry_codec::frame::FrameReader;
use scry_types::Lsn;

use super::CliError;
use crate::log::{Event, Level};
use crate::pg;
use crate::progress::Progress;

mod nats;

use nats::{Done, Item};

/// What `scry apply` reads and how.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// The stream: a file, `-` for standard input, or `nats://...` (a JetStream stream).
    pub input: &'a str,
    /// The replication origin that records the target's progress (by default, the one
    /// derived from the stream's identity and the target database).
    pub origin: Option<&'a str>,
    /// What to do when the target refuses a row change because of its own state.
    pub on_conflict: OnConflict,
    /// At the end of a file, wait for more (as `tail -f`) until Ctrl-C.
    pub follow: bool,
    /// With a file, how long to keep trying again after a target restart or a dropped
    /// connection (standard input cannot be read again).
    pub retry: crate::retry::Retry,
}

/// How long the input may pause before the last transaction's `COMMIT` is sent without
/// waiting for the next transaction (see `Applier::flush`).
const IDLE: Duration = Duration::from_millis(2);

/// Applies the stream to the server at `conninfo`, keeping progress in the replication
/// origin; see [`Options`]. Frames are read on a thread of their own, so that a pause in the
/// input (a pipe from `scry capture`, a followed file) commits what was applied.
pub fn run(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    crate::interrupt::install();
    let retry = if options.input == "-" {
        crate::retry::Retry(Some(Duration::ZERO))
    } else {
        options.retry
    };
    // A run again reads the file from its start: the target's origin skips what it has.
    retry.run(|| run_once(conninfo, options))
}

/// One run over the whole input.
fn run_once(conninfo: &str, options: Options<'_>) -> Result<(), CliError> {
    let input = options.input;
    crate::interrupt::install();
    let (items, received) = mpsc::sync_channel(64);
    // With a stream: the target's durable progress, for the consumer to acknowledge by.
    let (durable, consumer) = if scry_nats::Address::is_nats(input) {
        let (durable, progress) = mpsc::channel();
        let name = consumer_name(conninfo, options.origin)?;
        let thread = nats::spawn(
            conninfo,
            options.origin,
            input,
            &name,
            options.follow,
            items,
            progress,
        )?;
        (Some(durable), Some(thread))
    } else {
        spawn_reader(input, options.follow, items)?;
        (None, None)
    };
    let mut acks = Acks {
        durable,
        consumer,
        last: Instant::now(),
    };
    // The first frame names the stream, whose origin the target is then set up with.
    let mut gap = None;
    let first = loop {
        match received.recv_timeout(Duration::from_millis(100)) {
            Ok(Item::Frame(frame)) => break frame,
            Ok(Item::Gap { first, missing }) => gap = Some((first, missing)),
            Ok(Item::Failed(e)) => return Err(e),
            Ok(Item::End) => {
                Event::new(
                    Level::Info,
                    "summary",
                    format!("{input} holds no messages for this target: nothing to apply"),
                )
                .emit();
                return acks.finish(None);
            }
            Err(mpsc::RecvTimeoutError::Timeout) if crate::interrupt::requested() => {
                return Err(CliError::Interrupted("nothing applied".to_owned()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Event::new(
                    Level::Info,
                    "summary",
                    format!("{input} holds no frames: nothing to apply"),
                )
                .emit();
                return Ok(());
            }
        }
    }
    .map_err(|e| CliError::Load(format!("{input}: {e}")))?;
    let first_index = first.index;
    let first = scry_codec::read_batch_bytes(&first.payload).map_err(|e| {
        CliError::Load(format!(
            "{input}: frame {} at byte {}: {e}",
            first.index, first.offset
        ))
    })?;
    let stream = stream_of(&first, input, options.origin)?;
    let mut applier = Applier::connect(conninfo, &stream, options.origin)
        .map_err(apply_error)?
        .on_conflict(options.on_conflict);
    let lacks = gap.and_then(|(first, n)| nats::missing(&first, n, applier.progress()));
    if let Some(said) = lacks {
        Event::new(Level::Warn, "consumer", format!("{input}: {said}")).emit();
    }
    let start = applier.progress();
    let started = Instant::now();
    let mut progress = Progress::new();
    let mut events = 0u64;
    let mut pending = Some(first);
    loop {
        if let Some(batch) = pending.take() {
            apply_batch(&mut applier, &batch, &mut events)?;
            acks.loaded(&batch, first_index);
            continue;
        }
        let frame = match received.recv_timeout(IDLE) {
            Ok(Item::Frame(frame)) => frame,
            Ok(Item::Failed(e)) => return Err(e),
            // Only ever before the first frame.
            Ok(Item::Gap { .. }) => continue,
            Ok(Item::End) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                applier.flush().map_err(apply_error)?;
                acks.progress(&mut applier)?;
                print_conflicts(&mut applier, &mut progress);
                if crate::interrupt::requested() && !applier.in_transaction() {
                    return Err(CliError::Interrupted(summary(&applier, start, started)));
                }
                continue;
            }
        };
        if crate::interrupt::requested() && !applier.in_transaction() {
            applier.flush().map_err(apply_error)?;
            return Err(CliError::Interrupted(summary(&applier, start, started)));
        }
        let frame = match frame {
            Ok(frame) => frame,
            // Following a file, Ctrl-C ends the input wherever it is.
            Err(_) if options.follow && crate::interrupt::requested() => break,
            Err(e) => return Err(CliError::Load(format!("{input}: {e}"))),
        };
        let batch = scry_codec::read_batch_bytes(&frame.payload).map_err(|e| {
            CliError::Load(format!(
                "{input}: frame {} at byte {}: {e}",
                frame.index, frame.offset
            ))
        })?;
        if batch.source_id.as_deref().unwrap_or("") != applier.stream() {
            return Err(CliError::Load(format!(
                "{input}: frame {} at byte {}: a batch of the stream {:?} in a stream of {:?}: \
                 apply each stream on its own",
                frame.index,
                frame.offset,
                batch.source_id.as_deref().unwrap_or(""),
                applier.stream()
            )));
        }
        apply_batch(&mut applier, &batch, &mut events)?;
        acks.loaded(&batch, frame.index);
        acks.progress(&mut applier)?;
        print_conflicts(&mut applier, &mut progress);
        progress.show(|| format!("{}, {events} events", progress_line(&applier, started)));
    }
    // The input ended (or, following, Ctrl-C ended it): the last transaction commits.
    applier.flush().map_err(apply_error)?;
    print_conflicts(&mut applier, &mut progress);
    if options.follow && crate::interrupt::requested() {
        // Stopped between frames: an open transaction is rolled back with the connection.
        return Err(CliError::Interrupted(summary(&applier, start, started)));
    }
    if applier.in_transaction() {
        return Err(CliError::Load(format!(
            "{input} ends inside a transaction: it was rolled back; {}",
            summary(&applier, start, started)
        )));
    }
    progress.finish();
    let durable = acks
        .durable
        .is_some()
        .then(|| applier.durable_progress())
        .transpose()
        .map_err(apply_error)?;
    acks.finish(durable)?;
    Event::new(Level::Info, "summary", summary(&applier, start, started)).emit();
    Ok(())
}

/// Reads the frames of a file or standard input on a thread of its own; the channel closes
/// at the end of the input.
fn spawn_reader(input: &str, follow: bool, items: mpsc::SyncSender<Item>) -> Result<(), CliError> {
    let reader: Box<dyn Read + Send> = if input == "-" {
        Box::new(io::stdin())
    } else {
        let file = std::fs::File::open(input).map_err(|source| crate::input::InputError::Io {
            name: input.to_owned(),
            source,
        })?;
        if follow {
            Box::new(Follow(file))
        } else {
            Box::new(file)
        }
    };
    std::thread::spawn(move || {
        for frame in FrameReader::new(io::BufReader::with_capacity(256 * 1024, reader)) {
            if items.send(Item::Frame(frame)).is_err() {
                break;
            }
        }
    });
    Ok(())
}

/// The durable consumer's name for the target at `conninfo`: the origin's, when named, else
/// `scry_` and a hash of the target's identity (its cluster and database), so that each
/// target keeps its own place in a stream.
fn consumer_name(conninfo: &str, origin: Option<&str>) -> Result<String, CliError> {
    if let Some(origin) = origin {
        return Ok(origin.to_owned());
    }
    let mut client = pg::connect(conninfo)?;
    let (system, database) = pg::identity(&mut client)?;
    Ok(scry_apply::origin_name(
        "nats consumer",
        &format!("{system}/{database}"),
    ))
}

/// How far the target's durable progress was passed to the consumer's thread, which
/// acknowledges the messages it covers (reading a stream; nothing to do reading a file).
struct Acks {
    durable: Option<mpsc::Sender<Done>>,
    consumer: Option<std::thread::JoinHandle<()>>,
    last: Instant,
}

/// How often the durable progress is read while a stream keeps coming.
const ACK_EVERY: Duration = Duration::from_secs(1);

impl Acks {
    /// Sends the target's durable progress to the consumer, at most every [`ACK_EVERY`],
    /// and only between transactions.
    fn progress(&mut self, applier: &mut Applier) -> Result<(), CliError> {
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        if applier.in_transaction() || self.last.elapsed() < ACK_EVERY {
            return Ok(());
        }
        self.last = Instant::now();
        let progress = applier.durable_progress().map_err(apply_error)?;
        // A consumer that stopped has sent its error on the items channel.
        let _ = durable.send(Done::Progress(progress));
        Ok(())
    }

    /// After `batch`, the message at stream sequence `sequence`, was applied: when it ends
    /// a snapshot table, the table's load is committed (or was before), and the messages
    /// up to it can be acknowledged.
    fn loaded(&self, batch: &scry_types::DatabaseEventBatch, sequence: u64) {
        let Some(durable) = &self.durable else {
            return;
        };
        let ends_table = batch
            .events
            .iter()
            .any(|e| e.operation == scry_types::OperationType::SnapshotEnd);
        if ends_table {
            let _ = durable.send(Done::Loaded(sequence));
        }
    }

    /// Sends the last durable progress, if any, and waits until the consumer has
    /// acknowledged what it covers.
    fn finish(mut self, last: Option<u64>) -> Result<(), CliError> {
        if let (Some(durable), Some(progress)) = (&self.durable, last) {
            let _ = durable.send(Done::Progress(progress));
        }
        self.durable = None;
        if let Some(thread) = self.consumer.take() {
            thread
                .join()
                .map_err(|_| CliError::Load("the NATS consumer's thread failed".to_owned()))?;
        }
        Ok(())
    }
}

/// Applies one batch's events, then its sequence values.
fn apply_batch(
    applier: &mut Applier,
    batch: &scry_types::DatabaseEventBatch,
    events: &mut u64,
) -> Result<(), CliError> {
    for event in &batch.events {
        applier.apply(event).map_err(apply_error)?;
        *events += 1;
    }
    if let Some(values) = &batch.sequence_values {
        applier.sync_sequences(values).map_err(apply_error)?;
    }
    Ok(())
}

/// The identity of the stream whose first batch is `first`: its `source_id` (as `scry
/// capture` and `scry snapshot` write it). A stream without one can be applied only under an
/// origin the user names.
fn stream_of(
    first: &scry_types::DatabaseEventBatch,
    input: &str,
    origin: Option<&str>,
) -> Result<String, CliError> {
    match (&first.source_id, origin) {
        (Some(id), _) if !id.is_empty() => Ok(id.clone()),
        (_, Some(_)) => Ok(String::new()),
        (_, None) => Err(CliError::Usage(format!(
            "{input}: its batches carry no source_id, which names the stream and its default \
             replication origin: name the origin with --origin"
        ))),
    }
}

/// Prints the conflicts of the transactions committed since the last call (`--on-conflict
/// log`).
pub(super) fn print_conflicts(applier: &mut Applier, progress: &mut Progress) {
    for conflict in applier.take_conflicts() {
        progress.emit(Event::new(Level::Info, "conflict", conflict));
    }
}

/// The progress line of a run: how far it applied, how many transactions and how fast.
pub(super) fn progress_line(applier: &Applier, started: Instant) -> String {
    let t = applier.totals();
    format!(
        "applied up to {}, {} transactions ({:.0}/s), {} already there",
        Lsn(applier.progress()),
        t.committed,
        t.committed as f64 / started.elapsed().as_secs_f64().max(1e-9),
        t.skipped
    )
}

/// What a run applied and skipped, and the origin's progress from `start`.
pub(super) fn summary(applier: &Applier, start: u64, started: Instant) -> String {
    let t = applier.totals();
    let mut extra = String::new();
    if t.conflicts > 0 {
        extra.push_str(&format!("; {} conflicts skipped", t.conflicts));
    }
    if t.sequences > 0 {
        extra.push_str(&format!("; {} sequences set", t.sequences));
    }
    if t.tables_loaded > 0 {
        extra.push_str(&format!(
            "; {} snapshot table{} loaded ({} rows)",
            t.tables_loaded,
            if t.tables_loaded == 1 { "" } else { "s" },
            t.rows_loaded
        ));
    }
    if t.tables_skipped > 0 {
        extra.push_str(&format!(
            "; {} snapshot table{} already applied skipped",
            t.tables_skipped,
            if t.tables_skipped == 1 { "" } else { "s" }
        ));
    }
    format!(
        "applied {} transaction{} ({} changes) in {:.2} s; {} already applied skipped{extra}; origin {} from {} to {}",
        t.committed,
        if t.committed == 1 { "" } else { "s" },
        t.changes,
        started.elapsed().as_secs_f64(),
        t.skipped,
        applier.origin(),
        Lsn(start),
        Lsn(applier.progress())
    )
}

/// A failed apply as the command's error, saying which side failed: a stream that does not
/// fit, the source's replication stream, or the target.
pub(crate) fn apply_error(e: ApplyError) -> CliError {
    match e {
        ApplyError::Invalid { .. } => CliError::Load(e.to_string()),
        ApplyError::Connection { side, message } => CliError::Lost {
            what: side.to_string(),
            message,
        },
        ApplyError::Source { .. } => CliError::Server {
            what: "source".to_owned(),
            message: e.to_string(),
        },
        _ => CliError::Server {
            what: "target".to_owned(),
            message: e.to_string(),
        },
    }
}

/// A file read as `tail -f` reads it: at its end, wait for more, until Ctrl-C.
struct Follow(std::fs::File);

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n > 0 || buf.is_empty() || crate::interrupt::requested() {
                return Ok(n);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
