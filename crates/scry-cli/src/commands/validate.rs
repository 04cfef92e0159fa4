//! `scry validate`: structural (framing, decoding) and semantic (`validate()`) checks.

use std::io::Write;

use scry_codec::frame::Recovery;
use scry_types::{DatabaseEvent, OperationType, ValidationErrors};

use super::{CliError, Output};
use crate::input::{Input, Origin, Payload};

/// What validation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Payloads that decoded.
    pub payloads: u64,
    /// Events in them.
    pub events: u64,
    /// Problems found (framing, decoding and semantic).
    pub problems: u64,
}

/// Checks all of `input` (reading on after damaged frames), prints each problem and a
/// summary to standard output, and returns the verdict.
pub fn run(input: &str) -> Result<Verdict, CliError> {
    let units = Input::open(input, Recovery::Resync)?;
    let mut out = Output::create("-")?;
    let mut v = Verdict::default();
    let mut tables = Tables::default();
    for unit in units {
        let printed = match unit {
            Err(e) if e.is_io() => return Err(e.into()),
            Err(e) => {
                v.problems += 1;
                writeln!(out.writer(), "{e}")
            }
            Ok(unit) => {
                v.payloads += 1;
                if unit.origin.compact_in_compat_frame {
                    v.problems += 1;
                    let line = format!(
                        "{}: the header says compat but the payload is compact (scry-protocol \
                         0.1.1 cannot read it)",
                        place(&unit.origin, &unit.payload)
                    );
                    writeln!(out.writer(), "{line}").map_err(|e| out.error(e))?;
                }
                let here = place(&unit.origin, &unit.payload);
                let (events, checked) = match &unit.payload {
                    Payload::Batch(b) => (&b.events[..], b.validate()),
                    Payload::Event(e) => (std::slice::from_ref(e), e.validate()),
                };
                v.events += events.len() as u64;
                for problem in events.iter().filter_map(|e| tables.see(e, &here)) {
                    v.problems += 1;
                    writeln!(out.writer(), "{problem}").map_err(|e| out.error(e))?;
                }
                match checked {
                    Ok(()) => Ok(()),
                    Err(errors) => {
                        v.problems += errors.len() as u64;
                        print_violations(out.writer(), &unit.origin, &unit.payload, &errors)
                    }
                }
            }
        };
        printed.map_err(|e| out.error(e))?;
    }
    if let Some(problem) = tables.end() {
        v.problems += 1;
        writeln!(out.writer(), "{problem}").map_err(|e| out.error(e))?;
    }
    let (payloads, events) = (count(v.payloads, "payload"), count(v.events, "event"));
    let summary = if v.problems == 0 {
        format!("valid: {payloads}, {events}")
    } else {
        format!(
            "invalid: {} ({payloads} decoded, {events})",
            count(v.problems, "problem")
        )
    };
    writeln!(out.writer(), "{summary}").map_err(|e| out.error(e))?;
    out.finish()?;
    Ok(v)
}

fn print_violations(
    out: &mut impl Write,
    origin: &Origin,
    payload: &Payload,
    errors: &ValidationErrors,
) -> std::io::Result<()> {
    let place = place(origin, payload);
    for violation in errors.violations() {
        writeln!(out, "{place}: {violation}")?;
    }
    Ok(())
}

/// `1 event`, `2 events`.
fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `frame 3 at byte 1234 (batch)`, `bare event`.
fn place(origin: &Origin, payload: &Payload) -> String {
    let what = match payload {
        Payload::Batch(_) => "batch",
        Payload::Event(_) => "event",
    };
    origin.frame.map_or_else(
        || format!("bare {what}"),
        |f| format!("frame {} at byte {} ({what})", f.index, f.offset),
    )
}

/// The snapshot tables of a stream: each `SnapshotBegin` must be followed by its table's
/// `SnapshotEnd` before another table begins or the stream ends (a snapshot stopped part way,
/// by Ctrl-C or a crash, lacks it and is incomplete).
#[derive(Debug, Default)]
struct Tables {
    /// The table whose snapshot is open, and where it began.
    open: Option<(String, String)>,
}

impl Tables {
    /// Takes the next event (at `place`); a problem with the order of snapshot tables, if any.
    fn see(&mut self, event: &DatabaseEvent, place: &str) -> Option<String> {
        let name = || format!("{}.{}", event.schema, event.table);
        match event.operation {
            OperationType::SnapshotBegin => {
                let before = self.open.replace((name(), place.to_owned()));
                before.map(|(table, began)| {
                    format!(
                        "{place}: the snapshot of {} begins, but that of {table} (begun at \
                         {began}) has no SnapshotEnd: it is incomplete",
                        name()
                    )
                })
            }
            OperationType::SnapshotEnd => match self.open.take() {
                Some((table, _)) if table == name() => None,
                Some((table, began)) => Some(format!(
                    "{place}: a SnapshotEnd of {} inside the snapshot of {table} (begun at \
                     {began})",
                    name()
                )),
                None => Some(format!(
                    "{place}: a SnapshotEnd of {} without its SnapshotBegin",
                    name()
                )),
            },
            _ => None,
        }
    }

    /// At the end of the stream: the table whose snapshot never ended, if any.
    fn end(&mut self) -> Option<String> {
        self.open.take().map(|(table, began)| {
            format!(
                "the stream ends inside the snapshot of {table} (begun at {began}): no \
                 SnapshotEnd, so the snapshot is incomplete"
            )
        })
    }
}
