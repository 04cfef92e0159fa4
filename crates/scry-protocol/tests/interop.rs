//! Interoperability with scry-protocol 0.1.1 (`upstream`), the crate deployed peers run.
//!
//! For every value, in both directions:
//! (a) our bytes are read by 0.1.1's `read_batch`/`read_event` as the field-by-field converted
//!     value, and are identical to the bytes 0.1.1's `serialize_*` writes for that value;
//! (b) 0.1.1's bytes are read by our `read_batch`/`read_event` as the same value.
//!
//! Values come from thousands of seeded [`Gen`] draws and from explicit edge cases.

mod support;

use scry_protocol::database_event as ours;
use scry_testkit::Gen;
use support::{from_upstream, to_upstream};
use upstream::database_event as up;

/// Debug output for failure messages, cut short so a 64 KiB value does not flood the log.
fn show<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    if text.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}… ({} characters in all)", &text[..cut], text.len())
    } else {
        text
    }
}

fn assert_same_bytes(ctx: &str, ours: &[u8], theirs: &[u8]) {
    if ours != theirs {
        let at = ours
            .iter()
            .zip(theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "{ctx}: our bytes differ from 0.1.1's: lengths {} and {}, first difference at offset {at}",
            ours.len(),
            theirs.len()
        );
    }
}

/// Checks a batch both ways; returns the encoded length.
fn check_batch(ctx: &str, batch: &ours::DatabaseEventBatch) -> usize {
    let expected: up::DatabaseEventBatch = to_upstream(batch);
    assert!(
        from_upstream::<ours::DatabaseEventBatch>(&expected) == *batch,
        "{ctx}: the conversion does not round-trip: {}",
        show(batch)
    );

    // (a) ours -> bytes -> 0.1.1, and byte identity.
    let our_bytes = ours::serialize_batch(batch)
        .unwrap_or_else(|e| panic!("{ctx}: our serialize_batch failed: {e}"));
    let read_by_upstream = up::read_batch(&our_bytes)
        .unwrap_or_else(|e| panic!("{ctx}: 0.1.1 cannot read our bytes: {e:#}"));
    assert!(
        read_by_upstream == expected,
        "{ctx}: 0.1.1 reads {}\nfrom our bytes of {}",
        show(&read_by_upstream),
        show(&expected)
    );
    let upstream_bytes = up::serialize_batch(&expected)
        .unwrap_or_else(|e| panic!("{ctx}: 0.1.1 serialize_batch failed: {e:#}"));
    assert_same_bytes(ctx, &our_bytes, &upstream_bytes);

    // (b) 0.1.1 -> bytes -> ours.
    let read_by_us = ours::read_batch(&upstream_bytes)
        .unwrap_or_else(|e| panic!("{ctx}: we cannot read 0.1.1's bytes: {e}"));
    assert!(
        to_upstream(&read_by_us) == expected,
        "{ctx}: we read {}\nfrom 0.1.1's bytes of {}",
        show(&read_by_us),
        show(&expected)
    );
    assert!(read_by_us == *batch, "{ctx}: decoded batch differs");
    our_bytes.len()
}

/// Checks a single event both ways through `serialize_event`/`read_event`.
fn check_event(ctx: &str, event: &ours::DatabaseEvent) -> usize {
    let expected: up::DatabaseEvent = to_upstream(event);
    assert!(
        from_upstream::<ours::DatabaseEvent>(&expected) == *event,
        "{ctx}: the conversion does not round-trip: {}",
        show(event)
    );

    let our_bytes = ours::serialize_event(event)
        .unwrap_or_else(|e| panic!("{ctx}: our serialize_event failed: {e}"));
    let read_by_upstream = up::read_event(&our_bytes)
        .unwrap_or_else(|e| panic!("{ctx}: 0.1.1 cannot read our bytes: {e:#}"));
    assert!(
        read_by_upstream == expected,
        "{ctx}: 0.1.1 reads {}\nfrom our bytes of {}",
        show(&read_by_upstream),
        show(&expected)
    );
    let upstream_bytes = up::serialize_event(&expected)
        .unwrap_or_else(|e| panic!("{ctx}: 0.1.1 serialize_event failed: {e:#}"));
    assert_same_bytes(ctx, &our_bytes, &upstream_bytes);

    let read_by_us = ours::read_event(&upstream_bytes)
        .unwrap_or_else(|e| panic!("{ctx}: we cannot read 0.1.1's bytes: {e}"));
    assert!(
        to_upstream(&read_by_us) == expected,
        "{ctx}: we read {}\nfrom 0.1.1's bytes of {}",
        show(&read_by_us),
        show(&expected)
    );
    assert!(read_by_us == *event, "{ctx}: decoded event differs");
    our_bytes.len()
}

