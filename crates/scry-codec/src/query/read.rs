//! Reading a query-event batch with this crate's bounds-checked FlexBuffers reader.
//!
//! What 0.1.1 reads through serde is read the same way: map fields in any order, unknown
//! keys ignored, a known key twice an error, `params` and `params_incomplete` defaulting when
//! absent, absent or null optional fields `None`. Integers may be stored at any width, signed
//! or unsigned, as long as the value fits. A parameter whose JSON text does not parse as a
//! [`ParamValue`] is left out, as 0.1.1 leaves it out.
//!
//! No input makes reading panic or recurse; the input size, event count and string lengths
//! are checked against [`ReadOptions`], and a work budget (one unit per map entry, vector
//! element and string byte) stops inputs whose offsets share objects many times over.

use std::time::{Duration, SystemTime};

use scry_types::{ParamValue, QueryEvent};

use super::{DeserializationError, DeserializedBatch};
use crate::flex::{key_name, FlexType, Map, Reader, Res, Slot};
use crate::{DecodeError, DecodeErrorKind, Limit, ReadOptions};

/// The reader's state: the input, the limits and the work done.
struct Read<'a, 'o> {
    r: Reader<'a>,
    o: &'o ReadOptions,
    work: u64,
    budget: u64,
}

fn fail(kind: DecodeErrorKind, at: usize) -> DecodeError {
    DecodeError::new(kind, at)
}

/// A map's fields by name: the slot of each known key, `None` when absent.
struct Entries<const N: usize>([Option<Slot>; N]);

impl<const N: usize> Entries<N> {
    fn get(&self, i: usize) -> Option<Slot> {
        self.0.get(i).copied().flatten()
    }
}

impl<'a> Read<'a, '_> {
    fn charge(&mut self, units: usize, at: usize) -> Res<()> {
        self.work = self.work.saturating_add(units as u64);
        if self.work > self.budget {
            return Err(fail(
                DecodeErrorKind::WorkBudgetExceeded {
                    budget: self.budget,
                },
                at,
            ));
        }
        Ok(())
    }

    /// The slots of `names` in the map at `s`; other keys are skipped.
    fn entries<const N: usize>(
        &mut self,
        s: Slot,
        what: &'static str,
        names: &[&'static str; N],
    ) -> Res<Entries<N>> {
        let map: Map = self.r.map(s, what)?;
        self.charge(map.len(), s.pos)?;
        let mut out = [None; N];
        for i in 0..map.len() {
            let (at, prefix) = self
                .r
                .key_prefix(map.keys_pos as usize, map.keys_width, i)?;
            let Some(name) = key_name(prefix) else {
                continue;
            };
            let Some(field) = names.iter().position(|n| n.as_bytes() == name) else {
                continue;
            };
            if out[field].is_some() {
                return Err(fail(
                    DecodeErrorKind::DuplicateField {
                        field: names[field],
                    },
                    at,
                ));
            }
            out[field] = Some(self.r.element(&map.values, i)?);
        }
        Ok(Entries(out))
    }

    fn string(&mut self, s: Slot) -> Res<String> {
        let (start, len) = self.r.string(s)?;
        if len > self.o.max_string_bytes {
            return Err(fail(
                DecodeErrorKind::LimitExceeded {
                    limit: Limit::StringBytes,
                    max: self.o.max_string_bytes as u64,
                    actual: len as u64,
                },
                start,
            ));
        }
        self.charge(len, start)?;
        let bytes = self.r.range(start, len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(fail(
                DecodeErrorKind::InvalidUtf8 {
                    valid_up_to: e.valid_up_to(),
                },
                start,
            )),
        }
    }

    fn u64(&self, s: Slot) -> Res<u64> {
        let v = self.r.integer(s, "an unsigned integer")?;
        u64::try_from(v).map_err(|_| {
            fail(
                DecodeErrorKind::OutOfRange {
                    value: v,
                    target: "u64",
                },
                s.pos,
            )
        })
    }

    /// The strings of the vector at `s`.
    fn strings(&mut self, s: Slot) -> Res<Vec<String>> {
        let v = self.r.vector(s, "a Vector of strings")?;
        self.charge(v.len as usize, s.pos)?;
        let mut out = Vec::with_capacity(v.len as usize);
        for i in 0..v.len as usize {
            let e = self.r.element(&v, i)?;
            out.push(self.string(e).map_err(|err| err.at_index(i))?);
        }
        Ok(out)
    }

    fn is_null(s: Slot) -> bool {
        s.ty == FlexType::Null
    }

    fn event(&mut self, s: Slot) -> Result<QueryEvent, Fault> {
        const NAMES: [&str; 13] = [
            "event_id",
            "timestamp_us",
            "query",
            "params",
            "params_incomplete",
            "normalized_query",
            "value_fingerprints",
            "duration_us",
            "rows",
            "success",
            "error",
            "database",
            "connection_id",
        ];
        let f = self.entries(s, "a Map (a query event)", &NAMES)?;
        let required = |i: usize| f.get(i).ok_or(Fault::Missing(NAMES[i]));
        let in_field = |i: usize| move |e: DecodeError| Fault::Decode(e.in_field(NAMES[i]));
        // An absent or null optional field is `None`.
        let optional = |i: usize| f.get(i).filter(|s| !Self::is_null(*s));

        let event_id = self.string(required(0)?).map_err(in_field(0))?;
        let timestamp_us = self.u64(required(1)?).map_err(in_field(1))?;
        let query = self.string(required(2)?).map_err(in_field(2))?;
        let params = match f.get(3) {
            Some(s) => self.strings(s).map_err(in_field(3))?,
            None => Vec::new(),
        };
        let params_incomplete = match f.get(4) {
            Some(s) => self.r.boolean(s).map_err(in_field(4))?,
            None => false,
        };
        let normalized_query = match optional(5) {
            Some(s) => Some(self.string(s).map_err(in_field(5))?),
            None => None,
        };
        let value_fingerprints = match optional(6) {
            Some(s) => Some(self.strings(s).map_err(in_field(6))?),
            None => None,
        };
        let duration_us = self.u64(required(7)?).map_err(in_field(7))?;
        let rows = match optional(8) {
            Some(s) => Some(self.u64(s).map_err(in_field(8))?),
            None => None,
        };
        let success = self.r.boolean(required(9)?).map_err(in_field(9))?;
        let error = match optional(10) {
            Some(s) => Some(self.string(s).map_err(in_field(10))?),
            None => None,
        };
        let database = self.string(required(11)?).map_err(in_field(11))?;
        let connection_id = self.string(required(12)?).map_err(in_field(12))?;

        let timestamp = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_micros(timestamp_us))
            .ok_or(Fault::Timestamp(timestamp_us))?;
        Ok(QueryEvent {
            event_id,
            timestamp,
            query,
            // As 0.1.1 does: a parameter that is not a ParamValue's JSON is dropped.
            params: params
                .iter()
                .filter_map(|p| serde_json::from_str::<ParamValue>(p).ok())
                .collect(),
            params_incomplete,
            normalized_query,
            value_fingerprints,
            duration: Duration::from_micros(duration_us),
            rows,
            success,
            error,
            database,
            connection_id,
        })
    }
}

