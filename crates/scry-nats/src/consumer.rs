//! [`Consumer`]: a target's durable place in a stream. Messages are acknowledged only when
//! the caller says the target committed them; a consumer restarted reads on from the first
//! message it had not acknowledged.
//!
//! JetStream redelivers a message not acknowledged within [`ACK_WAIT`] (a large transaction
//! spans many messages, all held until its commit): a redelivery of a message this consumer
//! already handed out is dropped here, so the caller sees each message once per run. A run
//! that opens a consumer whose earlier run left messages unacknowledged starts it again
//! just past its acknowledged floor, so those come at once rather than after `ACK_WAIT`.
//! Across runs a message may thus come again; the target's replication origin skips what it
//! already committed. A frame sent in parts ([`crate::parts`]) is handed out whole, as its
//! last part: acknowledging it acknowledges its parts.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::context::GetStreamErrorKind;
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::Message;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::parts::{self, Assembler};
use crate::publisher::{read_headers, Stored};
use crate::runtime::{ClientOptions, Connection};
use crate::{Address, NatsError};

/// How long JetStream waits for an acknowledgement before delivering a message again.
pub const ACK_WAIT: Duration = Duration::from_secs(300);

/// How many messages may be handed out and not yet acknowledged.
const MAX_ACK_PENDING: i64 = 100_000;

/// The most bytes one fetch asks for (beside a message the server's `max_payload` allows):
/// what is fetched and not yet handed out stays bounded whatever the batches' sizes.
pub(crate) const FETCH_BYTES: usize = 4 * 1024 * 1024;

/// The byte limit of one fetch from a server whose `max_payload` is `max_payload`: at
/// least one whole message of the largest size.
pub(crate) fn fetch_bytes(max_payload: usize) -> usize {
    FETCH_BYTES.max(max_payload + 64 * 1024)
}

