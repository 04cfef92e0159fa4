//! A transaction's statements sent as one pipeline, and their answers checked in order.

use futures_util::future::{join, join_all};
use scry_types::{DatabaseEvent, Lsn, OperationType};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::error::server_message;
use crate::sql::{key_display, Key, Param};
use crate::ApplyError;

/// A statement to send.
pub(crate) enum Work {
    /// A prepared statement and its binary parameters.
    Prepared(Statement, Vec<Param>),
    /// A statement run as it is (TRUNCATE, DDL, the origin's progress).
    Simple(String),
}

/// The event a statement came from, for errors and conflicts.
pub(crate) struct Context {
    lsn: u64,
    table: String,
    key: Key,
    operation: OperationType,
}

impl Context {
    pub(crate) fn of(event: &DatabaseEvent, key: Key) -> Self {
        Self {
            lsn: event.position,
            table: table_of(event),
            key,
            operation: event.operation,
        }
    }
}

/// The event's `schema.table`, or nothing for one of no table (a transaction boundary).
pub(crate) fn table_of(event: &DatabaseEvent) -> String {
    if event.schema.is_empty() && event.table.is_empty() {
        String::new()
    } else {
        event.qualified_name()
    }
}

impl Context {
    /// The error of this event's UPDATE or DELETE finding no row.
    fn missing(&self) -> ApplyError {
        ApplyError::Missing {
            lsn: self.lsn,
            table: self.table.clone(),
            key: self.key.text(),
            operation: if self.operation == OperationType::Update {
                "UPDATE"
            } else {
                "DELETE"
            },
        }
    }
}

/// One statement of the pipeline.
pub(crate) struct Item {
    pub(crate) work: Work,
    pub(crate) event: Context,
    /// The number of rows it changes matters (a row change).
    pub(crate) counts: bool,
    /// For an INSERT that later inserts into the same columns may join: its shape.
    pub(crate) run: Option<InsertRun>,
}

impl Item {
    /// `sql` run as it is (no rows counted), for `event`.
    pub(crate) fn simple(sql: &str, event: &DatabaseEvent) -> Self {
        Item {
            work: Work::Simple(sql.to_owned()),
            event: Context::of(event, Key::default()),
            counts: false,
            run: None,
        }
    }
}

/// An INSERT of `rows` rows of `width` values into `head` (`INSERT INTO t (columns)`).
pub(crate) struct InsertRun {
    pub(crate) head: String,
    pub(crate) width: usize,
    pub(crate) rows: usize,
}

/// The answers of a pipeline, in order.
pub(crate) struct Outcome {
    begin: Option<Result<(), tokio_postgres::Error>>,
    pub(crate) results: Vec<Result<u64, tokio_postgres::Error>>,
}

/// The marker of the error a strict UPDATE or DELETE raises when it finds no row (see
/// [`strict`]).
const MISSING_ROW: &str = "scry-missing-row";

/// `sql` (an UPDATE or DELETE) made to fail on the server when it changes no row, so that
/// the transaction it is in cannot commit without it: the failure names [`MISSING_ROW`].
/// The error is raised only when no row changed (`HAVING`), and the text depends on the
/// count, so the planner cannot fold it away.
pub(crate) fn strict(sql: &str) -> String {
    format!(
        "WITH changed AS ({sql} RETURNING 1) \
         SELECT ('{MISSING_ROW}:' || count(*))::int4 FROM changed HAVING count(*) = 0"
    )
}

/// Sends `BEGIN` (when `begin`) and every item without waiting for an answer in between:
/// tokio-postgres writes each request when its future is first polled, and the futures are
/// polled in order.
pub(crate) async fn run(client: &Client, begin: bool, items: &[Item]) -> Outcome {
    let start = async {
        if begin {
            Some(client.batch_execute("BEGIN").await)
        } else {
            None
        }
    };
    let statements = items.iter().map(|item| async move {
        match &item.work {
            Work::Prepared(statement, params) => {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                client.execute(statement, &refs).await
            }
            Work::Simple(sql) => client.batch_execute(sql).await.map(|()| 0),
        }
    });
    let (begin, results) = join(start, join_all(statements)).await;
    Outcome { begin, results }
}

/// The first problem of the pipeline's answers, in order: a statement the target refused, or
/// a row change that changed no row (under `tolerate`, noted in `conflicts` instead).
pub(crate) fn check(
    items: &[Item],
    outcome: Outcome,
    tolerate: bool,
    conflicts: &mut Vec<String>,
) -> Result<(), ApplyError> {
    if let Some(Err(e)) = outcome.begin {
        let first = items.first().map(|i| &i.event);
        return Err(ApplyError::Server {
            lsn: first.map_or(0, |c| c.lsn),
            table: first.map(|c| c.table.clone()).unwrap_or_default(),
            key: Vec::new(),
            message: server_message(&e),
        });
    }
    check_results(items, outcome.results, tolerate, conflicts)
}

/// [`check`] of the answers to `items` alone (no `BEGIN` of the pipeline's own).
pub(crate) fn check_results(
    items: &[Item],
    results: impl IntoIterator<Item = Result<u64, tokio_postgres::Error>>,
    tolerate: bool,
    conflicts: &mut Vec<String>,
) -> Result<(), ApplyError> {
    for (item, result) in items.iter().zip(results) {
        let c = &item.event;
        match result {
            Err(e) if server_message(&e).contains(MISSING_ROW) => return Err(c.missing()),
            Err(e) => {
                return Err(ApplyError::Server {
                    lsn: c.lsn,
                    table: c.table.clone(),
                    key: c.key.text(),
                    message: server_message(&e),
                })
            }
            Ok(0) if item.counts => {
                let insert = c.operation == OperationType::Insert;
                if tolerate {
                    let what = if insert {
                        "found its key already there, skipped"
                    } else {
                        "found no row with that key, skipped"
                    };
                    conflicts.push(format!(
                        "at LSN {}, {}{}: {} {what}",
                        Lsn(c.lsn),
                        c.table,
                        key_display(&c.key.text()),
                        c.operation
                    ));
                } else if !insert {
                    return Err(c.missing());
                }
            }
            Ok(_) => {}
        }
    }
    Ok(())
}
