//! Hover: the type of the expression or name under the cursor, its doc
//! comment, and the documentation of kinds, fields and functions from the
//! standard library. Only types are shown, never values, so a secret
//! appears as `secret<T>`.

use std::fmt::Write as _;

use orch_lang::ast::{ExprKind, FieldKey, Item, ItemKind};
use orch_lang::{FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::{FieldSchema, KindSchema, Ty, lookup_function};

use super::locate::{Found, find};
use super::scope::{decl_named_at, module_decl, resolved, target_file};
use crate::Analysis;
use crate::model::{DeclInfo, DeclKind};

/// What to show for the node under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    /// The node the text is about.
    pub span: Span,
    /// Markdown, with code in ```` ```orch ```` blocks.
    pub markdown: String,
}

/// The hover text at `offset` in `file`.
pub fn hover(analysis: &Analysis, file: FileId, offset: u32) -> Option<Hover> {
    let source = analysis.files.get(file);
    let found = find(&source.parsed.file, offset)?;
    match found {
        Found::DeclName { item, name } => {
            let markdown = match decl_named_at(analysis, name.span) {
                Some(info) => describe_decl(analysis, info, None),
                None => describe_undeclared(analysis, item)?,
            };
            Some(Hover { span: name.span, markdown })
        }
        Found::Kind { path, .. } => {
            let kind = lookup_kind(&path.to_dotted())?;
            Some(Hover { span: path.span, markdown: describe_kind(kind) })
        }
        Found::BodyField { owner, field } => {
            let FieldKey::Name(key) = &field.key else { return None };
            let markdown = match &owner.kind {
                ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                    let kind = lookup_kind(&resource.kind.to_dotted())?;
                    describe_field(kind, kind.field(&key.name)?)
                }
                ItemKind::Module(module) => {
                    let module = decl_named_at(analysis, module.name.span)?;
                    let target = target_file(analysis, module.id)?;
                    let param = module_decl(analysis, target, &key.name)
                        .filter(|decl| decl.kind == DeclKind::Param)?;
                    describe_decl(analysis, param, None)
                }
                _ => return None,
            };
            Some(Hover { span: key.span, markdown })
        }
        Found::Member { expr, base, name } => {
            let ty = analysis.checked.expr_types.get(&(file, expr.id));
            if let Some(target) = resolved(analysis, name) {
                // A declaration of an imported file.
                return Some(Hover {
                    span: name.span,
                    markdown: describe_decl(analysis, target, None),
                });
            }
            if let ExprKind::Ident(ident) = &base.kind
                && let Some(module) = resolved(analysis, ident)
                && module.kind == DeclKind::Module
                && let Some(target) = target_file(analysis, module.id)
                && let Some(output) = module_decl(analysis, target, &name.name)
            {
                return Some(Hover {
                    span: name.span,
                    markdown: describe_decl(analysis, output, ty),
                });
            }
            let base_ty = analysis.checked.expr_types.get(&(file, base.id));
            let kind_field = base_ty
                .and_then(|ty| record_name(ty))
                .and_then(lookup_kind)
                .and_then(|kind| Some((kind, kind.field(&name.name)?)));
            let markdown = match kind_field {
                Some((kind, field)) => {
                    let mut text = code_block(&format!("{}: {}", name.name, shown(ty)));
                    text.push_str(&field_notes(kind, field));
                    text
                }
                None => code_block(&format!("{}: {}", name.name, shown(ty))),
            };
            Some(Hover { span: name.span, markdown })
        }
        Found::Callee { name } => {
            let function = lookup_function(&name.name)?;
            let markdown = format!("{}\n{}", code_block(function.signature), function.doc);
            Some(Hover { span: name.span, markdown })
        }
        Found::Expr { expr, .. } => {
            let ty = analysis.checked.expr_types.get(&(file, expr.id));
            if let ExprKind::Ident(ident) = &expr.kind {
                if let Some(target) = resolved(analysis, ident) {
                    return Some(Hover {
                        span: ident.span,
                        markdown: describe_decl(analysis, target, ty),
                    });
                }
                return Some(Hover {
                    span: ident.span,
                    markdown: code_block(&format!("{}: {}", ident.name, shown(ty))),
                });
            }
            let ty = ty.filter(|ty| **ty != Ty::Error)?;
            Some(Hover { span: expr.span, markdown: code_block(&ty.to_string()) })
        }
    }
}

