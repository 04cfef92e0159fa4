//! A transaction's statements sent as one pipeline, and their answers checked in order.

use std::sync::Arc;

use scry_types::{DatabaseEvent, Lsn, OperationType};

use crate::sql::{key_display, Key, Param};
use crate::ApplyError;
use scry_conn::{Answer, Conn, WireError};

/// A statement to send.
pub(crate) enum Work {
    /// A prepared statement (its name) and its binary parameters.
    Prepared(Arc<str>, Vec<Param>),
    /// A statement run as it is (TRUNCATE, DDL).
    Simple(String),
}

/// The event a statement came from, for errors and conflicts.
#[derive(Clone)]
pub(crate) struct Context {
    lsn: u64,
    table: Arc<str>,
    key: Key,
    operation: OperationType,
}

impl Context {
    /// The context of no event.
    pub(crate) fn none() -> Self {
        Self {
            lsn: 0,
            table: Arc::from(""),
            key: Key::default(),
            operation: OperationType::Begin,
        }
    }

    /// The event's source position.
    pub(crate) fn lsn(&self) -> u64 {
        self.lsn
    }

    pub(crate) fn of(event: &DatabaseEvent, key: Key) -> Self {
        Self::new(event, Arc::from(table_of(event)), key)
    }

    /// The context of `event`, a change of `table` (its `schema.table`) to the row `key`.
    pub(crate) fn new(event: &DatabaseEvent, table: Arc<str>, key: Key) -> Self {
        Self {
            lsn: event.position,
            table,
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
            table: self.table.to_string(),
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
    pub(crate) head: Arc<str>,
    pub(crate) width: usize,
    pub(crate) rows: usize,
}

/// The marker of the error a strict UPDATE or DELETE raises when it finds no row (see
/// [`strict`]).
const MISSING_ROW: &str = "scry-missing-row";

/// `sql` (an UPDATE or DELETE) made to fail on the server when it changes no row, so that
/// the transaction it is in cannot commit without it: the failure names [`MISSING_ROW`].
/// The cast fails only when no row changed (the one-time filter `NOT EXISTS`), and its text
/// holds `pg_backend_pid()`, a stable function, so the planner cannot fold the failure into
/// the plan.
///
/// What the check costs the server, measured on PostgreSQL 15 with pgbench (200 prepared
/// UPDATEs by primary key in one pipeline, generic plans): 8.3–9.4 µs a plain UPDATE,
/// 9.8–10.6 µs with `RETURNING 1`, 12.4–12.9 µs this form, 12.8–14 µs the same counted by an
/// aggregate (`HAVING count(*) = 0`). A `MERGE` whose `WHEN NOT MATCHED` branch fails costs
/// 11.3 µs, but needs PostgreSQL 15, folds a failing constant while the plan is custom, and
/// fails with an error another cause can raise.
pub(crate) fn strict(sql: &str) -> String {
    format!(
        "WITH changed AS ({sql} RETURNING 1) \
         SELECT ('{MISSING_ROW}:' || pg_backend_pid())::int4 \
         WHERE NOT EXISTS (SELECT FROM changed)"
    )
}

/// Writes `items` as one pipeline closed by a single Sync, without waiting for an answer:
/// read them with [`Conn::answers`]. None of them may be [`Work::Simple`] (see [`run`]).
pub(crate) fn write(conn: &mut Conn, items: &[Item]) -> Result<(), WireError> {
    for item in items {
        match &item.work {
            Work::Prepared(name, params) => conn.execute(name, params.iter().map(Param::get))?,
            Work::Simple(_) => {
                return Err(WireError::Protocol(
                    "a simple statement in a written pipeline".into(),
                ))
            }
        }
    }
    conn.sync();
    conn.send()
}

/// Whether `items` hold a statement that must run as a simple query.
pub(crate) fn has_simple(items: &[Item]) -> bool {
    items.iter().any(|i| matches!(i.work, Work::Simple(_)))
}

/// Runs `items` in order and returns their answers: the prepared ones between two simple
/// statements as one pipeline (one Sync), each simple one (which may hold several
/// statements) on its own, after the answers before it. After the first failure nothing
/// more runs (the rest are [`Answer::NotRun`]) and the failed transaction block, if any, is
/// rolled back.
pub(crate) fn run(conn: &mut Conn, items: &[Item]) -> Result<Vec<Answer>, WireError> {
    let mut answers = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let prepared = rest
            .iter()
            .position(|i| matches!(i.work, Work::Simple(_)))
            .unwrap_or(rest.len());
        let failed = if prepared > 0 {
            let (part, after) = rest.split_at(prepared);
            write(conn, part)?;
            let (part_answers, in_failed_block) = conn.answers(part.len())?;
            let refused = part_answers.iter().any(|a| !matches!(a, Answer::Done(_)));
            answers.extend(part_answers);
            rest = after;
            in_failed_block || refused
        } else {
            let Some((first, after)) = rest.split_first() else {
                break;
            };
            rest = after;
            let Work::Simple(sql) = &first.work else {
                break;
            };
            match conn.simple(sql) {
                Ok(_) => {
                    answers.push(Answer::Done(0));
                    false
                }
                Err(WireError::Server(e)) => {
                    answers.push(Answer::Failed(e));
                    true
                }
                Err(e) => return Err(e),
            }
        };
        if failed {
            conn.simple("ROLLBACK")?;
            break;
        }
    }
    answers.resize(items.len(), Answer::NotRun);
    Ok(answers)
}

/// The first problem of the answers to `items`, in order: a statement the target refused
/// (or that did not run), or a row change that changed no row (under `tolerate`, noted in
/// `conflicts` instead).
pub(crate) fn check_results(
    items: &[Item],
    results: impl IntoIterator<Item = Answer>,
    tolerate: bool,
    conflicts: &mut Vec<String>,
) -> Result<(), ApplyError> {
    for (item, result) in items.iter().zip(results) {
        let c = &item.event;
        match result {
            Answer::Failed(e) if e.message.contains(MISSING_ROW) => return Err(c.missing()),
            Answer::Failed(e) => {
                return Err(ApplyError::Server {
                    lsn: c.lsn,
                    table: c.table.to_string(),
                    key: c.key.text(),
                    message: e.to_string(),
                })
            }
            Answer::NotRun => {
                return Err(ApplyError::Server {
                    lsn: c.lsn,
                    table: c.table.to_string(),
                    key: c.key.text(),
                    message: "not run: the server refused the pipeline before it".to_owned(),
                })
            }
            Answer::Done(0) if item.counts => {
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
            Answer::Done(_) => {}
        }
    }
    Ok(())
}
