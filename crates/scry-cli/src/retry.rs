//! Keep running through restarts: a run that ends on a failure that passes by itself (a
//! server restarting, failing over or shutting down, a cut connection: [`CliError::Lost`])
//! is started again after a pause that doubles from half a second up to 30 s, for as long
//! as `--retry-for` allows; every other error ends the command at once. Each retry is told
//! on standard error with its cause. A run that went on for a minute starts the pauses over.
//!
//! The runs start again from what is durable: `replicate` and `apply` from the target's
//! replication origin, `capture` from its file and the slot, so nothing is lost or applied
//! twice across a retry.

use std::time::{Duration, Instant};

use crate::commands::CliError;
use crate::log::{Event, Level};

/// The first pause, and the longest.
const FIRST: Duration = Duration::from_millis(500);
const LONGEST: Duration = Duration::from_secs(30);
/// A run this long resets the pauses.
const HEALTHY: Duration = Duration::from_secs(60);

/// How long failures may be retried for: `None` without limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry(pub Option<Duration>);

impl Retry {
    /// Runs `attempt` until it ends otherwise than with a [`CliError::Lost`], or the
    /// failures have gone on longer than allowed (the last failure is returned).
    pub fn run<T>(self, mut attempt: impl FnMut() -> Result<T, CliError>) -> Result<T, CliError> {
        let mut pause = FIRST;
        let mut failing_since: Option<Instant> = None;
        let mut tries = 0u32;
        loop {
            let started = Instant::now();
            let e = match attempt() {
                Err(e @ CliError::Lost { .. }) => e,
                done => return done,
            };
            if started.elapsed() >= HEALTHY {
                pause = FIRST;
                failing_since = None;
                tries = 0;
            }
            let since = *failing_since.get_or_insert(started);
            let out_of_time = self.0.is_some_and(|limit| since.elapsed() + pause > limit);
            if out_of_time || crate::interrupt::requested() {
                return Err(e);
            }
            tries += 1;
            let side = match &e {
                CliError::Lost { what, .. } if what.starts_with("target") => "target",
                CliError::Lost { what, .. } if what == "stream" => "nats",
                _ => "source",
            };
            if let Some(metrics) = crate::metrics::get() {
                metrics.retry(side);
            }
            let left = self.0.map(|l| l.saturating_sub(since.elapsed()).as_secs());
            Event::new(
                Level::Warn,
                "retry",
                format!(
                    "{e}; trying again in {:.1} s (retry {tries}{})",
                    pause.as_secs_f64(),
                    left.map_or_else(String::new, |l| format!(", for {l} s more at most"))
                ),
            )
            .field("side", side)
            .field("error", e.to_string())
            .field("retry", tries)
            .field("pause_seconds", pause.as_secs_f64())
            .field("retry_for_left_seconds", left)
            .emit();
            let until = Instant::now() + pause;
            while Instant::now() < until {
                if crate::interrupt::requested() {
                    return Err(CliError::Interrupted(format!(
                        "while waiting to retry: {e}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            pause = (pause * 2).min(LONGEST);
        }
    }
}

/// A `--retry-for` value: a number of seconds, or a number with `s`, `m`, `h` or `d`;
/// `forever` for no limit; 0 for no retry.
pub fn parse(text: &str) -> Result<Retry, String> {
    let text = text.trim();
    if text == "forever" {
        return Ok(Retry(None));
    }
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (30s, 10m, 2h, 1d, forever)"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d")),
    };
    Ok(Retry(Some(Duration::from_secs(seconds))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_seconds_minutes_hours_and_days() {
        assert_eq!(parse("forever"), Ok(Retry(None)));
        assert_eq!(parse("0"), Ok(Retry(Some(Duration::ZERO))));
        assert_eq!(parse("45"), Ok(Retry(Some(Duration::from_secs(45)))));
        assert_eq!(parse("10m"), Ok(Retry(Some(Duration::from_secs(600)))));
        assert_eq!(parse("2h"), Ok(Retry(Some(Duration::from_secs(7200)))));
        assert_eq!(parse("1d"), Ok(Retry(Some(Duration::from_secs(86_400)))));
        assert!(parse("10 minutes").is_err());
        assert!(parse("m").is_err());
    }

    #[test]
    fn only_a_lost_connection_is_tried_again_and_no_longer_than_allowed() {
        let lost = || CliError::Lost {
            what: "source".into(),
            message: "gone".into(),
        };
        let mut calls = 0;
        let done = Retry(Some(Duration::from_secs(5))).run(|| {
            calls += 1;
            if calls < 3 {
                Err(lost())
            } else {
                Ok(calls)
            }
        });
        assert_eq!(done.ok(), Some(3), "two failures, then it ran");
        let mut calls = 0;
        let refused = Retry(None).run(|| -> Result<(), CliError> {
            calls += 1;
            Err(CliError::Usage("no such slot".into()))
        });
        assert!(matches!(refused, Err(CliError::Usage(_))));
        assert_eq!(calls, 1, "an error that cannot heal ends it at once");
        let mut calls = 0;
        let gave_up = Retry(Some(Duration::ZERO)).run(|| -> Result<(), CliError> {
            calls += 1;
            Err(lost())
        });
        assert!(matches!(gave_up, Err(CliError::Lost { .. })));
        assert_eq!(calls, 1, "--retry-for 0 does not retry");
    }
}