/// A failure while reading, before the event index is known.
enum Fault {
    Decode(DecodeError),
    Missing(&'static str),
    Timestamp(u64),
}

impl From<DecodeError> for Fault {
    fn from(e: DecodeError) -> Self {
        Fault::Decode(e)
    }
}

/// Reads a query-event batch.
pub(super) fn read_batch(
    bytes: &[u8],
    o: &ReadOptions,
) -> Result<DeserializedBatch, DeserializationError> {
    let decode = |e: DecodeError| DeserializationError::FlexBuffersError(e.finish().to_string());
    let max = o.max_input_bytes.min(u32::MAX as usize);
    if bytes.len() > max {
        return Err(decode(fail(
            DecodeErrorKind::LimitExceeded {
                limit: Limit::InputBytes,
                max: max as u64,
                actual: bytes.len() as u64,
            },
            0,
        )));
    }
    let mut rd = Read {
        r: Reader::new(bytes),
        o,
        work: 0,
        budget: o
            .work_per_input_byte
            .saturating_mul(bytes.len() as u64)
            .saturating_add(4096),
    };
    let root = rd.r.root().map_err(decode)?;
    const NAMES: [&str; 3] = ["events", "proxy_id", "batch_seq"];
    let f = rd
        .entries(root, "a Map (a query-event batch)", &NAMES)
        .map_err(decode)?;
    let required = |i: usize| f.get(i).ok_or(DeserializationError::MissingField(NAMES[i]));
    let events_slot = required(0)?;
    let proxy_id = rd
        .string(required(1)?)
        .map_err(|e| decode(e.in_field("proxy_id")))?;
    let batch_seq = rd
        .u64(required(2)?)
        .map_err(|e| decode(e.in_field("batch_seq")))?;

    let in_events = |e: DecodeError| decode(e.in_field("events"));
    let v =
        rd.r.vector(events_slot, "a Vector of events")
            .map_err(in_events)?;
    let count = v.len as usize;
    if count > o.max_events {
        return Err(in_events(fail(
            DecodeErrorKind::LimitExceeded {
                limit: Limit::Events,
                max: o.max_events as u64,
                actual: count as u64,
            },
            v.pos as usize,
        )));
    }
    rd.charge(count, v.pos as usize).map_err(in_events)?;
    let mut events = Vec::with_capacity(count);
    for i in 0..count {
        let slot = rd.r.element(&v, i).map_err(|e| in_events(e.at_index(i)))?;
        match rd.event(slot) {
            Ok(event) => events.push(event),
            Err(Fault::Decode(e)) => return Err(in_events(e.at_index(i))),
            Err(Fault::Missing(field)) => return Err(DeserializationError::MissingField(field)),
            Err(Fault::Timestamp(us)) => {
                return Err(DeserializationError::InvalidTimestamp(format!(
                    "events[{i}].timestamp_us = {us} µs after the Unix epoch is past what SystemTime holds"
                )))
            }
        }
    }
    Ok(DeserializedBatch {
        events,
        proxy_id,
        batch_seq,
    })
}
