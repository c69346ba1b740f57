//! Plans for people (short by default, every field with `--verbose`) and
//! for machines (`--json`, documented in `docs/cli.md`). Secrets show as
//! `(secret)`, values unknown until apply as `(known after apply)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use orch_runtime::codec::display_json;
use orch_runtime::plan::{Action, Change, Plan};
use orch_stdlib::Value;
use orch_stdlib::kinds::FieldDisplay;
use serde_json::json;
use similar::{ChangeTag, TextDiff};
use yansi::{Paint, Style as Paint_};

/// Colours (through `yansi`, like every other coloured output), or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) color: bool,
}

impl Style {
    fn paint(self, style: Paint_, text: &str) -> String {
        if self.color {
            // `yansi` paints only while its global switch is on, which
            // the diagnostics renderer sets for its own stream.
            yansi::enable();
            text.paint(style).to_string()
        } else {
            text.to_string()
        }
    }

    pub(crate) fn action(self, action: Action, sign: &str) -> String {
        let style = match action {
            Action::Create => Paint_::new().green(),
            Action::Update => Paint_::new().yellow(),
            Action::Replace => Paint_::new().magenta(),
            Action::Delete => Paint_::new().red(),
            Action::Read => Paint_::new().cyan(),
            Action::Forget => Paint_::new().blue(),
            Action::NoOp => Paint_::new(),
        };
        self.paint(style, sign)
    }

    pub(crate) fn bold(self, text: &str) -> String {
        self.paint(Paint_::new().bold(), text)
    }

    pub(crate) fn dim(self, text: &str) -> String {
        self.paint(Paint_::new().dim(), text)
    }
}

/// A value in full on one line: strings quoted, secrets and unknowns
/// named.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Secret(_) => "(secret)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::None => "none".into(),
        other if !other.is_known() || other.contains_secret() => {
            serde_json::to_string(&display_json(other)).unwrap_or_default()
        }
        Value::String(text) => format!("{text:?}"),
        other => other.to_string(),
    }
}

/// A field's value as its kind says people read it (modes in octal).
pub(crate) fn show_field(kind: &str, field: &str, value: &Value) -> String {
    display_of(kind, field).format(value).unwrap_or_else(|| show(value))
}

fn display_of(kind: &str, field: &str) -> FieldDisplay {
    orch_runtime::providers::lookup_kind(kind)
        .and_then(|schema| schema.field(field))
        .map_or(FieldDisplay::Plain, |schema| schema.display)
}

/// The text of a plain string that spans lines, which plans show as a
/// block or a diff rather than one escaped line.
fn multi_line(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) if text.contains('\n') => Some(text),
        _ => None,
    }
}

/// The text of a plain (not secret) string.
fn plain_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        _ => None,
    }
}

fn fields(value: &Value) -> BTreeMap<String, Value> {
    match value {
        Value::Map(entries) => entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        _ => BTreeMap::new(),
    }
}

/// The indentation of a field line under its change.
const FIELD_INDENT: &str = "        ";

/// A multi-line value as a block: `name = <<EOT`, its lines, `EOT`.
fn block(name: &str, text: &str, out: &mut String) {
    let _ = writeln!(out, "{FIELD_INDENT}{name} = <<EOT");
    for line in text.lines() {
        let _ = writeln!(out, "{FIELD_INDENT}  {line}");
    }
    let _ = writeln!(out, "{FIELD_INDENT}EOT");
}

/// A change of a multi-line string as a unified diff with three lines of
/// context around each change.
fn diff(name: &str, old: &str, new: &str, forces: &str, style: Style, out: &mut String) {
    let diff = TextDiff::from_lines(old, new);
    // Only a difference in the final newline is worth a note.
    let note_newline = old.ends_with('\n') != new.ends_with('\n');
    let _ = writeln!(out, "{FIELD_INDENT}{name}:{forces}");
    for group in diff.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let header = format!(
            "@@ -{} +{} @@",
            hunk_range(old_range.start, old_range.len()),
            hunk_range(new_range.start, new_range.len())
        );
        let _ = writeln!(out, "{FIELD_INDENT}  {}", style.paint(Paint_::new().cyan(), &header));
        for op in &group {
            for change in diff.iter_changes(op) {
                let line = change.value().strip_suffix('\n').unwrap_or(change.value());
                let line = match change.tag() {
                    ChangeTag::Equal => format!(" {line}"),
                    ChangeTag::Delete => style.action(Action::Delete, &format!("-{line}")),
                    ChangeTag::Insert => style.action(Action::Create, &format!("+{line}")),
                };
                let _ = writeln!(out, "{FIELD_INDENT}  {line}");
                if note_newline && change.missing_newline() {
                    let _ = writeln!(out, "{FIELD_INDENT}  \\ no newline at the end");
                }
            }
        }
    }
}

