//! The query-event writer: scry-protocol 0.1.1's bytes for a batch of [`QueryEvent`]s, as its
//! serde derive drives the flexbuffers 2.0.0 serializer, written straight into the buffer.
//!
//! The batch is a map `{events, proxy_id, batch_seq}`; each event a map of 13 fields, five
//! of them left out when empty or absent (`params`, `params_incomplete` when false,
//! `normalized_query`, `value_fingerprints`, `rows`, `error`). Times are whole microseconds
//! (truncated to 64 bits, as 0.1.1 does) and each parameter is its JSON text (see
//! [`ParamValue`](scry_types::ParamValue)). Writes follow the serializer's order: fields in
//! declaration order, each key the first time it occurs, then the field's strings or nested
//! vector; a map's keys vector and slots (sorted by key) when it ends.

use std::time::{Duration, SystemTime};

use scry_types::QueryEvent;

use super::shared::KeySets;
use super::sink::Sink;
use super::value::Val;

/// Every key of the query-event schema.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Key {
    BatchSeq,
    ConnectionId,
    Database,
    DurationUs,
    Error,
    EventId,
    Events,
    NormalizedQuery,
    Params,
    ParamsIncomplete,
    ProxyId,
    Query,
    Rows,
    Success,
    TimestampUs,
    ValueFingerprints,
}

/// The key names, indexed by [`Key`]: they are also in byte order, the order of a map's slots.
const NAMES: [&str; 16] = [
    "batch_seq",
    "connection_id",
    "database",
    "duration_us",
    "error",
    "event_id",
    "events",
    "normalized_query",
    "params",
    "params_incomplete",
    "proxy_id",
    "query",
    "rows",
    "success",
    "timestamp_us",
    "value_fingerprints",
];

const _: () = {
    // NAMES is sorted, so a map's present keys sorted by `Key` are sorted by name.
    let mut i = 1;
    while i < NAMES.len() {
        let (a, b) = (NAMES[i - 1].as_bytes(), NAMES[i].as_bytes());
        let mut j = 0;
        while j < a.len() && j < b.len() && a[j] == b[j] {
            j += 1;
        }
        assert!(j == a.len() || (j < b.len() && a[j] < b[j]));
        i += 1;
    }
};

/// Not written yet.
const NO_KEY: usize = usize::MAX;

/// The fields of one map being gathered: (key, slot) by [`Key`], and which are present.
struct Fields {
    vals: [Val; 16],
    present: u32,
}

impl Fields {
    fn new() -> Self {
        Fields {
            vals: [Val::NULL; 16],
            present: 0,
        }
    }

    fn set(&mut self, key: Key, val: Val) {
        self.vals[key as usize] = val;
        self.present |= 1 << key as u32;
    }
}

/// Writes one batch.
struct Writer<'a> {
    sink: Sink<'a>,
    keys: [usize; 16],
    key_sets: KeySets,
    /// Reused buffer of the current parameter's JSON.
    json: Vec<u8>,
    /// Slots of the strings of the vector being written.
    strings: Vec<Val>,
}

