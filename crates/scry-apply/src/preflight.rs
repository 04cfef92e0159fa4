//! What each server must allow before scry changes anything on it, checked up front: each
//! missing thing is named with the statement that fixes it, all of them at once.
//!
//! The checks read one row of facts (the queries [`SOURCE_FACTS`] and [`TARGET_FACTS`], run
//! by whichever client the command holds, as text) and turn it into problems.

/// The source's facts: `wal_level`, `max_replication_slots`, slots in use,
/// `max_wal_senders`, WAL senders in use, whether the role may replicate, the role.
pub const SOURCE_FACTS: &str = "\
SELECT current_setting('wal_level'), current_setting('max_replication_slots'), \
       (SELECT count(*) FROM pg_replication_slots), current_setting('max_wal_senders'), \
       (SELECT count(*) FROM pg_stat_replication), r.rolsuper OR r.rolreplication, \
       current_user \
  FROM pg_roles r WHERE r.rolname = current_user";

/// The target's facts: whether the role is a superuser, may run the replication origin
/// functions scry uses, and may keep scry's state (create the schema `scry`, or use it and
/// its tables); the role and the database.
pub const TARGET_FACTS: &str = "\
SELECT r.rolsuper, \
       has_function_privilege('pg_replication_origin_create(text)', 'EXECUTE') \
   AND has_function_privilege('pg_replication_origin_drop(text)', 'EXECUTE') \
   AND has_function_privilege('pg_replication_origin_session_setup(text)', 'EXECUTE') \
   AND has_function_privilege('pg_replication_origin_xact_setup(pg_lsn, timestamptz)', 'EXECUTE') \
   AND has_function_privilege('pg_replication_origin_progress(text, boolean)', 'EXECUTE'), \
       CASE WHEN to_regnamespace('scry') IS NULL \
            THEN has_database_privilege(current_database(), 'CREATE') \
            ELSE has_schema_privilege('scry', 'USAGE, CREATE') \
             AND coalesce(has_table_privilege(to_regclass('scry.origins'), \
                                              'SELECT, INSERT, UPDATE, DELETE'), true) \
             AND coalesce(has_table_privilege(to_regclass('scry.snapshot_tables'), \
                                              'SELECT, INSERT, UPDATE, DELETE'), true) END, \
       current_user, current_database() \
  FROM pg_roles r WHERE r.rolname = current_user";

/// What a source must allow for the command at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceNeeds {
    /// A slot is to be created.
    pub new_slot: bool,
    /// A replication connection (a WAL sender) is to be opened besides those in use.
    pub new_sender: bool,
}

/// The problems of a source whose [`SOURCE_FACTS`] row is `row`, for `needs`: each a
/// sentence with the statement that fixes it.
#[must_use]
pub fn source_problems(row: &[Option<String>], needs: SourceNeeds) -> Vec<String> {
    let text = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    let number = |i: usize| text(i).parse::<i64>().unwrap_or(0);
    let role = crate::sql::quote(&text(6));
    let mut problems = Vec::new();
    if text(0) != "logical" {
        problems.push(format!(
            "wal_level is {}, and logical decoding needs logical: ALTER SYSTEM SET wal_level = \
             logical; then restart the server",
            text(0)
        ));
    }
    if needs.new_slot && number(2) >= number(1) {
        problems.push(format!(
            "no free replication slot ({} of max_replication_slots = {} in use): drop an \
             unused one (pg_drop_replication_slot), or ALTER SYSTEM SET max_replication_slots \
             = {}; then restart the server",
            number(2),
            number(1),
            number(1) + 4
        ));
    }
    if needs.new_sender && number(4) >= number(3) {
        problems.push(format!(
            "no free WAL sender ({} of max_wal_senders = {} in use): ALTER SYSTEM SET \
             max_wal_senders = {}; then restart the server",
            number(4),
            number(3),
            number(3) + 4
        ));
    }
    if text(5) != "t" && text(5) != "true" {
        problems.push(format!(
            "role {role} may not replicate: ALTER ROLE {role} REPLICATION (and a pg_hba.conf \
             line that lets it connect for replication where the server requires one)"
        ));
    }
    problems
}

