//! The health of the source's logical slots, as the server reports it, and the heartbeat
//! that keeps a slot moving: what `scry status` shows and what `scry replicate` watches
//! while it runs.
//!
//! A slot keeps the WAL from its restart point on. The server says how much that is
//! (`retained_bytes`), how it stands against `max_wal_size` and `max_slot_wal_keep_size`
//! (`wal_status`: `reserved`, then `extended`, `unreserved`, and finally `lost`, when the
//! server has removed WAL the slot still needed) and how much more WAL may be written before
//! it is lost (`safe_wal_size`, only with `max_slot_wal_keep_size` set).

use scry_conn::Conn;

use crate::rows::text;
use crate::setup::parse_lsn;
use crate::SourceError;

/// The prefix of the heartbeat's logical message (see [`heartbeat`]).
pub const HEARTBEAT_PREFIX: &str = "scry.heartbeat";

/// A logical slot of the source's database and how much WAL it holds back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// The slot's name.
    pub name: String,
    /// Its output plugin (scry's are `pgoutput`).
    pub plugin: String,
    /// The walsender's process, when a client streams the slot now.
    pub active_pid: Option<i64>,
    /// How far the slot's client has confirmed (`confirmed_flush_lsn`).
    pub confirmed: Option<u64>,
    /// The server's WAL position when read.
    pub wal: u64,
    /// The server's WAL position minus the confirmed position, in bytes.
    pub lag_bytes: Option<i64>,
    /// The WAL the server keeps for the slot (from its `restart_lsn`), in bytes.
    pub retained_bytes: Option<i64>,
    /// `reserved`, `extended`, `unreserved` or `lost` (see the module's documentation).
    pub wal_status: Option<String>,
    /// The WAL that may still be written before the slot is lost, in bytes (only when
    /// `max_slot_wal_keep_size` is set).
    pub safe_wal_size: Option<i64>,
}

impl SlotState {
    /// True when the server has removed WAL the slot needed: its changes can no longer be
    /// read, and a target that follows it must be built again from a new snapshot.
    #[must_use]
    pub fn is_lost(&self) -> bool {
        self.wal_status.as_deref() == Some("lost")
    }
}

/// The logical slots of the source's database (only `name`, when given), by name.
///
/// # Errors
/// [`SourceError::Server`] when the server refuses the query.
pub fn slots(conn: &mut Conn, name: Option<&str>) -> Result<Vec<SlotState>, SourceError> {
    let rows = conn
        .query(
            "SELECT slot_name::text, plugin::text, active_pid, confirmed_flush_lsn::text, \
                    pg_current_wal_lsn()::text, \
                    (pg_current_wal_lsn() - confirmed_flush_lsn)::int8, \
                    (pg_current_wal_lsn() - restart_lsn)::int8, wal_status, safe_wal_size \
             FROM pg_replication_slots \
             WHERE slot_type = 'logical' AND database = current_database() \
               AND ($1::text IS NULL OR slot_name = $1) \
             ORDER BY 1",
            &[name],
        )
        .map_err(|e| SourceError::server("cannot read pg_replication_slots", e))?;
    let number = |r: &[Option<String>], i: usize| -> Option<i64> {
        r.get(i).cloned().flatten().and_then(|v| v.parse().ok())
    };
    rows.iter()
        .map(|r| {
            Ok(SlotState {
                name: text(r, 0),
                plugin: text(r, 1),
                active_pid: number(r, 2),
                confirmed: r
                    .get(3)
                    .cloned()
                    .flatten()
                    .map(|l| parse_lsn(&l))
                    .transpose()?,
                wal: parse_lsn(&text(r, 4))?,
                lag_bytes: number(r, 5),
                retained_bytes: number(r, 6),
                wal_status: r.get(7).cloned().flatten(),
                safe_wal_size: number(r, 8),
            })
        })
        .collect()
}

/// What a lost slot means and what to do, for the message that ends a command (after the
/// slot's name: `replication slot S: ...`).
#[must_use]
pub fn lost_slot_advice(slot: &str) -> String {
    format!(
        "it is lost (wal_status lost): the server removed WAL it still \
         needed (max_slot_wal_keep_size, or the slot fell behind for too long), so the changes \
         in that WAL can no longer be read and a target that follows the slot misses them. \
         Remove the slot and the target's state (`scry drop SOURCE TARGET --slot {slot}`), \
         then build the target again from a new snapshot (`scry capture SOURCE --slot {slot} \
         --publication P --create --snapshot FILE`, `scry load TARGET FILE`)"
    )
}

/// Writes a heartbeat on the source: a non-transactional logical message under
/// [`HEARTBEAT_PREFIX`] with an empty body (`pg_logical_emit_message`). It gives the slots
/// of this database WAL of their own to decode, so that they move on (and the server can
/// recycle the WAL before) even when every change of the server is in other databases.
/// Receivers skip it. Returns the message's position.
///
/// # Errors
/// [`SourceError::Server`] when the server refuses (a standby, or the function revoked).
pub fn heartbeat(conn: &mut Conn) -> Result<u64, SourceError> {
    let rows = conn
        .query(
            "SELECT pg_logical_emit_message(false, $1, ''::bytea)::text",
            &[Some(HEARTBEAT_PREFIX)],
        )
        .map_err(|e| SourceError::server("cannot write the heartbeat", e))?;
    parse_lsn(&rows.first().map(|r| text(r, 0)).unwrap_or_default())
}