/// A hunk's range as unified diffs write it: 1-based start, and the length
/// when it is not 1.
fn hunk_range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
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
    let shown = |name: &str, value: &Value| show_field(&change.kind, name, value);
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        let line = match (change.action, old, new) {
            (Action::Delete, Some(old), _) | (_, None, Some(old)) => match multi_line(old) {
                Some(text) => {
                    block(name, text, out);
                    continue;
                }
                None => format!("{name} = {}", shown(name, old)),
            },
            (_, Some(old), Some(new)) if orch_runtime::plan::differs(old, new) => {
                let forces = if change.forces_replacement.contains(name) {
                    "   # forces replacement"
                } else {
                    ""
                };
                if let (Some(old_text), Some(new_text)) = (plain_str(old), plain_str(new))
                    && (multi_line(old).is_some() || multi_line(new).is_some())
                {
                    diff(name, old_text, new_text, forces, style, out);
                    continue;
                }
                format!("{name}: {} → {}{forces}", shown(name, old), shown(name, new))
            }
            (_, Some(_), Some(_)) if change.action == Action::Create => continue,
            (_, Some(old), Some(_)) => match multi_line(old) {
                Some(text) => {
                    let lines = text.lines().count();
                    format!("{name} = {}", style.dim(&format!("({lines} lines, unchanged)")))
                }
                None => format!("{name} = {}", style.dim(&shown(name, old))),
            },
            _ => continue,
        };
        let _ = writeln!(out, "{FIELD_INDENT}{line}");
    }
}

