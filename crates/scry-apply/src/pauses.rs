//! `scry.pauses` on a target: the requests that the replication of a stream pause at a
//! position, and its answers (see `Replication::pause_handle`). One row per stream: `at`,
//! the position asked for ([`Pause::NEXT`](crate::Pause::NEXT): before the next
//! transaction), and `paused_at`, the target's progress once the stream has paused there
//! (NULL until then). The one who asks withdraws the row; the replication goes on then.

use scry_conn::{Conn, WireError};
use scry_types::Lsn;

/// The position in the first column of the first row (`pg_lsn` as text).
fn position(rows: &[Vec<Option<String>>]) -> Option<u64> {
    let text = rows.first()?.first()?.as_deref()?;
    text.parse::<Lsn>().ok().map(|l| l.0)
}

/// Asks the replication of `stream` to pause at `at`, in place of any request before.
///
/// # Errors
/// What the target refuses.
pub fn request(conn: &mut Conn, stream: &str, at: u64) -> Result<(), WireError> {
    let at = Lsn(at).to_string();
    conn.query(
        "INSERT INTO scry.pauses (stream, at) VALUES ($1, $2::pg_lsn) \
         ON CONFLICT (stream) DO UPDATE SET at = EXCLUDED.at, paused_at = NULL, \
                                           requested_at = now()",
        &[Some(stream), Some(&at)],
    )
    .map(drop)
}

/// The position asked for in a request not answered yet.
///
/// # Errors
/// What the target refuses.
pub fn unanswered(conn: &mut Conn, stream: &str) -> Result<Option<u64>, WireError> {
    conn.query(
        "SELECT at::text FROM scry.pauses WHERE stream = $1 AND paused_at IS NULL",
        &[Some(stream)],
    )
    .map(|rows| position(&rows))
}

/// The position asked for, answered or not (`None`: no request).
///
/// # Errors
/// What the target refuses.
pub fn requested(conn: &mut Conn, stream: &str) -> Result<Option<u64>, WireError> {
    conn.query(
        "SELECT at::text FROM scry.pauses WHERE stream = $1",
        &[Some(stream)],
    )
    .map(|rows| position(&rows))
}

/// Answers the request at `at`: the stream paused there, the target holding `progress`.
///
/// # Errors
/// What the target refuses.
pub fn answer(conn: &mut Conn, stream: &str, at: u64, progress: u64) -> Result<(), WireError> {
    let (at, progress) = (Lsn(at).to_string(), Lsn(progress).to_string());
    conn.query(
        "UPDATE scry.pauses SET paused_at = $3::pg_lsn WHERE stream = $1 AND at = $2::pg_lsn",
        &[Some(stream), Some(&at), Some(&progress)],
    )
    .map(drop)
}

/// The target's progress, once the request at `at` is answered.
///
/// # Errors
/// What the target refuses.
pub fn answered(conn: &mut Conn, stream: &str, at: u64) -> Result<Option<u64>, WireError> {
    let at = Lsn(at).to_string();
    conn.query(
        "SELECT paused_at::text FROM scry.pauses \
         WHERE stream = $1 AND at = $2::pg_lsn AND paused_at IS NOT NULL",
        &[Some(stream), Some(&at)],
    )
    .map(|rows| position(&rows))
}

/// Withdraws the request of `stream`: its replication goes on.
///
/// # Errors
/// What the target refuses.
pub fn withdraw(conn: &mut Conn, stream: &str) -> Result<(), WireError> {
    conn.query("DELETE FROM scry.pauses WHERE stream = $1", &[Some(stream)])
        .map(drop)
}
