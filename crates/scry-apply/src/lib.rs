//! The receiving end of the scry `database_event` protocol: CDC transactions (as `scry capture`
//! and `scry_pg::pgoutput` produce them) applied to a PostgreSQL target, each exactly once.
//!
//! [`Applier`] turns each source transaction into one target transaction, in commit order:
//! INSERT, UPDATE and DELETE as prepared statements whose parameters are the events' value
//! bytes sent in binary (no text round trip); an UPDATE carrying unchanged-TOAST markers sets
//! only the columns it carries; UPDATE and DELETE find the row by the old key when the source
//! sent one (a changed key, REPLICA IDENTITY FULL) and by the new row's key otherwise;
//! TRUNCATE and DDL events run their statement. The session runs with
//! `session_replication_role = replica`, as PostgreSQL's own subscriber does, so the target's
//! triggers and foreign-key checks do not fire again for replicated rows.
//!
//! **Exactly once.** Progress is a replication origin (`pg_replication_origin_*`), the
//! mechanism PostgreSQL's subscriber uses: every target transaction records its source Commit
//! position with `pg_replication_origin_xact_setup` before it commits, so the position and
//! the changes are durable together or not at all. After a crash the origin says which
//! transactions the target has; a transaction is applied unless its Commit position is at or
//! before that. Since a Begin does not say where its transaction ends, a transaction that
//! began at or before the recorded position is applied tentatively: at its Commit it is
//! rolled back if it was applied before (a statement that failed meanwhile — a duplicate key
//! from the earlier apply — is not an error then), and committed otherwise.

mod error;
mod sql;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls, Statement};
use scry_types::{DatabaseEvent, Lsn, OperationType, RelationMeta};

use error::server_message;
pub use error::ApplyError;
use sql::RowTarget;

/// What [`Applier::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was applied (or opened a target transaction).
    Done,
    /// A Commit: its transaction committed on the target.
    Committed,
    /// A Commit of a transaction the target already had: rolled back, nothing changed.
    Skipped,
    /// An event inside a transaction that is being skipped, or one apply has nothing to do
    /// for (a snapshot's begin or end).
    Ignored,
}

/// What to do when the target refuses a row change because of its own state: an UPDATE or
/// DELETE that finds no row, an INSERT whose key is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Stop with the error (the default): the target differs from what the stream expects.
    #[default]
    Stop,
    /// Leave the row as the target has it and go on; counted in [`Totals::conflicts`].
    Skip,
    /// As `Skip`, and keep a description of each ([`Applier::take_conflicts`]).
    Log,
}

/// Counts of what an [`Applier`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Transactions committed on the target.
    pub committed: u64,
    /// Transactions the target already had, skipped.
    pub skipped: u64,
    /// Row changes, truncates and DDL statements applied in committed transactions.
    pub changes: u64,
    /// Row changes left undone under [`OnConflict::Skip`] or [`OnConflict::Log`].
    pub conflicts: u64,
}

/// A table as the applier knows it: the source's column order and key.
#[derive(Debug, Clone)]
struct Table {
    meta: RelationMeta,
}

/// The transaction open on the target.
#[derive(Debug)]
struct Open {
    /// Began at or before the recorded progress: it may have been applied already.
    tentative: bool,
    /// The first failure of a tentative transaction, reported at its Commit if it was new.
    failed: Option<ApplyError>,
    changes: u64,
    /// Conflicts skipped in this transaction.
    conflicts: Vec<String>,
}

