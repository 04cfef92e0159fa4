//! `scry status SOURCE [TARGET]`: what replication state there is and how far behind it is.
//! On the source: the logical slots of its database (active and by which process, confirmed
//! position, lag and retained WAL, `wal_status`, `safe_wal_size`) and the publications with
//! their tables. On the target: scry's origins (the stream each follows, its durable
//! progress) and the snapshot tables it loaded. A table for people, or one JSON object.

use scry_conn::Conn;
use serde::Serialize;

use super::CliError;
use crate::pg;

/// A logical slot of the source's database.
#[derive(Debug, Serialize)]
pub struct Slot {
    name: String,
    plugin: String,
    /// The walsender's process, when a client streams it now.
    active_pid: Option<i64>,
    confirmed: Option<String>,
    /// The server's WAL position minus the slot's confirmed position, in bytes.
    lag_bytes: Option<i64>,
    /// The WAL the server keeps for the slot, in bytes.
    retained_bytes: Option<i64>,
    wal_status: Option<String>,
    safe_wal_size: Option<i64>,
}

/// A publication and its tables.
#[derive(Debug, Serialize)]
pub struct Publication {
    name: String,
    all_tables: bool,
    tables: Vec<String>,
}

/// A replication origin scry keeps on the target.
#[derive(Debug, Serialize)]
pub struct Origin {
    name: String,
    /// The stream it follows (`SYSTEM/DATABASE/SLOT`).
    stream: String,
    /// How far the target durably has it.
    progress: Option<String>,
    /// The snapshot tables loaded from that stream.
    snapshot_tables: i64,
}

/// Everything `status` reports.
#[derive(Debug, Serialize)]
pub struct Status {
    source_wal: String,
    slots: Vec<Slot>,
    publications: Vec<Publication>,
    origins: Option<Vec<Origin>>,
}

fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

/// The source's slots and publications.
fn source(conn: &mut Conn) -> Result<(String, Vec<Slot>, Vec<Publication>), CliError> {
    let fail =
        |what: &str, e: &scry_conn::WireError| CliError::on("source", pg::server_error(what, e));
    let wal = conn
        .simple("SELECT pg_current_wal_lsn()::text")
        .map_err(|e| fail("cannot read the WAL position", &e))?
        .first()
        .map(|r| pg::text(r, 0))
        .unwrap_or_default();
    let slots = scry_source::slots::slots(conn, None)
        .map_err(|e| CliError::on("source", e.into()))?
        .into_iter()
        .map(|s| Slot {
            name: s.name,
            plugin: s.plugin,
            active_pid: s.active_pid,
            confirmed: s.confirmed.map(|l| scry_types::Lsn(l).to_string()),
            lag_bytes: s.lag_bytes,
            retained_bytes: s.retained_bytes,
            wal_status: s.wal_status,
            safe_wal_size: s.safe_wal_size,
        })
        .collect();
    let publications = conn
        .simple(
            "SELECT p.pubname::text, p.puballtables, \
                    coalesce(string_agg(format('%I.%I', t.schemaname, t.tablename), ',' \
                                        ORDER BY t.schemaname, t.tablename), '') \
             FROM pg_publication p \
             LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname \
             GROUP BY 1, 2 ORDER BY 1",
        )
        .map_err(|e| fail("cannot read pg_publication", &e))?
        .iter()
        .map(|r| Publication {
            name: pg::text(r, 0),
            all_tables: pg::flag(r, 1),
            tables: pg::text(r, 2)
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
        })
        .collect();
    Ok((wal, slots, publications))
}

/// The target's origins scry keeps, with their streams and progress.
fn target(conn: &mut Conn) -> Result<Vec<Origin>, CliError> {
    let fail =
        |what: &str, e: &scry_conn::WireError| CliError::on("target", pg::server_error(what, e));
    let has_state = conn
        .simple("SELECT to_regclass('scry.origins') IS NOT NULL")
        .map_err(|e| fail("cannot look for schema scry", &e))?
        .first()
        .is_some_and(|r| pg::flag(r, 0));
    if !has_state {
        return Ok(Vec::new());
    }
    Ok(conn
        .simple(
            "SELECT o.origin, o.stream, \
                    (SELECT pg_replication_origin_progress(o.origin, true)::text \
                       FROM pg_replication_origin r WHERE r.roname = o.origin), \
                    (SELECT count(*) FROM scry.snapshot_tables s WHERE s.stream = o.stream) \
             FROM scry.origins o ORDER BY 1",
        )
        .map_err(|e| fail("cannot read scry.origins", &e))?
        .iter()
        .map(|r| Origin {
            name: pg::text(r, 0),
            stream: pg::text(r, 1),
            progress: opt(r, 2),
            snapshot_tables: pg::number(r, 3),
        })
        .collect())
}

/// Reports the state of `source` (and `target`); as JSON with `json`.
pub fn run(source_info: &str, target_info: Option<&str>, json: bool) -> Result<(), CliError> {
    let mut conn = pg::connect(source_info).map_err(|e| CliError::on("source", e))?;
    let (source_wal, slots, publications) = source(&mut conn)?;
    let origins = match target_info {
        Some(t) => {
            let mut conn = pg::connect(t).map_err(|e| CliError::on("target", e))?;
            Some(target(&mut conn)?)
        }
        None => None,
    };
    let status = Status {
        source_wal,
        slots,
        publications,
        origins,
    };
    if json {
        let text = serde_json::to_string(&status).map_err(|e| CliError::Usage(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", table(&status));
    }
    Ok(())
}

/// Bytes as a person reads them.
fn size(bytes: Option<i64>) -> String {
    match bytes {
        None => "-".to_owned(),
        Some(b) if b.abs() < 1 << 20 => format!("{:.1} kB", b as f64 / 1024.0),
        Some(b) => format!("{:.1} MB", b as f64 / 1_048_576.0),
    }
}

fn table(s: &Status) -> String {
    let mut out = format!("source WAL at {}\n", s.source_wal);
    out.push_str("slots:\n");
    if s.slots.is_empty() {
        out.push_str("  (none)\n");
    }
    for slot in &s.slots {
        out.push_str(&format!(
            "  {} ({}): {}, confirmed {}, {} behind, {} retained, wal_status {}{}\n",
            slot.name,
            slot.plugin,
            slot.active_pid
                .map_or_else(|| "inactive".to_owned(), |p| format!("active (PID {p})")),
            slot.confirmed.as_deref().unwrap_or("-"),
            size(slot.lag_bytes),
            size(slot.retained_bytes),
            slot.wal_status.as_deref().unwrap_or("-"),
            slot.safe_wal_size
                .map_or_else(String::new, |b| format!(", {} until lost", size(Some(b))))
        ));
    }
    out.push_str("publications:\n");
    if s.publications.is_empty() {
        out.push_str("  (none)\n");
    }
    for p in &s.publications {
        let tables = if p.all_tables {
            "FOR ALL TABLES".to_owned()
        } else {
            p.tables.join(", ")
        };
        out.push_str(&format!("  {}: {tables}\n", p.name));
    }
    if let Some(origins) = &s.origins {
        out.push_str("target origins:\n");
        if origins.is_empty() {
            out.push_str("  (none)\n");
        }
        for o in origins {
            out.push_str(&format!(
                "  {}: follows {}, durable to {}, {} snapshot table{} loaded\n",
                o.name,
                o.stream,
                o.progress.as_deref().unwrap_or("-"),
                o.snapshot_tables,
                if o.snapshot_tables == 1 { "" } else { "s" }
            ));
        }
    }
    out
}
