//! `--metrics ADDR`: the running replication's figures in the Prometheus (OpenMetrics) text
//! format at `http://ADDR/metrics`, from a thread of its own, for as long as the command
//! runs. The names, types and meanings are listed in [`Metrics`] and in the README; the
//! counters count from the start of the process, across retries.
//!
//! The metrics are `prometheus-client`'s (the Prometheus project's Rust client) and the
//! endpoint is `tiny_http`'s; both are well kept and small.

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::commands::CliError;

/// The `wal_status` values the server reports, each a series of
/// `scry_slot_wal_status{status=...}`.
const WAL_STATUSES: [&str; 4] = ["reserved", "extended", "unreserved", "lost"];

type Labels = Vec<(String, String)>;

/// The figures served (each with its name at `/metrics`).
#[derive(Debug, Default)]
pub struct Metrics {
    /// `scry_lag_bytes` (gauge): WAL the source has sent that the target has not committed
    /// yet; 0 when the target has every transaction received.
    lag_bytes: Gauge,
    /// `scry_lag_seconds` (gauge): now minus the source commit time of the last transaction
    /// the target committed, while the target is behind; 0 when it has everything.
    lag_seconds: Gauge<f64, AtomicU64>,
    /// `scry_transactions_total` (counter): source transactions committed on the target.
    transactions: Counter,
    /// `scry_changes_total` (counter): row changes (and DDL statements) applied.
    changes: Counter,
    /// `scry_received_bytes_total` (counter): bytes of pgoutput messages received.
    received_bytes: Counter,
    /// `scry_conflicts_total` (counter): row changes skipped under `--on-conflict skip|log`.
    conflicts: Counter,
    /// `scry_retries_total{side}` (counter): runs started again after the connection to
    /// `side` (`source`, `target`, `nats`) was lost.
    retries: Family<Labels, Counter>,
    /// `scry_copied_rows_total{table}` (counter): rows of each table copied (`replicate
    /// SOURCE TARGET`), counted when the table's copy commits.
    copied_rows: Family<Labels, Counter>,
    /// `scry_applied_lsn` (gauge): the source position the target has committed up to.
    applied_lsn: Gauge,
    /// `scry_slot_confirmed_lsn` (gauge): how far the slot is confirmed.
    confirmed_lsn: Gauge,
    /// `scry_source_wal_lsn` (gauge): the source's WAL position when last read.
    source_wal_lsn: Gauge,
    /// `scry_slot_retained_wal_bytes` (gauge): the WAL the source keeps for the slot.
    retained: Gauge,
    /// `scry_slot_safe_wal_size_bytes` (gauge): WAL that may still be written before the slot
    /// is lost; -1 when `max_slot_wal_keep_size` is unset (no limit).
    safe_wal_size: Gauge,
    /// `scry_slot_wal_status{status}` (gauge): 1 for the slot's `wal_status`, 0 for the
    /// others.
    wal_status: Family<Labels, Gauge>,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The metrics, when `--metrics` serves them.
pub fn get() -> Option<&'static Metrics> {
    METRICS.get()
}

/// Serves the metrics at `http://addr/metrics` from a thread of its own (other paths
/// answer 404), for the rest of the process; returns them.
///
/// # Errors
/// [`CliError::Usage`] when `addr` cannot be listened on, or metrics are served already.
pub fn serve(addr: &str) -> Result<&'static Metrics, CliError> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| CliError::Usage(format!("--metrics {addr}: cannot listen: {e}")))?;
    let metrics = Metrics::default();
    for side in ["source", "target"] {
        // Each side's series from the start, at 0.
        metrics
            .retries
            .get_or_create(&vec![("side".to_owned(), side.to_owned())])
            .inc_by(0);
    }
    let registry = metrics.registry();
    METRICS
        .set(metrics)
        .map_err(|_| CliError::Usage("metrics are served already".into()))?;
    std::thread::Builder::new()
        .name("scry-metrics".into())
        .spawn(move || answer(&server, &registry))
        .map_err(|e| CliError::Usage(format!("--metrics {addr}: cannot start: {e}")))?;
    METRICS
        .get()
        .ok_or_else(|| CliError::Usage("metrics are not set".into()))
}

