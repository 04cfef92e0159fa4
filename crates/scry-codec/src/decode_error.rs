//! [`DecodeError`]: what is wrong with the input, and where.

use std::fmt;

/// A configurable limit of [`ReadOptions`](crate::ReadOptions) that the input exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`ReadOptions::max_input_bytes`](crate::ReadOptions::max_input_bytes).
    InputBytes,
    /// [`ReadOptions::max_events`](crate::ReadOptions::max_events).
    Events,
    /// [`ReadOptions::max_columns`](crate::ReadOptions::max_columns).
    Columns,
    /// [`ReadOptions::max_value_bytes`](crate::ReadOptions::max_value_bytes).
    ValueBytes,
    /// [`ReadOptions::max_string_bytes`](crate::ReadOptions::max_string_bytes).
    StringBytes,
    /// [`ReadOptions::max_relations`](crate::ReadOptions::max_relations).
    Relations,
    /// [`ReadOptions::max_sequence_values`](crate::ReadOptions::max_sequence_values).
    SequenceValues,
}

impl Limit {
    /// The name of the [`ReadOptions`](crate::ReadOptions) field (`"max_events"`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InputBytes => "max_input_bytes",
            Self::Events => "max_events",
            Self::Columns => "max_columns",
            Self::ValueBytes => "max_value_bytes",
            Self::StringBytes => "max_string_bytes",
            Self::Relations => "max_relations",
            Self::SequenceValues => "max_sequence_values",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input is too short to hold a FlexBuffers root (at least 3 bytes).
    #[error("input of {len} bytes is too short to hold a FlexBuffers root")]
    Truncated {
        /// The input's length.
        len: usize,
    },
    /// An object (scalar, length prefix, string, vector) extends past the end of the input.
    #[error("object extends to byte {end}, past the end of the {input_len}-byte input")]
    OutOfBounds {
        /// Where the object would end.
        end: u64,
        /// The input's length.
        input_len: usize,
    },
    /// An offset is zero or points before the start of the input (offsets point backwards).
    #[error("offset {offset} does not point backwards to a byte of the input")]
    BadOffset {
        /// The offset read from the slot.
        offset: u64,
    },
    /// A byte width (of the root or of a map's keys) is not 1, 2, 4 or 8.
    #[error("byte width {width} is not 1, 2, 4 or 8")]
    BadWidth {
        /// The width read.
        width: u64,
    },
    /// A packed type byte names no FlexBuffers type.
    #[error("packed type byte {packed:#04x} names no FlexBuffers type")]
    UnknownType {
        /// The packed type byte.
        packed: u8,
    },
    /// A field holds a FlexBuffers type that cannot encode it.
    #[error("expected {expected}, found a FlexBuffers {found}")]
    WrongType {
        /// What the field must hold.
        expected: &'static str,
        /// The FlexBuffers type found (`"Map"`, `"String"`, ...).
        found: &'static str,
    },
    /// A required field is missing from its map.
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's name.
        field: &'static str,
    },
    /// A field appears twice in one map.
    #[error("field `{field}` appears twice")]
    DuplicateField {
        /// The field's name.
        field: &'static str,
    },
    /// An event's map does not lie wholly after the previous event's map of its batch.
    /// Every writer lays the events of a batch out one after the other, so this is a shared
    /// (or overlapping, or reordered) event: sharing would let a few bytes of input stand
    /// for many decoded events.
    #[error(
        "event map at byte {target} does not lie after the previous event's (byte {previous})"
    )]
    SharedEvent {
        /// Where this event's map is.
        target: usize,
        /// Where the previous event's map is.
        previous: usize,
    },
    /// A row, column value, column name list, relation, relation column or sequence value
    /// does not lie wholly after the previous one of its kind (in reading order). Every
    /// writer writes each of these afresh, one after the other, so this is a shared (or
    /// overlapping, or reordered) object: sharing would let a few bytes of input stand for
    /// many decoded rows or values.
    #[error("{what} at byte {target} does not lie after the previous {what} (byte {previous})")]
    SharedObject {
        /// What the object is (`"row map"`, `"column value map"`, `"column name list"`,
        /// `"relation map"`, `"column map"` or `"sequence value map"`).
        what: &'static str,
        /// Where this object's first value is.
        target: usize,
        /// Where the previous object's first value is.
        previous: usize,
    },
    /// A map's keys vector has a different length than its values.
    #[error("map has {keys} keys but {values} values")]
    KeysMismatch {
        /// Length of the keys vector.
        keys: u64,
        /// Length of the values.
        values: u64,
    },
    /// A string is not the name of any variant of the field's enum.
    #[error("{name:?} is not the name of any {enum_name} variant")]
    InvalidEnumName {
        /// The enum (`"TypeTag"`).
        enum_name: &'static str,
        /// The string found.
        name: String,
    },
    /// An integer is not the discriminant of any variant of the field's enum.
    #[error("{value} is not the discriminant of any {enum_name} variant")]
    InvalidDiscriminant {
        /// The enum (`"TypeTag"`).
        enum_name: &'static str,
        /// The integer found.
        value: u64,
    },
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8 (valid up to byte {valid_up_to} of it)")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// An integer does not fit the field's type.
    #[error("integer {value} does not fit in {target}")]
    OutOfRange {
        /// The integer found.
        value: i128,
        /// The field's Rust type (`"u32"`).
        target: &'static str,
    },
    /// An element of a value's byte vector is not a byte.
    #[error("data element {value} is not a byte (0 to 255)")]
    DataByteOutOfRange {
        /// The element found.
        value: u64,
    },
    /// A compact batch or event states a layout version this reader does not know.
    #[error(
        "compact layout version {version} is not supported (this reader reads versions 2 and 3)"
    )]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// A varint of the compact encoding runs past 64 bits or 10 bytes, or is not minimal.
    #[error("varint is longer than 10 bytes, exceeds 64 bits, or is not minimal")]
    MalformedVarint,
    /// An index of the compact encoding points past the end of its table.
    #[error("{table} index {index} is out of range: the table has {len} entries")]
    IndexOutOfRange {
        /// The table (`"name"`, `"row type"`, `"metas"`).
        table: &'static str,
        /// The index found.
        index: u64,
        /// The number of entries.
        len: u64,
    },
    /// Two entries of a compact batch's `metas` name the same entry of its `relations`.
    #[error("relation {index} of `relations` is named by more than one entry of `metas`")]
    RelationNamedTwice {
        /// The index of the relation.
        index: u64,
    },
    /// An event of the compact encoding sets flag bits that mean nothing.
    #[error("event flags {flags:#04x} set undefined bits (defined: 0x7f)")]
    UnknownFlags {
        /// The flags byte.
        flags: u8,
    },
    /// A value's field length is negative but not -1 (NULL), -2 (unchanged TOAST) or -3
    /// (no data).
    #[error("field length {length} is neither a byte count nor -1, -2 or -3")]
    BadFieldLength {
        /// The length found.
        length: i32,
    },
    /// Bytes follow the last entry of a compact blob.
    #[error("{count} bytes follow the end of the {what}")]
    TrailingBytes {
        /// The blob (`"events blob"`).
        what: &'static str,
        /// How many bytes.
        count: usize,
    },
    /// Two counts of the compact encoding that must agree do not.
    #[error("{what}: expected {expected}, found {found}")]
    CountMismatch {
        /// What was counted.
        what: &'static str,
        /// What the other count requires.
        expected: u64,
        /// What the input holds.
        found: u64,
    },
    /// The input exceeds a limit of [`ReadOptions`](crate::ReadOptions).
    #[error("{limit} exceeded: {actual} > {max}")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The limit's value.
        max: u64,
        /// What the input holds (or claims).
        actual: u64,
    },
    /// Reading the input would take more work than its size allows: objects referenced many
    /// times (shared offsets) would amplify the work. The budget is
    /// [`ReadOptions::work_per_input_byte`](crate::ReadOptions::work_per_input_byte) times the
    /// input's length.
    #[error("work budget of {budget} units exceeded (input references shared objects too often)")]
    WorkBudgetExceeded {
        /// The budget.
        budget: u64,
    },
}

