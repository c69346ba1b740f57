//! Inlay hints: the type the checker inferred for a `let` or an `output`
//! written without one (`: map<string>` after the name), and a marker
//! after a `let`, an `output` or a body field whose value is known only
//! after apply. Only types are shown, never values: a secret shows as
//! `secret<T>`.

use orch_lang::ast::{Expr, FieldKey, Ident, Item, ItemKind, TypeExpr};
use orch_lang::visit::{self, Visitor};
use orch_lang::{FileId, Span};
use orch_stdlib::Ty;
use rustc_hash::FxHashMap;

use crate::Analysis;
use crate::check::Phase;
use crate::model::{DeclId, DeclInfo};

/// Types longer than this are cut in the label (the tooltip has them
/// whole).
const MAX_TYPE_LABEL: usize = 60;

/// The label of the marker for apply-time values.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlayHintKind {
    /// `: T` after a name.
    Type,
    /// [`KNOWN_AFTER_APPLY`] after a value.
    Phase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlayHint {
    /// Where the hint is shown: the byte offset it follows.
    pub offset: u32,
    pub label: String,
    pub kind: InlayHintKind,
    /// Markdown shown on hover: the whole type, or why a value is known
    /// only after apply.
    pub tooltip: Option<String>,
}

/// The hints of `file` whose offset is in `start..=end`, in order.
pub fn inlay_hints(analysis: &Analysis, file: FileId, start: u32, end: u32) -> Vec<InlayHint> {
    if file.0 as usize >= analysis.files.len() {
        return Vec::new();
    }
    let source = analysis.files.get(file);
    let decls: FxHashMap<Span, &DeclInfo> = analysis
        .decls
        .iter()
        .filter(|decl| decl.file == file && decl.name.is_some())
        .map(|decl| (decl.name_span, decl))
        .collect();
    let mut hints = Hints { analysis, decls, range: (start, end), out: Vec::new() };
    hints.visit_file(&source.parsed.file);
    let mut out = hints.out;
    out.sort_by_key(|hint| hint.offset);
    out
}

struct Hints<'a> {
    analysis: &'a Analysis,
    decls: FxHashMap<Span, &'a DeclInfo>,
    range: (u32, u32),
    out: Vec<InlayHint>,
}

impl<'a> Visitor<'a> for Hints<'_> {
    fn visit_item(&mut self, item: &'a Item) {
        // Skip whole items outside the range.
        if item.span.end < self.range.0 || item.span.start > self.range.1 {
            return;
        }
        match &item.kind {
            ItemKind::Let(decl) => self.value_decl(&decl.name, decl.ty.is_none(), &decl.value),
            ItemKind::Output(output) => {
                self.value_decl(&output.name, output.ty.is_none(), &output.value)
            }
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                if let Some(id) = self.decl(&resource.name) {
                    for field in &resource.body.fields {
                        let FieldKey::Name(name) = &field.key else { continue };
                        let key = (id, name.name.clone());
                        if let Some(phase) = self.analysis.checked.field_phases.get(&key) {
                            self.phase(phase, &field.value);
                        }
                    }
                }
            }
            // No hints of their own; those of the blocks inside are
            // found by the walk.
            ItemKind::Param(_)
            | ItemKind::TypeAlias(_)
            | ItemKind::Module(_)
            | ItemKind::Import(_)
            | ItemKind::Provider(_)
            | ItemKind::Lifecycle(_)
            | ItemKind::Mock(_)
            | ItemKind::Test(_)
            | ItemKind::Setting(_)
            | ItemKind::Assert(_)
            | ItemKind::Warn(_)
            | ItemKind::Policy(_)
            | ItemKind::If(_)
            | ItemKind::For(_)
            | ItemKind::Error => {}
        }
        visit::walk_item(self, item);
    }

    // Hints are attached to items and body fields, not inside values.
    fn visit_expr(&mut self, _: &'a Expr) {}

    fn visit_type(&mut self, _: &'a TypeExpr) {}
}

impl Hints<'_> {
    fn decl(&self, name: &Ident) -> Option<DeclId> {
        self.decls.get(&name.span).map(|decl| decl.id)
    }

    /// A `let` or an `output`: its type when it was not written, and
    /// whether it is known only after apply.
    fn value_decl(&mut self, name: &Ident, untyped: bool, value: &Expr) {
        let Some(id) = self.decl(name) else { return };
        let Some(typed) = self.analysis.checked.decl_types.get(&id) else { return };
        if untyped && !typed.ty.is_error() && !contains_error(&typed.ty) {
            let written = typed.ty.to_string();
            let (label, tooltip) = if written.chars().count() > MAX_TYPE_LABEL {
                let cut: String = written.chars().take(MAX_TYPE_LABEL).collect();
                (format!(": {cut}…"), Some(format!("```orch\n{written}\n```")))
            } else {
                (format!(": {written}"), None)
            };
            self.push(InlayHint {
                offset: name.span.end,
                label,
                kind: InlayHintKind::Type,
                tooltip,
            });
        }
        let phase = typed.phase.clone();
        self.phase(&phase, value);
    }

    fn phase(&mut self, phase: &Phase, value: &Expr) {
        if phase.is_known() {
            return;
        }
        let steps: Vec<String> = phase.steps().iter().map(|step| step.message.clone()).collect();
        let tooltip = (!steps.is_empty())
            .then(|| format!("Known only after apply:\n\n- {}", steps.join("\n- ")));
        self.push(InlayHint {
            offset: value.span.end,
            label: KNOWN_AFTER_APPLY.to_string(),
            kind: InlayHintKind::Phase,
            tooltip,
        });
    }

    fn push(&mut self, hint: InlayHint) {
        if self.range.0 <= hint.offset && hint.offset <= self.range.1 {
            self.out.push(hint);
        }
    }
}

