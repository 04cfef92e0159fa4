//! Every kind of decoding error, with the exact kind, path and byte offset.

mod common;

use common::packed::{MAP, NULL, STRING, UINT, VECTOR};
use common::{Item, Raw};
use scry_codec::{
    read_batch, serialize_batch, BatchView, CodecError, DecodeError, DecodeErrorKind, EventView,
    Limit, ReadOptions,
};
use scry_testkit::workloads;
use scry_types::{
    ColumnValue, DatabaseEvent, DatabaseEventBatch, OperationType, Row, SequenceValue, TypeTag,
};

const INT: u8 = (1 << 2) | 2;

fn parse_err(bytes: &[u8]) -> DecodeError {
    BatchView::parse(bytes).unwrap_err()
}

fn parse_err_with(bytes: &[u8], o: &ReadOptions) -> DecodeError {
    BatchView::parse_with(bytes, o).unwrap_err()
}

/// Position of the root slot of a finished `Raw` buffer (4-byte root).
fn root_pos(bytes: &[u8]) -> usize {
    bytes.len() - 6
}

/// The parts of an event written with `Raw`, each overridable.
struct RawEvent {
    operation: Item,
    schema: Item,
    value: Option<Item>,
}

/// A batch of one event: `batch_seq`, `events`, `relations` at the top; the event with the
/// required fields plus a `new_row` of one value when `value` is given.
fn raw_batch(w: &mut Raw, e: impl FnOnce(&mut Raw) -> RawEvent) -> Item {
    let k_batch_seq = w.key("batch_seq");
    let k_events = w.key("events");
    let k_relations = w.key("relations");
    let k_columns = w.key("columns");
    let k_new_row = w.key("new_row");
    let k_operation = w.key("operation");
    let k_position = w.key("position");
    let k_schema = w.key("schema");
    let k_table = w.key("table");
    let k_ts = w.key("timestamp_us");
    let k_tx = w.key("transaction_id");
    let k_values = w.key("values");
    let parts = e(w);
    let table = w.string("t");
    let columns = w.vector(&[]);
    let mut entries = vec![(k_columns, Item::At(columns, VECTOR))];
    if let Some(value) = parts.value {
        let values = w.vector(&[value]);
        let row = w.map(&[(k_values, Item::At(values, VECTOR))]);
        entries.push((k_new_row, Item::At(row, MAP)));
    }
    entries.extend([
        (k_operation, parts.operation),
        (k_position, Item::Inline(7, UINT)),
        (k_schema, parts.schema),
        (k_table, Item::At(table, STRING)),
        (k_ts, Item::Inline(8, UINT)),
        (k_tx, Item::Inline(9, UINT)),
    ]);
    let event = w.map(&entries);
    let events = w.vector(&[Item::At(event, MAP)]);
    let relations = w.vector(&[]);
    let batch = w.map(&[
        (k_batch_seq, Item::Inline(1, UINT)),
        (k_events, Item::At(events, VECTOR)),
        (k_relations, Item::At(relations, VECTOR)),
    ]);
    Item::At(batch, MAP)
}

/// A value map with the given data item (`type_tag` Int32, `type_oid` 23).
fn raw_value(w: &mut Raw, data: Item, oid: Item) -> Item {
    let k_data = w.key("data");
    let k_oid = w.key("type_oid");
    let k_tag = w.key("type_tag");
    let int32 = w.variant("Int32");
    let map = w.map(&[(k_data, data), (k_oid, oid), (k_tag, int32)]);
    Item::At(map, MAP)
}

fn plain_event(w: &mut Raw) -> RawEvent {
    let op = w.string("Insert");
    let schema = w.string("public");
    RawEvent {
        operation: Item::At(op, STRING),
        schema: Item::At(schema, STRING),
        value: None,
    }
}

#[test]
fn raw_writer_makes_valid_batches() {
    let mut w = Raw::default();
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        let data = w.bytes(&[1, 2, 3]);
        e.value = Some(raw_value(w, data, Item::Inline(23, UINT)));
        e
    });
    let bytes = w.finish(root);
    let batch = read_batch(&bytes).unwrap();
    let mut e = DatabaseEvent::new(OperationType::Insert, "public", "t");
    e.position = 7;
    e.timestamp_us = 8;
    e.transaction_id = 9;
    e.new_row = Some(Row::new(vec![ColumnValue::from_pg_binary(
        TypeTag::Int32,
        23,
        vec![1, 2, 3],
    )]));
    assert_eq!(
        batch,
        DatabaseEventBatch::with_events(vec![e]).with_batch_seq(1)
    );
}

