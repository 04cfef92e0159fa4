//! Rows as [`scry_conn::Conn::query`] returns them (text, `None` for NULL), read by column.

use scry_conn::Conn;

use crate::SourceError;

/// Column `i` of `row` as text (empty for NULL).
#[must_use]
pub fn text(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// Column `i` of `row` as a boolean (`t`).
#[must_use]
pub fn flag(row: &[Option<String>], i: usize) -> bool {
    row.get(i).cloned().flatten().as_deref() == Some("t")
}

/// Column `i` of `row` as a number (0 for NULL or text that is not one).
#[must_use]
pub fn number(row: &[Option<String>], i: usize) -> i64 {
    text(row, i).parse().unwrap_or(0)
}

/// The first row of `sql` with `params`; `what` names the failure.
///
/// # Errors
/// [`SourceError::Server`] when the query fails; [`SourceError::Refused`] when it returns
/// no row.
pub fn first_row(
    conn: &mut Conn,
    sql: &str,
    params: &[Option<&str>],
    what: &str,
) -> Result<Vec<Option<String>>, SourceError> {
    conn.query(sql, params)
        .map_err(|e| SourceError::server(what, e))?
        .into_iter()
        .next()
        .ok_or_else(|| SourceError::Refused(format!("{what}: no row")))
}
