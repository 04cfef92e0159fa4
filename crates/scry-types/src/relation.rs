//! [`ColumnMeta`] and [`RelationMeta`]: what a table looks like.

use crate::ReplicaIdentity;

/// One column of a relation.
#[derive(Debug, PartialEq, Eq, Hash)]
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
#[derive(Debug, PartialEq, Eq, Hash)]
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

// `clone_from` reuses the strings the copy already holds: a producer that keeps a
// relation's copy from table to table (as a batch encoder does) then seldom allocates.
impl Clone for ColumnMeta {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            type_oid: self.type_oid,
            type_modifier: self.type_modifier,
            is_key: self.is_key,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.name.clone_from(&source.name);
        self.type_oid = source.type_oid;
        self.type_modifier = source.type_modifier;
        self.is_key = source.is_key;
    }
}

impl Clone for RelationMeta {
    fn clone(&self) -> Self {
        Self {
            rel_id: self.rel_id,
            schema: self.schema.clone(),
            table: self.table.clone(),
            columns: self.columns.clone(),
            replica_identity: self.replica_identity,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.rel_id = source.rel_id;
        self.schema.clone_from(&source.schema);
        self.table.clone_from(&source.table);
        // Vec's clone_from clones into the columns it has, then appends the rest.
        self.columns.clone_from(&source.columns);
        self.replica_identity = source.replica_identity;
    }
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

    #[test]
    fn clone_from_copies_every_field_into_the_strings_already_held() {
        let long = "a_column_name_long_enough_to_matter";
        let mut copy = RelationMeta::new(
            7,
            "public_schema_name",
            "a_table_name",
            vec![ColumnMeta::new(long, 23), ColumnMeta::new(long, 25)],
        );
        let held = copy.columns[0].name.as_ptr();
        let source = RelationMeta::new(
            9,
            "s",
            "t",
            vec![
                ColumnMeta::new("id", 20).key(),
                ColumnMeta::new("note", 1043).type_modifier(36),
                ColumnMeta::new("extra", 16),
            ],
        )
        .with_replica_identity(ReplicaIdentity::Full);
        copy.clone_from(&source);
        assert_eq!(copy, source);
        assert_eq!(copy.columns[0].name.as_ptr(), held);
        let mut shorter = source.clone();
        shorter.clone_from(&RelationMeta::new(1, "a", "b", vec![]));
        assert_eq!(shorter, RelationMeta::new(1, "a", "b", vec![]));
    }
}
