//! The streaming source of `scry capture`: `START_REPLICATION SLOT ... LOGICAL` over a
//! replication connection (proto_version 1, binary values, messages), through the
//! pgwire-replication crate, which keeps the connection alive (keepalive replies, standby
//! status updates) and hands over each pgoutput message.
//!
//! The position acknowledged to the server is raised only to the last Commit whose frames are
//! on disk: after each transaction once 100 ms have passed since the last `fsync`, and
//! whenever the stream goes quiet. The stream starts at the slot's confirmed position, or at
//! the output's last Commit when that is further, so a transaction already written is not
//! sent again.
//!
//! `--until` is met once the walsender has read the WAL past it (`pg_stat_replication`'s
//! `sent_lsn`, asked over a second, ordinary connection when the stream goes quiet) and no
//! transaction is open, or at the first transaction that commits after it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use pgwire_replication::{ReplicationClient, ReplicationConfig, ReplicationEvent};
use postgres::Client;
use scry_pg::pgoutput::{Begin, Commit, LogicalMessage};

use super::{Capture, Options};
use crate::commands::CliError;
use crate::pg;

/// How long the stream may be quiet before the output is made durable and `--until` checked.
const QUIET: Duration = Duration::from_millis(150);
/// The longest a written transaction waits for its `fsync` while the stream is busy.
const SYNC_EVERY: Duration = Duration::from_millis(100);

/// Captures until `until` (or Ctrl-C); `start` is where the slot's confirmed position is.
pub fn run(
    conninfo: &str,
    client: Client,
    capture: Capture,
    options: &Options<'_>,
    until: Option<u64>,
    start: u64,
) -> Result<(), CliError> {
    let start = start.max(capture.resume_after.unwrap_or(0));
    let application = format!("scry capture {} {}", options.slot, std::process::id());
    let config = config(conninfo, options)?
        .with_start_lsn(pgwire_replication::Lsn(start))
        .with_ack_lsn(pgwire_replication::Lsn(start))
        .with_status_interval(Duration::from_millis(50))
        .with_binary(true)
        .with_application_name(application.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the replication runtime: {e}")))?;
    let mut session = Session {
        capture,
        client,
        application,
        slot: options.slot.to_owned(),
        until,
        begin: None,
        open: false,
        acked: start,
        last_sync: Instant::now(),
    };
    runtime.block_on(session.stream(config))?;
    session.capture.totals.confirmed = session.acked;
    if options.sequences && until.is_some() {
        session.capture.sequences(&mut session.client)?;
    }
    session.capture.finish()
}

/// The replication connection's settings from a libpq connection string or URL.
fn config(conninfo: &str, options: &Options<'_>) -> Result<ReplicationConfig, CliError> {
    let parsed: postgres::Config = conninfo
        .parse()
        .map_err(|e| CliError::Usage(format!("not a connection string: {e}")))?;
    let host = match parsed.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(dir)) => dir.to_string_lossy().into_owned(),
        None => "localhost".to_owned(),
    };
    let port = parsed.get_ports().first().copied().unwrap_or(5432);
    let user = parsed.get_user().unwrap_or("postgres").to_owned();
    let password = parsed
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let database = parsed.get_dbname().unwrap_or(&user).to_owned();
    Ok(ReplicationConfig::new(
        host,
        user,
        password,
        database,
        options.slot,
        options.publication,
    )
    .with_port(port))
}

struct Session {
    capture: Capture,
    client: Client,
    application: String,
    slot: String,
    until: Option<u64>,
    /// A Begin the crate handed over as fields: fed to the decoder at the next message's
    /// LSN (the transaction's first), as the SQL source's Begin is.
    begin: Option<Begin>,
    /// Between a Begin and its Commit.
    open: bool,
    /// The position acknowledged so far.
    acked: u64,
    last_sync: Instant,
}