#[test]
fn truncated() {
    let e = parse_err(&[0x24, 1]);
    assert_eq!(e.kind(), &DecodeErrorKind::Truncated { len: 2 });
    assert_eq!((e.offset(), e.path().as_str()), (0, ""));
    assert_eq!(
        e.to_string(),
        "input of 2 bytes is too short to hold a FlexBuffers root at the root (byte 0)"
    );
    let e = read_batch(&[]).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::Truncated { len: 0 });
    // A `CodecError` wraps it, so `?` works where both kinds of error meet.
    let wrapped: CodecError = e.clone().into();
    assert_eq!(wrapped, CodecError::Decode(e));
    assert_eq!(
        wrapped.to_string(),
        "cannot decode: input of 0 bytes is too short to hold a FlexBuffers root at the root (byte 0)"
    );
}

#[test]
fn bad_width_and_unknown_type() {
    let e = parse_err(&[0, 0, 3]);
    assert_eq!(e.kind(), &DecodeErrorKind::BadWidth { width: 3 });
    assert_eq!(e.offset(), 2);
    let e = parse_err(&[0, 27 << 2, 1]);
    assert_eq!(e.kind(), &DecodeErrorKind::UnknownType { packed: 108 });
    assert_eq!(e.offset(), 0);
}

#[test]
fn wrong_type_at_root_and_in_a_field() {
    let e = parse_err(&flexbuffers::singleton(5u8));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::WrongType {
            expected: "a batch map",
            found: "UInt"
        }
    );
    assert_eq!(e.offset(), 0);

    let mut w = Raw::default();
    let mut schema_at = 0;
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        e.schema = Item::Inline(5, UINT);
        schema_at = w.buf.len();
        e
    });
    let bytes = w.finish(root);
    let e = parse_err(&bytes);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::WrongType {
            expected: "a String",
            found: "UInt"
        }
    );
    assert_eq!(e.path(), "events[0].schema");
    assert_eq!(e.event_index(), Some(0));
    assert!(e.offset() > schema_at);
    assert_eq!(
        e.to_string(),
        format!(
            "expected a String, found a FlexBuffers UInt at events[0].schema (byte {})",
            e.offset()
        )
    );
}

#[test]
fn bad_offsets() {
    let e = parse_err(&[0, MAP & !3, 1]);
    assert_eq!(e.kind(), &DecodeErrorKind::BadOffset { offset: 0 });
    let e = parse_err(&[9, MAP & !3, 1]);
    assert_eq!(e.kind(), &DecodeErrorKind::BadOffset { offset: 9 });
    assert_eq!(e.offset(), 0);
}

#[test]
fn out_of_bounds_string() {
    let mut w = Raw::default();
    let mut schema = 0;
    let root = raw_batch(&mut w, |w| {
        let e = plain_event(w);
        if let Item::At(p, _) = e.schema {
            schema = p;
        }
        e
    });
    let mut bytes = w.finish(root);
    bytes[schema - 4..schema].copy_from_slice(&100_000u32.to_le_bytes());
    let e = parse_err(&bytes);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: (schema + 100_000) as u64,
            input_len: bytes.len()
        }
    );
    assert_eq!(e.path(), "events[0].schema");
    // The offending length prefix.
    assert_eq!(e.offset(), schema - 4);
}

#[test]
fn missing_and_duplicate_fields() {
    let mut w = Raw::default();
    let k_batch_seq = w.key("batch_seq");
    let k_relations = w.key("relations");
    let relations = w.vector(&[]);
    let map = w.map(&[
        (k_batch_seq, Item::Inline(1, UINT)),
        (k_relations, Item::At(relations, VECTOR)),
    ]);
    let bytes = w.finish(Item::At(map, MAP));
    let e = parse_err(&bytes);
    assert_eq!(e.kind(), &DecodeErrorKind::MissingField { field: "events" });
    assert_eq!((e.offset(), e.path().as_str()), (root_pos(&bytes), ""));

    let mut w = Raw::default();
    let k1 = w.key("batch_seq");
    let k2 = w.key("batch_seq");
    let map = w.map(&[(k1, Item::Inline(1, UINT)), (k2, Item::Inline(2, UINT))]);
    let bytes = w.finish(Item::At(map, MAP));
    let e = parse_err(&bytes);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::DuplicateField { field: "batch_seq" }
    );
    assert_eq!(e.offset(), map + 4);
}