/// Answers every request: the metrics at `/metrics`, 404 elsewhere.
fn answer(server: &tiny_http::Server, registry: &Registry) {
    for request in server.incoming_requests() {
        let path = request.url().split('?').next().unwrap_or_default();
        let response = if path == "/metrics" {
            let mut body = String::new();
            match encode(&mut body, registry) {
                Ok(()) => with_content_type(tiny_http::Response::from_string(body)),
                Err(_) => tiny_http::Response::from_string("cannot encode the metrics\n")
                    .with_status_code(500),
            }
        } else {
            tiny_http::Response::from_string("not found: the metrics are at /metrics\n")
                .with_status_code(404)
        };
        // A scraper that went away is not the command's failure.
        let _ = request.respond(response);
    }
}

/// The OpenMetrics text format's media type.
const CONTENT_TYPE: &[u8] = b"application/openmetrics-text; version=1.0.0; charset=utf-8";

fn with_content_type(
    response: tiny_http::Response<std::io::Cursor<Vec<u8>>>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    match tiny_http::Header::from_bytes(&b"Content-Type"[..], CONTENT_TYPE) {
        Ok(header) => response.with_header(header),
        Err(()) => response,
    }
}

/// What one run has counted so far, as the applier and the stream report it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Transactions committed on the target.
    pub transactions: u64,
    /// Changes applied.
    pub changes: u64,
    /// Bytes received from the source.
    pub received_bytes: u64,
    /// Conflicts skipped.
    pub conflicts: u64,
}

