//! What the commands tell on standard error as they go — retries, warnings, a table
//! finished, a conflict skipped, the summary, the error that ends a command — as lines for
//! people (the default) or, with `--log-format json`, one JSON object per line for log
//! collectors:
//!
//! ```text
//! {"time":"2026-12-07T22:41:03.512Z","level":"warn","event":"retry","message":"…","side":"source"}
//! ```
//!
//! Every object has `time` (RFC 3339, UTC), `level` (`info`, `warn`, `error`), `event` (what
//! happened: `retry`, `slot`, `table`, `conflict`, `summary`, `error`, …) and `message` (the
//! line a person would read), then the event's own fields. The progress line, which only a
//! terminal shows, is never written as JSON.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

/// `--log-format`: how events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// A line of text each, for people.
    Text,
    /// A JSON object each (JSON Lines), for log collectors.
    Json,
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets how events are written, for the whole process.
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// True when events are written as JSON.
pub fn is_json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// How much an event matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Work done: a table finished, a summary.
    Info,
    /// Something an operator should look at; the command goes on.
    Warn,
    /// The command ends.
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// One thing to tell: its level, what happened, the line for people and its fields.
#[derive(Debug, Clone)]
#[must_use = "an event is written by `emit`"]
pub struct Event {
    level: Level,
    event: &'static str,
    message: String,
    fields: Vec<(String, Value)>,
}

impl Event {
    /// An event of `level`, of kind `event`, that reads as `message`.
    pub fn new(level: Level, event: &'static str, message: impl Into<String>) -> Self {
        Self {
            level,
            event,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Adds a field (JSON only: the message says it for people). The four names every
    /// object starts with are not taken again.
    pub fn field(mut self, name: &str, value: impl Into<Value>) -> Self {
        if !["time", "level", "event", "message"].contains(&name) {
            self.fields.push((name.to_owned(), value.into()));
        }
        self
    }

    /// The line as it is written: the message (after `scry: ` for warnings and errors), or
    /// the JSON object at `time`.
    fn line(&self, time: std::time::SystemTime) -> String {
        if !is_json() {
            return match self.level {
                Level::Info => self.message.clone(),
                Level::Warn | Level::Error => format!("scry: {}", self.message),
            };
        }
        // Written field by field, so that the four common ones come first in every object.
        let text = |v: &str| Value::from(v).to_string();
        let mut line = format!(
            "{{\"time\":{},\"level\":{},\"event\":{},\"message\":{}",
            text(&humantime::format_rfc3339_millis(time).to_string()),
            text(self.level.name()),
            text(self.event),
            text(&self.message)
        );
        for (name, value) in &self.fields {
            line.push_str(&format!(",{}:{value}", text(name)));
        }
        line.push('}');
        line
    }

    /// Writes the event on standard error (a failing stderr is not the command's failure).
    pub fn emit(self) {
        use std::io::Write;
        let line = self.line(std::time::SystemTime::now());
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_lines_or_as_json_objects() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_796_683_263_512);
        let e = Event::new(Level::Warn, "retry", "source: gone; trying again")
            .field("side", "source")
            .field("retry", 2)
            .field("message", "not this one");
        set_format(LogFormat::Text);
        assert_eq!(e.line(at), "scry: source: gone; trying again");
        assert_eq!(
            Event::new(Level::Info, "summary", "applied 3").line(at),
            "applied 3"
        );
        set_format(LogFormat::Json);
        let line = e.line(at);
        set_format(LogFormat::Text);
        assert!(
            line.starts_with(
                "{\"time\":\"2026-12-07T22:41:03.512Z\",\"level\":\"warn\",\"event\":\"retry\","
            ),
            "{line}"
        );
        let json: Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(
            json,
            serde_json::json!({
                "time": "2026-12-07T22:41:03.512Z",
                "level": "warn",
                "event": "retry",
                "message": "source: gone; trying again",
                "side": "source",
                "retry": 2,
            })
        );
    }
}
