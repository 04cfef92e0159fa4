//! The compact encoding, layout version 3: what its bytes are, and the primitives its writer
//! (`flex::compact`) and its reader (`view::parse::compact`) share.
//!
//! The root is still a FlexBuffers map, so any FlexBuffers reader can walk it and see the
//! batch's fields; the events themselves, which are nearly all of a batch's bytes, are one
//! blob in a layout of their own, and the names and column types they refer to are stated
//! once per batch in a second blob. `docs/wire-format.md` has a worked example;
//! the insta snapshots (`*__compact.snap`) pin the bytes of every canonical case.
//!
//! # The root map
//!
//! | key | holds |
//! | --- | --- |
//! | `compact` | UInt: the layout version, [`VERSION`]; a reader refuses any but 2 and 3 (version 2 is version 3 without indexes in `metas`) |
//! | `events` | Blob: the event stream (below) |
//! | `tables` | Blob: the names and row types the events refer to (below) |
//! | `metas` | Vector: the `relation_meta` of every event that has one, in event order (left out when none has); each a relation map, or the UInt index of an equal entry of `relations` that no other entry of `metas` names (batches only; the writer uses the first such entry) |
//! | `batch_seq`, `relations`, `source_id`, `control_directive`, `sequence_values`, `backfill_metadata` | as the compat encoding writes them (absent options left out); batches only |
//!
//! A bare event (`serialize_event_with`) is a root map of `compact`, `events` (holding the
//! one event), `tables` and `metas`. A reader tells the encodings apart by the `compact`
//! key; the compat encoding never writes it.
//!
//! # Integers
//!
//! *varint*: unsigned LEB128, 7 bits a byte, least significant group first, at most 10 bytes,
//! and minimal (a multi-byte varint never ends in a zero byte). *delta*: the wrapping
//! difference from the previous event's value (0 before the first event), read as an `i64`,
//! zigzag-mapped (`0, -1, 1, -2, ...` → `0, 1, 2, 3, ...`) and written as a varint. *u32*:
//! four bytes, little-endian. *i32be*: four bytes, big-endian, signed (COPY's own field
//! length).
//!
//! # The `tables` blob
//!
//! ```text
//! u32 name_count, u32 column_count, u32 type_count, u32 slot_count
//! name_count   × (u32 schema_at, u32 schema_len, u32 table_at, u32 table_len,
//!                 u32 first_column, u32 columns)       one per (schema, table, column names)
//! column_count × (u32 name_at, u32 name_len)           column names, in runs per name entry
//! type_count   × (u32 first_slot, u32 slots)           one per row type
//! slot_count   × (u8 type_tag, u32 type_oid)           a row type's columns, in runs
//! the string bytes (every `*_at` counts from the blob's first byte; each valid UTF-8)
//! ```
//!
//! Every entry of each table is referred to by some event, and runs follow each other in
//! order (entry `i + 1`'s run starts where entry `i`'s ends): the tables hold nothing twice.
//!
//! # The `events` blob
//!
//! ```text
//! varint event_count
//! per event:
//!   u8 operation (OperationType's discriminant)
//!   u8 flags: 0x01 event_id, 0x02 new_row, 0x04 old_row, 0x08 relation_meta (the next
//!             entry of `metas`), 0x10 ddl_sql, 0x20 ddl_object_type, 0x40 inline column
//!             names; other bits are errors
//!   varint name: index into the name table (schema, table and column names)
//!   delta timestamp_us, delta position, delta transaction_id
//!   [inline column names: varint count, then per name varint length, bytes; the name
//!    entry then has no column names of its own]
//!   [varint length, bytes: event_id] [same: ddl_sql] [same: ddl_object_type]
//!   [row: new_row] [row: old_row]
//! row:
//!   varint type: index into the row-type table; it says how many values the row has, and
//!                each one's type tag and OID
//!   per value, COPY BINARY's own field layout: i32be length, then that many bytes of data;
//!   or no bytes and a length of
//!     -1  ColumnValue::null() (tag Null, OID 0: COPY's NULL)
//!     -2  the unchanged-TOAST marker: tag ToastUnchanged, the slot's OID
//!     -3  no data, with the slot's tag and OID
//! ```
//!
//! A writer states an event's column names inline when they would cost a reader more to
//! copy out than twice the event's own bytes (an event without rows, or a DELETE of a wide
//! table's key): a name entry stands for many copies of its names in an owned batch, and a
//! reader charges each copy to its work budget
//! ([`ReadOptions::work_per_input_byte`](crate::ReadOptions::work_per_input_byte)), so no
//! valid batch comes near the budget however its names are shared.
//!
//! A row's values are therefore the fields of a COPY BINARY tuple, byte for byte: a COPY
//! stream's tuple can be copied in whole after its 16-bit field count, and a value's bytes
//! are borrowed where they lie. Nothing follows the last event.