/// The declaration's header, its type (`ty` where it is used, or the type
/// the checker gave the declaration) and its doc comment.
fn describe_decl(analysis: &Analysis, info: &DeclInfo, ty: Option<&Ty>) -> String {
    let name = info.name.as_deref().unwrap_or_default();
    let ty = ty.or_else(|| analysis.checked.decl_types.get(&info.id).map(|typed| &typed.ty));
    let source = analysis.files.get(info.file);
    let written = |span: Span| source.source.get(span.range()).unwrap_or_default().to_string();
    let item = find_item(&source.parsed.file.items, info.item_span);
    let header = match (info.kind, item.map(|item| &item.kind)) {
        (DeclKind::Resource | DeclKind::Data, Some(ItemKind::Resource(r) | ItemKind::Data(r))) => {
            format!("{} {name}: {}", info.kind.describe(), r.kind.to_dotted())
        }
        (DeclKind::Module, Some(ItemKind::Module(module))) => {
            format!("module {name}: {}", written(module.source.span))
        }
        (DeclKind::Import, Some(ItemKind::Import(import))) => {
            format!("import {} as {name}", written(import.source.span))
        }
        (kind, _) => format!("{} {name}: {}", kind.describe(), shown(ty)),
    };
    let mut text = code_block(&header);
    if matches!(info.kind, DeclKind::Resource | DeclKind::Data | DeclKind::Module)
        && let Some(ty) = ty.filter(|ty| matches!(ty, Ty::Map(_) | Ty::List(_) | Ty::Optional(_)))
    {
        // Declared in a `for` or `if` block: its type outside differs.
        let _ = writeln!(text, "\nType here: `{ty}`");
    }
    if ty.is_some_and(Ty::is_secret) {
        text.push_str("\n(secret) The value is never shown.\n");
    }
    if let Some(docs) = &info.docs {
        let _ = write!(text, "\n---\n\n{docs}\n");
    }
    if let Some(ItemKind::Resource(r) | ItemKind::Data(r)) = item.map(|item| &item.kind)
        && let Some(kind) = lookup_kind(&r.kind.to_dotted())
    {
        let _ = write!(text, "\n---\n\n`{}`: {}\n", kind.name, first_sentence(kind.doc));
    }
    text
}

/// Names that are not declarations the checker tracks: type aliases,
/// providers and policies.
fn describe_undeclared(analysis: &Analysis, item: &Item) -> Option<String> {
    let file = analysis.files.get(item.span.file);
    let written = |span: Span| file.source.get(span.range()).unwrap_or_default().to_string();
    let header = match &item.kind {
        ItemKind::TypeAlias(alias) => {
            format!("type {} = {}", alias.name.name, written(alias.ty.span))
        }
        ItemKind::Provider(provider) => format!("provider {}", provider.name.name),
        ItemKind::Policy(policy) => format!("policy {}", policy.name.name),
        _ => return None,
    };
    let mut text = code_block(&header);
    if let Some(docs) = &item.docs {
        let _ = write!(text, "\n---\n\n{docs}\n");
    }
    Some(text)
}

fn describe_kind(kind: &KindSchema) -> String {
    let what = if kind.data { "data" } else { "resource" };
    let mut text = code_block(&format!("{what} kind {}", kind.name));
    let _ = writeln!(text, "\n{}\n", kind.doc);
    for field in kind.inputs() {
        let note = if field.required { " (required)" } else { "" };
        let _ = writeln!(text, "- `{}: {}`{note}", field.name, field.ty);
    }
    let outputs: Vec<String> =
        kind.outputs().map(|field| format!("`{}: {}`", field.name, field.ty)).collect();
    if !outputs.is_empty() {
        let _ = writeln!(text, "\nComputed on apply: {}", outputs.join(", "));
    }
    text
}

fn describe_field(kind: &KindSchema, field: &FieldSchema) -> String {
    let ty = if field.sensitive { Ty::secret(field.ty.clone()) } else { field.ty.clone() };
    let mut text = code_block(&format!("{}: {ty}", field.name));
    text.push_str(&field_notes(kind, field));
    text
}

/// What a kind's field is (required, default, computed, ...) and its doc.
fn field_notes(kind: &KindSchema, field: &FieldSchema) -> String {
    let mut notes = Vec::new();
    if field.required {
        notes.push("required".to_string());
    }
    if let Some(default) = &field.default {
        notes.push(format!("default `{default}`"));
    }
    if field.output {
        notes.push("computed on apply".to_string());
    }
    if field.forces_replacement {
        notes.push("a change replaces the object".to_string());
    }
    if field.sensitive {
        notes.push("(secret)".to_string());
    }
    let mut text = format!("\nField of `{}`", kind.name);
    if !notes.is_empty() {
        let _ = write!(text, ": {}", notes.join(", "));
    }
    let _ = write!(text, ".\n\n{}\n", field.doc);
    text
}

/// The item whose span is `span`, at any depth.
fn find_item(items: &[Item], span: Span) -> Option<&Item> {
    for item in items {
        if item.span == span {
            return Some(item);
        }
        if !item.span.contains(span.start) {
            continue;
        }
        let blocks = orch_lang::visit::child_blocks(item);
        if let Some(found) = blocks.into_iter().find_map(|block| find_item(&block.items, span)) {
            return Some(found);
        }
    }
    None
}

/// The name of a kind's instance type (`fs.file`), through secrets and
/// optionals.
fn record_name(ty: &Ty) -> Option<&str> {
    match ty.reveal().unwrap_optional() {
        Ty::Record(record) => record.name.as_deref(),
        _ => None,
    }
}

fn shown(ty: Option<&Ty>) -> String {
    match ty {
        Some(Ty::Error) | None => "{unknown}".to_string(),
        Some(ty) => ty.to_string(),
    }
}

fn code_block(code: &str) -> String {
    format!("```orch\n{code}\n```\n")
}

fn first_sentence(doc: &str) -> &str {
    let paragraph = doc.split("\n\n").next().unwrap_or(doc);
    match paragraph.find(". ") {
        Some(end) => &paragraph[..=end],
        None => paragraph,
    }
}
