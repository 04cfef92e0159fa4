//! Query events (the SQL proxy's half of the protocol): seeded arbitrary events covering
//! every [`ParamValue`] variant, and the canonical batches whose bytes the snapshots pin.

use std::time::{Duration, SystemTime};

use scry_types::{ParamValue, QueryEvent, QueryEventBuilder};

use crate::Gen;

/// Floats that JSON writes in each of its shapes (integral, fractional, exponent, negative
/// zero, extremes); NaN and the infinities are left to [`Gen::param`]'s callers that want
/// them, since they do not survive a batch.
const F64S: &[f64] = &[
    0.0,
    -0.0,
    1.5,
    -2.25,
    1e20,
    1e-7,
    123_456_789.123,
    f64::MAX,
    f64::MIN_POSITIVE,
    5e-324,
];

impl Gen {
    /// A parameter of any variant; `depth` bounds the nesting of arrays, ranges and
    /// composites.
    pub fn param(&mut self, depth: u32) -> ParamValue {
        let variants = if depth == 0 { 17 } else { 21 };
        match self.below(variants) {
            0 => ParamValue::Null,
            1 => ParamValue::Bool(self.one_in(2)),
            2 => ParamValue::Int16(self.i64() as i16),
            3 => ParamValue::Int32(self.i64() as i32),
            4 => ParamValue::Int64(self.i64()),
            5 => ParamValue::Float32(self.pick(F64S) as f32),
            6 => ParamValue::Float64(self.pick(F64S)),
            7 => ParamValue::Numeric(format!("{}.{:04}", self.i64(), self.below(10_000))),
            8 => ParamValue::Text(self.string()),
            9 => ParamValue::Bytes(self.data()),
            10 => ParamValue::Date(self.i64() as i32),
            11 => ParamValue::Time(self.i64()),
            12 => ParamValue::Timestamp(self.i64()),
            13 => ParamValue::TimestampTz(self.i64()),
            14 => ParamValue::Interval {
                months: self.i64() as i32,
                days: self.i64() as i32,
                microseconds: self.i64(),
            },
            15 => ParamValue::Uuid(std::array::from_fn(|_| self.next_u64() as u8)),
            16 => ParamValue::Json(format!(
                "{{\"k\":{},\"s\":{:?}}}",
                self.i64(),
                self.string()
            )),
            17 => ParamValue::Array {
                elements: (0..self.below(4)).map(|_| self.param(depth - 1)).collect(),
                dimensions: (0..self.below(3)).map(|_| self.i64() as i32).collect(),
            },
            18 => ParamValue::Range {
                lower: (!self.one_in(3)).then(|| Box::new(self.param(depth - 1))),
                upper: (!self.one_in(3)).then(|| Box::new(self.param(depth - 1))),
                lower_inc: self.one_in(2),
                upper_inc: self.one_in(2),
            },
            19 => ParamValue::Composite {
                fields: (0..self.below(4)).map(|_| self.param(depth - 1)).collect(),
            },
            _ => ParamValue::Unknown {
                oid: self.u32(),
                data: self.data(),
            },
        }
    }

    /// A query event with every optional field present or absent at random, integer
    /// extremes in the times and row count, and awkward strings.
    pub fn query_event(&mut self) -> QueryEvent {
        let mut b = QueryEventBuilder::new(self.string())
            .event_id(self.string())
            .timestamp(SystemTime::UNIX_EPOCH + Duration::from_micros(self.u64() >> 8))
            .duration(Duration::from_micros(self.u64()))
            .success(self.one_in(2))
            .database(self.string())
            .connection_id(self.string());
        if !self.one_in(3) {
            let n = self.below(6);
            b = b.params((0..n).map(|_| self.param(2)).collect());
        }
        if self.one_in(3) {
            b = b.params_incomplete(true);
        }
        if self.one_in(2) {
            b = b.normalized_query(self.string());
        }
        if self.one_in(2) {
            let n = self.below(4);
            b = b.value_fingerprints((0..n).map(|_| self.string()).collect());
        }
        if self.one_in(2) {
            b = b.rows(self.u64());
        }
        if self.one_in(3) {
            b = b.error(self.string());
        }
        b.build()
    }
}

/// A named batch of query events whose bytes a snapshot pins.
#[derive(Debug, Clone)]
pub struct QueryCase {
    /// The snapshot's name.
    pub name: &'static str,
    /// What the case shows.
    pub description: &'static str,
    /// The events.
    pub events: Vec<QueryEvent>,
    /// The proxy's ID.
    pub proxy_id: &'static str,
    /// The batch's sequence number.
    pub batch_seq: u64,
}

