//! Plans for people (short by default, every field with `--verbose`) and
//! for machines (`--json`, documented in `docs/cli.md`). Secrets show as
//! `(secret)`, values unknown until apply as `(known after apply)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use orch_runtime::codec::display_json;
use orch_runtime::plan::{Action, Change, Plan};
use orch_stdlib::Value;
use serde_json::json;

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub(crate) fn action(self, action: Action, sign: &str) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Replace => "35",
            Action::Delete => "31",
            Action::Read => "36",
            Action::Forget => "34",
            Action::NoOp => "0",
        };
        self.paint(code, sign)
    }

    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// A value on one line: strings quoted, secrets and unknowns named.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Secret(_) => "(secret)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::None => "none".into(),
        other if !other.is_known() || other.contains_secret() => {
            serde_json::to_string(&display_json(other)).unwrap_or_default()
        }
        Value::String(text) => {
            let mut shown = format!("{text:?}");
            if shown.chars().count() > 80 {
                shown = format!("{}…\"", shown.chars().take(77).collect::<String>());
            }
            shown
        }
        other => other.to_string(),
    }
}

fn fields(value: &Value) -> BTreeMap<String, Value> {
    match value {
        Value::Map(entries) => entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        _ => BTreeMap::new(),
    }
}

/// One line per change (and its fields with `verbose`).
fn change_lines(
    change: &Change,
    verbose: bool,
    style: Style,
    widths: (usize, usize),
    out: &mut String,
) {
    let sign = change.action.sign(change.options.create_before_destroy);
    let (width, kind_width) = widths;
    let _ = writeln!(
        out,
        "  {} {:width$}  {}  {}",
        style.action(change.action, &format!("{sign:>3}")),
        change.address,
        style.dim(&format!("{:kind_width$}", change.kind)),
        orch_runtime::plan::join_reasons(&change.reasons),
    );
    if !verbose {
        return;
    }
    let before = change.before.as_ref().map(fields).unwrap_or_default();
    let after = fields(&change.after);
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        let line = match (change.action, old, new) {
            (Action::Delete, Some(old), _) => format!("{name} = {}", show(old)),
            (_, None, Some(new)) => format!("{name} = {}", show(new)),
            (_, Some(old), Some(new)) if orch_runtime::plan::differs(old, new) => {
                let forces = if change.forces_replacement.contains(name) {
                    "   # forces replacement"
                } else {
                    ""
                };
                format!("{name}: {} → {}{forces}", show(old), show(new))
            }
            (_, Some(_), Some(_)) if change.action == Action::Create => continue,
            (_, Some(old), Some(_)) => format!("{name} = {}", style.dim(&show(old))),
            _ => continue,
        };
        let _ = writeln!(out, "        {line}");
    }
}

/// The plan for people.
pub(crate) fn human(plan: &Plan, verbose: bool, style: Style) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let width = plan.effective().map(|c| c.address.chars().count()).max().unwrap_or(0).min(48);
    let kind_width = plan.effective().map(|c| c.kind.len()).max().unwrap_or(0);
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.bold("Drift: objects changed outside Orch since the last apply")
        );
        let drift_width = plan.drift.iter().map(|d| d.address.len()).max().unwrap_or(0).min(48);
        for drift in &plan.drift {
            let what = if drift.deleted {
                "deleted".to_string()
            } else {
                format!("changed: {}", drift.fields.join(", "))
            };
            let sign = if drift.deleted { "-" } else { "~" };
            let _ = writeln!(
                out,
                "  {} {:drift_width$}  {}  {what}",
                style.action(
                    if drift.deleted { Action::Delete } else { Action::Update },
                    &format!("{sign:>3}")
                ),
                drift.address,
                style.dim(&drift.kind)
            );
        }
        let _ = writeln!(out);
    }
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes: the infrastructure matches the configuration ({} object{} checked).",
            plan.changes.iter().filter(|c| !c.data).count(),
            if plan.changes.iter().filter(|c| !c.data).count() == 1 { "" } else { "s" }
        );
        return out;
    }
    let title = if plan.operation == orch_runtime::plan::PlanKind::Destroy {
        "Orch will destroy:"
    } else {
        "Orch will:"
    };
    let _ = writeln!(out, "{}", style.bold(title));
    for step in &plan.moves {
        let _ = writeln!(
            out,
            "  {} {}  {}",
            style.action(Action::Update, &format!("{:>3}", "->")),
            step.to,
            style.dim(&format!("moved from {} (the object is kept)", step.from)),
        );
    }
    for change in plan.effective() {
        change_lines(change, verbose, style, (width, kind_width), &mut out);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{} {}.", style.bold("Plan:"), plan.summary());
    if verbose && !plan.outputs.is_empty() {
        let _ = writeln!(out, "\nOutputs:");
        for (name, value) in &plan.outputs {
            let _ = writeln!(out, "  {name} = {}", show(value));
        }
    }
    out
}

/// The plan as one JSON document (`plan --json`).
/// The plan as one JSON document; `locate` gives an error its place
/// (`main.orch:3:10`).
pub(crate) fn json(
    plan: &Plan,
    locate: &dyn Fn(&orch_lang::Diagnostic) -> String,
) -> serde_json::Value {
    let counts = plan.counts();
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let changes: Vec<serde_json::Value> = plan
        .changes
        .iter()
        .filter(|c| c.action.is_change())
        .map(|change| {
            json!({
                "address": change.address,
                "kind": change.kind,
                "action": change.action,
                "create_before_destroy": change.action == Action::Replace && change.options.create_before_destroy,
                "reasons": change.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "changed_fields": change.changed,
                "forces_replacement": change.forces_replacement,
                "before": change.before.as_ref().map(display_json),
                "after": if change.action == Action::Delete { serde_json::Value::Null } else { display_json(&change.after) },
                "depends_on": change.depends_on,
                "location": change.location,
            })
        })
        .collect();
    json!({
        "version": 1,
        "operation": plan.operation,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "changes": changes,
        "moves": plan.moves,
        "drift": plan.drift,
        "outputs": plan.outputs.iter().map(|(k, v)| (k.clone(), display_json(v))).collect::<serde_json::Map<_, _>>(),
        "warnings": plan.warnings,
        "errors": plan.errors.iter().map(|e| json!({"code": e.code.code, "message": e.message, "location": locate(e), "help": e.help})).collect::<Vec<_>>(),
        "summary": {
            "create": n(Action::Create),
            "update": n(Action::Update),
            "replace": n(Action::Replace),
            "delete": n(Action::Delete),
            "read": n(Action::Read),
            "move": plan.moves.len(),
            "forget": n(Action::Forget),
            "no_op": plan.changes.iter().filter(|c| !c.action.is_change() && !c.data).count(),
        },
    })
}