use scry_types::ColumnValue;

/// The layout version this crate writes (it also reads [`VERSION_2`]).
pub(crate) const VERSION: u64 = 3;

/// The version before [`VERSION`]: the same layout, its `metas` relation maps only.
pub(crate) const VERSION_2: u64 = 2;

/// The root map key whose presence marks the compact encoding and holds [`VERSION`].
pub(crate) const VERSION_KEY: &str = "compact";
/// The root map key of the event stream blob.
pub(crate) const EVENTS_KEY: &str = "events";
/// The root map key of the tables blob.
pub(crate) const TABLES_KEY: &str = "tables";
/// The root map key of the events' relation metadata.
pub(crate) const METAS_KEY: &str = "metas";

/// Event flag bits.
pub(crate) mod flag {
    pub(crate) const EVENT_ID: u8 = 0x01;
    pub(crate) const NEW_ROW: u8 = 0x02;
    pub(crate) const OLD_ROW: u8 = 0x04;
    pub(crate) const RELATION_META: u8 = 0x08;
    pub(crate) const DDL_SQL: u8 = 0x10;
    pub(crate) const DDL_OBJECT_TYPE: u8 = 0x20;
    pub(crate) const INLINE_COLUMNS: u8 = 0x40;
    /// Every defined bit.
    pub(crate) const ALL: u8 = 0x7F;
}

/// The field length of `ColumnValue::null()`.
pub(crate) const LEN_NULL: i32 = -1;
/// The field length of the unchanged-TOAST marker.
pub(crate) const LEN_UNCHANGED: i32 = -2;
/// The field length of a value without data that keeps its slot's tag and OID.
pub(crate) const LEN_NO_DATA: i32 = -3;

/// Bytes of one name table entry, column entry, row type entry and slot entry.
pub(crate) const NAME_ENTRY: usize = 24;
pub(crate) const COLUMN_ENTRY: usize = 8;
pub(crate) const TYPE_ENTRY: usize = 8;
pub(crate) const SLOT_ENTRY: usize = 5;
/// Bytes of the tables blob's header (its four counts).
pub(crate) const TABLES_HEADER: usize = 16;

/// The smallest event: operation, flags, name, and three one-byte deltas.
pub(crate) const MIN_EVENT: usize = 6;
/// The smallest value: its field length.
pub(crate) const MIN_VALUE: usize = 4;

/// The field length a value is written with in a slot of type `tag` and OID `oid`, or
/// `None` when the value does not fit that slot.
#[inline(always)]
pub(crate) fn field_len(v: &ColumnValue, tag: u8, oid: u32) -> Option<i32> {
    use scry_types::TypeTag;
    match &v.data {
        Some(d) if v.type_tag as u8 == tag && v.type_oid == oid => i32::try_from(d.len()).ok(),
        Some(_) => None,
        None if v.type_tag == TypeTag::Null && v.type_oid == 0 => Some(LEN_NULL),
        None if v.type_tag == TypeTag::ToastUnchanged && v.type_oid == oid => Some(LEN_UNCHANGED),
        None if v.type_tag as u8 == tag && v.type_oid == oid => Some(LEN_NO_DATA),
        None => None,
    }
}