/// Up to `max` messages and about `bytes` bytes of `consumer`, waiting at most `wait`.
pub(crate) async fn fetch(
    consumer: &PullConsumer,
    max: usize,
    bytes: usize,
    wait: Duration,
) -> Result<Vec<Message>, String> {
    let mut batch = consumer
        .fetch()
        .max_messages(max.max(1))
        .max_bytes(bytes)
        .expires(wait)
        .messages()
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(m) = batch.next().await {
        match m {
            Ok(m) => out.push(m),
            // The server ends a fetch whose next message would pass its byte limit with
            // this status (409): the messages so far are the batch.
            Err(e) if !out.is_empty() && e.to_string().contains("Exceeds MaxBytes") => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(out)
}

/// The durable consumer `name`, delivering from `deliver_policy` on.
fn config(name: &str, deliver_policy: DeliverPolicy) -> Config {
    Config {
        durable_name: Some(name.to_owned()),
        deliver_policy,
        // Acknowledging a message acknowledges every one before it: one acknowledgement per
        // commit the target makes durable, not one per message.
        ack_policy: AckPolicy::All,
        ack_wait: ACK_WAIT,
        max_ack_pending: MAX_ACK_PENDING,
        ..Default::default()
    }
}

/// One message as the consumer hands it out.
pub struct Delivered {
    /// Its sequence number in the stream (its last part's, when it came in parts).
    pub sequence: u64,
    /// The sequence number of its first part (`sequence` when it came whole).
    pub first_sequence: u64,
    /// The subject it was published to (`STREAM.<source>.<slot>`).
    pub subject: String,
    /// The framed batch.
    pub payload: Bytes,
    /// What its headers say.
    pub stored: Stored,
    /// Where its acknowledgement goes (held after the payload is let go: no copy of the
    /// payload stays with it).
    reply: Option<async_nats::Subject>,
}

/// A durable pull consumer of a stream.
pub struct Consumer {
    conn: Connection,
    stream_handle: Stream,
    consumer: PullConsumer,
    stream: String,
    name: String,
    /// The highest stream sequence received in this run (a part or a whole frame).
    seen: u64,
    /// The parts of a frame received so far.
    assembler: Assembler,
    /// The byte limit of one fetch.
    fetch_bytes: usize,
    /// See [`goes_on_after`](Self::goes_on_after).
    after: u64,
    /// The stream sequence of the first part of the frame being put together.
    part_start: u64,
}

impl Consumer {
    /// Connects and opens the durable consumer `name` of the address's stream (creating it,
    /// from the stream's first message, when it is new). The stream must exist: a consumer
    /// never creates it.
    pub fn open(address: &Address, client: &ClientOptions, name: &str) -> Result<Self, NatsError> {
        let conn = Connection::open(address, client)?;
        let stream_name = address.stream.clone();
        let consumer_error = |reason: String| NatsError::Consumer {
            stream: stream_name.clone(),
            consumer: name.to_owned(),
            reason,
        };
        let stream = conn
            .rt
            .block_on(conn.js.get_stream(&stream_name))
            .map_err(|e| match e.kind() {
                GetStreamErrorKind::JetStream(j)
                    if j.error_code() == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    NatsError::NoStream {
                        stream: stream_name.clone(),
                        address: address.to_string(),
                    }
                }
                _ => NatsError::Stream {
                    stream: stream_name.clone(),
                    reason: e.to_string(),
                },
            })?;
        let consumer = conn
            .rt
            .block_on(stream.get_or_create_consumer(name, config(name, DeliverPolicy::All)))
            .map_err(|e| consumer_error(e.to_string()))?;
        let mut this = Self {
            conn,
            stream_handle: stream,
            consumer,
            stream: stream_name,
            name: name.to_owned(),
            seen: 0,
            assembler: Assembler::default(),
            fetch_bytes: 0,
            after: 0,
            part_start: 0,
        };
        this.fetch_bytes = fetch_bytes(this.conn.max_payload());
        // Messages an earlier run was handed and never acknowledged would come again only
        // after ACK_WAIT: start the consumer again just past its acknowledged floor, so that
        // they come now.
        let info = this.info()?;
        this.after = info.ack_floor.stream_sequence;
        if info.num_ack_pending > 0 {
            let start_sequence = info.ack_floor.stream_sequence + 1;
            this.start_at(DeliverPolicy::ByStartSequence { start_sequence })?;
        }
        Ok(this)
    }

    fn info(&mut self) -> Result<async_nats::jetstream::consumer::Info, NatsError> {
        let info = self.conn.rt.block_on(self.consumer.info());
        match info {
            Ok(i) => Ok(i.clone()),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    /// Makes the consumer anew, delivering from `policy` on.
    fn start_at(&mut self, policy: DeliverPolicy) -> Result<(), NatsError> {
        let (stream, name) = (&self.stream_handle, self.name.as_str());
        let made = self.conn.rt.block_on(async {
            stream
                .delete_consumer(name)
                .await
                .map_err(|e| e.to_string())?;
            stream
                .get_or_create_consumer(name, config(name, policy))
                .await
                .map_err(|e| e.to_string())
        });
        self.consumer = made.map_err(|e| self.error(e))?;
        self.seen = 0;
        self.assembler = Assembler::default();
        Ok(())
    }

    /// The last message this consumer has acknowledged (its floor: it and every one before
    /// it are acknowledged): what its headers say and its payload; `None` before the first
    /// acknowledgement, or when the stream no longer holds it.
    pub fn acknowledged_floor(&mut self) -> Result<Option<(Stored, Bytes)>, NatsError> {
        let floor = self.info()?.ack_floor.stream_sequence;
        if floor == 0 {
            return Ok(None);
        }
        // The last part of a frame sent in parts: the parts before it are the subject's
        // messages before it, first part first.
        let mut payloads = Vec::new();
        let mut stored = None;
        let mut subject = None;
        let mut sequence = floor;
        while sequence > 0 {
            let found = self
                .conn
                .rt
                .block_on(self.stream_handle.get_raw_message(sequence));
            let Ok(message) = found else {
                return Ok(None);
            };
            sequence -= 1;
            if subject.as_ref().is_some_and(|s| *s != message.subject) {
                continue;
            }
            let unreadable = |reason| NatsError::Message {
                stream: self.stream.clone(),
                sequence: message.sequence,
                reason,
            };
            let part = parts::read(&message.headers).map_err(unreadable)?;
            if stored.is_none() {
                stored = Some(read_headers(&message.headers).map_err(unreadable)?);
            }
            subject.get_or_insert(message.subject);
            payloads.push(message.payload);
            if part.is_none_or(|(i, _)| i == 0) {
                break;
            }
        }
        let whole: Vec<u8> = payloads
            .iter()
            .rev()
            .flat_map(|p| p.iter().copied())
            .collect();
        Ok(stored.map(|s| (s, Bytes::from(whole))))
    }

    /// The stream sequence this consumer goes on after: its acknowledged floor when it was
    /// opened, 0 when it is new or was [`restart`](Self::restart)ed. A first message handed
    /// out further on than the next sequence means the stream removed messages this
    /// consumer never had (see [`Delivered::first_sequence`]).
    #[must_use]
    pub fn goes_on_after(&self) -> u64 {
        self.after
    }

    /// Starts the consumer again at the stream's first message, forgetting what it had
    /// acknowledged (for a target that does not have what the consumer acknowledged).
    pub fn restart(&mut self) -> Result<(), NatsError> {
        self.start_at(DeliverPolicy::All)?;
        self.after = 0;
        Ok(())
    }

    fn error(&self, reason: String) -> NatsError {
        NatsError::Consumer {
            stream: self.stream.clone(),
            consumer: self.name.clone(),
            reason,
        }
    }

    /// Up to `max` messages, waiting at most `wait` for the first; empty when none came.
    pub fn next(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, NatsError> {
        let fetched = self.conn.rt.block_on(fetch(
            &self.consumer,
            max,
            self.fetch_bytes,
            wait.max(Duration::from_millis(10)),
        ));
        let mut out = Vec::new();
        for message in fetched.map_err(|e| self.error(e))? {
            let sequence = message
                .info()
                .map_err(|e| self.error(e.to_string()))?
                .stream_sequence;
            if sequence <= self.seen {
                continue;
            }
            self.seen = sequence;
            let headers = message.headers.clone().unwrap_or_default();
            let unreadable = |reason| NatsError::Message {
                stream: self.stream.clone(),
                sequence,
                reason,
            };
            let stored = read_headers(&headers).map_err(unreadable)?;
            let part = parts::read(&headers).map_err(unreadable)?;
            if part.is_none_or(|(i, _)| i == 0) {
                self.part_start = sequence;
            }
            let Some(payload) = self.assembler.push(part, message.payload.clone()) else {
                continue;
            };
            out.push(Delivered {
                sequence,
                first_sequence: self.part_start,
                subject: message.subject.to_string(),
                payload,
                stored,
                reply: message.message.reply.clone(),
            });
        }
        Ok(out)
    }

    /// Acknowledges `d`, and with it every message handed out before it, and waits until
    /// JetStream has recorded it: the consumer will not hand them out again.
    pub fn ack(&self, d: &Delivered) -> Result<(), NatsError> {
        let failed = |e: String| self.error(format!("acknowledging message {}: {e}", d.sequence));
        let reply = d
            .reply
            .clone()
            .ok_or_else(|| failed("it has no reply subject".to_owned()))?;
        // A request: the server answers once it has recorded the acknowledgement.
        let client = self.conn.js.client();
        self.conn
            .rt
            .block_on(client.request(reply, Bytes::from_static(b"+ACK")))
            .map(|_| ())
            .map_err(|e| failed(e.to_string()))
    }

    /// How many of the stream's messages this consumer has not been handed yet (0: it is at
    /// the stream's end).
    pub fn remaining(&mut self) -> Result<u64, NatsError> {
        Ok(self.info()?.num_pending)
    }
}