#[test]
fn keys_vector_of_the_wrong_length() {
    let mut w = Raw::default();
    let k = w.key("batch_seq");
    let map = w.map(&[(k, Item::Inline(1, UINT))]);
    let mut bytes = w.finish(Item::At(map, MAP));
    // The keys vector's length lies 4 bytes before its first element, which the map's
    // keys offset (12 bytes before the values) points at.
    let slot = map - 12;
    let off = u32::from_le_bytes(bytes[slot..slot + 4].try_into().unwrap()) as usize;
    let keys = slot - off;
    bytes[keys - 4..keys].copy_from_slice(&2u32.to_le_bytes());
    let e = parse_err(&bytes);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::KeysMismatch { keys: 2, values: 1 }
    );
    assert_eq!(e.offset(), map);
}

#[test]
fn invalid_enum_name_and_discriminant() {
    let mut w = Raw::default();
    let mut op_at = 0;
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        op_at = w.string("Upsert");
        e.operation = Item::At(op_at, STRING);
        e
    });
    let e = parse_err(&w.finish(root));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::InvalidEnumName {
            enum_name: "OperationType",
            name: "Upsert".into()
        }
    );
    assert_eq!(
        (e.path().as_str(), e.offset()),
        ("events[0].operation", op_at)
    );
    assert_eq!(
        e.to_string(),
        format!(
            "\"Upsert\" is not the name of any OperationType variant at events[0].operation (byte {op_at})"
        )
    );

    let mut w = Raw::default();
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        e.operation = Item::Inline(99, UINT);
        e
    });
    let e = parse_err(&w.finish(root));
    // The compatible encoding names variants; a number is the wrong type.
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::WrongType {
            expected: "a String (variant name)",
            found: "UInt",
        }
    );
    assert_eq!(e.path(), "events[0].operation");
}

#[test]
fn invalid_utf8() {
    let mut w = Raw::default();
    let mut schema = 0;
    let root = raw_batch(&mut w, |w| {
        let e = plain_event(w);
        if let Item::At(p, _) = e.schema {
            schema = p;
        }
        e
    });
    let mut bytes = w.finish(root);
    bytes[schema + 2] = 0xFF;
    let e = parse_err(&bytes);
    assert_eq!(e.kind(), &DecodeErrorKind::InvalidUtf8 { valid_up_to: 2 });
    assert_eq!(
        (e.path().as_str(), e.offset()),
        ("events[0].schema", schema)
    );
}

#[test]
fn integer_out_of_range() {
    let mut w = Raw::default();
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        e.value = Some(raw_value(
            w,
            Item::Inline(0, NULL),
            Item::Inline(u32::MAX, INT),
        ));
        e
    });
    let e = parse_err(&w.finish(root));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfRange {
            value: -1,
            target: "u32"
        }
    );
    assert_eq!(e.path(), "events[0].new_row.values[0].type_oid");
}

#[test]
fn data_elements_that_are_not_bytes() {
    // An untyped vector of UInt elements.
    let mut w = Raw::default();
    let mut data = 0;
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        data = w.vector(&[Item::Inline(1, UINT), Item::Inline(300, UINT)]);
        e.value = Some(raw_value(w, Item::At(data, VECTOR), Item::Inline(23, UINT)));
        e
    });
    let e = parse_err(&w.finish(root));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::DataByteOutOfRange { value: 300 }
    );
    assert_eq!(
        (e.path().as_str(), e.offset()),
        ("events[0].new_row.values[0].data", data + 4)
    );

    // A typed vector of 2-byte UInts, as the compat encoding writes 256+ byte values.
    let bytes = event_with_data(&[1, 2, 3, 256, 5]);
    let e = EventView::parse(&bytes).unwrap_err();
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::DataByteOutOfRange { value: 256 }
    );
    assert_eq!(e.path(), "new_row.values[0].data");
    // 300 elements need 2-byte slots even when each is a byte: those read, copied out.
    let wide: Vec<u16> = (0..300).map(|i| i % 256).collect();
    let bytes = event_with_data(&wide);
    let view = EventView::parse(&bytes).unwrap();
    let data = view.new_row().unwrap().get(0).unwrap().data().unwrap();
    assert!(matches!(data, std::borrow::Cow::Owned(_)));
    assert_eq!(data.iter().map(|&b| u16::from(b)).collect::<Vec<_>>(), wide);
}