/// Where the stream is, as one run sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Position {
    /// See `scry_lag_bytes`.
    pub lag_bytes: u64,
    /// See `scry_lag_seconds`.
    pub lag_seconds: f64,
    /// See `scry_applied_lsn`.
    pub applied: u64,
    /// See `scry_slot_confirmed_lsn`.
    pub confirmed: u64,
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("scry");
        r.register_with_unit(
            "lag",
            "WAL the source has sent that the target has not committed (0 when caught up)",
            Unit::Bytes,
            self.lag_bytes.clone(),
        );
        r.register_with_unit(
            "lag",
            "Now minus the source commit time of the last transaction applied, while behind",
            Unit::Seconds,
            self.lag_seconds.clone(),
        );
        r.register(
            "transactions",
            "Source transactions committed on the target",
            self.transactions.clone(),
        );
        r.register(
            "changes",
            "Row changes and DDL statements applied",
            self.changes.clone(),
        );
        r.register_with_unit(
            "received",
            "pgoutput messages received from the source",
            Unit::Bytes,
            self.received_bytes.clone(),
        );
        r.register(
            "conflicts",
            "Row changes skipped (--on-conflict skip or log)",
            self.conflicts.clone(),
        );
        r.register(
            "retries",
            "Runs started again after the connection to a side was lost",
            self.retries.clone(),
        );
        r.register(
            "copied_rows",
            "Rows of each table copied, counted when its copy commits",
            self.copied_rows.clone(),
        );
        r.register(
            "applied_lsn",
            "The source position the target has committed up to",
            self.applied_lsn.clone(),
        );
        r.register(
            "slot_confirmed_lsn",
            "How far the slot is confirmed",
            self.confirmed_lsn.clone(),
        );
        r.register(
            "source_wal_lsn",
            "The source's WAL position when last read",
            self.source_wal_lsn.clone(),
        );
        r.register_with_unit(
            "slot_retained_wal",
            "The WAL the source keeps for the slot",
            Unit::Bytes,
            self.retained.clone(),
        );
        r.register_with_unit(
            "slot_safe_wal_size",
            "WAL that may still be written before the slot is lost (-1: no limit)",
            Unit::Bytes,
            self.safe_wal_size.clone(),
        );
        r.register(
            "slot_wal_status",
            "1 for the slot's wal_status, 0 for the others",
            self.wal_status.clone(),
        );
        r
    }

    /// Adds what a run counted since `seen`, and remembers it there.
    pub fn count(&self, seen: &mut RunCounts, now: RunCounts) {
        self.transactions
            .inc_by(now.transactions.saturating_sub(seen.transactions));
        self.changes
            .inc_by(now.changes.saturating_sub(seen.changes));
        self.received_bytes
            .inc_by(now.received_bytes.saturating_sub(seen.received_bytes));
        self.conflicts
            .inc_by(now.conflicts.saturating_sub(seen.conflicts));
        *seen = now;
    }

    /// Sets where the stream is.
    pub fn position(&self, at: Position) {
        self.lag_bytes.set(gauge_value(at.lag_bytes));
        self.lag_seconds.set(at.lag_seconds);
        self.applied_lsn.set(gauge_value(at.applied));
        self.confirmed_lsn.set(gauge_value(at.confirmed));
    }

    /// Sets the slot's health as the source reported it.
    pub fn slot(&self, slot: &scry_source::slots::SlotState) {
        self.source_wal_lsn.set(gauge_value(slot.wal));
        self.retained.set(slot.retained_bytes.unwrap_or(0));
        self.safe_wal_size.set(slot.safe_wal_size.unwrap_or(-1));
        for status in WAL_STATUSES {
            let on = slot.wal_status.as_deref() == Some(status);
            self.wal_status
                .get_or_create(&vec![("status".to_owned(), status.to_owned())])
                .set(i64::from(on));
        }
    }

    /// Counts the `rows` of `table` copied.
    pub fn copied(&self, table: &str, rows: u64) {
        self.copied_rows
            .get_or_create(&vec![("table".to_owned(), table.to_owned())])
            .inc_by(rows);
    }

    /// Counts a retry after `side` was lost.
    pub fn retry(&self, side: &str) {
        self.retries
            .get_or_create(&vec![("side".to_owned(), side.to_owned())])
            .inc();
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_what_each_run_counted_and_gauges_say_the_state() {
        let m = Metrics::default();
        let mut seen = RunCounts::default();
        let counts = |transactions, changes| RunCounts {
            transactions,
            changes,
            received_bytes: 100 * transactions,
            conflicts: 0,
        };
        m.count(&mut seen, counts(3, 30));
        m.count(&mut seen, counts(5, 50));
        // A new run counts from zero again: the totals go on from there.
        seen = RunCounts::default();
        m.count(&mut seen, counts(2, 20));
        m.retry("target");
        m.copied("public.t", 42);
        m.position(Position {
            lag_bytes: 4096,
            lag_seconds: 1.5,
            applied: 0x1_0000_0000,
            confirmed: 0x0_F000_0000,
        });
        m.slot(&scry_source::slots::SlotState {
            name: "s".into(),
            plugin: "pgoutput".into(),
            active_pid: Some(7),
            confirmed: Some(1),
            wal: 0x1_0000_0100,
            lag_bytes: Some(256),
            retained_bytes: Some(1 << 20),
            wal_status: Some("extended".into()),
            safe_wal_size: None,
        });
        let mut text = String::new();
        encode(&mut text, &m.registry()).expect("encode");
        for line in [
            "scry_transactions_total 7",
            "scry_changes_total 70",
            "scry_received_bytes_total 700",
            "scry_conflicts_total 0",
            "scry_retries_total{side=\"target\"} 1",
            "scry_copied_rows_total{table=\"public.t\"} 42",
            "scry_lag_bytes 4096",
            "scry_lag_seconds 1.5",
            "scry_applied_lsn 4294967296",
            "scry_slot_confirmed_lsn 4026531840",
            "scry_source_wal_lsn 4294967552",
            "scry_slot_retained_wal_bytes 1048576",
            "scry_slot_safe_wal_size_bytes -1",
            "scry_slot_wal_status{status=\"extended\"} 1",
            "scry_slot_wal_status{status=\"reserved\"} 0",
            "# TYPE scry_lag_bytes gauge",
            "# TYPE scry_transactions counter",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