fn at(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

/// The canonical query-event batches: fixed IDs and times, so their bytes never change.
#[must_use]
pub fn query_cases() -> Vec<QueryCase> {
    let minimal = QueryEventBuilder::new("SELECT 1")
        .event_id("00000000-0000-4000-8000-000000000001")
        .timestamp(at(1_733_390_000_000_000))
        .build();
    let every_param = QueryEventBuilder::new("CALL record_every_type($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)")
        .event_id("00000000-0000-4000-8000-000000000002")
        .timestamp(at(1_733_390_000_000_250))
        .params(vec![
            ParamValue::Null,
            ParamValue::Bool(true),
            ParamValue::Int16(-2),
            ParamValue::Int32(42),
            ParamValue::Int64(i64::MIN),
            ParamValue::Float32(1.5),
            ParamValue::Float64(-0.125),
            ParamValue::Numeric("12345.6789".into()),
            ParamValue::Text("héllo 🦀".into()),
            ParamValue::Bytes(vec![0, 1, 2, 0xfe, 0xff]),
            ParamValue::Date(9_000),
            ParamValue::Time(45_296_000_000),
            ParamValue::Timestamp(786_000_000_000_000),
            ParamValue::TimestampTz(-1),
            ParamValue::Interval {
                months: 14,
                days: -3,
                microseconds: 1_000_001,
            },
            ParamValue::Uuid([
                0x55, 0x06, 0x7d, 0xc5, 0xb9, 0x1c, 0x40, 0x78, 0x90, 0x5b, 0x8a, 0x7f, 0xdd, 0x00,
                0x83, 0x0c,
            ]),
            ParamValue::Json(r#"{"a":[1,2]}"#.into()),
            ParamValue::Array {
                elements: vec![ParamValue::Int32(1), ParamValue::Null, ParamValue::Int32(3)],
                dimensions: vec![3],
            },
            ParamValue::Range {
                lower: Some(Box::new(ParamValue::Int64(1))),
                upper: None,
                lower_inc: true,
                upper_inc: false,
            },
            ParamValue::Composite {
                fields: vec![ParamValue::Text("x".into()), ParamValue::Bool(false)],
            },
            ParamValue::Unknown {
                oid: 600,
                data: vec![0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
            },
        ])
        .database("shop")
        .connection_id("conn-42")
        .duration(Duration::from_micros(1_250))
        .rows(10)
        .build();
    let anonymized = QueryEventBuilder::new("SELECT * FROM users WHERE email = ?")
        .event_id("00000000-0000-4000-8000-000000000003")
        .timestamp(at(1_733_390_000_001_000))
        .normalized_query("SELECT * FROM users WHERE email = ?")
        .value_fingerprints(vec!["9f86d081".into(), "60303ae2".into()])
        .params(vec![ParamValue::Unknown {
            oid: 0,
            data: vec![1],
        }])
        .params_incomplete(true)
        .database("crm")
        .connection_id("conn-7")
        .duration(Duration::from_millis(5))
        .build();
    let failed = QueryEventBuilder::new("SELEC 1")
        .event_id("00000000-0000-4000-8000-000000000004")
        .timestamp(at(1_733_390_000_002_000))
        .success(false)
        .error("syntax error at or near \"SELEC\"")
        .database("crm")
        .connection_id("conn-7")
        .duration(Duration::from_micros(90))
        .build();
    vec![
        QueryCase {
            name: "query_batch_empty",
            description: "A query-event batch with no events.",
            events: Vec::new(),
            proxy_id: "proxy-1",
            batch_seq: 0,
        },
        QueryCase {
            name: "query_batch_minimal",
            description: "One event with only the builder's defaults besides its ID and time.",
            events: vec![minimal],
            proxy_id: "proxy-1",
            batch_seq: 1,
        },
        QueryCase {
            name: "query_batch_every_param",
            description: "One event carrying a parameter of every ParamValue variant.",
            events: vec![every_param],
            proxy_id: "proxy-1",
            batch_seq: 2,
        },
        QueryCase {
            name: "query_batch_anonymized_and_failed",
            description: "An anonymized event with incomplete parameters, then a failed one.",
            events: vec![anonymized, failed],
            proxy_id: "proxy-east-2",
            batch_seq: u64::MAX,
        },
    ]
}

/// False when `p` holds a NaN or infinite float anywhere: its JSON holds a `null` there,
/// which no `ParamValue` reads back, so the whole parameter is dropped on reading.
pub fn json_finite(p: &ParamValue) -> bool {
    match p {
        ParamValue::Float32(f) => f.is_finite(),
        ParamValue::Float64(f) => f.is_finite(),
        ParamValue::Array { elements: all, .. } | ParamValue::Composite { fields: all } => {
            all.iter().all(json_finite)
        }
        ParamValue::Range { lower, upper, .. } => lower.iter().chain(upper).all(|b| json_finite(b)),
        _ => true,
    }
}
