//! The applier's connection to the target: PostgreSQL's frontend protocol over one socket,
//! with the message encoding and authentication of `postgres-protocol`; and, in replication
//! mode, the source's logical replication stream (`replication`).
//!
//! It exists for one thing a general client does not offer: a pipeline of many statements
//! (Bind and Execute) closed by a single Sync. The server then sends its answers without a
//! flush and a ReadyForQuery after each statement, and after an error it skips every
//! statement up to the Sync by itself, so the transactions after a failed one in the same
//! pipeline never run. tokio-postgres ends every request with a Sync.
//!
//! The socket is non-blocking and everything happens on the caller's thread: a write that
//! finds the socket full reads what the server has answered meanwhile, and waits (`poll`)
//! for room or for more answers, so a long pipeline can be written while the server answers
//! it without either side waiting on the other's full buffer. Answers are parsed only when
//! asked for.

use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::config::{ConnConfig, Host};
use bytes::{BufMut, BytesMut};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use postgres_protocol::IsNull;

mod auth;
mod copy;
mod error;
mod negotiate;
mod query;
mod replication;
mod stream;

pub use copy::{pipe, CopyIn, CopyOut, PIECE};
pub use error::{Answer, DbError, WireError};
pub use query::Rows;
pub use replication::CopyBoth;
use stream::Stream;

/// How much is asked of the socket at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A connection, set up and idle.
pub struct Conn {
    stream: Stream,
    /// Where a read lands before it joins `input`.
    chunk: Vec<u8>,
    /// Received and not parsed yet.
    input: BytesMut,
    /// Requests not written yet.
    output: BytesMut,
    /// The connection broke: every later request fails at once.
    broken: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut bye = BytesMut::new();
        frontend::terminate(&mut bye);
        // Best effort: a full socket drops the goodbye, and the server sees the close.
        let _ = self.stream.write(&bye);
        self.stream.shutdown();
    }
}

impl Conn {
    /// Connects to the server `conninfo` names (a libpq key/value string or URL, completed
    /// from the environment and files as [`ConnConfig::resolve`] says; TLS as its `sslmode`
    /// asks), trying its hosts in order, and authenticates (trust, password, MD5 or
    /// SCRAM-SHA-256, channel-bound over TLS).
    ///
    /// # Errors
    /// [`WireError`] naming the host and what failed.
    pub fn connect(conninfo: &str) -> Result<Self, WireError> {
        Self::connect_as(conninfo, false)
    }

    /// As [`connect`](Self::connect), as a logical replication connection
    /// (`replication=database`): it takes replication commands and simple queries.
    pub fn connect_replication(conninfo: &str) -> Result<Self, WireError> {
        Self::connect_as(conninfo, true)
    }

    fn connect_as(conninfo: &str, replication: bool) -> Result<Self, WireError> {
        let config =
            ConnConfig::resolve(conninfo).map_err(|e| WireError::Protocol(e.to_string()))?;
        Self::connect_with(&config, replication)
    }

