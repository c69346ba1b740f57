//! What a run reports while it runs: one event per step, for the terminal,
//! `--json` event lines and the `--events FILE` audit log. Events carry
//! addresses, actions, field names and messages, never values, so no
//! secret can reach them.

use serde::Serialize;

use crate::plan::{Action, PlanKind};

/// What one provider operation does: a replacement is a delete and a
/// create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Create,
    Update,
    Delete,
    Read,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::Update => "update",
            Step::Delete => "delete",
            Step::Read => "read",
        }
    }
}

impl std::str::FromStr for Step {
    type Err = String;

    fn from_str(text: &str) -> Result<Step, String> {
        [Step::Create, Step::Update, Step::Delete, Step::Read]
            .into_iter()
            .find(|step| step.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a step (create, update, delete, read)"))
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing that happened during `apply` or `destroy`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run started: who, what, where.
    RunStarted {
        time: String,
        operation: PlanKind,
        user: String,
        host: String,
        state: String,
        changes: usize,
    },
    /// A warning about the run (interrupted operations found, a key
    /// generated).
    Warning { time: String, message: String },
    /// A provider operation started.
    OperationStarted { time: String, address: String, action: Step, kind: String },
    /// A transient failure that will be retried.
    Retrying { time: String, address: String, attempt: u32, delay_ms: u64, error: String },
    /// A provider operation ended.
    OperationFinished {
        time: String,
        address: String,
        action: Action,
        kind: String,
        outcome: Outcome,
        elapsed_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Where the instance is declared: `main.orch:3:10`.
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// An assertion or policy on apply-time values failed.
    AssertionFailed { time: String, message: String, location: String },
    /// An interrupt was received.
    Interrupted { time: String, message: String },
    /// The run ended.
    RunFinished {
        time: String,
        operation: PlanKind,
        succeeded: usize,
        failed: usize,
        skipped: usize,
        elapsed_ms: u64,
        serial: u64,
    },
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Not attempted: something it depends on failed.
    Skipped,
    /// Not attempted or not finished: the run was interrupted or timed out.
    Interrupted,
}

/// Now, in RFC 3339 with milliseconds.
pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Where events go.
pub trait EventSink {
    fn event(&mut self, event: &Event);
}

/// A sink that keeps every event, for tests and summaries.
#[derive(Debug, Default)]
pub struct Collect(pub Vec<Event>);

impl EventSink for Collect {
    fn event(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

/// Sends each event to several sinks.
pub struct Fanout<'a>(pub Vec<&'a mut dyn EventSink>);

impl EventSink for Fanout<'_> {
    fn event(&mut self, event: &Event) {
        for sink in &mut self.0 {
            sink.event(event);
        }
    }
}
