//! Query events to and from scry-protocol 0.1.1's (`upstream`), for the interop tests and
//! the query benchmark, which give both crates the same events.

use scry_types::{ParamValue, QueryEvent};

/// `p` as 0.1.1's `ParamValue`, variant for variant.
pub fn param_to_upstream(p: &ParamValue) -> upstream::ParamValue {
    use upstream::ParamValue as U;
    let boxed = |b: &Option<Box<ParamValue>>| b.as_ref().map(|p| Box::new(param_to_upstream(p)));
    match p {
        ParamValue::Null => U::Null,
        ParamValue::Bool(v) => U::Bool(*v),
        ParamValue::Int16(v) => U::Int16(*v),
        ParamValue::Int32(v) => U::Int32(*v),
        ParamValue::Int64(v) => U::Int64(*v),
        ParamValue::Float32(v) => U::Float32(*v),
        ParamValue::Float64(v) => U::Float64(*v),
        ParamValue::Numeric(v) => U::Numeric(v.clone()),
        ParamValue::Text(v) => U::Text(v.clone()),
        ParamValue::Bytes(v) => U::Bytes(v.clone()),
        ParamValue::Date(v) => U::Date(*v),
        ParamValue::Time(v) => U::Time(*v),
        ParamValue::Timestamp(v) => U::Timestamp(*v),
        ParamValue::TimestampTz(v) => U::TimestampTz(*v),
        ParamValue::Interval {
            months,
            days,
            microseconds,
        } => U::Interval {
            months: *months,
            days: *days,
            microseconds: *microseconds,
        },
        ParamValue::Uuid(v) => U::Uuid(*v),
        ParamValue::Json(v) => U::Json(v.clone()),
        ParamValue::Array {
            elements,
            dimensions,
        } => U::Array {
            elements: elements.iter().map(param_to_upstream).collect(),
            dimensions: dimensions.clone(),
        },
        ParamValue::Range {
            lower,
            upper,
            lower_inc,
            upper_inc,
        } => U::Range {
            lower: boxed(lower),
            upper: boxed(upper),
            lower_inc: *lower_inc,
            upper_inc: *upper_inc,
        },
        ParamValue::Composite { fields } => U::Composite {
            fields: fields.iter().map(param_to_upstream).collect(),
        },
        ParamValue::Unknown { oid, data } => U::Unknown {
            oid: *oid,
            data: data.clone(),
        },
    }
}

/// 0.1.1's `p` as ours: its serde shape is ours, so its JSON reads as ours.
///
/// # Panics
/// If the two shapes ever part (a test helper: it should fail loudly).
pub fn param_from_upstream(p: &upstream::ParamValue) -> ParamValue {
    let json = serde_json::to_string(p).expect("0.1.1's ParamValue writes JSON");
    serde_json::from_str(&json).expect("0.1.1's ParamValue JSON reads as ours")
}

/// `e` as 0.1.1's `QueryEvent`, field for field.
pub fn query_to_upstream(e: &QueryEvent) -> upstream::QueryEvent {
    upstream::QueryEvent {
        event_id: e.event_id.clone(),
        timestamp: e.timestamp,
        query: e.query.clone(),
        params: e.params.iter().map(param_to_upstream).collect(),
        params_incomplete: e.params_incomplete,
        normalized_query: e.normalized_query.clone(),
        value_fingerprints: e.value_fingerprints.clone(),
        duration: e.duration,
        rows: e.rows,
        success: e.success,
        error: e.error.clone(),
        database: e.database.clone(),
        connection_id: e.connection_id.clone(),
    }
}

/// 0.1.1's `e` as ours, field for field.
pub fn query_from_upstream(e: &upstream::QueryEvent) -> QueryEvent {
    QueryEvent {
        event_id: e.event_id.clone(),
        timestamp: e.timestamp,
        query: e.query.clone(),
        params: e.params.iter().map(param_from_upstream).collect(),
        params_incomplete: e.params_incomplete,
        normalized_query: e.normalized_query.clone(),
        value_fingerprints: e.value_fingerprints.clone(),
        duration: e.duration,
        rows: e.rows,
        success: e.success,
        error: e.error.clone(),
        database: e.database.clone(),
        connection_id: e.connection_id.clone(),
    }
}