    /// Connects with settings already resolved (see [`ConnConfig::resolve`]); as a logical
    /// replication connection with `replication`. The hosts are tried in order; the error
    /// of the last one is returned, naming it.
    ///
    /// # Errors
    /// [`WireError`] naming the host and what failed: the socket, TLS, authentication or
    /// the server's refusal.
    pub fn connect_with(config: &ConnConfig, replication: bool) -> Result<Self, WireError> {
        let mut last = None;
        for host in &config.hosts {
            for attempt in negotiate::attempts(config, host) {
                let tried = Self::open(host, config.connect_timeout)
                    .map_err(WireError::from)
                    .and_then(|stream| negotiate::negotiate(stream, host, config, attempt))
                    .and_then(|(stream, binding)| {
                        Self::start(stream, config, replication, binding.as_deref())
                    });
                match tried {
                    Ok(conn) => return Ok(conn),
                    // sslmode=allow: a server that refuses a plain connection gets TLS.
                    Err(e) if attempt == negotiate::Attempt::Plain && e.code() == Some("28000") => {
                        last = Some(e.at(host));
                    }
                    Err(e) => {
                        last = Some(e.at(host));
                        break;
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| WireError::Protocol("no host to connect to".into())))
    }

    fn open(host: &Host, timeout: Option<Duration>) -> io::Result<Stream> {
        if host.is_socket() {
            #[cfg(unix)]
            return Ok(Stream::Unix(UnixStream::connect(
                std::path::Path::new(&host.name).join(format!(".s.PGSQL.{}", host.port)),
            )?));
            #[cfg(not(unix))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets are not available here",
            ));
        }
        let mut last = None;
        for addr in std::net::ToSocketAddrs::to_socket_addrs(&(host.name.as_str(), host.port))? {
            let stream = match timeout {
                Some(t) => TcpStream::connect_timeout(&addr, t),
                None => TcpStream::connect(addr),
            };
            match stream {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(Stream::Tcp(s));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} has no address", host.name),
            )
        }))
    }

    /// Starts the session: startup, authentication, the server's parameters up to its
    /// first ReadyForQuery.
    fn start(
        stream: Stream,
        config: &ConnConfig,
        replication: bool,
        binding: Option<&[u8]>,
    ) -> Result<Self, WireError> {
        stream.set_nonblocking()?;
        let mut conn = Conn {
            stream,
            chunk: vec![0; READ_CHUNK],
            input: BytesMut::new(),
            output: BytesMut::new(),
            broken: false,
        };
        let mut params = vec![
            ("user", config.user.as_str()),
            ("database", config.dbname.as_str()),
            ("client_encoding", "UTF8"),
        ];
        if let Some(options) = &config.options {
            params.push(("options", options));
        }
        if replication {
            params.push(("replication", "database"));
        }
        let name = if replication {
            "scry replicate"
        } else {
            "scry apply"
        };
        params.push((
            "application_name",
            config.application_name.as_deref().unwrap_or(name),
        ));
        frontend::startup_message(params, &mut conn.output)?;
        conn.send()?;
        conn.authenticate(
            config.user.as_bytes(),
            config.password.as_deref().map(str::as_bytes),
            binding,
            config.channel_binding,
        )?;
        loop {
            match conn.next()? {
                Message::ReadyForQuery(_) => return Ok(conn),
                Message::BackendKeyData(_) => {}
                Message::ErrorResponse(body) => {
                    return Err(WireError::Server(DbError::parse(&body)))
                }
                other => return Err(unexpected(&other, "after authentication")),
            }
        }
    }

    /// Writes what is queued. While the socket is full, what the server answers is read
    /// into `input`, so that it never waits on a full socket of ours.
    pub fn send(&mut self) -> Result<(), WireError> {
        if self.broken {
            return Err(broken());
        }
        let out = self.output.split();
        self.write_bytes(&out)
    }

    /// Writes `bytes` (see [`send`](Self::send)).
    fn write_bytes(&mut self, out: &[u8]) -> Result<(), WireError> {
        let mut written = 0;
        while let Some(rest) = out.get(written..).filter(|r| !r.is_empty()) {
            match self.stream.write(rest) {
                Ok(0) => return Err(self.fail(io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.stream.wait(true, None).map_err(|e| self.fail(e))? {
                        self.fill(false)?;
                    }
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
        Ok(())
    }

    /// Marks the connection broken and returns `e` as its error.
    fn fail(&mut self, e: io::Error) -> WireError {
        self.broken = true;
        e.into()
    }

    /// Reads what the socket holds into `input`; with `wait`, waits for something first.
    /// Returns how many bytes came (0: nothing there, without `wait`).
    fn fill(&mut self, wait: bool) -> Result<usize, WireError> {
        if self.broken {
            return Err(broken());
        }
        loop {
            match self.stream.read(&mut self.chunk) {
                Ok(0) => return Err(self.fail(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => {
                    self.input
                        .extend_from_slice(self.chunk.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !wait {
                        return Ok(0);
                    }
                    self.stream.wait(false, None).map_err(|e| self.fail(e))?;
                }
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    /// The next message that is not a notice or a parameter's new value.
    fn next(&mut self) -> Result<Message, WireError> {
        loop {
            match Message::parse(&mut self.input)? {
                Some(Message::NoticeResponse(_) | Message::ParameterStatus(_)) => {}
                Some(Message::NotificationResponse(_)) => {}
                Some(m) => return Ok(m),
                None => {
                    self.fill(true)?;
                }
            }
        }
    }

    /// Runs `sql` (one or more statements, no parameters) and returns the rows of the last
    /// statement that returned any, as text.
    pub fn simple(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, WireError> {
        frontend::query(sql, &mut self.output)?;
        self.send()?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            match self.next()? {
                Message::ReadyForQuery(_) => break,
                Message::RowDescription(_) => rows.clear(),
                Message::DataRow(row) => rows.push(text_row(&row)?),
                Message::ErrorResponse(body) => error = Some(DbError::parse(&body)),
                Message::CopyInResponse(_) => {
                    frontend::copy_fail("COPY is not expected here", &mut self.output)?;
                    self.send()?;
                }
                Message::CommandComplete(_) | Message::EmptyQueryResponse => {}
                Message::CopyOutResponse(_) | Message::CopyData(_) | Message::CopyDone => {}
                other => return Err(unexpected(&other, "answering a query")),
            }
        }
        match error {
            Some(e) => Err(WireError::Server(e)),
            None => Ok(rows),
        }
    }

    /// Prepares `sql` as the statement `name` (its parameter types as the server infers
    /// them).
    pub fn prepare(&mut self, name: &str, sql: &str) -> Result<(), WireError> {
        frontend::parse(name, sql, std::iter::empty(), &mut self.output)?;
        frontend::sync(&mut self.output);
        self.send()?;
        let mut error = None;
        loop {
            match self.next()? {
                Message::ParseComplete => {}
                Message::ErrorResponse(body) => error = Some(DbError::parse(&body)),
                Message::ReadyForQuery(_) => break,
                other => return Err(unexpected(&other, "answering a Parse")),
            }
        }
        error.map_or(Ok(()), |e| Err(WireError::Server(e)))
    }

    /// Queues the prepared statement `name` with these parameters (each value's binary
    /// bytes, `None` for NULL).
    pub fn execute<'a>(
        &mut self,
        name: &str,
        params: impl IntoIterator<Item = Option<&'a [u8]>>,
    ) -> Result<(), WireError> {
        let values: Vec<Option<&[u8]>> = params.into_iter().collect();
        self.bind_execute(name, values, 1, 1)
    }

    /// Queues Bind (of the prepared statement `name`, its `params` in `param_format`, the
    /// results in `result_format`: 0 text, 1 binary) and Execute of the unnamed portal.
    fn bind_execute(
        &mut self,
        name: &str,
        params: Vec<Option<&[u8]>>,
        param_format: i16,
        result_format: i16,
    ) -> Result<(), WireError> {
        frontend::bind(
            "",
            name,
            std::iter::once(param_format),
            params,
            |v, buf| match v {
                Some(bytes) => {
                    buf.put_slice(bytes);
                    Ok(IsNull::No)
                }
                None => Ok(IsNull::Yes),
            },
            std::iter::once(result_format),
            &mut self.output,
        )
        .map_err(|e| match e {
            frontend::BindError::Conversion(e) => WireError::Protocol(e.to_string()),
            frontend::BindError::Serialization(e) => WireError::Io(e),
        })?;
        frontend::execute("", 0, &mut self.output)?;
        Ok(())
    }

    /// Waits until this connection or `other` has something to read, `timeout` at most.
    pub fn wait_either(&mut self, other: &mut Self, timeout: Duration) -> Result<(), WireError> {
        self.stream
            .wait_pair(&mut other.stream, timeout)
            .map_err(|e| self.fail(e))
    }

    /// Waits until the server has sent something, `timeout` at most; true when it has.
    ///
    /// # Errors
    /// [`WireError::Io`] when the socket fails.
    pub fn wait_readable(&mut self, timeout: Duration) -> Result<bool, WireError> {
        self.stream
            .wait(false, Some(timeout))
            .map_err(|e| self.fail(e))
    }

    /// Queues the Sync that closes a pipeline.
    pub fn sync(&mut self) {
        frontend::sync(&mut self.output);
    }

    /// Reads everything the socket holds into `input`, without waiting.
    fn take_arrived(&mut self) -> Result<(), WireError> {
        while self.fill(false)? > 0 {}
        Ok(())
    }

    /// Whether the answers of the pipeline written last have all arrived (its ReadyForQuery
    /// is here), without waiting: reading them with [`answers`](Self::answers) then does not
    /// block.
    pub fn answered(&mut self) -> Result<bool, WireError> {
        self.take_arrived()?;
        let mut at = 0;
        while let Some((tag, len)) = self.whole_message_at(at) {
            if tag == b'Z' {
                return Ok(true);
            }
            at += len;
        }
        Ok(false)
    }

    /// The type byte and whole length (a type byte and a length that counts itself) of the
    /// message starting at `at` in `input`, once all of it is there.
    fn whole_message_at(&self, at: usize) -> Option<(u8, usize)> {
        let head = self.input.get(at..at + 5)?;
        let len = 1 + u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        (self.input.len() >= at + len).then_some((head[0], len))
    }

    /// Runs `sql`, a query of one LSN (as text); `None` when it returns no row or NULL.
    pub fn query_lsn(&mut self, sql: &str) -> Result<Option<u64>, WireError> {
        Ok(self
            .simple(sql)?
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .and_then(|t| t.parse::<scry_types::Lsn>().ok())
            .map(|l| l.0))
    }

    /// Reads the answers of a pipeline of `n` statements (written, closed by one Sync), in
    /// order; then whether the session is left in a failed transaction block.
    pub fn answers(&mut self, n: usize) -> Result<(Vec<Answer>, bool), WireError> {
        let mut answers = Vec::with_capacity(n);
        let failed = loop {
            match self.next()? {
                Message::BindComplete | Message::DataRow(_) | Message::RowDescription(_) => {}
                Message::NoData | Message::ParseComplete | Message::PortalSuspended => {}
                Message::CommandComplete(body) => answers.push(Answer::Done(count(&body)?)),
                Message::EmptyQueryResponse => answers.push(Answer::Done(0)),
                Message::ErrorResponse(body) => {
                    answers.push(Answer::Failed(DbError::parse(&body)));
                }
                Message::ReadyForQuery(body) => break body.status() == b'E',
                other => return Err(unexpected(&other, "answering a pipeline")),
            }
        };
        if answers.len() > n {
            return Err(WireError::Protocol(format!(
                "{} answers to a pipeline of {n} statements",
                answers.len()
            )));
        }
        answers.resize(n, Answer::NotRun);
        Ok((answers, failed))
    }

    fn until_ready(&mut self) -> Result<(), WireError> {
        loop {
            if let Message::ReadyForQuery(_) = self.next()? {
                return Ok(());
            }
        }
    }
}

/// The count at the end of a command tag (`INSERT 0 3`, `UPDATE 1`, `COPY 10`), or 0.
fn count(body: &postgres_protocol::message::backend::CommandCompleteBody) -> io::Result<u64> {
    let tag = body.tag()?;
    Ok(tag
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// A row's values as text (`None` for NULL).
fn text_row(
    row: &postgres_protocol::message::backend::DataRowBody,
) -> Result<Vec<Option<String>>, WireError> {
    use fallible_iterator::FallibleIterator;
    let buf = row.buffer();
    let mut out = Vec::new();
    let mut ranges = row.ranges();
    while let Some(range) = ranges.next()? {
        out.push(
            range
                .and_then(|r| buf.get(r))
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        );
    }
    Ok(out)
}

fn unexpected(m: &Message, when: &str) -> WireError {
    let what = match m {
        Message::CopyInResponse(_) => "a COPY",
        Message::DataRow(_) => "a row",
        Message::ReadyForQuery(_) => "a ReadyForQuery",
        _ => "a message",
    };
    WireError::Protocol(format!("the server sent {what} not expected {when}"))
}

/// Runs `attempt` again while the server says what it needs is in use (SQLSTATE 55006,
/// `object_in_use`: a replication origin or slot still held by the backend or walsender of
/// a process that died, until it notices), `wait` at most.
pub fn while_in_use<T>(
    wait: Duration,
    mut attempt: impl FnMut() -> Result<T, WireError>,
) -> Result<T, WireError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match attempt() {
            Err(e) if e.code() == Some("55006") && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

fn broken() -> WireError {
    WireError::Io(io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the connection is closed",
    ))
}

#[cfg(test)]
mod tests;
