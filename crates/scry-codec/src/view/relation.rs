//! [`RelationView`], [`ColumnMetaView`] and [`SequenceValueView`]: metadata read in place.

use scry_types::{ColumnMeta, RelationMeta, ReplicaIdentity, SequenceValue};

use crate::flex::{Slot, Vector};
use crate::schema::{COLUMN_META, RELATION, SEQUENCE};
use crate::view::fields::REPLICA_IDENTITIES;
use crate::view::{Ctx, ViewIter};

/// Relations, in order.
pub type Relations<'a> = ViewIter<'a, RelationView<'a>>;
/// A relation's columns, in attribute order.
pub type ColumnMetas<'a> = ViewIter<'a, ColumnMetaView<'a>>;
/// Sequence values, in order.
pub type SequenceValues<'a> = ViewIter<'a, SequenceValueView<'a>>;

fn map_of(ctx: &Ctx<'_>, s: Option<Slot>) -> Vector {
    ctx.map(s)
}

/// Relation metadata (a batch's `relations` entry or an event's `relation_meta`).
#[derive(Debug, Clone, Copy)]
pub struct RelationView<'a> {
    ctx: Ctx<'a>,
    map: Vector,
}

impl<'a> RelationView<'a> {
    pub(crate) fn new(ctx: Ctx<'a>, map: Vector) -> Self {
        Self { ctx, map }
    }

    pub(crate) fn from_slot(ctx: Ctx<'a>, s: Option<Slot>) -> Self {
        Self::new(ctx, map_of(&ctx, s))
    }

    fn field(&self, id: usize) -> Option<Slot> {
        self.ctx
            .field(&self.map, self.ctx.canon.relations, &RELATION, id)
    }

    /// Relation OID.
    #[must_use]
    pub fn rel_id(&self) -> u32 {
        u32::try_from(self.ctx.int(self.field(1))).unwrap_or(0)
    }

    /// Schema name.
    #[must_use]
    pub fn schema(&self) -> &'a str {
        self.ctx.str_slot(self.field(3))
    }

    /// Table name.
    #[must_use]
    pub fn table(&self) -> &'a str {
        self.ctx.str_slot(self.field(4))
    }

    /// How the table identifies an old row in updates and deletes (its `REPLICA IDENTITY`).
    #[must_use]
    pub fn replica_identity(&self) -> ReplicaIdentity {
        self.ctx.enumeration(
            self.field(2),
            &REPLICA_IDENTITIES,
            ReplicaIdentity::ALL,
            ReplicaIdentity::Default,
        )
    }

    /// The columns, in attribute order.
    #[must_use]
    pub fn columns(&self) -> ColumnMetas<'a> {
        ViewIter::new(self.ctx, self.ctx.vector(self.field(0)), |ctx, s| {
            ColumnMetaView {
                ctx,
                map: map_of(&ctx, s),
            }
        })
    }

    /// The owned relation metadata.
    #[must_use]
    pub fn to_owned_relation(&self) -> RelationMeta {
        RelationMeta {
            rel_id: self.rel_id(),
            schema: self.schema().to_owned(),
            table: self.table().to_owned(),
            columns: self.columns().map(|c| c.to_owned_column()).collect(),
            replica_identity: self.replica_identity(),
        }
    }
}

/// One column of a relation.
#[derive(Debug, Clone, Copy)]
pub struct ColumnMetaView<'a> {
    ctx: Ctx<'a>,
    map: Vector,
}

impl<'a> ColumnMetaView<'a> {
    fn field(&self, id: usize) -> Option<Slot> {
        self.ctx
            .field(&self.map, self.ctx.canon.columns, &COLUMN_META, id)
    }

    /// Column name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.ctx.str_slot(self.field(1))
    }

    /// PostgreSQL type OID.
    #[must_use]
    pub fn type_oid(&self) -> u32 {
        u32::try_from(self.ctx.int(self.field(3))).unwrap_or(0)
    }

    /// Type modifier.
    #[must_use]
    pub fn type_modifier(&self) -> i32 {
        i32::try_from(self.ctx.int(self.field(2))).unwrap_or(0)
    }

    /// Whether the column is part of the replica identity key.
    #[must_use]
    pub fn is_key(&self) -> bool {
        self.ctx.boolean(self.field(0))
    }

    /// The owned column metadata.
    #[must_use]
    pub fn to_owned_column(&self) -> ColumnMeta {
        ColumnMeta {
            name: self.name().to_owned(),
            type_oid: self.type_oid(),
            type_modifier: self.type_modifier(),
            is_key: self.is_key(),
        }
    }
}

/// One entry of a batch's `sequence_values`.
#[derive(Debug, Clone, Copy)]
pub struct SequenceValueView<'a> {
    ctx: Ctx<'a>,
    map: Vector,
}

impl<'a> SequenceValueView<'a> {
    pub(crate) fn from_slot(ctx: Ctx<'a>, s: Option<Slot>) -> Self {
        Self {
            ctx,
            map: map_of(&ctx, s),
        }
    }

    fn field(&self, id: usize) -> Option<Slot> {
        self.ctx
            .field(&self.map, self.ctx.canon.sequences, &SEQUENCE, id)
    }

    fn i64_field(&self, id: usize) -> i64 {
        i64::try_from(self.ctx.int(self.field(id))).unwrap_or(0)
    }

    /// Schema name.
    #[must_use]
    pub fn schema(&self) -> &'a str {
        self.ctx.str_slot(self.field(6))
    }

    /// Sequence name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        self.ctx.str_slot(self.field(5))
    }

    /// `last_value`.
    #[must_use]
    pub fn last_value(&self) -> i64 {
        self.i64_field(2)
    }

    /// `is_called`.
    #[must_use]
    pub fn is_called(&self) -> bool {
        self.ctx.boolean(self.field(1))
    }

    /// Increment.
    #[must_use]
    pub fn increment_by(&self) -> i64 {
        self.i64_field(0)
    }

    /// Minimum value.
    #[must_use]
    pub fn min_value(&self) -> i64 {
        self.i64_field(4)
    }

    /// Maximum value.
    #[must_use]
    pub fn max_value(&self) -> i64 {
        self.i64_field(3)
    }

    /// The owned sequence value.
    #[must_use]
    pub fn to_owned_sequence(&self) -> SequenceValue {
        SequenceValue {
            schema: self.schema().to_owned(),
            name: self.name().to_owned(),
            last_value: self.last_value(),
            is_called: self.is_called(),
            increment_by: self.increment_by(),
            min_value: self.min_value(),
            max_value: self.max_value(),
        }
    }
}