/// A bare compat-shaped event whose one value's data is a typed vector of these `u16`s.
fn event_with_data(data: &[u16]) -> Vec<u8> {
    let mut b = flexbuffers::Builder::default();
    let mut em = b.start_map();
    em.start_vector("columns").end_vector();
    em.push("event_id", ());
    em.push("operation", "Insert");
    em.push("position", 0u8);
    em.push("schema", "s");
    em.push("table", "t");
    em.push("timestamp_us", 0u8);
    em.push("transaction_id", 0u8);
    let mut row = em.start_map("new_row");
    let mut values = row.start_vector("values");
    let mut vm = values.start_map();
    let mut dv = vm.start_vector("data");
    for &x in data {
        dv.push(x);
    }
    dv.end_vector();
    vm.push("type_oid", 17u32);
    vm.push("type_tag", "Bytea");
    vm.end_map();
    values.end_vector();
    row.end_map();
    em.end_map();
    b.take_buffer()
}

fn limited(f: impl FnOnce(&mut ReadOptions)) -> ReadOptions {
    let mut o = ReadOptions::default();
    f(&mut o);
    o
}

fn limit_kind(limit: Limit, max: u64, actual: u64) -> DecodeErrorKind {
    DecodeErrorKind::LimitExceeded { limit, max, actual }
}

#[test]
fn limits_name_the_limit_hit() {
    let small = serialize_batch(&workloads::small_rows(3)).unwrap();

    let e = parse_err_with(&small, &limited(|o| o.max_input_bytes = 10));
    assert_eq!(
        e.kind(),
        &limit_kind(Limit::InputBytes, 10, small.len() as u64)
    );
    assert_eq!(
        e.to_string(),
        format!(
            "max_input_bytes exceeded: {} > 10 at the root (byte 0)",
            small.len()
        )
    );

    let e = parse_err_with(&small, &limited(|o| o.max_events = 2));
    assert_eq!(e.kind(), &limit_kind(Limit::Events, 2, 3));
    assert_eq!(e.path(), "events");

    let e = parse_err_with(&small, &limited(|o| o.max_columns = 4));
    assert_eq!(e.kind(), &limit_kind(Limit::Columns, 4, 5));
    assert_eq!(e.path(), "events[0].columns");

    let e = parse_err_with(&small, &limited(|o| o.max_string_bytes = 3));
    assert_eq!(e.kind(), &limit_kind(Limit::StringBytes, 3, 10));
    assert_eq!(e.path(), "events[0].columns[1]");

    let large = serialize_batch(&workloads::large_rows(1)).unwrap();
    let e = parse_err_with(&large, &limited(|o| o.max_value_bytes = 100));
    assert_eq!(e.kind(), &limit_kind(Limit::ValueBytes, 100, 4096));
    assert_eq!(e.path(), "events[0].new_row.values[1].data");

    let seqs = DatabaseEventBatch::sequence_sync(vec![
        SequenceValue::new("public", "a", 1),
        SequenceValue::new("public", "b", 2),
    ]);
    let bytes = serialize_batch(&seqs).unwrap();
    let e = parse_err_with(&bytes, &limited(|o| o.max_sequence_values = 1));
    assert_eq!(e.kind(), &limit_kind(Limit::SequenceValues, 1, 2));
    assert_eq!(e.path(), "sequence_values");

    let rels = DatabaseEventBatch::new().with_relations(vec![
        scry_types::RelationMeta::new(1, "public", "a", vec![]),
        scry_types::RelationMeta::new(2, "public", "b", vec![]),
    ]);
    let bytes = serialize_batch(&rels).unwrap();
    let e = parse_err_with(&bytes, &limited(|o| o.max_relations = 1));
    assert_eq!(e.kind(), &limit_kind(Limit::Relations, 1, 2));
    assert_eq!(e.path(), "relations");
}

#[test]
fn work_budget_scales_with_input() {
    let small = serialize_batch(&workloads::small_rows(100)).unwrap();
    let e = parse_err_with(&small, &limited(|o| o.work_per_input_byte = 0));
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::WorkBudgetExceeded { budget: 4096 }
    );
    assert_eq!(e.event_index().map(|i| i < 100), Some(true));
}

