//! The SQL source of `scry capture`: rounds of `pg_logical_slot_peek_binary_changes` (whole
//! transactions, nothing consumed), each made durable and then confirmed with
//! `pg_replication_slot_advance`. A crash at any point leaves the slot at or before the
//! output's last whole transaction.

use bytes::Bytes;
use scry_conn::Conn;
use scry_pg::pgoutput::MessageKind;
use scry_types::Lsn;

use super::{Capture, Options};
use crate::commands::CliError;
use crate::pg;

/// The most changes one round asks the server for.
pub const ROUND_CHANGES: i32 = 10_000;

/// Captures until `until` (or Ctrl-C).
pub fn run(
    mut client: Conn,
    mut capture: Capture,
    options: &Options<'_>,
    until: Option<u64>,
) -> Result<(), CliError> {
    loop {
        if crate::interrupt::requested() {
            return Err(capture.interrupted());
        }
        let rows = peek(&mut client, options.slot, options.publication, until)?;
        if rows.is_empty() {
            if until.is_some() {
                break;
            }
            std::thread::sleep(options.poll);
            continue;
        }
        let mut skip = false;
        let mut skipped = false;
        for (lsn, message) in &rows {
            // A transaction already in the output (sent again after a crash) is skipped; its
            // Relation messages still describe the tables to what follows.
            match message.first().copied().and_then(MessageKind::from_byte) {
                Some(MessageKind::Begin) => {
                    skip = capture.resume_after.is_some_and(|after| {
                        commit_end(&rows, *lsn).is_some_and(|end| end <= after)
                    });
                    if skip {
                        capture.totals.skipped += 1;
                        skipped = true;
                        continue;
                    }
                }
                Some(MessageKind::Relation | MessageKind::Type) => {}
                Some(MessageKind::Commit) if skip => {
                    skip = false;
                    continue;
                }
                _ if skip => continue,
                _ => {}
            }
            capture.decode(*lsn, message, options.slot)?;
        }
        // What was passed over is in the output already, durably (it was read back from
        // there): the slot moves past it even when the round wrote nothing, or the same
        // round would come back forever.
        let passed = capture
            .resume_after
            .filter(|after| *after > capture.totals.confirmed);
        if let (true, Some(after)) = (skipped, passed) {
            advance(&mut client, options.slot, after)?;
            capture.totals.confirmed = after;
        }
        if let Some(position) = capture.durable()? {
            advance(&mut client, options.slot, position)?;
            capture.totals.confirmed = position;
        }
    }
    if options.sequences {
        capture.sequences(&mut client)?;
    }
    capture.finish()
}

/// The end position of the transaction whose Begin came at `begin_lsn`: its Commit's.
fn commit_end(rows: &[(u64, Bytes)], begin_lsn: u64) -> Option<u64> {
    rows.iter()
        .skip_while(|(lsn, m)| !(*lsn == begin_lsn && m.first() == Some(&b'B')))
        .find(|(_, m)| m.first() == Some(&b'C'))
        .and_then(|(_, m)| match scry_pg::pgoutput::parse(m, false) {
            Ok(scry_pg::pgoutput::Message::Commit(c)) => Some(c.end_lsn),
            _ => None,
        })
}

/// The slot's next whole transactions, up to `until` (or the end of the WAL), not consumed.
fn peek(
    conn: &mut Conn,
    slot: &str,
    publication: &str,
    until: Option<u64>,
) -> Result<Vec<(u64, Bytes)>, CliError> {
    let upto = until.map(|l| Lsn(l).to_string());
    let rounds = ROUND_CHANGES.to_string();
    // Binary results: the LSN as 8 big-endian bytes, the message as its bytes.
    let rows = scry_conn::while_in_use(scry_apply::IN_USE_WAIT, || {
        conn.query_binary(
            "SELECT lsn, data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, \
             $3::int4, 'proto_version', '1', 'publication_names', $4, 'binary', 'true', \
             'messages', 'true')",
            &[
                Some(slot),
                upto.as_deref(),
                Some(&rounds),
                Some(publication),
            ],
        )
    })
    .map_err(|e| pg::server_error(format!("cannot read the changes of slot {slot}"), &e))?;
    rows.into_iter()
        .map(|row| {
            let mut values = row.into_iter();
            let lsn = values
                .next()
                .flatten()
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| CliError::Usage("a change without its LSN".to_owned()))?;
            Ok((
                lsn,
                Bytes::from(values.next().flatten().unwrap_or_default()),
            ))
        })
        .collect()
}

fn advance(conn: &mut Conn, slot: &str, position: u64) -> Result<(), CliError> {
    let position = Lsn(position).to_string();
    scry_conn::while_in_use(scry_apply::IN_USE_WAIT, || {
        conn.query(
            "SELECT pg_replication_slot_advance($1, $2::pg_lsn)",
            &[Some(slot), Some(&position)],
        )
    })
    .map_err(|e| pg::server_error(format!("cannot advance slot {slot}"), &e))?;
    Ok(())
}
