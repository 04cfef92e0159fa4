//! Runs the validating pass in each of its modes (general pass only, fast path, event
//! templates) and compares what they produce: for the tests and, under `cfg(fuzzing)`,
//! for a differential fuzz target (see `scry_codec::fuzz_template_agrees`).

use super::order::Order;
use super::{BatchRec, Canon, Parser, Record};
use crate::{DecodeError, ReadOptions};

/// Everything a pass produces: its result, the layout facts, the work it charged, its
/// record, and where the last object of each kind no writer shares lay.
pub(crate) type Outcome = (
    Result<BatchRec, DecodeError>,
    Canon,
    u64,
    Option<Record>,
    Order,
);

/// How a pass validates events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The general pass alone.
    General,
    /// The fast path, then the general pass.
    Fast,
    /// Templates, then the fast path, then the general pass (the default).
    Template,
}

/// Runs a pass over `bytes` in `mode` (recording or not); returns what it produced, with
/// how many events took the fast path and how many a template. The layout table, which
/// only templates make, is checked against the record (when recording) and then left out,
/// so that outcomes of different modes compare equal.
pub(crate) fn run_with(
    bytes: &[u8],
    mode: Mode,
    recording: bool,
) -> Result<(Outcome, usize, usize), String> {
    let o = ReadOptions::default();
    let mut p = match Parser::new(bytes, &o) {
        Ok(p) => p,
        Err(e) => {
            let none = (Err(e), Canon::default(), 0, None, Order::default());
            return Ok((none, 0, 0));
        }
    };
    p.use_fast = mode != Mode::General;
    p.use_template = mode == Mode::Template;
    if recording {
        p.record = Some(Record::default());
    }
    let mut r = p.batch();
    if let (Ok(batch), Some(record)) = (&r, &p.record) {
        check_layouts(batch, record)?;
    }
    if let Ok(batch) = &mut r {
        batch.layouts.clear();
        for e in &mut batch.events {
            e.layout = None;
        }
    }
    let hits = (p.fast_hits, p.template_hits);
    let outcome = (r, p.canon, p.work, p.record, p.order);
    Ok((outcome, hits.0, hits.1))
}

/// Every event with a layout has, in the layout table, exactly the data the recording
/// pass found for its values.
fn check_layouts(batch: &BatchRec, record: &Record) -> Result<(), String> {
    for (i, e) in batch.events.iter().enumerate() {
        let Some(l) = e.layout else { continue };
        let f = record.firsts.get(i).copied().unwrap_or_default();
        let rows = [(e.new_row, f.new_row), (e.old_row, f.old_row)];
        let mut at = l.first as usize;
        for (row, first) in rows {
            let Some(v) = row else { continue };
            for j in 0..v.len as usize {
                let want = record.values.get(first as usize + j).map(|v| v.data);
                let got = batch.layouts.get(at).map(|a| a.data(l.t.get()));
                if got != want {
                    return Err(format!(
                        "event {i} value {j}: layout {got:?}, record {want:?}"
                    ));
                }
                at += 1;
            }
        }
    }
    Ok(())
}

/// Whether two outcomes are equal; else names the first event that differs.
fn agree(a: &Outcome, b: &Outcome, what: &str) -> Result<(), String> {
    if let (Ok(x), Ok(y)) = (&a.0, &b.0) {
        for (i, (e, f)) in x.events.iter().zip(&y.events).enumerate() {
            if e != f {
                return Err(format!("{what}: event {i}: {e:?} != {f:?}"));
            }
        }
    }
    if a != b {
        return Err(format!("{what}: {:?} != {:?}", a.0, b.0));
    }
    Ok(())
}

/// Checks that templates change nothing: recording, against the general pass; not
/// recording, against the fast path. Returns how many events a template validated in the
/// recording pass.
pub(crate) fn template_agrees(bytes: &[u8]) -> Result<usize, String> {
    let (general, _, _) = run_with(bytes, Mode::General, true)?;
    let (t, _, hits) = run_with(bytes, Mode::Template, true)?;
    agree(&t, &general, "recording")?;
    let (plain, _, _) = run_with(bytes, Mode::Fast, false)?;
    let (t, _, _) = run_with(bytes, Mode::Template, false)?;
    agree(&t, &plain, "not recording")?;
    Ok(hits)
}