/// Checks an event on its own and inside a batch.
fn check_event_everywhere(ctx: &str, event: &ours::DatabaseEvent) {
    check_event(ctx, event);
    check_batch(
        &format!("{ctx} (in a batch)"),
        &ours::DatabaseEventBatch::with_events(vec![event.clone()]).with_batch_seq(1),
    );
}

// ---------------------------------------------------------------------------------------------
// Seeded generated values.

/// Seeds of small batches (values up to 256 bytes and the short edge lengths).
const SMALL_BATCH_SEEDS: u64 = 2500;
/// Seeds of batches that may hold 65,535- and 65,536-byte values.
const HUGE_BATCH_SEEDS: u64 = 150;
/// Seeds of single events.
const EVENT_SEEDS: u64 = 3000;

#[test]
fn generated_batches_both_ways() {
    let mut total = 0;
    for seed in 0..SMALL_BATCH_SEEDS {
        let mut gen = Gen::new(seed);
        gen.operations = ours::OperationType::IN_0_1_1;
        gen.allow_huge_values = false;
        let batch = gen.batch(5);
        total += check_batch(&format!("batch seed {seed}"), &batch);
    }
    assert!(total > 0);
}

#[test]
fn generated_batches_with_huge_values_both_ways() {
    let mut huge_values = 0;
    for seed in 0..HUGE_BATCH_SEEDS {
        let mut gen = Gen::new(1_000_000 + seed);
        gen.operations = ours::OperationType::IN_0_1_1;
        gen.allow_huge_values = true;
        let batch = gen.batch(3);
        huge_values += batch
            .events
            .iter()
            .flat_map(|e| e.new_row.iter().chain(e.old_row.iter()))
            .flat_map(|r| r.values.iter())
            .filter(|v| v.data.as_ref().is_some_and(|d| d.len() >= 65_535))
            .count();
        check_batch(&format!("huge batch seed {seed}"), &batch);
    }
    // The seeds must really exercise the four-byte slot width.
    assert!(huge_values >= 5, "only {huge_values} huge values drawn");
}

#[test]
fn generated_single_events_both_ways() {
    let mut ops = std::collections::BTreeSet::new();
    for seed in 0..EVENT_SEEDS {
        let mut gen = Gen::new(2_000_000 + seed);
        gen.operations = ours::OperationType::IN_0_1_1;
        gen.allow_huge_values = false;
        let event = gen.event();
        ops.insert(event.operation);
        check_event(&format!("event seed {seed}"), &event);
    }
    assert_eq!(ops.len(), ours::OperationType::IN_0_1_1.len());
}

// ---------------------------------------------------------------------------------------------
// Explicit cases.

fn value(tag: ours::TypeTag, oid: u32, data: Vec<u8>) -> ours::ColumnValue {
    ours::ColumnValue::from_pg_binary(tag, oid, data)
}

fn event_with_row(row: ours::Row) -> ours::DatabaseEvent {
    ours::DatabaseEventBuilder::insert("public", "t")
        .timestamp_us(1_700_000_000_000_000)
        .position(0x16_B374_D848)
        .transaction_id(42)
        .new_row(row)
        .build()
}

