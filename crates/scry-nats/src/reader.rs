//! [`StreamReader`]: a stream's messages, first to last, as one framed byte stream, for the
//! commands that read a stream without consuming it (`dump`, `stats`, `validate`,
//! `convert`). Each message is a whole frame (or a part of one, put together again), so
//! the frames one after another are the same bytes a capture file holds.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use bytes::{Buf, Bytes};

use crate::consumer::fetch;
use crate::parts::{self, Assembler};
use crate::runtime::{ClientOptions, Connection};
use crate::{Address, NatsError};

/// How many messages one fetch asks for.
const FETCH: usize = 512;

/// Reads the messages a stream holds when it is opened, in order, through a consumer that
/// acknowledges nothing and is gone when the reader is (an ephemeral one).
pub struct StreamReader {
    conn: Connection,
    consumer: Option<PullConsumer>,
    stream: String,
    /// The sequence of the stream's last message at open (0: it was empty).
    last: u64,
    /// The sequence of the last message read.
    read: u64,
    /// Payloads fetched and not yet read, the first one partly read maybe.
    ready: VecDeque<Bytes>,
    /// The stream's bytes (payloads and headers) at open, for progress.
    pub bytes: u64,
    /// The parts of a frame read so far.
    assembler: Assembler,
    /// The byte limit of one fetch.
    fetch_bytes: usize,
}

impl StreamReader {
    /// Opens the stream of `address` and notes its last message: what is published after
    /// this is not read.
    pub fn open(address: &Address, client: &ClientOptions) -> Result<Self, NatsError> {
        let conn = Connection::open(address, client)?;
        let name = address.stream.clone();
        let stream_error = |reason: String| NatsError::Stream {
            stream: name.clone(),
            reason,
        };
        let (consumer, state) = conn
            .rt
            .block_on(async {
                let mut stream = conn.js.get_stream(&name).await.map_err(|e| e.to_string())?;
                let state = stream
                    .info()
                    .await
                    .map_err(|e| e.to_string())?
                    .state
                    .clone();
                let consumer: PullConsumer = stream
                    .create_consumer(Config {
                        deliver_policy: DeliverPolicy::All,
                        ack_policy: AckPolicy::None,
                        inactive_threshold: Duration::from_secs(60),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((consumer, state))
            })
            .map_err(stream_error)?;
        let empty = state.messages == 0;
        Ok(Self {
            assembler: Assembler::default(),
            fetch_bytes: crate::consumer::fetch_bytes(conn.max_payload()),
            conn,
            consumer: (!empty).then_some(consumer),
            stream: name,
            last: if empty { 0 } else { state.last_sequence },
            read: 0,
            ready: VecDeque::new(),
            bytes: state.bytes,
        })
    }

    /// Fetches the next messages into `ready`; false once the last one is read.
    fn fetch(&mut self) -> Result<bool, NatsError> {
        let Some(consumer) = &self.consumer else {
            return Ok(false);
        };
        let wanted = FETCH.min(usize::try_from(self.last - self.read).unwrap_or(FETCH));
        let fetched = self.conn.rt.block_on(async {
            let batch = fetch(consumer, wanted, self.fetch_bytes, Duration::from_secs(2)).await?;
            let mut out = Vec::new();
            for m in batch {
                let sequence = m.info().map_err(|e| e.to_string())?.stream_sequence;
                let part = match &m.headers {
                    Some(h) => parts::read(h).map_err(|e| format!("message {sequence}: {e}"))?,
                    None => None,
                };
                out.push((sequence, part, m.payload.clone()));
            }
            Ok::<_, String>(out)
        });
        let fetched = fetched.map_err(|reason| NatsError::Stream {
            stream: self.stream.clone(),
            reason,
        })?;
        if fetched.is_empty() {
            // Messages up to `last` were deleted or aged out meanwhile: nothing more comes.
            self.consumer = None;
            return Ok(false);
        }
        for (sequence, part, payload) in fetched {
            if sequence > self.last {
                self.consumer = None;
                break;
            }
            self.read = sequence;
            if let Some(frame) = self.assembler.push(part, payload) {
                self.ready.push_back(frame);
            }
        }
        if self.read >= self.last {
            self.consumer = None;
        }
        Ok(true)
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(front) = self.ready.front_mut() {
                let n = front.len().min(buf.len());
                if let (Some(to), Some(from)) = (buf.get_mut(..n), front.get(..n)) {
                    to.copy_from_slice(from);
                }
                front.advance(n);
                if front.is_empty() {
                    self.ready.pop_front();
                }
                return Ok(n);
            }
            if !self.fetch().map_err(io::Error::other)? {
                return Ok(0);
            }
        }
    }
}
