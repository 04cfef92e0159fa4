//! One statement with text parameters (`$1`, `$2`, ...), its rows as text: the extended
//! protocol's Parse, Bind, Execute and Sync, so that values never need quoting.

use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;

use super::{unexpected, Conn, DbError, WireError};

/// A row's values as they came (`None` for NULL).
fn raw_row(
    row: &postgres_protocol::message::backend::DataRowBody,
) -> Result<Vec<Option<Vec<u8>>>, WireError> {
    use fallible_iterator::FallibleIterator;
    let buf = row.buffer();
    let mut values = Vec::new();
    let mut ranges = row.ranges();
    while let Some(range) = ranges.next()? {
        values.push(range.map(|r| buf.get(r).unwrap_or_default().to_vec()));
    }
    Ok(values)
}

/// Rows as text (`None` for NULL).
pub type Rows = Vec<Vec<Option<String>>>;

impl Conn {
    /// Runs `sql`, one statement whose parameters `$1`, `$2`, ... are `params` in PostgreSQL's
    /// text form (`None`: NULL), and returns its rows as text.
    ///
    /// # Errors
    /// [`WireError::Server`] with the server's error; the session goes on.
    pub fn query(&mut self, sql: &str, params: &[Option<&str>]) -> Result<Rows, WireError> {
        self.extended(sql, params, 0)?
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| {
                        v.map(|b| {
                            String::from_utf8(b).map_err(|_| {
                                WireError::Protocol("a text value that is not UTF-8".into())
                            })
                        })
                        .transpose()
                    })
                    .collect()
            })
            .collect()
    }

    /// As [`query`](Self::query), with every result column in its type's binary format
    /// (a `bytea` as its bytes, a `pg_lsn` or `int8` as 8 big-endian bytes).
    ///
    /// # Errors
    /// As [`query`](Self::query).
    pub fn query_binary(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<Vec<Vec<Option<Vec<u8>>>>, WireError> {
        self.extended(sql, params, 1)
    }

    /// Parse, Bind (text parameters, results in `format`), Execute, Sync; the rows.
    fn extended(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
        format: i16,
    ) -> Result<Vec<Vec<Option<Vec<u8>>>>, WireError> {
        frontend::parse("", sql, std::iter::empty(), &mut self.output)?;
        let values: Vec<Option<&[u8]>> = params.iter().map(|p| p.map(str::as_bytes)).collect();
        self.bind_execute("", values, 0, format)?;
        frontend::sync(&mut self.output);
        self.send()?;
        let (mut rows, mut error) = (Vec::new(), None);
        loop {
            match self.next()? {
                Message::ParseComplete | Message::BindComplete => {}
                Message::DataRow(row) => rows.push(raw_row(&row)?),
                Message::CommandComplete(_) | Message::EmptyQueryResponse => {}
                Message::PortalSuspended => {}
                Message::ErrorResponse(body) => error = Some(DbError::parse(&body)),
                Message::ReadyForQuery(_) => break,
                other => return Err(unexpected(&other, "answering a query")),
            }
        }
        error.map_or(Ok(rows), |e| Err(WireError::Server(e)))
    }

    /// As [`query`](Self::query), for a statement that returns one row: its first value.
    ///
    /// # Errors
    /// As [`query`](Self::query); [`WireError::Protocol`] when it returns no row.
    pub fn query_value(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<Option<String>, WireError> {
        self.query(sql, params)?
            .into_iter()
            .next()
            .map(|row| row.into_iter().next().flatten())
            .ok_or_else(|| WireError::Protocol(format!("no row from: {sql}")))
    }

    /// The server's version as `server_version_num` gives it (150018 for 15.18).
    ///
    /// # Errors
    /// As [`query`](Self::query); [`WireError::Protocol`] when the answer is not a number.
    pub fn server_version_num(&mut self) -> Result<u32, WireError> {
        let text = self
            .simple("SHOW server_version_num")?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten())
            .unwrap_or_default();
        text.parse().map_err(|_| {
            WireError::Protocol(format!("server_version_num is {text:?}, not a number"))
        })
    }
}