#[test]
fn enum_discriminants_names_and_labels_match_upstream() {
    for b in 0..=u8::MAX {
        assert!(
            ours::TypeTag::from_byte(b).map(|t| to_upstream(&t)) == up::TypeTag::from_byte(b),
            "TypeTag byte {b}"
        );
        assert!(
            ours::OperationType::from_byte(b)
                .filter(|t| ours::OperationType::IN_0_1_1.contains(t))
                .map(|t| to_upstream(&t))
                == up::OperationType::from_byte(b),
            "OperationType byte {b}"
        );
        assert!(
            to_upstream(&ours::ReplicaIdentity::from_pg_char(b))
                == up::ReplicaIdentity::from_pg_char(b),
            "ReplicaIdentity char {b}"
        );
    }
    for &tag in ours::TypeTag::ALL {
        let theirs = to_upstream(&tag);
        assert_eq!(tag as u8, theirs as u8);
        assert_eq!(tag.name(), format!("{theirs:?}"));
    }
    for &op in ours::OperationType::IN_0_1_1 {
        let theirs = to_upstream(&op);
        assert_eq!(op as u8, theirs as u8);
        assert_eq!(op.to_string(), theirs.to_string());
        assert_eq!(op.is_control_directive(), theirs.is_control_directive());
        assert_eq!(op.is_ddl(), theirs.is_ddl());
    }
    for &ri in ours::ReplicaIdentity::ALL {
        let theirs = to_upstream(&ri);
        assert_eq!(ri as u8, theirs as u8);
        assert_eq!(ri.to_pg_char(), theirs.to_pg_char());
    }
    for &cd in ours::ControlDirective::ALL {
        assert_eq!(cd.to_string(), to_upstream(&cd).to_string());
    }
    assert_eq!(
        (
            ours::TypeTag::ALL.len(),
            ours::OperationType::IN_0_1_1.len(),
            ours::ReplicaIdentity::ALL.len(),
            ours::ControlDirective::ALL.len()
        ),
        (43, 17, 4, 3)
    );
}

#[test]
fn every_type_tag_with_and_without_data() {
    for &tag in ours::TypeTag::ALL {
        let len = tag.fixed_len().unwrap_or(7);
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37)).collect();
        let row = ours::Row::new(vec![
            value(tag, 16_384 + u32::from(tag.as_u8()), data),
            ours::ColumnValue {
                type_tag: tag,
                type_oid: 7,
                data: None,
            },
        ]);
        check_event_everywhere(&format!("type tag {tag}"), &event_with_row(row));
    }
}

#[test]
fn every_operation_type() {
    for &op in ours::OperationType::IN_0_1_1 {
        let event = ours::DatabaseEventBuilder::new(op, "public", "users")
            .timestamp_us(1)
            .build();
        check_event_everywhere(&format!("operation {op}"), &event);
    }
}

#[test]
fn every_replica_identity_in_events_and_batches() {
    for &ri in ours::ReplicaIdentity::ALL {
        let rel = ours::RelationMeta::new(
            16_384,
            "public",
            "users",
            vec![
                ours::ColumnMeta::new("id", 23).key(),
                ours::ColumnMeta::new("name", 1043).type_modifier(68),
            ],
        )
        .with_replica_identity(ri);
        let event = ours::DatabaseEventBuilder::snapshot_begin("public", "users")
            .timestamp_us(5)
            .relation_meta(rel.clone())
            .build();
        check_event_everywhere(&format!("replica identity {ri:?}"), &event);
        check_batch(
            &format!("replica identity {ri:?} in batch.relations"),
            &ours::DatabaseEventBatch::new().with_relations(vec![rel]),
        );
    }
}

#[test]
fn every_control_directive() {
    for &cd in ours::ControlDirective::ALL {
        check_batch(
            &format!("control {cd}"),
            &ours::DatabaseEventBatch::control(cd)
                .with_source_id("backfill-1")
                .with_batch_seq(3),
        );
    }
    check_batch(
        "sequence sync",
        &ours::DatabaseEventBatch::sequence_sync(vec![
            ours::SequenceValue::new("public", "users_id_seq", 100),
            ours::SequenceValue {
                schema: "s".into(),
                name: "down".into(),
                last_value: -5,
                is_called: false,
                increment_by: -1,
                min_value: i64::MIN,
                max_value: -1,
            },
        ]),
    );
}

#[test]
fn null_and_unchanged_toast_values() {
    let row = ours::Row::new(vec![
        ours::ColumnValue::null(),
        ours::ColumnValue::unchanged(25),
        ours::ColumnValue::unchanged(0),
        ours::ColumnValue::unchanged(u32::MAX),
        value(ours::TypeTag::Text, 25, b"x".to_vec()),
        ours::ColumnValue::null(),
    ]);
    let event = ours::DatabaseEventBuilder::update("public", "docs")
        .timestamp_us(9)
        .new_row(row.clone())
        .old_row(ours::Row::new(vec![ours::ColumnValue::null(); 3]))
        .build();
    check_event_everywhere("NULL and TOAST", &event);
    check_event_everywhere(
        "only NULLs",
        &event_with_row(vec![ours::ColumnValue::null()].into()),
    );
    check_event_everywhere(
        "only TOAST",
        &event_with_row(vec![ours::ColumnValue::unchanged(3802)].into()),
    );
}