/// Appends `x` as a varint.
#[inline(always)]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// The zigzag mapping of a signed number onto an unsigned one.
#[inline(always)]
pub(crate) const fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// The inverse of [`zigzag`].
#[inline(always)]
pub(crate) const fn unzigzag(x: u64) -> i64 {
    ((x >> 1) as i64) ^ -((x & 1) as i64)
}

/// Appends the delta of `now` from `before`.
#[inline(always)]
pub(crate) fn put_delta(out: &mut Vec<u8>, before: u64, now: u64) {
    put_varint(out, zigzag(now.wrapping_sub(before) as i64));
}

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The input ends inside it.
    Truncated,
    /// Longer than 10 bytes, past 64 bits, or not minimal.
    Malformed,
}

/// Reads the varint at `b[pos..]`: its value and the position after it.
#[inline(always)]
pub(crate) fn get_varint(b: &[u8], pos: usize) -> Result<(u64, usize), VarintError> {
    let first = *b.get(pos).ok_or(VarintError::Truncated)?;
    if first < 0x80 {
        return Ok((u64::from(first), pos + 1));
    }
    let mut x = u64::from(first & 0x7F);
    let mut shift = 7;
    let mut at = pos + 1;
    loop {
        let byte = *b.get(at).ok_or(VarintError::Truncated)?;
        at += 1;
        let bits = u64::from(byte & 0x7F);
        if shift == 63 && byte > 1 {
            return Err(VarintError::Malformed);
        }
        x |= bits << shift;
        if byte < 0x80 {
            if byte == 0 {
                return Err(VarintError::Malformed);
            }
            return Ok((x, at));
        }
        shift += 7;
        if shift > 63 {
            return Err(VarintError::Malformed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length() {
        let mut cases = vec![
            0u64,
            1,
            127,
            128,
            255,
            16_383,
            16_384,
            u64::MAX,
            u64::MAX - 1,
        ];
        cases.extend((0..64).map(|s| 1u64 << s));
        cases.extend((1..64).map(|s| (1u64 << s) - 1));
        for x in cases {
            let mut out = vec![0xEE];
            put_varint(&mut out, x);
            let expected_len = if x == 0 {
                1
            } else {
                (64 - x.leading_zeros() as usize).div_ceil(7)
            };
            assert_eq!(out.len() - 1, expected_len, "{x}");
            assert_eq!(get_varint(&out, 1), Ok((x, out.len())), "{x}");
        }
    }

    #[test]
    fn varint_bytes_are_leb128() {
        let mut out = Vec::new();
        put_varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
        put_varint(&mut out, u64::MAX);
        assert_eq!(
            &out[2..],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        );
    }

    #[test]
    fn malformed_varints_are_refused() {
        use VarintError::*;
        assert_eq!(get_varint(&[], 0), Err(Truncated));
        assert_eq!(get_varint(&[0x80], 0), Err(Truncated));
        // Not minimal: a trailing zero group.
        assert_eq!(get_varint(&[0x81, 0x00], 0), Err(Malformed));
        // Past 64 bits: the tenth byte may only be 0 or 1.
        let mut long = [0xFF; 10];
        long[9] = 0x02;
        assert_eq!(get_varint(&long, 0), Err(Malformed));
        // Eleven bytes.
        let mut eleven = [0x80; 11];
        eleven[10] = 0x01;
        assert_eq!(get_varint(&eleven, 0), Err(Malformed));
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_numbers() {
        assert_eq!([0, -1, 1, -2, 2].map(zigzag), [0, 1, 2, 3, 4]);
        for x in [0, 1, -1, i64::MAX, i64::MIN, 12_345, -987_654] {
            assert_eq!(unzigzag(zigzag(x)), x);
        }
        let mut out = Vec::new();
        put_delta(&mut out, u64::MAX, 0); // wraps: +1
        put_delta(&mut out, 0, u64::MAX); // wraps: -1
        assert_eq!(out, [2, 1]);
    }
}