impl Writer<'_> {
    /// Writes `key` if this FlexBuffer does not hold it yet.
    fn key(&mut self, key: Key) {
        let slot = &mut self.keys[key as usize];
        if *slot == NO_KEY {
            *slot = self.sink.key(NAMES[key as usize]);
        }
    }

    fn string(&mut self, fields: &mut Fields, key: Key, s: &str) {
        self.key(key);
        let val = self.sink.string(s);
        fields.set(key, val);
    }

    fn scalar(&mut self, fields: &mut Fields, key: Key, val: Val) {
        self.key(key);
        fields.set(key, val);
    }

    /// An untyped vector of the strings `each` writes, one per item.
    fn strings<T>(
        &mut self,
        fields: &mut Fields,
        key: Key,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T) -> Val,
    ) {
        self.key(key);
        let mut slots = std::mem::take(&mut self.strings);
        slots.clear();
        for item in items {
            let v = each(self, item);
            slots.push(v);
        }
        let val = self.sink.vector(&slots);
        self.strings = slots;
        fields.set(key, val);
    }

    /// The keys vector and map of `fields` (`kind` tells the batch's map from an event's).
    fn map(&mut self, kind: u8, fields: &Fields) -> Val {
        let mut keys = [0usize; 16];
        let mut vals = [Val::NULL; 16];
        let mut n = 0;
        for (i, (&key, &val)) in self.keys.iter().zip(&fields.vals).enumerate() {
            if fields.present & (1 << i) != 0 {
                keys[n] = key;
                vals[n] = val;
                n += 1;
            }
        }
        let (keys, vals) = (&keys[..n], &vals[..n]);
        let shape = self
            .key_sets
            .get(KeySets::tag(kind, fields.present), keys)
            .shape;
        self.sink.keys_and_map(keys, &shape, vals).1
    }

    fn event(&mut self, e: &QueryEvent) -> Val {
        let mut f = Fields::new();
        self.string(&mut f, Key::EventId, &e.event_id);
        let since_epoch = e
            .timestamp
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.scalar(&mut f, Key::TimestampUs, Val::uint(micros(since_epoch)));
        self.string(&mut f, Key::Query, &e.query);
        if !e.params.is_empty() {
            self.strings(&mut f, Key::Params, &e.params, |w, p| {
                w.json.clear();
                // Serializing a ParamValue to JSON cannot fail (no map has non-string keys);
                // were it to, 0.1.1 writes an empty string, and so does this.
                if serde_json::to_writer(&mut w.json, p).is_err() {
                    w.json.clear();
                }
                let text = std::str::from_utf8(&w.json).unwrap_or_default();
                w.sink.string(text)
            });
        }
        if e.params_incomplete {
            self.scalar(&mut f, Key::ParamsIncomplete, Val::boolean(true));
        }
        if let Some(q) = &e.normalized_query {
            self.string(&mut f, Key::NormalizedQuery, q);
        }
        if let Some(prints) = &e.value_fingerprints {
            self.strings(&mut f, Key::ValueFingerprints, prints, |w, s| {
                w.sink.string(s)
            });
        }
        self.scalar(&mut f, Key::DurationUs, Val::uint(micros(e.duration)));
        if let Some(rows) = e.rows {
            self.scalar(&mut f, Key::Rows, Val::uint(rows));
        }
        self.scalar(&mut f, Key::Success, Val::boolean(e.success));
        if let Some(error) = &e.error {
            self.string(&mut f, Key::Error, error);
        }
        self.string(&mut f, Key::Database, &e.database);
        self.string(&mut f, Key::ConnectionId, &e.connection_id);
        self.map(1, &f)
    }
}

/// Whole microseconds, cut to 64 bits as 0.1.1 cuts them (`as u64`).
fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// Appends the FlexBuffer of a query-event batch to `buf`.
pub(crate) fn write_batch(
    buf: &mut Vec<u8>,
    events: &[QueryEvent],
    proxy_id: &str,
    batch_seq: u64,
) {
    let estimate = 64
        + proxy_id.len()
        + events
            .iter()
            .map(|e| {
                200 + e.event_id.len()
                    + e.query.len()
                    + e.normalized_query.as_ref().map_or(0, String::len)
                    + e.database.len()
                    + e.connection_id.len()
                    + e.error.as_ref().map_or(0, String::len)
                    + 48 * e.params.len()
            })
            .sum::<usize>();
    let mut w = Writer {
        sink: Sink::new(buf, estimate),
        keys: [NO_KEY; 16],
        key_sets: KeySets::new(),
        json: Vec::new(),
        strings: Vec::new(),
    };
    let mut batch = Fields::new();
    w.key(Key::Events);
    let mut slots = Vec::with_capacity(events.len());
    for e in events {
        slots.push(w.event(e));
    }
    let events_val = w.sink.vector(&slots);
    batch.set(Key::Events, events_val);
    w.string(&mut batch, Key::ProxyId, proxy_id);
    w.scalar(&mut batch, Key::BatchSeq, Val::uint(batch_seq));
    let root = w.map(0, &batch);
    w.sink.root(root);
}