/// How the root module's outputs change: added, changed, removed.
fn output_changes(plan: &Plan, style: Style, out: &mut String) {
    let mut lines = Vec::new();
    let mut names: Vec<&String> = plan.outputs.keys().chain(plan.outputs_before.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let line = match (plan.outputs_before.get(name), plan.outputs.get(name)) {
            (None, Some(new)) => {
                format!("  {} {name} = {}", style.action(Action::Create, "+"), show(new))
            }
            (Some(old), None) => {
                format!("  {} {name} = {}", style.action(Action::Delete, "-"), show(old))
            }
            (Some(old), Some(new)) if orch_runtime::plan::differs(old, new) => format!(
                "  {} {name}: {} → {}",
                style.action(Action::Update, "~"),
                show(old),
                show(new)
            ),
            _ => continue,
        };
        lines.push(line);
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", style.bold("Changes to outputs:"));
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
}

/// The plan for people.
/// `Partial plan: only --target a (and what it depends on).`
fn partial_lines(plan: &Plan, style: Style, out: &mut String) {
    let Some(partial) = &plan.partial else { return };
    let mut parts = Vec::new();
    let list = |flag: &str, addresses: &[String]| {
        addresses.iter().map(|a| format!("{flag} {a}")).collect::<Vec<_>>().join(", ")
    };
    if !partial.targets.is_empty() {
        let what = match plan.operation {
            orch_runtime::plan::PlanKind::Destroy => "and what depends on it",
            _ => "and what it depends on",
        };
        parts.push(format!("only {} ({what})", list("--target", &partial.targets)));
    }
    if !partial.excludes.is_empty() {
        let what = match plan.operation {
            orch_runtime::plan::PlanKind::Destroy => "and what it depends on",
            _ => "and what depends on it",
        };
        parts.push(format!("without {} ({what})", list("--exclude", &partial.excludes)));
    }
    let _ = writeln!(out, "{} {}.", style.bold("Partial plan:"), parts.join(", "));
    if !partial.left_out.is_empty() {
        let n = partial.left_out.len();
        let shown: Vec<&str> = partial.left_out.iter().take(10).map(String::as_str).collect();
        let more =
            if n > shown.len() { format!(" and {} more", n - shown.len()) } else { String::new() };
        let text = match plan.operation {
            orch_runtime::plan::PlanKind::Destroy => {
                format!("Kept: {}{more}.", shown.join(", "))
            }
            _ => format!(
                "Left out, with work to do: {}{more}. Outputs that depend on them are not updated.",
                shown.join(", ")
            ),
        };
        let _ = writeln!(out, "{}", style.dim(&text));
    }
    let _ = writeln!(out);
}

/// A refresh-only plan: what is recorded as found.
fn refresh_lines(plan: &Plan, style: Style, out: &mut String) {
    if plan.refreshed.is_empty() {
        if plan.errors.is_empty() {
            let _ = writeln!(
                out,
                "No changes: every recorded object is as the state says; nothing to record."
            );
        }
        return;
    }
    let _ = writeln!(out, "{}", style.bold("Orch will record in the state, changing no object:"));
    let width = plan.refreshed.iter().map(|r| r.address.chars().count()).max().unwrap_or(0).min(48);
    for entry in &plan.refreshed {
        let (action, sign, what) = match &entry.object {
            Some(_) => (Action::Update, "~", "the object as found"),
            None => (Action::Delete, "-", "found gone: forgotten"),
        };
        let _ = writeln!(
            out,
            "  {} {:width$}  {}",
            style.action(action, &format!("{sign:>3}")),
            entry.address,
            style.dim(what)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{} {}.", style.bold("Plan:"), plan.summary());
    output_changes(plan, style, out);
}

pub(crate) fn human(plan: &Plan, verbose: bool, style: Style) -> String {
    let mut out = String::new();
    for warning in &plan.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    partial_lines(plan, style, &mut out);
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
    if plan.operation == orch_runtime::plan::PlanKind::Refresh {
        refresh_lines(plan, style, &mut out);
        return out;
    }
    if !plan.has_changes() {
        // A plan that failed (a data read, an assertion) is not "no
        // changes": its errors follow.
        if !plan.errors.is_empty() {
            return out;
        }
        if plan.operation == orch_runtime::plan::PlanKind::Destroy {
            // A partial destroy whose selection holds no recorded object
            // says so: the state may record many others (they are kept).
            let line = if plan.partial.is_some() {
                "Nothing to destroy: no object recorded in the state is selected \
                 (the other recorded objects are kept)."
            } else {
                "Nothing to destroy: the state records no objects."
            };
            let _ = writeln!(out, "{line}");
            return out;
        }
        let checked = plan.changes.iter().filter(|c| !c.data).count();
        let _ = writeln!(
            out,
            "No changes: the infrastructure matches the configuration ({checked} object{} checked).",
            if checked == 1 { "" } else { "s" }
        );
        output_changes(plan, style, &mut out);
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
    for import in &plan.imports {
        let _ = writeln!(
            out,
            "  {} {}  {}",
            style.action(Action::Create, &format!("{:>3}", "<-")),
            import.address,
            style.dim(&format!(
                "import {} {:?} (the existing object is adopted, not created)",
                import.kind, import.id
            )),
        );
    }
    for change in plan.effective() {
        change_lines(change, verbose, style, (width, kind_width), &mut out);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{} {}.", style.bold("Plan:"), plan.summary());
    if plan.operation == orch_runtime::plan::PlanKind::Apply {
        output_changes(plan, style, &mut out);
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
        "imports": plan.imports.iter().map(|i| json!({
            "address": i.address,
            "kind": i.kind,
            "id": i.id,
            "location": i.location,
        })).collect::<Vec<_>>(),
        "drift": plan.drift,
        "partial": plan.partial.is_some(),
        "targeting": plan.partial,
        "refreshed": plan.refreshed.iter().map(|r| json!({"address": r.address, "deleted": r.object.is_none()})).collect::<Vec<_>>(),
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
            "import": plan.imports.len(),
            "forget": n(Action::Forget),
            "record": plan.refreshed.len(),
            "no_op": plan.changes.iter().filter(|c| !c.action.is_change() && !c.data).count(),
        },
    })
}
