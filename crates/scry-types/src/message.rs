//! Logical decoding messages as events: [`OperationType::Message`].

use bytes::Bytes;

use crate::{ColumnValue, DatabaseEvent, OperationType, Row, TypeTag};

/// The `columns` of a message event.
const COLUMNS: [&str; 2] = ["transactional", "content"];
const OID_BOOL: u32 = 16;
const OID_BYTEA: u32 = 17;

/// A logical decoding message (`pg_logical_emit_message(transactional, prefix, content)`), as
/// an [`OperationType::Message`] event carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogicalMessage<'a> {
    /// The prefix it was emitted with: what the message is about, by convention.
    pub prefix: &'a str,
    /// Its content.
    pub content: &'a [u8],
    /// True when it was emitted as part of its transaction (and so arrives only if that
    /// commits, between its Begin and Commit); false when emitted outside transactional
    /// control, at once.
    pub transactional: bool,
}

impl DatabaseEvent {
    /// A [`OperationType::Message`] event: `table` is the prefix, `columns` are
    /// `["transactional", "content"]` and `new_row` holds them as a `bool` and a `bytea`
    /// value in PostgreSQL's binary format. Position, transaction and time are left for the
    /// caller.
    ///
    /// ```
    /// use scry_types::{DatabaseEvent, LogicalMessage};
    ///
    /// let event = DatabaseEvent::logical_message("audit", &b"user 7 logged in"[..], true);
    /// assert_eq!(
    ///     event.as_logical_message(),
    ///     Some(LogicalMessage { prefix: "audit", content: b"user 7 logged in", transactional: true })
    /// );
    /// ```
    #[must_use]
    pub fn logical_message(prefix: &str, content: impl Into<Bytes>, transactional: bool) -> Self {
        let mut e = DatabaseEvent::new(OperationType::Message, "", prefix);
        e.columns = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        e.new_row = Some(Row::new(vec![
            ColumnValue::from_pg_binary(TypeTag::Bool, OID_BOOL, vec![u8::from(transactional)]),
            ColumnValue::from_pg_binary(TypeTag::Bytea, OID_BYTEA, content),
        ]));
        e
    }

    /// The logical message this event carries: `None` unless it is a
    /// [`OperationType::Message`] event shaped as [`logical_message`](Self::logical_message)
    /// makes one.
    #[must_use]
    pub fn as_logical_message(&self) -> Option<LogicalMessage<'_>> {
        if self.operation != OperationType::Message {
            return None;
        }
        let row = self.new_row.as_ref()?;
        let [flag, content] = &row.values[..] else {
            return None;
        };
        let transactional = match flag.data.as_deref() {
            Some([b]) if flag.type_tag == TypeTag::Bool => *b != 0,
            _ => return None,
        };
        if content.type_tag != TypeTag::Bytea {
            return None;
        }
        Some(LogicalMessage {
            prefix: &self.table,
            content: content.data.as_deref()?,
            transactional,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_event_reads_back_and_other_shapes_do_not() {
        let e = DatabaseEvent::logical_message("p", &b""[..], false);
        assert_eq!(e.operation, OperationType::Message);
        assert_eq!((e.schema.as_str(), e.table.as_str()), ("", "p"));
        assert_eq!(e.columns, ["transactional", "content"]);
        assert_eq!(
            e.as_logical_message(),
            Some(LogicalMessage {
                prefix: "p",
                content: b"",
                transactional: false
            })
        );
        let mut insert = e.clone();
        insert.operation = OperationType::Insert;
        assert_eq!(insert.as_logical_message(), None);
        let mut short = e.clone();
        short.new_row = Some(Row::new(vec![ColumnValue::null()]));
        assert_eq!(short.as_logical_message(), None);
        let mut null = e;
        null.new_row.as_mut().unwrap().values[1] = ColumnValue::null();
        assert_eq!(null.as_logical_message(), None);
    }
}
