//! A table's schema in a snapshot stream: the statements that make it on a target
//! (`scry_source::schema::TableSchema::load_sql`) as a framed Ddl event of object type
//! `snapshot table schema`, written before the table's rows; `scry load --create` runs them.

use scry_conn::Conn;
use scry_source::catalog::schema_event;
use scry_source::schema::table_schema;

use crate::commands::CliError;
use crate::pg;

/// `table`'s schema as one framed batch (its Ddl event, [`schema_event`]) that the encoder's
/// next batch number goes to: the frame `scry snapshot` writes before the table's rows.
pub fn schema_frame(
    conn: &mut Conn,
    table: &pg::Table,
    position: u64,
    encoder: &mut scry_pg::snapshot::SnapshotEncoder,
    stream: &str,
) -> Result<Vec<u8>, CliError> {
    let event = schema_event(table, table_schema(conn, table)?.load_sql(), position);
    let seq = encoder.next_batch_seq();
    encoder.set_next_batch_seq(seq + 1);
    let batch = scry_types::DatabaseEventBatch::with_events(vec![event])
        .with_source_id(stream)
        .with_batch_seq(seq);
    let name = table.relation.qualified_name();
    framed(&batch, encoder.encoding(), &format!("the schema of {name}"))
}

/// `batch` serialized in `encoding` and framed; `what` names it in an error.
pub fn framed(
    batch: &scry_types::DatabaseEventBatch,
    encoding: scry_codec::Encoding,
    what: &str,
) -> Result<Vec<u8>, CliError> {
    use scry_codec::frame::{FrameEncoding, FrameWriter, PayloadKind};
    let payload =
        scry_codec::serialize_batch_with(batch, encoding).map_err(|source| CliError::Encode {
            what: what.to_owned(),
            source,
        })?;
    let frame_encoding = match encoding {
        scry_codec::Encoding::Compat => FrameEncoding::Compat,
        scry_codec::Encoding::Compact => FrameEncoding::Compact,
    };
    let mut writer = FrameWriter::new(Vec::with_capacity(payload.len() + 64));
    writer
        .write_frame(PayloadKind::Batch, frame_encoding, &payload)
        .map_err(|e| CliError::Load(format!("{what}: {e}")))?;
    Ok(writer.into_inner())
}
