//! The PostgreSQL server of the tests that need one.

/// The server's connection string from `SCRY_PG_URL` (`.ci/postgres.sh` prints it), or
/// `None` after a notice on standard error that `what` is skipped. Under `CI` a missing
/// server is a failure, not a skip.
///
/// # Panics
/// When `CI` is set and `SCRY_PG_URL` is not.
#[must_use]
pub fn pg_url(what: &str) -> Option<String> {
    match std::env::var("SCRY_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "SCRY_PG_URL is not set but CI is: start a server with \
                 `eval \"$(bash .ci/postgres.sh)\"` before the tests"
            );
            eprintln!(
                "\n\n************************************************************\n\
                 SKIPPED: {what} — SCRY_PG_URL is not set.\n\
                 Run `eval \"$(bash .ci/postgres.sh)\"` to start a server.\n\
                 ************************************************************\n"
            );
            None
        }
    }
}
