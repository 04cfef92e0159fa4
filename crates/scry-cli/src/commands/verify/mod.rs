//! `scry verify SOURCE TARGET`: whether the target's tables hold the source's rows, found
//! out on the servers, without reading the tables into scry.
//!
//! For each table both servers are asked the same question at once: its rows split into
//! buckets by a hash of their key (the primary key, else the replica identity index, else the
//! whole row), and for each bucket the number of rows and two 64-bit sums of the rows' MD5s
//! (their text forms, under the same settings on both sides). Equal buckets are equal
//! multisets of rows but for a hash collision; only the rows of buckets that differ are read,
//! as (key, MD5) pairs, to name the keys: missing on the target, extra there, or different.
//!
//! While `scry replicate SOURCE TARGET` runs, both are compared at one position: the
//! replication pauses there while the target's snapshot is taken ([`at`]). Otherwise a
//! bucket may differ only because the target has not applied the latest changes yet: the
//! buckets that differ are asked again after a pause (`--rounds` times in all), and only
//! what differs every time is reported.
//!
//! Exit code 0 when every table is equal, 1 when one differs.

mod at;

use std::time::Duration;

use scry_conn::Conn;
use scry_source::catalog::{qualified, Table};

use super::CliError;
use crate::log::{Event, Level};
use crate::pg;

/// The same text forms on both servers, whatever their defaults.
const SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; \
    SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'; \
    SET lc_monetary = 'C'";

/// The most differing keys named per table.
const KEYS_SHOWN: usize = 20;

/// What `verify` compares, and how hard.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tables and schemas chosen.
    pub selection: scry_source::setup::Selection,
    /// Compare the tables of this publication.
    pub publication: Option<String>,
    /// How many times buckets that differ are compared in all.
    pub rounds: u32,
}

/// One table's question: its name, the key expression and the row expression.
struct Question {
    /// The table as SQL names it.
    name: String,
    /// The table as people read it (`schema.table`).
    label: String,
    key: String,
    /// The key's columns, as keys are shown: `(id)`.
    key_columns: String,
    row: String,
    buckets: i64,
}

/// A bucket's answer: rows, and the two sums.
type Bucket = (i64, String, String);

/// Rows as a query returns them.
type Rows = Vec<Vec<Option<String>>>;

/// Compares the tables (see the module's documentation); true when every one is equal.
pub fn run(source: &str, target: &str, options: &Options) -> Result<bool, CliError> {
    let mut src = connect(source, "source")?;
    let mut tgt = connect(target, "target")?;
    let tables = chosen(&mut src, &mut tgt, options)?;
    let questions = tables
        .iter()
        .map(|t| question(&mut src, t))
        .collect::<Result<Vec<_>, _>>()?;
    // At one position both hold, the first round is the verdict.
    let rounds = match at::freeze(source, target, &mut src, &mut tgt)? {
        Some(_) => 1,
        None => options.rounds,
    };
    let mut differing = 0;
    for question in &questions {
        if !compare(&mut src, &mut tgt, question, rounds)? {
            differing += 1;
        }
    }
    let verdict = if differing == 0 {
        format!("all {} tables equal", tables.len())
    } else {
        format!("{differing} of {} tables differ", tables.len())
    };
    Event::new(Level::Info, "summary", verdict)
        .field("tables", tables.len())
        .field("differing", differing)
        .emit();
    Ok(differing == 0)
}

fn connect(conninfo: &str, side: &str) -> Result<Conn, CliError> {
    let mut conn = pg::connect(conninfo).map_err(|e| CliError::on(side, e))?;
    conn.simple(SETTINGS)
        .map_err(|e| CliError::on(side, pg::server_error("cannot set the text forms", &e)))?;
    Ok(conn)
}

