//! Where the events of `apply` and `destroy` go: a live list of running
//! operations with their elapsed time on a terminal (indicatif), plain
//! lines otherwise; JSON lines with `--json`; an audit log with
//! `--events FILE`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use orch_runtime::events::{Event, EventSink, Outcome};

use super::plan::Style;

/// Past tense of an action, for finished lines.
fn done(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "update" => "updated",
        "replace" => "replaced",
        "delete" => "deleted",
        "read" => "read",
        _ => "done",
    }
}

fn doing(action: &str) -> &'static str {
    match action {
        "create" => "creating",
        "update" => "updating",
        "replace" => "replacing",
        "delete" => "deleting",
        "read" => "reading",
        _ => "working on",
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// Progress for people.
pub(crate) struct Human {
    style: Style,
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
    /// How many operations the run has, and how many have finished.
    total: usize,
    finished: usize,
    /// When the run started, for the elapsed time on each line.
    started: Instant,
}

impl Human {
    /// Live bars when standard output is a terminal.
    pub(crate) fn new(style: Style, live: bool) -> Human {
        let bars = live.then(|| {
            (MultiProgress::with_draw_target(ProgressDrawTarget::stdout()), HashMap::new())
        });
        Human { style, bars, total: 0, finished: 0, started: Instant::now() }
    }

    /// `[3/8 1.2s]`: operations finished of the run's, and the time since
    /// it started.
    fn counter(&self) -> String {
        let total = self.total.max(self.finished);
        let elapsed = self.started.elapsed().as_millis() as u64;
        self.style.dim(&format!("[{}/{total} {}]", self.finished, seconds(elapsed)))
    }

    /// Removes every live line, so that nothing stale stays on the screen.
    fn clear_bars(&mut self) {
        if let Some((multi, bars)) = &mut self.bars {
            for (_, bar) in bars.drain() {
                bar.finish_and_clear();
                multi.remove(&bar);
            }
            let _ = multi.clear();
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => {
                let stdout = std::io::stdout();
                let mut out = stdout.lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }
}

impl EventSink for Human {
    fn event(&mut self, event: &Event) {
        let style = self.style;
        match event {
            Event::OperationStarted { address, action, kind, .. } => match &mut self.bars {
                Some((multi, bars)) => {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_message(format!(
                        "{} {address} {}",
                        doing(action.as_str()),
                        style.dim(kind)
                    ));
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bars.insert(address.clone(), bar);
                }
                None => self.line(&format!("{address}: {}...", doing(action.as_str()))),
            },
            Event::OperationFinished { address, action, outcome, elapsed_ms, error, .. } => {
                if let Some((multi, bars)) = &mut self.bars
                    && let Some(bar) = bars.remove(address)
                {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                self.finished += 1;
                let counter = self.counter();
                let text = match outcome {
                    Outcome::Succeeded => {
                        format!("{address}: {} ({})", done(action.as_str()), seconds(*elapsed_ms))
                    }
                    Outcome::Failed => format!(
                        "{address}: {}",
                        style.action(
                            orch_runtime::plan::Action::Delete,
                            error.as_deref().unwrap_or("failed")
                        )
                    ),
                    Outcome::Skipped => {
                        format!("{address}: skipped ({action}): something it depends on failed")
                    }
                    Outcome::Interrupted => format!("{address}: interrupted"),
                };
                self.line(&format!("{counter} {text}"));
            }
            Event::Retrying { address, attempt, delay_ms, error, .. } => self.line(&format!(
                "{address}: attempt {attempt} failed ({error}); retrying in {}",
                seconds(*delay_ms)
            )),
            Event::Warning { message, .. } => self.line(&format!("warning: {message}")),
            Event::Interrupted { message, .. } => {
                // The spinners of what runs now would be left on screen
                // when the run stops: each finishing line replaces its own.
                self.clear_bars();
                self.line(message)
            }
            Event::AssertionFailed { message, location, .. } => {
                self.line(&format!("assertion failed at {location}: {message}"))
            }
            Event::RunStarted { changes, .. } => {
                self.total = *changes;
                self.started = Instant::now();
            }
            Event::RunFinished { .. } => self.clear_bars(),
        }
    }
}

impl Drop for Human {
    fn drop(&mut self) {
        self.clear_bars();
    }
}

/// JSON lines on standard output (`--json`).
pub(crate) struct JsonLines;

impl EventSink for JsonLines {
    fn event(&mut self, event: &Event) {
        if let Ok(text) = serde_json::to_string(event) {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }
}

/// The audit log (`--events FILE`): JSON lines appended and flushed one
/// by one, so that the log is complete up to a crash.
pub(crate) struct AuditLog {
    file: File,
}

impl AuditLog {
    pub(crate) fn open(path: &std::path::Path) -> std::io::Result<AuditLog> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditLog { file })
    }
}

impl EventSink for AuditLog {
    fn event(&mut self, event: &Event) {
        if let Ok(mut text) = serde_json::to_string(event) {
            text.push('\n');
            let _ = self.file.write_all(text.as_bytes());
            let _ = self.file.flush();
        }
    }
}
