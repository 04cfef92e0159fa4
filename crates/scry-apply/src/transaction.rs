//! One source transaction at a time: its Begin, its row changes turned into statements
//! (prepared once per shape, their parameters the events' value bytes), and its Commit,
//! which records the source position in the same target transaction.

use std::sync::Arc;

use scry_types::{DatabaseEvent, OperationType, RelationMeta};

use crate::pipeline::{Item, Work};
use crate::plan::{Plan, Shape};
use crate::sql::RowTarget;
use crate::{
    pipeline, sql, Applied, Applier, ApplyError, Member, OnConflict, Side, GROUP, INSERT_RUN,
    PIPELINE,
};
use scry_conn::WireError;

/// The transaction being received.
pub(crate) struct Open {
    /// Began at or before the recorded progress: the target may have it already.
    tentative: bool,
    /// `BEGIN` was sent (a part of the transaction went out before its Commit).
    pub(crate) started: bool,
    /// The first failure of a tentative transaction sent in parts, reported at its Commit if
    /// the transaction was new.
    failed: Option<ApplyError>,
    /// Statements not sent yet.
    queue: Vec<Item>,
    changes: u64,
    conflicts: Vec<String>,
    /// It holds a DDL statement.
    ddl: bool,
}

impl Applier {
    pub(crate) fn begin(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if self.open.is_some() {
            self.abandon();
            return Err(invalid(event, "a Begin inside an open transaction"));
        }
        self.open = Some(Open {
            tentative: event.position <= self.progress,
            started: false,
            failed: None,
            queue: Vec::new(),
            changes: 0,
            conflicts: Vec::new(),
            ddl: false,
        });
        Ok(Applied::Done)
    }

    pub(crate) fn commit(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        let Some(mut open) = self.open.take() else {
            return Err(invalid(event, "a Commit without a Begin"));
        };
        if event.position <= self.progress {
            // The target has it: nothing was sent, or what was sent is rolled back.
            if open.started {
                self.simple("ROLLBACK", event)?;
            }
            self.totals.skipped += 1;
            return Ok(Applied::Skipped);
        }
        if let Some(failed) = open.failed.take() {
            self.simple("ROLLBACK", event)?;
            return Err(failed);
        }
        // The source position and commit time go into this transaction's commit record
        // (pg_lsn and timestamptz, binary), by a statement prepared once.
        let statement = self.prepared(RECORD_PROGRESS, event)?;
        let record = self.record_item(statement, event);
        if open.started {
            // Sent in parts: the rest, its answers checked, and only then COMMIT.
            open.queue.push(record);
            if let Err(e) = self.send(&mut open) {
                let _ = self.simple("ROLLBACK", event);
                return Err(e);
            }
            self.simple("COMMIT", event)?;
            self.committed(
                event.position,
                event.timestamp_us,
                open.changes,
                open.conflicts,
            );
            return Ok(Applied::Committed);
        }
        // Whole: it joins the group, ending with its own COMMIT. The group goes out with one
        // Sync at its end, so the server runs none of it after a failure. The first
        // transaction of a group starts with BEGIN; each later one is begun by the COMMIT AND
        // CHAIN of the one before (a statement less for the server to run).
        let group = &mut self.group;
        match group.items.last_mut() {
            Some(commit) => commit.work = Work::Prepared(Arc::clone(&self.chain), Vec::new()),
            None => group.items.push(control(&self.begin, event)),
        }
        group.items.push(record);
        group.items.append(&mut open.queue);
        group.items.push(control(&self.commit, event));
        group.members.push(Member {
            position: event.position,
            commit_time_us: event.timestamp_us,
            end: group.items.len(),
            changes: open.changes,
        });
        // After DDL the statements of later transactions are prepared against the changed
        // table: it must be there first.
        if open.ddl {
            self.flush()?;
            return Ok(Applied::Committed);
        }
        // Out as soon as the target is idle (nothing in flight, or its answers are back), so
        // that it starts on the first transactions at once; while it is busy they gather.
        let full = group.members.len() >= GROUP || group.items.len() >= PIPELINE;
        let idle = match &self.in_flight {
            None => true,
            Some(_) => self.conn.answered().unwrap_or(true),
        };
        if full || idle {
            self.launch()?;
        }
        Ok(Applied::Queued)
    }