#[test]
fn data_at_every_width_boundary() {
    let lens = [
        0usize, 1, 2, 3, 4, 5, 8, 16, 254, 255, 256, 257, 65_534, 65_535, 65_536, 65_537,
    ];
    for len in lens {
        for fill in [0x00u8, 0x7F, 0xFF] {
            let data: Vec<u8> = (0..len).map(|i| fill ^ (i as u8)).collect();
            let v = value(ours::TypeTag::Bytea, 17, data);
            check_event_everywhere(
                &format!("{len} bytes from {fill:#x} (new row)"),
                &event_with_row(ours::Row::new(vec![v.clone()])),
            );
            if fill == 0xFF {
                let mut event = event_with_row(ours::Row::new(vec![
                    value(ours::TypeTag::Int32, 23, vec![0, 0, 0, 1]),
                    v.clone(),
                ]));
                event.old_row = Some(ours::Row::new(vec![v, ours::ColumnValue::null()]));
                check_event_everywhere(&format!("{len} bytes in old and new rows"), &event);
            }
        }
    }
    // Different widths side by side in one row and one batch.
    let mixed = ours::Row::new(
        [2usize, 300, 3, 70_000, 4, 0, 255]
            .iter()
            .map(|&n| value(ours::TypeTag::Bytea, 17, vec![0xA5; n]))
            .collect(),
    );
    check_event_everywhere("mixed widths", &event_with_row(mixed));
}

const AWKWARD_STRINGS: &[&str] = &[
    "",
    "ascii",
    "é",
    "événements",
    "日本語のテーブル",
    "🦀 emoji",
    "nul\u{0}inside",
    "quote\"back\\slash\nnewline",
];

fn string_case(s: &str) -> (ours::DatabaseEvent, ours::DatabaseEventBatch) {
    let rel = ours::RelationMeta::new(1, s, s, vec![ours::ColumnMeta::new(s, 25)]);
    let event = ours::DatabaseEvent {
        event_id: Some(s.to_owned()),
        timestamp_us: 1,
        operation: ours::OperationType::Ddl,
        schema: s.to_owned(),
        table: s.to_owned(),
        position: 2,
        transaction_id: 3,
        new_row: Some(vec![value(ours::TypeTag::Text, 25, s.as_bytes().to_vec())].into()),
        old_row: None,
        columns: vec![s.to_owned(), s.to_owned()],
        relation_meta: Some(rel.clone()),
        ddl_sql: Some(s.to_owned()),
        ddl_object_type: Some(s.to_owned()),
    };
    let batch = ours::DatabaseEventBatch::with_events(vec![event.clone()])
        .with_source_id(s)
        .with_relations(vec![rel])
        .with_sequence_values(vec![ours::SequenceValue::new(s, s, 1)]);
    (event, batch)
}

#[test]
fn empty_non_ascii_and_long_strings_in_every_string_field() {
    for s in AWKWARD_STRINGS {
        let (event, batch) = string_case(s);
        check_event(&format!("string {s:?}"), &event);
        check_batch(&format!("string {s:?}"), &batch);
    }
    for len in [255usize, 256, 65_535, 65_536, 70_000] {
        let s = "ß".repeat(len / 2) + &"a".repeat(len % 2);
        assert_eq!(s.len(), len);
        let (event, batch) = string_case(&s);
        check_event(&format!("string of {len} bytes"), &event);
        check_batch(&format!("string of {len} bytes"), &batch);
    }
}

