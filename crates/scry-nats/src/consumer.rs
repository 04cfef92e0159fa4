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
//! already committed.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::Message;
use bytes::Bytes;
use futures_util::StreamExt;

use crate::publisher::{read_headers, Stored};
use crate::runtime::Connection;
use crate::{Address, NatsError};

/// How long JetStream waits for an acknowledgement before delivering a message again.
pub const ACK_WAIT: Duration = Duration::from_secs(300);

/// How many messages may be handed out and not yet acknowledged.
const MAX_ACK_PENDING: i64 = 100_000;

/// One message as the consumer hands it out.
pub struct Delivered {
    /// Its sequence number in the stream.
    pub sequence: u64,
    /// The subject it was published to (`STREAM.<source>.<slot>`).
    pub subject: String,
    /// The framed batch.
    pub payload: Bytes,
    /// What its headers say.
    pub stored: Stored,
    message: Message,
}

/// A durable pull consumer of a stream.
pub struct Consumer {
    conn: Connection,
    consumer: PullConsumer,
    stream: String,
    name: String,
    /// The highest stream sequence handed out in this run.
    handed_out: u64,
}

impl Consumer {
    /// Connects and opens the durable consumer `name` of the address's stream (creating it,
    /// from the stream's first message, when it is new). The stream must exist: a consumer
    /// never creates it.
    pub fn open(
        address: &Address,
        creds: Option<&std::path::Path>,
        name: &str,
    ) -> Result<Self, NatsError> {
        let conn = Connection::open(address, creds)?;
        let stream_name = address.stream.clone();
        let consumer_error = |reason: String| NatsError::Consumer {
            stream: stream_name.clone(),
            consumer: name.to_owned(),
            reason,
        };
        let stream = conn
            .rt
            .block_on(conn.js.get_stream(&stream_name))
            .map_err(|e| NatsError::Stream {
                stream: stream_name.clone(),
                reason: format!("{e} (a capture creates it: scry capture --out {address})"),
            })?;
        let config = |deliver_policy| Config {
            durable_name: Some(name.to_owned()),
            deliver_policy,
            ack_policy: AckPolicy::Explicit,
            ack_wait: ACK_WAIT,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        };
        let consumer = conn.rt.block_on(async {
            let mut consumer: PullConsumer = stream
                .get_or_create_consumer(name, config(DeliverPolicy::All))
                .await
                .map_err(|e| e.to_string())?;
            // Messages an earlier run was handed and never acknowledged would come again
            // only after ACK_WAIT: start the consumer again just past its acknowledged floor,
            // so that they come now.
            let info = consumer.info().await.map_err(|e| e.to_string())?;
            if info.num_ack_pending > 0 {
                let start_sequence = info.ack_floor.stream_sequence + 1;
                stream
                    .delete_consumer(name)
                    .await
                    .map_err(|e| e.to_string())?;
                consumer = stream
                    .get_or_create_consumer(
                        name,
                        config(DeliverPolicy::ByStartSequence { start_sequence }),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(consumer)
        });
        let consumer = consumer.map_err(consumer_error)?;
        Ok(Self {
            conn,
            consumer,
            stream: stream_name,
            name: name.to_owned(),
            handed_out: 0,
        })
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
        let fetched = self.conn.rt.block_on(async {
            let mut batch = self
                .consumer
                .fetch()
                .max_messages(max.max(1))
                .expires(wait.max(Duration::from_millis(10)))
                .messages()
                .await
                .map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            while let Some(m) = batch.next().await {
                out.push(m.map_err(|e| e.to_string())?);
            }
            Ok::<_, String>(out)
        });
        let mut out = Vec::new();
        for message in fetched.map_err(|e| self.error(e))? {
            let sequence = message
                .info()
                .map_err(|e| self.error(e.to_string()))?
                .stream_sequence;
            if sequence <= self.handed_out {
                continue;
            }
            let headers = message.headers.clone().unwrap_or_default();
            let stored = read_headers(&headers).map_err(|reason| NatsError::Message {
                stream: self.stream.clone(),
                sequence,
                reason,
            })?;
            self.handed_out = sequence;
            out.push(Delivered {
                sequence,
                subject: message.subject.to_string(),
                payload: message.payload.clone(),
                stored,
                message,
            });
        }
        Ok(out)
    }

    /// Acknowledges `d` and waits until JetStream has recorded it: the consumer will not
    /// hand it out again.
    pub fn ack(&self, d: &Delivered) -> Result<(), NatsError> {
        self.conn
            .rt
            .block_on(d.message.double_ack())
            .map_err(|e| self.error(format!("acknowledging message {}: {e}", d.sequence)))
    }

    /// How many of the stream's messages this consumer has not been handed yet (0: it is at
    /// the stream's end).
    pub fn remaining(&mut self) -> Result<u64, NatsError> {
        let info = self.conn.rt.block_on(self.consumer.info());
        match info {
            Ok(i) => Ok(i.num_pending),
            Err(e) => Err(self.error(e.to_string())),
        }
    }
}