/// The tables to compare: those chosen, else those of `--publication`, else those of the
/// publication `scry replicate SOURCE TARGET` made for this target, else every user table.
fn chosen(src: &mut Conn, tgt: &mut Conn, options: &Options) -> Result<Vec<Table>, CliError> {
    let on_source = |e: scry_source::SourceError| CliError::on("source", e.into());
    let selection = &options.selection;
    let names = if !selection.tables.is_empty() || !selection.schemas.is_empty() {
        let (mut keyed, keyless) =
            scry_source::setup::publishable(src, selection).map_err(on_source)?;
        keyed.extend(keyless);
        keyed
    } else {
        let publication = match &options.publication {
            Some(p) => Some(p.clone()),
            None => {
                let derived = super::replicate::clone::derived_name(tgt)?;
                scry_source::setup::publication_exists(src, &derived)
                    .map_err(on_source)?
                    .then_some(derived)
            }
        };
        match publication {
            Some(p) => scry_source::setup::published_tables(src, &p).map_err(on_source)?,
            None => Vec::new(),
        }
    };
    if names.is_empty() {
        return Err(CliError::Usage(
            "source: no table to compare: none matches --table or --schema, or the source has \
             no publication of `scry replicate` for this target (name one with --publication)"
                .into(),
        ));
    }
    let mut tables = pg::tables(src, &names).map_err(on_source)?;
    tables.sort_by_key(|t| qualified(&t.relation));
    Ok(tables)
}

/// The key and row expressions of `table`, and how many buckets its size calls for.
fn question(src: &mut Conn, table: &Table) -> Result<Question, CliError> {
    let name = qualified(&table.relation);
    let oid = table.relation.rel_id.to_string();
    let row = pg::first_row(
        src,
        "SELECT (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) \
                   FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 \
                    AND NOT attisdropped), \
                (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n) \
                   FROM (SELECT i.indrelid, i.indkey FROM pg_index i \
                          WHERE i.indrelid = $1::oid AND (i.indisprimary OR i.indisreplident) \
                          ORDER BY i.indisprimary DESC LIMIT 1) i, \
                        unnest(i.indkey) WITH ORDINALITY k(attnum, n) \
                   JOIN pg_attribute a ON a.attnum = k.attnum \
                  WHERE a.attrelid = i.indrelid), \
                greatest((SELECT coalesce(sum(c.reltuples), 0) \
                            FROM pg_partition_tree($1::oid) p \
                            JOIN pg_class c ON c.oid = p.relid), \
                         (SELECT reltuples FROM pg_class WHERE oid = $1::oid), 0)::int8",
        &[Some(&oid)],
        &format!("cannot read the columns of {name}"),
    )?;
    let columns = pg::text(&row, 0);
    let key = row
        .get(1)
        .cloned()
        .flatten()
        .unwrap_or_else(|| columns.clone());
    Ok(Question {
        name,
        label: table.relation.qualified_name(),
        key_columns: format!("({key})"),
        key: format!("ROW({key})::text"),
        row: format!("ROW({columns})::text"),
        buckets: (pg::number(&row, 2) / 2000).clamp(1, 4096),
    })
}

impl Question {
    /// Per bucket: rows and two 64-bit sums of the rows' MD5s (only `buckets` when given).
    fn sums(&self, only: Option<&[i64]>) -> String {
        let filter = only.map_or_else(String::new, |b| {
            let list: Vec<String> = b.iter().map(i64::to_string).collect();
            format!(" WHERE b IN ({})", list.join(", "))
        });
        format!(
            "SELECT b, count(*), sum(('x' || substr(m, 1, 16))::bit(64)::int8)::text, \
                    sum(('x' || substr(m, 17, 16))::bit(64)::int8)::text \
             FROM (SELECT abs(hashtext({key}) % {n}) AS b, md5({row}) AS m FROM {name} t) s\
             {filter} GROUP BY b ORDER BY b",
            key = self.key,
            row = self.row,
            n = self.buckets,
            name = self.name
        )
    }

    /// The rows of `buckets`: key and MD5.
    fn rows(&self, buckets: &[i64]) -> String {
        let list: Vec<String> = buckets.iter().map(i64::to_string).collect();
        format!(
            "SELECT k, m FROM (SELECT abs(hashtext({key}) % {n}) AS b, {key} AS k, \
                    md5({row}) AS m FROM {name} t) s WHERE b IN ({}) ORDER BY k, m",
            list.join(", "),
            key = self.key,
            row = self.row,
            n = self.buckets,
            name = self.name
        )
    }
}