/// One step of the path from the root to the offending field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A map field (`new_row`).
    Field(&'static str),
    /// A vector element (`[3]`).
    Index(usize),
}

/// The bytes are not a valid encoding of a batch or event: what is wrong ([`DecodeErrorKind`])
/// and where (the field path from the root, such as `events[3].new_row.values[2].data`, and the
/// byte offset in the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: DecodeErrorKind,
    /// Outermost first once [`DecodeError::finish`] ran; innermost first while bubbling up.
    path: Vec<PathSegment>,
    offset: usize,
}

impl DecodeError {
    /// An error of this kind at byte `offset`, with an empty path.
    #[cold]
    pub(crate) fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(Inner {
            kind,
            path: Vec::new(),
            offset,
        }))
    }

    /// Adds the field this error lies within (called while the error bubbles up).
    #[cold]
    #[must_use]
    pub(crate) fn in_field(mut self, field: &'static str) -> Self {
        self.0.path.push(PathSegment::Field(field));
        self
    }

    /// Adds the vector index this error lies within (called while the error bubbles up).
    #[cold]
    #[must_use]
    pub(crate) fn at_index(mut self, index: usize) -> Self {
        self.0.path.push(PathSegment::Index(index));
        self
    }

    /// Puts the path in root-first order; called once at the public entry point.
    #[cold]
    #[must_use]
    pub(crate) fn finish(mut self) -> Self {
        self.0.path.reverse();
        self
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// The byte offset in the input of the offending slot or object.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// The path from the root to the offending field, root first.
    #[must_use]
    pub fn path_segments(&self) -> &[PathSegment] {
        &self.0.path
    }

    /// The path as text: `events[3].new_row.values[2].data` (empty for the root itself).
    #[must_use]
    pub fn path(&self) -> String {
        let mut out = String::new();
        for seg in &self.0.path {
            match seg {
                PathSegment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                PathSegment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    /// The index of the event the error lies in, when it lies in a batch's event.
    #[must_use]
    pub fn event_index(&self) -> Option<usize> {
        match self.0.path.as_slice() {
            [PathSegment::Field("events"), PathSegment::Index(i), ..] => Some(*i),
            _ => None,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.path.is_empty() {
            write!(f, "{} at the root (byte {})", self.0.kind, self.0.offset)
        } else {
            write!(
                f,
                "{} at {} (byte {})",
                self.0.kind,
                self.path(),
                self.0.offset
            )
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_display() {
        let e = DecodeError::new(DecodeErrorKind::MissingField { field: "type_tag" }, 42)
            .at_index(2)
            .in_field("values")
            .in_field("new_row")
            .at_index(3)
            .in_field("events")
            .finish();
        assert_eq!(e.path(), "events[3].new_row.values[2]");
        assert_eq!(e.event_index(), Some(3));
        assert_eq!(
            e.to_string(),
            "missing field `type_tag` at events[3].new_row.values[2] (byte 42)"
        );
        let root = DecodeError::new(DecodeErrorKind::Truncated { len: 1 }, 0).finish();
        assert_eq!(
            root.to_string(),
            "input of 1 bytes is too short to hold a FlexBuffers root at the root (byte 0)"
        );
        assert_eq!(root.event_index(), None);
    }
}