    pub(crate) fn simple(&mut self, sql: &str, event: &DatabaseEvent) -> Result<(), ApplyError> {
        self.conn
            .simple(sql)
            .map(drop)
            .map_err(|e| server(event, Vec::new(), &e))
    }

    /// Drops the transaction being received (a source Rollback, or an error path).
    pub(crate) fn abandon(&mut self) {
        if let Some(open) = self.open.take() {
            if open.started {
                let _ = self.conn.simple("ROLLBACK");
            }
        }
    }

    pub(crate) fn change(&mut self, event: &DatabaseEvent) -> Result<Applied, ApplyError> {
        if self.open.is_none()
            && event.operation == OperationType::Ddl
            && event.ddl_object_type.as_deref() == Some(scry_pg::snapshot::TABLE_SCHEMA)
        {
            // A snapshot's table schema, for a loader that creates tables: the applier
            // loads into tables that exist.
            return Ok(Applied::Ignored);
        }
        if self.open.is_none() {
            return Err(invalid(event, "a change outside a transaction"));
        }
        if self.open.as_ref().is_some_and(|o| o.failed.is_some()) {
            return Ok(Applied::Ignored);
        }
        let item = match self.item(event) {
            Ok(item) => item,
            Err(e) => {
                self.abandon();
                return Err(e);
            }
        };
        let Some(mut open) = self.open.take() else {
            return Ok(Applied::Ignored);
        };
        if let Err(e) = self.enqueue(&mut open, item, event) {
            self.open = Some(open);
            self.abandon();
            return Err(e);
        }
        open.changes += 1;
        open.ddl |= event.operation == OperationType::Ddl;
        if open.queue.len() >= PIPELINE {
            if let Err(e) = self.send(&mut open) {
                if open.tentative {
                    // Perhaps the target has this transaction: decided at its Commit.
                    open.failed = Some(e);
                } else {
                    self.open = Some(open);
                    self.abandon();
                    return Err(e);
                }
            }
        }
        self.open = Some(open);
        Ok(Applied::Done)
    }

    /// The statement of a change and its parameters: the statement kept for the change's
    /// shape, or one built, prepared and kept now.
    pub(crate) fn item(&mut self, event: &DatabaseEvent) -> Result<Item, ApplyError> {
        if matches!(
            event.operation,
            OperationType::Truncate | OperationType::Ddl
        ) {
            let Some(statement) = &event.ddl_sql else {
                return Err(invalid(event, "no statement (ddl_sql) to run"));
            };
            if event.operation == OperationType::Ddl {
                // Statements built before it are built again, against what it changed.
                self.plans.clear();
            }
            return Ok(Item::simple(statement, event));
        }
        let tolerate = self.on_conflict != OnConflict::Stop;
        let plan = match self.plans.find(event, tolerate) {
            Some(plan) => plan,
            None => self.plan(event, tolerate)?,
        };
        let params =
            sql::params(event, plan.width, &plan.sources).map_err(|why| invalid(event, &why))?;
        let run = plan.run.as_ref().map(|head| pipeline::InsertRun {
            head: Arc::clone(head),
            width: params.len(),
            rows: 1,
        });
        Ok(Item {
            work: Work::Prepared(Arc::clone(&plan.statement), params),
            event: pipeline::Context::new(
                event,
                Arc::clone(&plan.table),
                plan.key.of(event, plan.width),
            ),
            counts: !plan.strict,
            run,
        })
    }

    /// Builds the statement of `event`'s shape, prepares it and keeps it.
    pub(crate) fn plan(
        &mut self,
        event: &DatabaseEvent,
        tolerate: bool,
    ) -> Result<Arc<Plan>, ApplyError> {
        let meta = self.table(event)?;
        let target = RowTarget::new(event, &meta).map_err(|why| invalid(event, &why))?;
        let mut run = None;
        let (sql, sources) = match event.operation {
            OperationType::Insert => target.insert(tolerate).map(|(sql, head, sources)| {
                // Under Stop a run of these inserts may become one statement (a refused row
                // fails the transaction either way); conflicts are told row by row.
                if !tolerate {
                    run = Some(Arc::from(head));
                }
                (sql, sources)
            }),
            OperationType::Update => {
                let always = self.identity_always(event)?;
                target.update(&always)
            }
            _ => target.delete(),
        }
        .map_err(|why| invalid(event, &why))?;
        // Under Stop a row that is not there must fail its transaction on the server, before
        // the COMMIT that follows it in the group: the statement checks itself.
        let strict = !tolerate && event.operation != OperationType::Insert;
        let sql = if strict { pipeline::strict(&sql) } else { sql };
        let key = target.key_columns();
        let width = target.width();
        let statement = self
            .prepared(&sql, event)
            .map_err(|e| with_key(e, key.of(event, width).text()))?;
        Ok(self.plans.keep(Plan {
            shape: Shape::of(event, tolerate),
            statement,
            sources,
            width,
            table: Arc::from(pipeline::table_of(event)),
            key,
            run,
            strict,
        }))
    }