/// Whether `ty` has an error inside (such as `list<{unknown}>`), which
/// is not worth showing.
fn contains_error(ty: &Ty) -> bool {
    match ty {
        Ty::Error => true,
        Ty::List(inner) | Ty::Map(inner) | Ty::Optional(inner) | Ty::Secret(inner) => {
            contains_error(inner)
        }
        Ty::Record(record) => record.fields.iter().any(|field| contains_error(&field.ty)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::testing::analyze_one;

    fn hints(source: &str) -> Vec<(String, String)> {
        let analysis = analyze_one(source);
        inlay_hints(&analysis, FileId(0), 0, source.len() as u32)
            .into_iter()
            .map(|hint| {
                let before = &source[..hint.offset as usize];
                let line = before.rsplit('\n').next().unwrap_or_default().to_string();
                (line, hint.label)
            })
            .collect()
    }

    #[test]
    fn untyped_lets_and_outputs_show_their_type() {
        let source = "param names: list<string> = [\"a\"]\n\
            let by_name = {for n in names: n => upper(n)}\n\
            output count = length(names)\noutput typed: int = 1\n\
            let n: int = 2\noutput both = n\n\
            for i, name in names {\n  let twice = i * n\n  output each = \"${name}${twice}\"\n}\n";
        assert_eq!(
            hints(source),
            [
                ("let by_name".to_string(), ": map<string>".to_string()),
                ("output count".to_string(), ": int".to_string()),
                ("output both".to_string(), ": int".to_string()),
                ("  let twice".to_string(), ": int".to_string()),
                ("  output each".to_string(), ": string".to_string()),
            ]
        );
    }

    #[test]
    fn secrets_show_as_their_type() {
        let source = "param pw: secret<string>\nlet shown = pw\noutput o: secret<string> = shown\n";
        let found = hints(source);
        assert_eq!(found, [("let shown".to_string(), ": secret<string>".to_string())]);
    }

    #[test]
    fn apply_time_values_are_marked() {
        let source = "resource run: exec.run {\n  create = \"echo\"\n}\n\
            let out = run.stdout\n\
            resource f: fs.file {\n  path = \"/tmp/x\"\n  content = out\n}\n\
            output o = f.sha256\n";
        let found = hints(source);
        assert!(found.contains(&("let out".to_string(), ": string".to_string())), "{found:?}");
        for line in ["let out = run.stdout", "  content = out", "output o = f.sha256"] {
            assert!(
                found.contains(&(line.to_string(), KNOWN_AFTER_APPLY.to_string())),
                "{line}: {found:?}"
            );
        }
        assert!(!found.iter().any(|(line, _)| line.contains("path")), "{found:?}");
    }

    #[test]
    fn hints_are_restricted_to_the_range() {
        let source = "let a = 1\nlet b = \"x\"\n";
        let analysis = analyze_one(source);
        let start = source.find("let b").unwrap() as u32;
        let found = inlay_hints(&analysis, FileId(0), start, source.len() as u32);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].label, ": string");
    }
}