/// Asks both servers `sql` at once.
fn both(src: &mut Conn, tgt: &mut Conn, sql: &str, what: &str) -> Result<(Rows, Rows), CliError> {
    let ask = |conn: &mut Conn, side: &str| {
        conn.query(sql, &[])
            .map_err(|e| CliError::on(side, pg::server_error(what.to_owned(), &e)))
    };
    std::thread::scope(|scope| {
        let theirs = scope.spawn(|| ask(src, "source"));
        let ours = ask(tgt, "target");
        let theirs = theirs
            .join()
            .unwrap_or_else(|_| Err(CliError::Usage("the source's query stopped".into())));
        Ok((theirs?, ours?))
    })
}

fn buckets(rows: &[Vec<Option<String>>]) -> std::collections::BTreeMap<i64, Bucket> {
    rows.iter()
        .map(|r| {
            (
                pg::number(r, 0),
                (pg::number(r, 1), pg::text(r, 2), pg::text(r, 3)),
            )
        })
        .collect()
}

/// Compares one table; true when equal. Says what it found.
fn compare(src: &mut Conn, tgt: &mut Conn, q: &Question, rounds: u32) -> Result<bool, CliError> {
    let what = format!("cannot compare {}", q.label);
    let mut differing: Option<Vec<i64>> = None;
    let mut counts = (0, 0);
    for round in 0..rounds.max(1) {
        if round > 0 {
            std::thread::sleep(Duration::from_secs(2));
        }
        let (theirs, ours) = both(src, tgt, &q.sums(differing.as_deref()), &what)?;
        let (theirs, ours) = (buckets(&theirs), buckets(&ours));
        if differing.is_none() {
            counts = (
                theirs.values().map(|b| b.0).sum::<i64>(),
                ours.values().map(|b| b.0).sum::<i64>(),
            );
        }
        let keys: std::collections::BTreeSet<i64> =
            theirs.keys().chain(ours.keys()).copied().collect();
        let now: Vec<i64> = keys
            .into_iter()
            .filter(|b| theirs.get(b) != ours.get(b))
            .collect();
        if now.is_empty() {
            Event::new(
                Level::Info,
                "table",
                format!("{}: {} rows, equal", q.label, counts.0),
            )
            .field("table", q.label.clone())
            .field("rows", counts.0)
            .field("equal", true)
            .emit();
            return Ok(true);
        }
        differing = Some(now);
    }
    let buckets = differing.unwrap_or_default();
    let (theirs, ours) = both(src, tgt, &q.rows(&buckets), &what)?;
    let pairs = |rows: &[Vec<Option<String>>]| -> std::collections::BTreeMap<String, Vec<String>> {
        let mut map = std::collections::BTreeMap::<String, Vec<String>>::new();
        for r in rows {
            map.entry(pg::text(r, 0)).or_default().push(pg::text(r, 1));
        }
        map
    };
    let (theirs, ours) = (pairs(&theirs), pairs(&ours));
    let mut keys = Vec::new();
    for (key, sums) in &theirs {
        match ours.get(key) {
            None => keys.push(format!("{}={key} missing on the target", q.key_columns)),
            Some(o) if o != sums => keys.push(format!("{}={key} differs", q.key_columns)),
            Some(_) => {}
        }
    }
    keys.extend(
        ours.keys()
            .filter(|k| !theirs.contains_key(*k))
            .map(|k| format!("{}={k} only on the target", q.key_columns)),
    );
    if keys.is_empty() {
        // The buckets that differed were equal by the time their rows were read: the
        // target caught up in between.
        Event::new(
            Level::Info,
            "table",
            format!(
                "{}: {} rows, equal (some rows only once the target had caught up)",
                q.label, counts.0
            ),
        )
        .field("table", q.label.clone())
        .field("rows", counts.0)
        .field("equal", true)
        .emit();
        return Ok(true);
    }
    let shown: Vec<&String> = keys.iter().take(KEYS_SHOWN).collect();
    let more = keys.len().saturating_sub(KEYS_SHOWN);
    Event::new(
        Level::Warn,
        "table",
        format!(
            "{}: {} rows on the source, {} on the target; {}: {}{}",
            q.label,
            counts.0,
            counts.1,
            if keys.len() == 1 {
                "1 key differs".to_owned()
            } else {
                format!("{} keys differ", keys.len())
            },
            shown
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ),
    )
    .field("table", q.label.clone())
    .field("equal", false)
    .field("keys", keys.clone())
    .emit();
    Ok(false)
}