    /// Adds `item` to the queue, as one more row of the insert before it when both insert
    /// into the same columns of the same table (up to [`INSERT_RUN`] rows a statement).
    pub(crate) fn enqueue(
        &mut self,
        open: &mut Open,
        item: Item,
        event: &DatabaseEvent,
    ) -> Result<(), ApplyError> {
        let merge = match (open.queue.last(), &item.run) {
            (
                Some(Item {
                    run: Some(last), ..
                }),
                Some(new),
            ) => last.head == new.head && last.width == new.width && last.rows < INSERT_RUN,
            _ => false,
        };
        if !merge {
            open.queue.push(item);
            return Ok(());
        }
        let Some(mut last) = open.queue.pop() else {
            return Ok(());
        };
        let (Work::Prepared(_, mut params), Work::Prepared(_, more), Some(run)) =
            (last.work, item.work, last.run.take())
        else {
            return Ok(());
        };
        params.extend(more);
        let rows = run.rows + 1;
        let statement = self.run_statement(&run.head, run.width, rows, event)?;
        open.queue.push(Item {
            work: Work::Prepared(statement, params),
            event: last.event,
            counts: true,
            run: Some(pipeline::InsertRun { rows, ..run }),
        });
        Ok(())
    }

    /// The statement inserting `rows` rows of `width` values with `head`, prepared on first
    /// use.
    pub(crate) fn run_statement(
        &mut self,
        head: &Arc<str>,
        width: usize,
        rows: usize,
        event: &DatabaseEvent,
    ) -> Result<Arc<str>, ApplyError> {
        if let Some(s) = self.runs.get(&(Arc::clone(head), rows)) {
            return Ok(Arc::clone(s));
        }
        let statement = self.prepared(&sql::insert_rows(head, width, rows), event)?;
        self.runs
            .insert((Arc::clone(head), rows), Arc::clone(&statement));
        Ok(statement)
    }

    /// The progress record of the transaction ending with `event` (see [`RECORD_PROGRESS`]).
    pub(crate) fn record_item(&self, statement: Arc<str>, event: &DatabaseEvent) -> Item {
        let pg_time = i64::try_from(event.timestamp_us)
            .unwrap_or(i64::MAX)
            .saturating_sub(PG_EPOCH_UNIX_US);
        Item {
            work: Work::Prepared(
                statement,
                vec![
                    sql::Param::bytes(event.position.to_be_bytes().to_vec()),
                    sql::Param::bytes(pg_time.to_be_bytes().to_vec()),
                ],
            ),
            event: pipeline::Context::of(event, sql::Key::default()),
            counts: false,
            run: None,
        }
    }

