//! Zero-copy views of a validated batch or event.
//!
//! [`BatchView::parse`] (or [`EventView::parse`]) validates the whole input once; the views'
//! accessors then never fail and never allocate (except [`ValueView::data`] for value bytes
//! that the compatible encoding stores in slots wider than a byte, which must be copied out).

mod batch;
mod ctx;
mod event;
pub(crate) mod fields;
mod iter;
pub(crate) mod parse;
mod relation;
mod value;

pub use batch::{BatchView, Events};
pub(crate) use ctx::{Ctx, PackSink, SliceSink};
pub use event::{Columns, EventView};
pub use iter::ViewIter;
pub use relation::{
    ColumnMetaView, ColumnMetas, RelationView, Relations, SequenceValueView, SequenceValues,
};
pub use value::{RowView, ValueView, Values};