#[test]
fn shared_offsets_cannot_amplify_work() {
    // One value map with 1 KiB of data, referenced by 2000 row slots; that row referenced
    // by 20,000 event slots: about 100 KB of input claiming 40 GB of values.
    let mut w = Raw::default();
    let k_data = w.key("data");
    let k_oid = w.key("type_oid");
    let k_tag = w.key("type_tag");
    let data = w.bytes(&[7; 1024]);
    let bytea = w.variant("Bytea");
    let value = w.map(&[
        (k_data, data),
        (k_oid, Item::Inline(17, UINT)),
        (k_tag, bytea),
    ]);
    let k_values = w.key("values");
    let values = w.vector(&vec![Item::At(value, MAP); 1500]);
    let row = w.map(&[(k_values, Item::At(values, VECTOR))]);
    let keys: Vec<usize> = [
        "columns",
        "new_row",
        "operation",
        "position",
        "schema",
        "table",
        "timestamp_us",
        "transaction_id",
    ]
    .iter()
    .map(|k| w.key(k))
    .collect();
    let name = w.string("x");
    let columns = w.vector(&[]);
    let insert = w.variant("Insert");
    let event = w.map(&[
        (keys[0], Item::At(columns, VECTOR)),
        (keys[1], Item::At(row, MAP)),
        (keys[2], insert),
        (keys[3], Item::Inline(0, UINT)),
        (keys[4], Item::At(name, STRING)),
        (keys[5], Item::At(name, STRING)),
        (keys[6], Item::Inline(0, UINT)),
        (keys[7], Item::Inline(0, UINT)),
    ]);
    let events = w.vector(&vec![Item::At(event, MAP); 20_000]);
    let k_batch_seq = w.key("batch_seq");
    let k_events = w.key("events");
    let k_relations = w.key("relations");
    let relations = w.vector(&[]);
    let batch = w.map(&[
        (k_batch_seq, Item::Inline(1, UINT)),
        (k_events, Item::At(events, VECTOR)),
        (k_relations, Item::At(relations, VECTOR)),
    ]);
    let bytes = w.finish(Item::At(batch, MAP));
    assert!(bytes.len() < 200_000, "{}", bytes.len());
    let e = parse_err(&bytes);
    // Writers never share a value map: the second slot is an error before any work is spent.
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::SharedObject {
            what: "column value map",
            target: value,
            previous: value,
        }
    );
    assert_eq!(e.path(), "events[0].new_row.values[1]");
}

#[test]
fn unknown_keys_are_ignored_and_fields_found_out_of_canonical_order() {
    let mut w = Raw::default();
    let root = raw_batch(&mut w, |w| {
        let mut e = plain_event(w);
        let k_aaa = w.key("aaa");
        let k_data = w.key("data");
        let k_oid = w.key("type_oid");
        let k_tag = w.key("type_tag");
        let k_zzz = w.key("zzz");
        let data = w.bytes(&[9, 8]);
        let junk = w.string("ignored");
        let bytea = w.variant("Bytea");
        let map = w.map(&[
            (k_aaa, Item::At(junk, STRING)),
            (k_data, data),
            (k_oid, Item::Inline(17, UINT)),
            (k_tag, bytea),
            (k_zzz, Item::Inline(1, UINT)),
        ]);
        e.value = Some(Item::At(map, MAP));
        e
    });
    let bytes = w.finish(root);
    let view = BatchView::parse(&bytes).unwrap();
    let event = view.event(0).unwrap();
    let value = event.new_row().unwrap().get(0).unwrap();
    assert_eq!(value.type_tag(), TypeTag::Bytea);
    assert_eq!(value.type_oid(), 17);
    assert_eq!(value.data().as_deref(), Some(&[9u8, 8][..]));
    assert_eq!(
        view.to_owned().events[0].new_row,
        Some(Row::new(vec![ColumnValue::from_pg_binary(
            TypeTag::Bytea,
            17,
            vec![9, 8]
        )]))
    );
}

#[test]
fn claimed_lengths_are_checked_before_anything_is_allocated() {
    // An events vector claiming u32::MAX elements in a 100-byte input.
    let mut w = Raw::default();
    let k_batch_seq = w.key("batch_seq");
    let k_events = w.key("events");
    let k_relations = w.key("relations");
    let events = w.vector(&[]);
    let relations = w.vector(&[]);
    let batch = w.map(&[
        (k_batch_seq, Item::Inline(1, UINT)),
        (k_events, Item::At(events, VECTOR)),
        (k_relations, Item::At(relations, VECTOR)),
    ]);
    let mut bytes = w.finish(Item::At(batch, MAP));
    bytes[events - 4..events].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = parse_err(&bytes);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::OutOfBounds {
            end: u64::from(u32::MAX) + events as u64,
            input_len: bytes.len()
        }
    );
    assert_eq!((e.path().as_str(), e.offset()), ("events", events - 4));
}