    /// The statement `sql`, prepared on first use.
    pub(crate) fn prepared(
        &mut self,
        sql: &str,
        event: &DatabaseEvent,
    ) -> Result<Arc<str>, ApplyError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(Arc::clone(s));
        }
        // A statement the target cannot prepare aborts the transaction it is in, and its
        // answer comes after those of the group in flight: send and check what is queued
        // first.
        self.flush()?;
        let name: Arc<str> = format!("scry_{}", self.statements.len()).into();
        self.conn
            .prepare(&name, sql)
            .map_err(|e| server(event, Vec::new(), &e))?;
        self.statements.insert(sql.to_owned(), Arc::clone(&name));
        Ok(name)
    }

    /// Sends the transaction's waiting statements as one pipeline (after `BEGIN`, if it was
    /// not sent yet) and checks every answer in order.
    pub(crate) fn send(&mut self, open: &mut Open) -> Result<(), ApplyError> {
        let begin = !open.started;
        open.started = true;
        if begin {
            // What was queued before goes first: this transaction's parts come after it.
            self.flush()?;
        }
        let mut queue = std::mem::take(&mut open.queue);
        let first = queue
            .first()
            .map_or_else(pipeline::Context::none, |i| i.event.clone());
        let lsn = first.lsn();
        if begin {
            let item = Item {
                work: Work::Prepared(Arc::clone(&self.begin), Vec::new()),
                event: first,
                counts: false,
                run: None,
            };
            queue.insert(0, item);
        }
        let answers = pipeline::run(&mut self.conn, &queue).map_err(|e| {
            ApplyError::Server {
                lsn,
                table: String::new(),
                key: Vec::new(),
                message: e.to_string(),
            }
            .or_lost(Side::Target, &e)
        })?;
        pipeline::check_results(
            &queue,
            answers,
            self.on_conflict != OnConflict::Stop,
            &mut open.conflicts,
        )
    }

    /// The target's GENERATED ALWAYS identity columns of the event's table (read once).
    pub(crate) fn identity_always(
        &mut self,
        event: &DatabaseEvent,
    ) -> Result<Arc<[String]>, ApplyError> {
        let name = (event.schema.clone(), event.table.clone());
        if let Some(always) = self.always.get(&name) {
            return Ok(Arc::clone(always));
        }
        self.flush()?;
        let always: Arc<[String]> =
            sql::identity_always(&mut self.conn, &event.schema, &event.table)
                .map_err(|e| server(event, Vec::new(), &e))?
                .into();
        self.always.insert(name, Arc::clone(&always));
        Ok(always)
    }

    /// The event's table: from its relation metadata, or the target's catalog.
    pub(crate) fn table(&mut self, event: &DatabaseEvent) -> Result<Arc<RelationMeta>, ApplyError> {
        if let Some(t) = &self.last_table {
            if t.table == event.table && t.schema == event.schema {
                return Ok(Arc::clone(t));
            }
        }
        let name = (event.schema.clone(), event.table.clone());
        if let Some(t) = self.tables.get(&name) {
            self.last_table = Some(Arc::clone(t));
            return Ok(Arc::clone(t));
        }
        // The catalog is read against what is committed: send what is queued first.
        self.flush()?;
        let meta = sql::catalog_relation(&mut self.conn, &event.schema, &event.table)
            .map_err(|e| server(event, Vec::new(), &e))?
            .ok_or_else(|| invalid(event, "the target has no such table"))?;
        let meta = Arc::new(meta);
        self.tables.insert(name, Arc::clone(&meta));
        self.last_table = Some(Arc::clone(&meta));
        Ok(meta)
    }
}

/// Records a transaction's source Commit position and time (`$1`, `$2`) in the session's
/// origin.
///
/// It also gives the transaction an ID (`pg_current_xact_id`): a transaction that changes
/// nothing on the target (an UPDATE that found no row, skipped) would otherwise commit
/// without a commit record, and the origin's progress moves only with one.
pub(crate) const RECORD_PROGRESS: &str =
    "SELECT pg_replication_origin_xact_setup($1::pg_lsn, $2::timestamptz), pg_current_xact_id()";

/// Microseconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// `e` with the row's key, when it is a server error.
fn with_key(e: ApplyError, key: Vec<(String, String)>) -> ApplyError {
    match e {
        ApplyError::Server {
            lsn,
            table,
            message,
            ..
        } => ApplyError::Server {
            lsn,
            table,
            key,
            message,
        },
        other => other,
    }
}

pub(crate) fn invalid(event: &DatabaseEvent, why: &str) -> ApplyError {
    ApplyError::Invalid {
        lsn: event.position,
        table: pipeline::table_of(event),
        why: why.to_owned(),
    }
}

pub(crate) fn server(
    event: &DatabaseEvent,
    key: Vec<(String, String)>,
    e: &WireError,
) -> ApplyError {
    ApplyError::Server {
        lsn: event.position,
        table: pipeline::table_of(event),
        key,
        message: e.to_string(),
    }
    .or_lost(Side::Target, e)
}

/// `BEGIN` or `COMMIT` (`statement`, prepared at connection) for `event`'s transaction.
pub(crate) fn control(statement: &Arc<str>, event: &DatabaseEvent) -> Item {
    Item {
        work: Work::Prepared(Arc::clone(statement), Vec::new()),
        event: pipeline::Context::of(event, sql::Key::default()),
        counts: false,
        run: None,
    }
}