/// The problems of a target whose [`TARGET_FACTS`] row is `row`.
#[must_use]
pub fn target_problems(row: &[Option<String>]) -> Vec<String> {
    let yes = |i: usize| matches!(row.get(i).cloned().flatten().as_deref(), Some("t" | "true"));
    let role = crate::sql::quote(&row.get(3).cloned().flatten().unwrap_or_default());
    let mut problems = Vec::new();
    if yes(0) {
        return problems;
    }
    if !yes(1) {
        problems.push(format!(
            "role {role} may not use replication origins: GRANT EXECUTE ON FUNCTION \
             pg_replication_origin_create(text), pg_replication_origin_drop(text), \
             pg_replication_origin_session_setup(text), \
             pg_replication_origin_xact_setup(pg_lsn, timestamptz), \
             pg_replication_origin_progress(text, boolean) TO {role}"
        ));
    }
    if !yes(2) {
        let database = crate::sql::quote(&row.get(4).cloned().flatten().unwrap_or_default());
        problems.push(format!(
            "role {role} may not keep scry's state in the schema scry: GRANT CREATE ON \
             DATABASE {database} TO {role} while the schema does not exist; once it does, \
             GRANT USAGE, CREATE ON SCHEMA scry TO {role}; GRANT SELECT, INSERT, UPDATE, \
             DELETE ON ALL TABLES IN SCHEMA scry TO {role}"
        ));
    }
    problems
}

/// The fix for a role that may not set `session_replication_role`, which the applier sets
/// so that the target's triggers and foreign-key checks do not fire again.
#[must_use]
pub fn replica_role_fix(role: &str) -> String {
    format!(
        "GRANT SET ON PARAMETER session_replication_role TO {} (PostgreSQL 15 and later), or \
         connect as a superuser",
        crate::sql::quote(role)
    )
}

/// Joins `problems` into one message, each problem on a line of its own.
#[must_use]
pub fn report(problems: &[String]) -> String {
    let mut message = format!("not ready ({} to fix):", problems.len());
    for p in problems {
        message.push_str("\n  - ");
        message.push_str(p);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some((*v).to_owned())).collect()
    }

    #[test]
    fn a_ready_source_has_no_problem() {
        let facts = row(&["logical", "10", "3", "10", "2", "t", "app"]);
        let needs = SourceNeeds {
            new_slot: true,
            new_sender: true,
        };
        assert!(source_problems(&facts, needs).is_empty());
    }

    #[test]
    fn each_missing_thing_of_a_source_is_named_with_its_fix() {
        let facts = row(&["replica", "4", "4", "2", "2", "f", "app"]);
        let needs = SourceNeeds {
            new_slot: true,
            new_sender: true,
        };
        let problems = source_problems(&facts, needs);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].starts_with("wal_level is replica"));
        assert!(problems[0].contains("ALTER SYSTEM SET wal_level = logical"));
        assert!(problems[1].contains("4 of max_replication_slots = 4 in use"));
        assert!(problems[1].contains("max_replication_slots = 8"));
        assert!(problems[2].contains("max_wal_senders = 6"));
        assert_eq!(
            problems[3],
            "role \"app\" may not replicate: ALTER ROLE \"app\" REPLICATION (and a pg_hba.conf \
             line that lets it connect for replication where the server requires one)"
        );
        // Full slots matter only to a command that makes one.
        let none_new = SourceNeeds {
            new_slot: false,
            new_sender: false,
        };
        assert_eq!(source_problems(&facts, none_new).len(), 2);
    }

    #[test]
    fn a_target_role_without_grants_is_told_which() {
        assert!(target_problems(&row(&["t", "f", "f", "admin", "db"])).is_empty());
        let problems = target_problems(&row(&["f", "f", "f", "app", "db"]));
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("GRANT EXECUTE ON FUNCTION pg_replication_origin_create"));
        assert!(problems[1].contains("GRANT CREATE ON DATABASE \"db\" TO \"app\""));
        assert!(target_problems(&row(&["f", "t", "t", "app", "db"])).is_empty());
        assert_eq!(
            report(&problems[..1]).lines().count(),
            2,
            "a header and a line a problem"
        );
    }
}