/// Applies CDC events to a target server; see the crate's documentation.
pub struct Applier {
    client: Client,
    origin: String,
    progress: u64,
    tables: HashMap<(String, String), Table>,
    statements: HashMap<String, Statement>,
    open: Option<Open>,
    totals: Totals,
    on_conflict: OnConflict,
    conflicts: Vec<String>,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("origin", &self.origin)
            .field("progress", &Lsn(self.progress))
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Applier {
    /// Connects to the target at `conninfo` (no TLS) and takes the replication origin
    /// `origin` (created when missing) for this session. An origin still held by the backend
    /// of a process that died is waited for, 10 s at most.
    ///
    /// # Errors
    /// [`ApplyError::Server`] when the connection or the origin set-up fails.
    pub fn connect(conninfo: &str, origin: &str) -> Result<Self, ApplyError> {
        let setup = |what: &str, e: &postgres::Error| ApplyError::Server {
            lsn: 0,
            table: String::new(),
            key: Vec::new(),
            message: format!("{what}: {}", server_message(e)),
        };
        let mut client =
            Client::connect(conninfo, NoTls).map_err(|e| setup("cannot connect", &e))?;
        client
            .execute(
                "SELECT pg_replication_origin_create($1) \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
                &[&origin],
            )
            .map_err(|e| setup("cannot create the replication origin", &e))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match client.execute("SELECT pg_replication_origin_session_setup($1)", &[&origin]) {
                Ok(_) => break,
                Err(e)
                    if e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(setup("cannot take the replication origin", &e)),
            }
        }
        client
            .batch_execute("SET session_replication_role = replica")
            .map_err(|e| setup("cannot set session_replication_role", &e))?;
        let progress = client
            .query_one(
                "SELECT pg_replication_origin_progress($1, true)::text",
                &[&origin],
            )
            .map_err(|e| setup("cannot read the origin's progress", &e))?
            .get::<_, Option<String>>(0)
            .and_then(|t| t.parse::<Lsn>().ok())
            .map_or(0, |l| l.0);
        Ok(Self {
            client,
            origin: origin.to_owned(),
            progress,
            tables: HashMap::new(),
            statements: HashMap::new(),
            open: None,
            totals: Totals::default(),
            on_conflict: OnConflict::Stop,
            conflicts: Vec::new(),
        })
    }

    /// What to do with conflicts (see [`OnConflict`]).
    #[must_use]
    pub fn on_conflict(mut self, on_conflict: OnConflict) -> Self {
        self.on_conflict = on_conflict;
        self
    }

    /// The conflicts described under [`OnConflict::Log`] since the last call.
    pub fn take_conflicts(&mut self) -> Vec<String> {
        std::mem::take(&mut self.conflicts)
    }

    /// The Commit position of the last source transaction the target has.
    #[must_use]
    pub fn progress(&self) -> u64 {
        self.progress
    }

    /// What was applied and skipped so far.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The replication origin's name.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// True while a source transaction is open on the target.
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Applies one event of a CDC stream, in stream order.
    ///
    /// # Errors
    /// [`ApplyError`] naming the source LSN, the table and the row's key; the target
    /// transaction is rolled back, and the events before it in the stream stay applied.
    pub fn apply(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if let Some(meta) = &event.relation_meta {
            self.tables.insert(
                (meta.schema.clone(), meta.table.clone()),
                Table { meta: meta.clone() },
            );
        }
        match event.operation {
            OperationType::Begin => self.begin(event),
            OperationType::Commit => self.commit(event),
            OperationType::Rollback => {
                self.rollback();
                Ok(Applied::Done)
            }
            OperationType::Insert
            | OperationType::Update
            | OperationType::Delete
            | OperationType::Truncate
            | OperationType::Ddl => self.change(event),
            OperationType::SnapshotBegin | OperationType::SnapshotEnd => Ok(Applied::Ignored),
            other => Err(ApplyError::Invalid {
                lsn: event.position,
                table: event.qualified_name(),
                why: format!(
                    "{other} events are not applied by this receiver (snapshot rows load with \
                     `scry load`)"
                ),
            }),
        }
    }

    fn begin(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if self.open.is_some() {
            self.rollback();
            return Err(invalid(event, "a Begin inside an open transaction"));
        }
        self.client
            .batch_execute("BEGIN")
            .map_err(|e| server(event, Vec::new(), &e))?;
        self.open = Some(Open {
            tentative: event.position <= self.progress,
            failed: None,
            changes: 0,
            conflicts: Vec::new(),
        });
        Ok(Applied::Done)
    }

    fn commit(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        let Some(open) = self.open.take() else {
            return Err(invalid(event, "a Commit without a Begin"));
        };
        if event.position <= self.progress {
            self.end("ROLLBACK", event)?;
            self.totals.skipped += 1;
            return Ok(Applied::Skipped);
        }
        if let Some(failed) = open.failed {
            self.end("ROLLBACK", event)?;
            return Err(failed);
        }
        // The source position and commit time go into this transaction's commit record.
        let timestamp = event.timestamp_us as f64 / 1e6;
        let recorded = self.client.execute(
            "SELECT pg_replication_origin_xact_setup($1::text::pg_lsn, to_timestamp($2))",
            &[&Lsn(event.position).to_string(), &timestamp],
        );
        if let Err(e) = recorded {
            self.rollback();
            return Err(server(event, Vec::new(), &e));
        }
        self.end("COMMIT", event)?;
        self.progress = event.position;
        self.totals.committed += 1;
        let conflicts = open.conflicts.len() as u64;
        self.totals.changes += open.changes.saturating_sub(conflicts);
        self.totals.conflicts += conflicts;
        if self.on_conflict == OnConflict::Log {
            self.conflicts.extend(open.conflicts);
        }
        Ok(Applied::Committed)
    }