impl Session {
    async fn stream(&mut self, config: ReplicationConfig) -> Result<(), CliError> {
        let mut repl = ReplicationClient::connect(config)
            .await
            .map_err(|e| wire_error("cannot start replication", &e))?;
        let result = self.receive(&mut repl).await;
        // What is written is durable and acknowledged before the connection closes.
        let synced = self.sync(&repl);
        if result.is_ok() && synced.is_ok() {
            self.await_confirmed().await?;
        }
        let _ = repl.shutdown().await;
        result.and(synced)
    }

    /// Waits (2 s at most) until the slot's confirmed position reaches what was acknowledged,
    /// so that the slot does not hold back WAL the output already has.
    async fn await_confirmed(&mut self) -> Result<(), CliError> {
        for _ in 0..40 {
            let confirmed = self.ask(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &self.slot.clone(),
            )?;
            if confirmed >= self.acked {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Runs a query that returns one LSN (0 when it returns none) on the ordinary
    /// connection.
    fn ask(&mut self, sql: &str, parameter: &str) -> Result<u64, CliError> {
        super::query_lsn(
            &mut self.client,
            sql,
            parameter,
            "cannot read the replication state",
        )
    }

    async fn receive(&mut self, repl: &mut ReplicationClient) -> Result<(), CliError> {
        loop {
            if crate::interrupt::requested() {
                self.sync(repl)?;
                return Err(self.capture.interrupted());
            }
            // An event already received is taken at once; when none is, the transactions
            // written so far go on to a pipe's reader before the wait.
            let next = match tokio::time::timeout(Duration::ZERO, repl.recv()).await {
                Ok(next) => Ok(next),
                Err(_none_at_hand) => {
                    self.capture.flush_pipe()?;
                    tokio::time::timeout(QUIET, repl.recv()).await
                }
            };
            let event = match next {
                Err(_quiet) => {
                    self.sync(repl)?;
                    if self.caught_up()? {
                        return Ok(());
                    }
                    continue;
                }
                Ok(Ok(Some(event))) => event,
                Ok(Ok(None)) => {
                    return Err(CliError::Server {
                        what: "source".to_owned(),
                        message: format!(
                            "the server ended the replication stream of slot {} (shutting \
                             down, or its walsender was stopped); run the same command again \
                             to go on",
                            self.slot
                        ),
                    })
                }
                Ok(Err(e)) => return Err(wire_error("replication stream", &e)),
            };
            match event {
                ReplicationEvent::Begin {
                    final_lsn,
                    xid,
                    commit_time_micros,
                } => {
                    if self.until.is_some_and(|until| final_lsn.as_u64() > until) {
                        return Ok(());
                    }
                    self.begin = Some(Begin {
                        final_lsn: final_lsn.as_u64(),
                        commit_time: commit_time_micros,
                        xid,
                    });
                    self.open = true;
                }
                ReplicationEvent::XLogData {
                    wal_start, data, ..
                } => self.message(wal_start.as_u64(), &data)?,
                ReplicationEvent::Message {
                    transactional,
                    lsn,
                    prefix,
                    content,
                } => {
                    let bytes = LogicalMessage {
                        xid: None,
                        transactional,
                        lsn: lsn.as_u64(),
                        prefix: &prefix,
                        content: &content,
                    }
                    .to_bytes();
                    self.message(lsn.as_u64(), &bytes)?;
                }
                ReplicationEvent::Commit {
                    lsn,
                    end_lsn,
                    commit_time_micros,
                } => {
                    let bytes = Commit {
                        commit_lsn: lsn.as_u64(),
                        end_lsn: end_lsn.as_u64(),
                        commit_time: commit_time_micros,
                    }
                    .to_bytes();
                    self.message(end_lsn.as_u64(), &bytes)?;
                    self.open = false;
                    if self.last_sync.elapsed() >= SYNC_EVERY {
                        self.sync(repl)?;
                    }
                }
                ReplicationEvent::KeepAlive {
                    wal_end,
                    reply_requested,
                    ..
                } => {
                    // With nothing open, everything the server sent before `wal_end` is
                    // written: once it is durable (and, on a pipe, committed by the reader),
                    // the slot may be confirmed that far. A server shutting down asks for
                    // replies until it is.
                    if reply_requested && !self.open && self.begin.is_none() {
                        self.sync(repl)?;
                        let end = wal_end.as_u64();
                        if end > self.acked && self.capture.settled() {
                            repl.update_applied_lsn(wal_end);
                            self.acked = end;
                        }
                    }
                }
                ReplicationEvent::StoppedAt { .. } => return Ok(()),
            }
        }
    }

    /// Decodes a message, after the Begin it follows. The walsender gives Relation and Type
    /// messages no position (0): the Begin waits for the first message that has one.
    fn message(&mut self, lsn: u64, bytes: &[u8]) -> Result<(), CliError> {
        if lsn != 0 {
            if let Some(b) = self.begin.take() {
                self.capture
                    .decode(lsn, &Bytes::from(b.to_bytes()), &self.slot)?;
            }
        }
        self.capture
            .decode(lsn, &Bytes::copy_from_slice(bytes), &self.slot)
    }

    /// Makes the output durable and acknowledges its last Commit.
    fn sync(&mut self, repl: &ReplicationClient) -> Result<(), CliError> {
        self.last_sync = Instant::now();
        if let Some(position) = self.capture.durable()? {
            repl.update_applied_lsn(pgwire_replication::Lsn(position));
            self.acked = self.acked.max(position);
        }
        Ok(())
    }

    /// True when `--until` is met: no transaction open and the walsender past it.
    fn caught_up(&mut self) -> Result<bool, CliError> {
        let Some(until) = self.until else {
            return Ok(false);
        };
        if self.open {
            return Ok(false);
        }
        let application = self.application.clone();
        let sent = self.ask(
            "SELECT sent_lsn::text FROM pg_stat_replication WHERE application_name = $1",
            &application,
        )?;
        Ok(sent >= until)
    }
}

fn wire_error(what: &str, e: &pgwire_replication::PgWireError) -> CliError {
    CliError::Server {
        what: format!("source: {what}"),
        message: e.to_string(),
    }
}

/// A slot just created over a replication connection with its snapshot exported; the
/// snapshot stays usable as long as this value (its connection) lives.
pub struct ExportedSlot {
    /// The exported snapshot's name, for `SET TRANSACTION SNAPSHOT`.
    pub snapshot: String,
    /// The slot's consistent point: the changes after it are the slot's, those before are
    /// in the snapshot.
    pub consistent_point: u64,
    // Dropped after the snapshot is read: the connection, then its runtime.
    _client: ReplicationClient,
    _runtime: tokio::runtime::Runtime,
}

/// `CREATE_REPLICATION_SLOT slot LOGICAL pgoutput (SNAPSHOT 'export')` over a replication
/// connection.
pub fn create_slot_exporting(
    conninfo: &str,
    options: &Options<'_>,
) -> Result<ExportedSlot, CliError> {
    let config = config(conninfo, options)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the replication runtime: {e}")))?;
    let sql = format!(
        "CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT 'export')",
        pg::quote(options.slot)
    );
    let (client, rows) = runtime
        .block_on(async {
            let mut client = ReplicationClient::connect_gated(config).await?;
            let rows = client.simple_query(&sql).await?;
            Ok::<_, pgwire_replication::PgWireError>((client, rows))
        })
        .map_err(|e| wire_error("cannot create the replication slot", &e))?;
    let field = |i: usize| {
        rows.first()
            .and_then(|r| r.get(i))
            .and_then(Option::as_ref)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let (Some(point), Some(snapshot)) = (field(1), field(2)) else {
        return Err(CliError::Server {
            what: "CREATE_REPLICATION_SLOT".to_owned(),
            message: "no consistent point or snapshot name in its answer".to_owned(),
        });
    };
    Ok(ExportedSlot {
        snapshot,
        consistent_point: super::parse_lsn(&point)?,
        _client: client,
        _runtime: runtime,
    })
}
