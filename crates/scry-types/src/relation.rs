//! [`ColumnMeta`] and [`RelationMeta`]: what a table looks like.

use crate::ReplicaIdentity;

/// One column of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// PostgreSQL type OID.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`: varchar length, numeric precision and scale; -1 for none).
    pub type_modifier: i32,
    /// Whether the column is part of the replica identity key.
    pub is_key: bool,
}

impl ColumnMeta {
    /// A column with no type modifier (-1) that is not part of the key.
    #[must_use]
    pub fn new(name: impl Into<String>, type_oid: u32) -> Self {
        Self {
            name: name.into(),
            type_oid,
            type_modifier: -1,
            is_key: false,
        }
    }

    /// Sets the type modifier.
    #[must_use]
    pub fn type_modifier(mut self, type_modifier: i32) -> Self {
        self.type_modifier = type_modifier;
        self
    }

    /// Marks the column as part of the key.
    #[must_use]
    pub fn key(mut self) -> Self {
        self.is_key = true;
        self
    }
}

/// A relation (table): its OID, names, columns and replica identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RelationMeta {
    /// Relation OID.
    pub rel_id: u32,
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns, in attribute order.
    pub columns: Vec<ColumnMeta>,
    /// How the table identifies an old row in updates and deletes (its `REPLICA IDENTITY`).
    pub replica_identity: ReplicaIdentity,
}

impl RelationMeta {
    /// A relation with these columns and the default replica identity.
    #[must_use]
    pub fn new(
        rel_id: u32,
        schema: impl Into<String>,
        table: impl Into<String>,
        columns: Vec<ColumnMeta>,
    ) -> Self {
        Self {
            rel_id,
            schema: schema.into(),
            table: table.into(),
            columns,
            replica_identity: ReplicaIdentity::Default,
        }
    }

    /// Sets the replica identity.
    #[must_use]
    pub fn with_replica_identity(mut self, replica_identity: ReplicaIdentity) -> Self {
        self.replica_identity = replica_identity;
        self
    }

    /// `schema.table`.
    #[must_use]
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// The column names, in order.
    #[must_use]
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_names() {
        let rel = RelationMeta::new(
            16384,
            "public",
            "users",
            vec![ColumnMeta::new("id", 23).key(), ColumnMeta::new("name", 25)],
        )
        .with_replica_identity(ReplicaIdentity::Full);
        assert_eq!(rel.qualified_name(), "public.users");
        assert_eq!(rel.column_names(), ["id", "name"]);
        assert!(rel.columns[0].is_key);
        assert_eq!(rel.columns[1].type_modifier, -1);
        assert_eq!(rel.replica_identity, ReplicaIdentity::Full);
    }
}
