//! `scry dump`: every batch and event, readable or as JSON Lines.

use scry_codec::frame::Recovery;
use scry_types::{DatabaseEvent, OperationType};

use super::{CliError, Output};
use crate::input::{Input, Payload};
use crate::{json, render};

/// What to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// At most this many events (all when `None`).
    pub limit: Option<u64>,
    /// Only events on these tables (`schema.table` or `table`; any when empty).
    pub tables: Vec<String>,
    /// Only events of these operations (any when empty).
    pub ops: Vec<OperationType>,
}

impl Filter {
    /// True when a table or operation filter is set.
    fn narrows(&self) -> bool {
        !self.tables.is_empty() || !self.ops.is_empty()
    }

    /// True when `event` passes the table and operation filters.
    pub fn matches(&self, event: &DatabaseEvent) -> bool {
        (self.ops.is_empty() || self.ops.contains(&event.operation))
            && (self.tables.is_empty()
                || self.tables.iter().any(|t| {
                    *t == event.table || *t == format!("{}.{}", event.schema, event.table)
                }))
    }
}

/// Writes every batch and event of `input` to standard output: readable, or JSON Lines
/// when `as_json`.
pub fn run(input: &str, as_json: bool, filter: &Filter) -> Result<(), CliError> {
    let units = Input::open(input, Recovery::Stop)?;
    let mut out = Output::create("-")?;
    let mut shown: u64 = 0;
    let mut result = Ok(());
    for unit in units {
        let left = filter.limit.map_or(u64::MAX, |l| l.saturating_sub(shown));
        if left == 0 {
            break;
        }
        let unit = match unit {
            Ok(unit) => unit,
            Err(e) => {
                result = Err(e.into());
                break;
            }
        };
        let written = match &unit.payload {
            Payload::Batch(batch) => {
                let selected: Vec<usize> = batch
                    .events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| filter.matches(e))
                    .map(|(i, _)| i)
                    .take(usize::try_from(left).unwrap_or(usize::MAX))
                    .collect();
                if filter.narrows() && selected.is_empty() {
                    continue;
                }
                shown += selected.len() as u64;
                if as_json {
                    json::write_batch(out.writer(), batch, &unit.origin, &selected)
                } else {
                    render::batch_header(out.writer(), batch, &unit.origin).and_then(|()| {
                        selected
                            .iter()
                            .try_for_each(|&i| match batch.events.get(i) {
                                Some(e) => render::event(out.writer(), &format!("event {i}"), e, 2),
                                None => Ok(()),
                            })
                    })
                }
            }
            Payload::Event(event) => {
                if !filter.matches(event) {
                    continue;
                }
                shown += 1;
                if as_json {
                    json::write_event(out.writer(), event, &unit.origin)
                } else {
                    let label = format!("event {}", render::origin(&unit.origin));
                    render::event(out.writer(), &label, event, 0)
                }
            }
        };
        written.map_err(|e| out.error(e))?;
    }
    out.finish()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_filter_takes_qualified_or_bare_names() {
        let event = DatabaseEvent::new(OperationType::Insert, "sales", "orders");
        let filter = |tables: &[&str], ops: &[OperationType]| Filter {
            limit: None,
            tables: tables.iter().map(|t| (*t).to_owned()).collect(),
            ops: ops.to_vec(),
        };
        assert!(filter(&[], &[]).matches(&event));
        assert!(filter(&["orders"], &[]).matches(&event));
        assert!(filter(&["sales.orders"], &[]).matches(&event));
        assert!(!filter(&["public.orders"], &[]).matches(&event));
        assert!(!filter(&["sales"], &[]).matches(&event));
        assert!(filter(&["x", "orders"], &[OperationType::Insert]).matches(&event));
        assert!(!filter(&["orders"], &[OperationType::Delete]).matches(&event));
        assert!(!filter(&[], &[]).narrows());
        assert!(filter(&[], &[OperationType::Delete]).narrows());
    }
}