#[test]
fn integer_extremes_in_every_integer_field() {
    let u64s = [
        0,
        1,
        255,
        256,
        65_535,
        65_536,
        u64::from(u32::MAX),
        u64::from(u32::MAX) + 1,
        i64::MAX as u64,
        u64::MAX,
    ];
    let i64s = [
        0,
        1,
        -1,
        i64::from(i8::MIN),
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        i64::MIN,
        i64::MAX,
    ];
    let u32s = [0, 1, 255, 256, 65_535, 65_536, u32::MAX];
    let i32s = [0, -1, i32::MIN, i32::MAX];
    for (i, &u) in u64s.iter().enumerate() {
        let small_u = u32s[i % u32s.len()];
        let signed = i64s[i % i64s.len()];
        let small_signed = i32s[i % i32s.len()];
        let rel = ours::RelationMeta::new(
            small_u,
            "s",
            "t",
            vec![ours::ColumnMeta::new("c", small_u).type_modifier(small_signed)],
        );
        let event = ours::DatabaseEventBuilder::update("s", "t")
            .timestamp_us(u)
            .position(u)
            .transaction_id(u)
            .new_row(vec![value(ours::TypeTag::Custom, small_u, vec![1])].into())
            .old_row(vec![ours::ColumnValue::unchanged(small_u)].into())
            .relation_meta(rel.clone())
            .build();
        let seq = ours::SequenceValue {
            schema: "s".into(),
            name: "q".into(),
            last_value: signed,
            is_called: i % 2 == 0,
            increment_by: signed,
            min_value: i64::MIN,
            max_value: i64::MAX,
        };
        let batch = ours::DatabaseEventBatch::with_events(vec![event.clone()])
            .with_batch_seq(u)
            .with_relations(vec![rel])
            .with_sequence_values(vec![seq])
            .with_backfill_metadata(ours::BackfillMetadata::new(small_u, u));
        check_event(
            &format!("integers {u} {signed} {small_u} {small_signed}"),
            &event,
        );
        check_batch(
            &format!("integers {u} {signed} {small_u} {small_signed}"),
            &batch,
        );
    }
}

#[test]
fn every_optional_field_present_and_absent() {
    // The six optional fields of an event, in every combination.
    for mask in 0u32..64 {
        let on = |bit: u32| mask & (1 << bit) != 0;
        let mut event = ours::DatabaseEvent::new(ours::OperationType::Update, "public", "users");
        event.timestamp_us = u64::from(mask);
        if on(0) {
            event.event_id = Some("0b9c3f5e-3f6a-4c1e-9a53-7d1f0e6b2a11".into());
        }
        if on(1) {
            event.new_row = Some(vec![value(ours::TypeTag::Int32, 23, vec![0, 0, 0, 7])].into());
        }
        if on(2) {
            event.old_row = Some(ours::Row::empty());
        }
        if on(3) {
            event.relation_meta = Some(ours::RelationMeta::new(9, "public", "users", vec![]));
        }
        if on(4) {
            event.ddl_sql = Some("ALTER TABLE users ADD COLUMN x int".into());
        }
        if on(5) {
            event.ddl_object_type = Some("table".into());
        }
        check_event_everywhere(&format!("event optional mask {mask:06b}"), &event);
    }
    // The four optional fields of a batch, in every combination (and an empty sequence list).
    for mask in 0u32..32 {
        let on = |bit: u32| mask & (1 << bit) != 0;
        let mut batch = ours::DatabaseEventBatch::new().with_batch_seq(u64::from(mask));
        if on(0) {
            batch.source_id = Some("src".into());
        }
        if on(1) {
            batch.control_directive = Some(ours::ControlDirective::SyncSequences);
        }
        if on(2) {
            batch.sequence_values = Some(vec![ours::SequenceValue::new("public", "s", 1)]);
        }
        if on(3) {
            batch.backfill_metadata = Some(ours::BackfillMetadata::new(2, 3));
        }
        if on(4) {
            batch.sequence_values = Some(Vec::new());
        }
        check_batch(&format!("batch optional mask {mask:05b}"), &batch);
    }
}

#[test]
fn empty_and_minimal_values() {
    check_batch("empty batch", &ours::DatabaseEventBatch::new());
    check_batch("default batch", &ours::DatabaseEventBatch::default());
    check_event(
        "bare event",
        &ours::DatabaseEvent::new(ours::OperationType::Begin, "", ""),
    );
    check_event("empty row", &event_with_row(ours::Row::empty()));
    let mut many = ours::DatabaseEventBatch::with_events(
        (0..300u64)
            .map(|i| {
                ours::DatabaseEventBuilder::snapshot_row("public", "t")
                    .timestamp_us(i)
                    .new_row(vec![value(ours::TypeTag::Int64, 20, i.to_be_bytes().to_vec())].into())
                    .build()
            })
            .collect(),
    );
    check_batch("300 events", &many);
    many.relations = (0..300)
        .map(|i| ours::RelationMeta::new(i, "s", format!("t{i}"), vec![]))
        .collect();
    check_batch("300 events and 300 relations", &many);
}

