//! A live PostgreSQL server: connecting (through `scry_conn`, the one connection layer:
//! libpq's connection strings, environment and password file, TLS), its errors as the
//! command's, and what `scry_source` reads of its catalog.

use scry_conn::{Conn, WireError};

use crate::commands::CliError;
pub use scry_source::catalog::{
    column_list, identity, primary_key, qualified, quote, tables, Table,
};
pub use scry_source::rows::{flag, number, text};

/// Connects to `conninfo` (a libpq connection string or URL, completed as libpq does).
pub fn connect(conninfo: &str) -> Result<Conn, CliError> {
    Conn::connect(conninfo).map_err(|e| server_error("cannot connect", &e))
}

/// The first row of `sql`; `what` names the failure.
pub fn first_row(
    conn: &mut Conn,
    sql: &str,
    params: &[Option<&str>],
    what: &str,
) -> Result<Vec<Option<String>>, CliError> {
    Ok(scry_source::rows::first_row(conn, sql, params, what)?)
}

/// The error for a failed request: [`CliError::Lost`] when the failure passes by itself.
pub fn server_error(what: impl Into<String>, e: &WireError) -> CliError {
    let (what, message) = (what.into(), e.to_string());
    if e.is_transient() {
        CliError::Lost { what, message }
    } else {
        CliError::Server { what, message }
    }
}

/// This process's peak resident set size so far, in bytes (Linux's `VmHWM`; `None`
/// elsewhere), for the commands' summaries.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// `, peak RSS 5.6 MB` when known.
pub fn peak_rss_note() -> String {
    peak_rss().map_or_else(String::new, |b| {
        format!(", peak RSS {:.1} MB", b as f64 / 1e6)
    })
}
