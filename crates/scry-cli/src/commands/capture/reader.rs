//! Where the reader of `scry capture --out -` says it is: the replication origin that `scry
//! apply` advances on its target in the same transaction as the changes. Written to a pipe, a
//! transaction is not durable until the reader has committed it, so with standard output the
//! slot is confirmed only as far as that origin's flushed progress (`--confirm-from`), and
//! not at all without it.

use scry_conn::Conn;

use crate::commands::CliError;
use crate::pg;

/// A connection to the reader's target and the origin to read there.
pub struct Reader {
    client: Conn,
    origin: String,
}

impl Reader {
    /// Connects to the reader's target at `conninfo`, to read `origin` there (by default
    /// the one `scry apply` derives for `stream` and that target's database).
    pub fn connect(conninfo: &str, origin: Option<&str>, stream: &str) -> Result<Self, CliError> {
        let mut client = pg::connect(conninfo).map_err(|e| CliError::on("target", e))?;
        let origin = match origin {
            Some(origin) => origin.to_owned(),
            None => {
                let database = pg::text(
                    &pg::first_row(
                        &mut client,
                        "SELECT current_database()::text",
                        &[],
                        "target: cannot read its database name",
                    )?,
                    0,
                );
                scry_apply::origin_name(stream, &database)
            }
        };
        Ok(Self { client, origin })
    }

    /// The Commit position of the last transaction the reader has committed and flushed
    /// (`pg_replication_origin_progress(origin, true)`); 0 while the origin does not exist.
    pub fn applied(&mut self) -> Result<u64, CliError> {
        Ok(super::query_lsn(
            &mut self.client,
            "SELECT pg_replication_origin_progress(roname, true)::text \
             FROM pg_replication_origin WHERE roname = $1",
            Some(&self.origin),
            &format!("target: cannot read origin {}", self.origin),
        )?)
    }
}