#[test]
fn batches_from_the_builder_interoperate() {
    let rel = ours::RelationMeta::new(
        16_385,
        "public",
        "orders",
        vec![
            ours::ColumnMeta::new("id", 20).key(),
            ours::ColumnMeta::new("total", 1700),
        ],
    )
    .with_replica_identity(ours::ReplicaIdentity::Full);
    let mut builder = ours::BatchBuilder::new()
        .source_id("cdc-1")
        .batch_seq(10)
        .max_events(4);
    let mut batches = Vec::new();
    for xid in 0..6u64 {
        builder.add_relation(rel.clone());
        batches.extend(
            builder.add_event(
                ours::DatabaseEventBuilder::begin()
                    .timestamp_us(xid)
                    .transaction_id(xid)
                    .build(),
            ),
        );
        batches.extend(
            builder.add_event(
                ours::DatabaseEventBuilder::insert("public", "orders")
                    .timestamp_us(xid)
                    .columns_from(&rel)
                    .new_row(
                        vec![
                            value(ours::TypeTag::Int64, 20, xid.to_be_bytes().to_vec()),
                            ours::ColumnValue::null(),
                        ]
                        .into(),
                    )
                    .build(),
            ),
        );
    }
    batches.extend(builder.finish());
    assert_eq!(batches.len(), 3);
    for batch in &batches {
        check_batch(&format!("builder batch {}", batch.batch_seq), batch);
    }
}

#[test]
fn batches_built_with_upstream_s_own_api_are_read_by_us() {
    let meta = up::RelationMeta {
        rel_id: 16_386,
        schema: "public".to_string(),
        table: "items".to_string(),
        columns: vec![up::ColumnMeta {
            name: "id".to_string(),
            type_oid: 23,
            type_modifier: -1,
            is_key: true,
        }],
        replica_identity: up::ReplicaIdentity::Index,
    };
    let mut builder = up::BatchBuilder::new()
        .source_id("legacy-producer")
        .max_events(3);
    builder.add_relation(meta.clone());
    let mut batches = Vec::new();
    for i in 0..7i32 {
        let event = up::DatabaseEventBuilder::insert("public", "items")
            .position(1000 + i as u64)
            .relation_meta(meta.clone())
            .new_row(up::Row::new(vec![
                up::ColumnValue::from_pg_binary(up::TypeTag::Int32, 23, i.to_be_bytes().to_vec()),
                up::ColumnValue::null(),
                up::ColumnValue::unchanged(25),
            ]))
            .build();
        batches.extend(builder.add_event(event));
    }
    batches.extend(builder.finish());
    batches.push(
        up::DatabaseEventBatch::sequence_sync(vec![up::SequenceValue::new(
            "public",
            "items_id_seq",
            7,
        )])
        .with_backfill_metadata(up::BackfillMetadata {
            table_count: 1,
            estimated_total_rows: 7,
        }),
    );
    batches.push(up::DatabaseEventBatch::with_events(vec![
        up::DatabaseEventBuilder::ddl("DROP INDEX items_idx", "index").build(),
    ]));
    assert_eq!(batches.len(), 5);
    for (i, theirs) in batches.iter().enumerate() {
        let bytes = up::serialize_batch(theirs).expect("0.1.1 serializes its own batch");
        let ours_read = ours::read_batch(&bytes)
            .unwrap_or_else(|e| panic!("upstream-built batch {i}: we cannot read it: {e}"));
        assert!(
            to_upstream(&ours_read) == *theirs,
            "upstream-built batch {i}: we read {}",
            show(&ours_read)
        );
        // And writing what we read gives 0.1.1's bytes back.
        assert_same_bytes(
            &format!("upstream-built batch {i}"),
            &ours::serialize_batch(&ours_read).expect("serialize"),
            &bytes,
        );
    }
}