    fn end(&mut self, sql: &str, event: &DatabaseEvent) -> Result<(), ApplyError> {
        self.client
            .batch_execute(sql)
            .map_err(|e| server(event, Vec::new(), &e))
    }

    /// Rolls back the open transaction, if any (an error path: its own failure is moot).
    fn rollback(&mut self) {
        if self.open.take().is_some() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }

    fn change(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        let Some(open) = &self.open else {
            return Err(invalid(event, "a change outside a transaction"));
        };
        if open.failed.is_some() {
            return Ok(Applied::Ignored);
        }
        let tentative = open.tentative;
        match self.run_change(event) {
            Ok(()) => {
                if let Some(open) = &mut self.open {
                    open.changes += 1;
                }
                Ok(Applied::Done)
            }
            Err(e) if tentative => {
                // Perhaps applied before: decided at the Commit.
                if let Some(open) = &mut self.open {
                    open.failed = Some(e);
                }
                Ok(Applied::Ignored)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    fn run_change(&mut self, event: &DatabaseEvent) -> Result<(), ApplyError> {
        match event.operation {
            OperationType::Truncate | OperationType::Ddl => {
                let Some(statement) = &event.ddl_sql else {
                    return Err(invalid(event, "no statement (ddl_sql) to run"));
                };
                self.client
                    .batch_execute(statement)
                    .map_err(|e| server(event, Vec::new(), &e))
            }
            _ => self.row_change(event),
        }
    }

    fn row_change(&mut self, event: &DatabaseEvent) -> Result<(), ApplyError> {
        let table = self.table(event)?;
        let target = RowTarget::new(event, &table.meta).map_err(|why| invalid(event, &why))?;
        let tolerate = self.on_conflict != OnConflict::Stop;
        let (sql, params) = match event.operation {
            OperationType::Insert => target.insert(tolerate),
            OperationType::Update => target.update(),
            _ => target.delete(),
        }
        .map_err(|why| invalid(event, &why))?;
        let key = target.key_text();
        let statement = match self.statements.get(&sql) {
            Some(s) => s.clone(),
            None => {
                let s = self
                    .client
                    .prepare(&sql)
                    .map_err(|e| server(event, key.clone(), &e))?;
                self.statements.insert(sql, s.clone());
                s
            }
        };
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .execute(&statement, &refs)
            .map_err(|e| server(event, key.clone(), &e))?;
        if rows == 0 && tolerate {
            // Counted (and told) when its transaction commits: one applied before is rolled
            // back, and its conflicts with itself are none.
            let what = if event.operation == OperationType::Insert {
                "found its key already there, skipped"
            } else {
                "found no row with that key, skipped"
            };
            let (op, key) = (event.operation, sql::key_display(&key));
            if let Some(open) = &mut self.open {
                open.conflicts.push(format!(
                    "at LSN {}, {}{key}: {op} {what}",
                    Lsn(event.position),
                    event.qualified_name()
                ));
            }
            return Ok(());
        }
        if rows == 0 && event.operation != OperationType::Insert {
            return Err(ApplyError::Missing {
                lsn: event.position,
                table: event.qualified_name(),
                key,
                operation: if event.operation == OperationType::Update {
                    "UPDATE"
                } else {
                    "DELETE"
                },
            });
        }
        Ok(())
    }

    /// The event's table: from its relation metadata, or the target's catalog.
    fn table(&mut self, event: &DatabaseEvent) -> Result<Table, ApplyError> {
        let name = (event.schema.clone(), event.table.clone());
        if let Some(t) = self.tables.get(&name) {
            return Ok(t.clone());
        }
        let meta = sql::catalog_relation(&mut self.client, &event.schema, &event.table)
            .map_err(|e| server(event, Vec::new(), &e))?
            .ok_or_else(|| invalid(event, "the target has no such table"))?;
        let table = Table { meta };
        self.tables.insert(name, table.clone());
        Ok(table)
    }
}

fn invalid(event: &DatabaseEvent, why: &str) -> ApplyError {
    ApplyError::Invalid {
        lsn: event.position,
        table: event.qualified_name(),
        why: why.to_owned(),
    }
}

fn server(event: &DatabaseEvent, key: Vec<(String, String)>, e: &postgres::Error) -> ApplyError {
    ApplyError::Server {
        lsn: event.position,
        table: event.qualified_name(),
        key,
        message: server_message(e),
    }
}
