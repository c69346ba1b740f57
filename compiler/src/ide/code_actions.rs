//! Quick fixes for diagnostics: each action names the diagnostics it
//! fixes (by index in [`Analysis::diagnostics`]) and the edits that fix
//! them.
//!
//! - A diagnostic with a [`Suggestion`](orch_lang::Suggestion) (every
//!   "did you mean `X`?") replaces its span with the suggestion.
//! - `E0302` on a resource, data or module body adds every missing
//!   required field, one line each, with a placeholder of the field's type.
//! - `E0204` ("may be none") reads a field with `?.` instead of `.`, or
//!   appends `?? <default>` where a value is required.
//! - An identity conflict (`E0906`, which only a plan finds) and a rename
//!   of a resource get the `moved` block that keeps the object, added at
//!   the end of the file ([`identity_conflict_fix`],
//!   [`moved_block_for_rename`]).

use orch_lang::ast::{self, Body, Expr, ExprKind, FieldKey, Ident, Item, ItemKind};
use orch_lang::visit;
use orch_lang::{FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::Ty;

use crate::Analysis;
use crate::model::DeclKind;

/// Replace the text at `span` (empty to insert) with `new_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextEdit {
    pub span: Span,
    pub new_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeAction {
    pub title: String,
    /// The diagnostics it fixes: indices into [`Analysis::diagnostics`].
    pub diagnostics: Vec<usize>,
    /// Edits of the diagnostic's file, not overlapping.
    pub edits: Vec<TextEdit>,
    /// The fix to apply when only one is wanted.
    pub preferred: bool,
}

/// An insertion at the end of `file` of a `moved` block from `from` to
/// `to` (the whole declaration when only its name changed), after a blank
/// line: what keeps an object whose declaration was renamed.
pub fn add_moved_block(
    analysis: &Analysis,
    file: FileId,
    from: &str,
    to: &str,
) -> Option<TextEdit> {
    if file.0 as usize >= analysis.files.len() {
        return None;
    }
    let text = &analysis.files.get(file).source;
    let (from, to) = crate::lifecycle::declaration_move(from, to);
    let end = text.len() as u32;
    let separator = match (text.is_empty(), text.ends_with("\n\n"), text.ends_with('\n')) {
        (true, _, _) | (_, true, _) => "",
        (_, _, true) => "\n",
        _ => "\n\n",
    };
    Some(TextEdit {
        span: Span { file, start: end, end },
        new_text: format!("{separator}{}", crate::lifecycle::moved_block(from, to)),
    })
}

/// The fix of an identity conflict (`E0906`, found by the runtime when
/// a plan would delete `from` and create `to`, the same object): a
/// `moved` block at the end of `file`.
pub fn identity_conflict_fix(
    analysis: &Analysis,
    file: FileId,
    from: &str,
    to: &str,
) -> Option<CodeAction> {
    let edit = add_moved_block(analysis, file, from, to)?;
    let (block_from, block_to) = crate::lifecycle::declaration_move(from, to);
    Some(CodeAction {
        title: format!("Add `moved {{ from = {block_from}  to = {block_to} }}` to keep the object"),
        diagnostics: Vec::new(),
        edits: vec![edit],
        preferred: true,
    })
}

/// The `moved` block a rename of a resource or module instance adds
/// (`spans` are the rename's, `new_name` its new name): `None` for a
/// rename of anything else, which names no object.
pub fn moved_block_for_rename(
    analysis: &Analysis,
    spans: &[Span],
    new_name: &str,
) -> Option<TextEdit> {
    let decl = analysis.decls.iter().find(|d| {
        matches!(d.kind, DeclKind::Resource | DeclKind::Module) && spans.contains(&d.name_span)
    })?;
    let old = decl.name.as_deref()?;
    if old == new_name {
        return None;
    }
    add_moved_block(analysis, decl.file, old, new_name)
}

/// The fixes for the diagnostics of `file` that touch `start..=end`.
pub fn code_actions(analysis: &Analysis, file: FileId, start: u32, end: u32) -> Vec<CodeAction> {
    if file.0 as usize >= analysis.files.len() {
        return Vec::new();
    }
    let source = analysis.files.get(file);
    let fixes = Fixes { analysis, file, text: &source.source, items: &source.parsed.file.items };
    let mut out: Vec<CodeAction> = Vec::new();
    let mut bodies_done: Vec<Span> = Vec::new();
    for (index, diagnostic) in analysis.diagnostics.iter().enumerate() {
        let span = diagnostic.primary.span;
        if span.file != file || span.start > end || span.end < start {
            continue;
        }
        if let Some(suggestion) = &diagnostic.suggestion
            && suggestion.span.file == file
        {
            out.push(CodeAction {
                title: format!("Change to `{}`", suggestion.replacement),
                diagnostics: vec![index],
                edits: vec![TextEdit {
                    span: suggestion.span,
                    new_text: suggestion.replacement.clone(),
                }],
                preferred: true,
            });
        }
        match diagnostic.code.code {
            "E0302" if !bodies_done.contains(&span) => {
                bodies_done.push(span);
                out.extend(fixes.missing_fields(span));
            }
            "E0204" => out.extend(fixes.may_be_none(index, span)),
            _ => {}
        }
    }
    out
}

struct Fixes<'a> {
    analysis: &'a Analysis,
    file: FileId,
    text: &'a str,
    items: &'a [Item],
}

impl Fixes<'_> {
    /// Adds the required fields missing from the body of the declaration
    /// named at `name`.
    fn missing_fields(&self, name: Span) -> Option<CodeAction> {
        let item = find_declaration(self.items, name)?;
        let (body, required) = match &item.kind {
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                let kind = lookup_kind(&resource.kind.to_dotted())?;
                let required: Vec<(String, Ty)> = kind
                    .inputs()
                    .filter(|field| field.required)
                    .map(|field| (field.name.to_string(), field.ty.clone()))
                    .collect();
                (&resource.body, required)
            }
            ItemKind::Module(module) => (&module.body, self.required_params(module)?),
            _ => return None,
        };
        // Fields already given, and fields whose misspelling has a
        // did-you-mean fix of its own.
        let given: Vec<&str> = body
            .fields
            .iter()
            .filter_map(|field| match &field.key {
                FieldKey::Name(key) => Some(key.name.as_str()),
                FieldKey::Quoted(_) => None,
            })
            .collect();
        let misspelt: Vec<&str> = self
            .analysis
            .diagnostics
            .iter()
            .filter_map(|d| d.suggestion.as_ref())
            .filter(|s| s.span.file == self.file && body.span.contains(s.span.start))
            .map(|s| s.replacement.as_str())
            .collect();
        let missing: Vec<(String, Ty)> = required
            .into_iter()
            .filter(|(name, _)| {
                !given.contains(&name.as_str()) && !misspelt.contains(&name.as_str())
            })
            .collect();
        if missing.is_empty() {
            return None;
        }
        let lines: Vec<String> =
            missing.iter().map(|(name, ty)| format!("{name} = {}", placeholder(ty))).collect();
        let edit = insert_fields(self.text, self.file, body, &lines)?;
        let names: Vec<String> = missing.iter().map(|(name, _)| format!("`{name}`")).collect();
        let noun = if names.len() == 1 { "field" } else { "fields" };
        let diagnostics = self
            .analysis
            .diagnostics
            .iter()
            .enumerate()
            .filter(|(_, d)| d.code.code == "E0302" && d.primary.span == name)
            .map(|(index, _)| index)
            .collect();
        Some(CodeAction {
            title: format!("Add missing required {noun} {}", names.join(", ")),
            diagnostics,
            edits: vec![edit],
            preferred: true,
        })
    }

    /// The params of a module's file that have no default, with their
    /// types, in order.
    fn required_params(&self, module: &ast::Module) -> Option<Vec<(String, Ty)>> {
        let analysis = self.analysis;
        let decl = analysis
            .decls
            .iter()
            .find(|d| d.file == self.file && d.name_span == module.name.span)?;
        let target = *analysis.checked.targets.get(&decl.id)?;
        let mut out = Vec::new();
        let params = analysis.decls.iter().filter(|d| d.kind == DeclKind::Param);
        for param in params.filter(|d| analysis.same_module(d.file, target)) {
            let target_items = &analysis.files.get(param.file).parsed.file.items;
            let without_default = target_items.iter().any(|item| {
                matches!(&item.kind, ItemKind::Param(p) if p.name.span == param.name_span && p.default.is_none())
            });
            if !without_default {
                continue;
            }
            let ty = analysis.checked.decl_types.get(&param.id).map_or(Ty::Error, |t| t.ty.clone());
            out.push((param.name.as_deref().unwrap_or_default().to_string(), ty));
        }
        Some(out)
    }

    /// `?.` for a field of a value that may be none, or `?? <default>`.
    fn may_be_none(&self, index: usize, span: Span) -> Vec<CodeAction> {
        let Some((expr, tight)) = find_expr(self.items, span) else { return Vec::new() };
        let types = &self.analysis.checked.expr_types;
        let written = |span: Span| self.text.get(span.range()).unwrap_or_default();
        let action = |title: String, edit: TextEdit| CodeAction {
            title,
            diagnostics: vec![index],
            edits: vec![edit],
            preferred: false,
        };
        // `base.name` where `base` may be none.
        if let ExprKind::Field { base, name, optional: false } = &expr.kind
            && types.get(&(self.file, base.id)).is_some_and(Ty::is_optional)
        {
            let between = written(Span::new(self.file, base.span.end, name.span.start));
            let Some(dot) = between.find('.') else { return Vec::new() };
            let dot = base.span.end + dot as u32;
            let question = action(
                format!("Use `?.{}`", name.name),
                TextEdit { span: Span::new(self.file, dot, dot + 1), new_text: "?.".to_string() },
            );
            let field_ty = types
                .get(&(self.file, base.id))
                .map(|ty| member_type(ty, &name.name))
                .unwrap_or(Ty::Error);
            let default = placeholder(field_ty.unwrap_optional());
            let mut chained = String::new();
            chained.push_str(written(Span::new(self.file, expr.span.start, dot)));
            chained.push_str("?.");
            chained.push_str(written(Span::new(self.file, dot + 1, expr.span.end)));
            let with_default = action(
                format!("Use `?.{}` with a default: `?? {default}`", name.name),
                TextEdit { span: expr.span, new_text: coalesce(&chained, false, tight, &default) },
            );
            return vec![question, with_default];
        }
        let ty = types.get(&(self.file, expr.id)).cloned().unwrap_or(Ty::Error);
        let default = placeholder(ty.unwrap_optional());
        let loose = matches!(expr.kind, ExprKind::Conditional { .. });
        let new_text = coalesce(written(expr.span), loose, tight, &default);
        vec![action(
            format!("Add a default: `?? {default}`"),
            TextEdit { span: expr.span, new_text },
        )]
    }
}

/// `value ?? default`, with parentheses around `value` when it binds more
/// loosely than `??` and around the whole when its place binds tighter.
fn coalesce(value: &str, loose: bool, tight: bool, default: &str) -> String {
    let value = if loose { format!("({value})") } else { value.to_string() };
    if tight { format!("({value} ?? {default})") } else { format!("{value} ?? {default}") }
}

/// The type of field `name` of a value of type `ty` (through optionals
/// and secrets).
fn member_type(ty: &Ty, name: &str) -> Ty {
    match ty.unwrap_optional().reveal() {
        Ty::Record(record) => record.field(name).map_or(Ty::Error, |field| field.ty.clone()),
        Ty::Map(element) => element.as_ref().clone(),
        _ => Ty::Error,
    }
}

/// A value of type `ty` to start from: `""`, `0`, `false`, `[]`, `{}`.
pub(crate) fn placeholder(ty: &Ty) -> String {
    match ty {
        Ty::String | Ty::Any | Ty::Error => "\"\"".to_string(),
        Ty::Int => "0".to_string(),
        Ty::Float => "0.0".to_string(),
        Ty::Bool => "false".to_string(),
        Ty::Duration => "0s".to_string(),
        Ty::None | Ty::Optional(_) => "none".to_string(),
        Ty::List(_) => "[]".to_string(),
        Ty::Map(_) => "{}".to_string(),
        Ty::Enum(members) => match members.first() {
            Some(member) => format!("{member:?}"),
            None => "\"\"".to_string(),
        },
        Ty::Secret(inner) => placeholder(inner),
        Ty::Record(record) => {
            let fields: Vec<String> = record
                .fields
                .iter()
                .filter(|field| !field.optional)
                .map(|field| format!("{} = {}", field.name, placeholder(&field.ty)))
                .collect();
            if fields.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
    }
}

/// The edit that adds `lines` (`NAME = VALUE`) to `body`, one per line,
/// at the indentation of its fields.
fn insert_fields(text: &str, file: FileId, body: &Body, lines: &[String]) -> Option<TextEdit> {
    let open = body.span.start as usize;
    let close = (body.span.end as usize).checked_sub(1)?;
    if text.as_bytes().get(open) != Some(&b'{') || text.as_bytes().get(close) != Some(&b'}') {
        // A body the parser recovered: its text is not to be trusted.
        return None;
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let base = indentation(text, open);
    let unit = if base.contains('\t') { "\t" } else { "  " };
    let nested = format!("{base}{unit}");
    let on_lines = |indent: &str| -> String {
        lines.iter().map(|line| format!("{newline}{indent}{line}")).collect()
    };
    let insert = |at: usize, new_text: String| TextEdit {
        span: Span::new(file, at as u32, at as u32),
        new_text,
    };
    let Some(last) = body.fields.last() else {
        if text[open..close].contains('\n') {
            // `{` and `}` on their own lines: after the line of `{`.
            return Some(insert(line_end(text, open), on_lines(&nested)));
        }
        // `{}` becomes a block of lines.
        return Some(TextEdit {
            span: Span::new(file, open as u32 + 1, close as u32),
            new_text: format!("{}{newline}{base}", on_lines(&nested)),
        });
    };
    let first = body.fields[0].span.start as usize;
    let last_end = last.span.end as usize;
    let closes_on_last_line = !text[last_end..close].contains('\n');
    if line_start(text, first) <= open {
        // Fields written on the line of `{`.
        if closes_on_last_line && !text[open..close].contains('\n') {
            let same_line: String = lines.iter().map(|line| format!(" {line}")).collect();
            return Some(insert(last_end, same_line));
        }
        let at = if closes_on_last_line { last_end } else { line_end(text, last_end) };
        return Some(insert(at, on_lines(&nested)));
    }
    let indent = indentation(text, first);
    let at = if closes_on_last_line { last_end } else { line_end(text, last_end) };
    Some(insert(at, on_lines(indent)))
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The end of the line of `offset`, before its `\r\n` or `\n`.
fn line_end(text: &str, offset: usize) -> usize {
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    if end > offset && text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end }
}

/// The spaces and tabs at the start of the line of `offset`.
fn indentation(text: &str, offset: usize) -> &str {
    let start = line_start(text, offset);
    let line = &text[start..];
    let width = line.len() - line.trim_start_matches([' ', '\t']).len();
    &line[..width]
}

/// The resource, data or module declaration whose name is at `name`, at
/// any depth.
fn find_declaration(items: &[Item], name: Span) -> Option<&Item> {
    for item in items {
        if !item.span.contains(name.start) {
            continue;
        }
        let declared: Option<&Ident> = match &item.kind {
            ItemKind::Resource(resource) | ItemKind::Data(resource) => Some(&resource.name),
            ItemKind::Module(module) => Some(&module.name),
            _ => None,
        };
        if declared.is_some_and(|ident| ident.span == name) {
            return Some(item);
        }
        if let Some(found) =
            visit::child_blocks(item).into_iter().find_map(|b| find_declaration(&b.items, name))
        {
            return Some(found);
        }
    }
    None
}

/// The outermost expression of `items` whose span is `span`, and whether
/// its place binds more tightly than `??` (an operand of an operator, the
/// base of `.`, `[]` or a call), so that `x ?? d` there needs parentheses.
fn find_expr(items: &[Item], span: Span) -> Option<(&Expr, bool)> {
    for item in items.iter().filter(|item| item.span.contains(span.start)) {
        let roots = visit::item_exprs(item);
        if let Some(found) = roots.into_iter().find_map(|root| in_expr(root, span, false)) {
            return Some(found);
        }
        if let Some(found) =
            visit::child_blocks(item).into_iter().find_map(|b| find_expr(&b.items, span))
        {
            return Some(found);
        }
    }
    None
}

fn in_expr(expr: &Expr, span: Span, tight: bool) -> Option<(&Expr, bool)> {
    if expr.span == span {
        return Some((expr, tight));
    }
    if !(expr.span.start <= span.start && span.end <= expr.span.end) {
        return None;
    }
    visit::expr_children(expr)
        .into_iter()
        .enumerate()
        .find_map(|(index, child)| in_expr(child, span, binds_tighter_than_coalesce(expr, index)))
}

/// Whether the place of the `index`-th child of `parent` (in the order of
/// `visit::expr_children`) binds more tightly than `??`, so that a `??` added
/// there needs parentheses.
fn binds_tighter_than_coalesce(parent: &Expr, index: usize) -> bool {
    match &parent.kind {
        ExprKind::Unary { .. }
        | ExprKind::Conditional { .. }
        | ExprKind::Range { .. }
        | ExprKind::Field { .. } => true,
        ExprKind::Binary { op, .. } => index == 0 || *op != ast::BinaryOp::Coalesce,
        ExprKind::Index { .. } | ExprKind::Call { .. } => index == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ide::testing::{analyze_files, analyze_one};

    /// Applies every edit of `action` to `text`.
    fn apply(text: &str, action: &CodeAction) -> String {
        let mut edits = action.edits.clone();
        edits.sort_by_key(|edit| std::cmp::Reverse(edit.span.start));
        let mut out = text.to_string();
        for edit in edits {
            out.replace_range(edit.span.range(), &edit.new_text);
        }
        out
    }

    fn errors(files: &[(&str, &str)]) -> Vec<String> {
        analyze_files(files)
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.code, d.message))
            .collect()
    }

    /// The actions over the whole of `text`.
    fn actions(files: &[(&str, &str)]) -> Vec<CodeAction> {
        let analysis = analyze_files(files);
        code_actions(&analysis, FileId(0), 0, files[0].1.len() as u32)
    }

    #[test]
    fn did_you_mean_replaces_the_name() {
        let file = "resource f: fs.file {\n  path = \"/x\"\n}\n";
        let ignore = format!("@ignore_changes(contnet)\n{file}");
        let depends = format!("resource dir: fs.dir {{ path = \"/d\" }}\n@depends_on(dri)\n{file}");
        let provider = "provider pg as admin { url = \"postgres://127.0.0.1:5432/postgres\" }\n\
            @provider(admn)\nresource role: pg.role { name = \"app\" }\n";
        let kinds =
            format!("{file}policy p {{\n  assert length(resources(fs.fiel)) > 0, \"files\"\n}}\n");
        let common = ("c.orch", "let default = 1\ntype Service = { name: string }\n");
        // The files (the first is fixed), the misspelt name and the fix.
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case<'_>> = vec![
            (vec![("main.orch", "let port = 1\noutput o = prot\n")], "prot", "port"),
            (vec![("main.orch", "resource f: fs.file {\n  pth = \"/x\"\n}\n")], "pth", "path"),
            (
                vec![("main.orch", "resource f: fs.fle {\n  path = \"/x\"\n}\n")],
                "fs.fle",
                "fs.file",
            ),
            (vec![("main.orch", "output n = lenght([1])\n")], "lenght", "length"),
            (vec![("main.orch", "param p: strng = \"a\"\noutput o = p\n")], "strng", "string"),
            (
                vec![("main.orch", "@descripton(\"d\")\nlet x = 1\noutput o = x\n")],
                "descripton",
                "description",
            ),
            (
                vec![(
                    "main.orch",
                    "resource f: fs.file {\n  path = \"/x\"\n}\noutput o = f.sha265\n",
                )],
                "sha265",
                "sha256",
            ),
            (vec![("main.orch", &ignore)], "contnet", "content"),
            (vec![("main.orch", &depends)], "dri", "dir"),
            (vec![("main.orch", provider)], "admn", "admin"),
            (vec![("main.orch", &kinds)], "fs.fiel", "fs.file"),
            (
                vec![(
                    "main.orch",
                    "type T = { name: string }\nlet x: T = { nmae = \"a\" }\noutput o = x.name\n",
                )],
                "nmae",
                "name",
            ),
            (
                vec![("main.orch", "import \"./c.orch\" as c\noutput o = c.defualt\n"), common],
                "defualt",
                "default",
            ),
            (
                vec![
                    (
                        "main.orch",
                        "import \"./c.orch\" as c\nparam p: c.Servce = { name = \"a\" }\noutput o = p.name\n",
                    ),
                    common,
                ],
                "Servce",
                "Service",
            ),
            (
                vec![
                    ("main.orch", "module m: \"./m.orch\" { szie = 1 }\n"),
                    ("m.orch", "param size: int\noutput o = size\n"),
                ],
                "szie",
                "size",
            ),
        ];
        for (mut files, wrong, right) in cases {
            let text = files[0].1;
            let found = actions(&files);
            let fix = found
                .iter()
                .find(|a| a.title == format!("Change to `{right}`"))
                .unwrap_or_else(|| panic!("no fix in {text:?}: {found:?}"));
            assert!(fix.preferred);
            let fixed = apply(text, fix);
            assert_eq!(fixed, text.replacen(wrong, right, 1));
            files[0].1 = &fixed;
            assert_eq!(errors(&files), Vec::<String>::new(), "{fixed}");
        }
    }

    /// Every diagnostic whose label offers a name carries it as a
    /// suggestion.
    #[test]
    fn every_did_you_mean_has_a_suggestion() {
        let sources = [
            "let port = 1\noutput o = prot\n@descripton(\"d\")\nlet x = lenght([1])\n",
            "resource f: fs.fle {\n  pth = \"/x\"\n}\nparam p: strng\n",
        ];
        for source in sources {
            let analysis = analyze_one(source);
            let offered: Vec<_> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.primary.message.starts_with("did you mean"))
                .collect();
            assert!(offered.len() >= 2, "{offered:?}");
            for diagnostic in offered {
                let suggestion = diagnostic.suggestion.as_ref().expect("a suggestion");
                let named = format!("`{}`?", suggestion.replacement);
                assert!(
                    diagnostic.primary.message.replace('@', "").ends_with(&named),
                    "{diagnostic:?}"
                );
            }
        }
    }

    #[test]
    fn missing_fields_are_added_at_the_body_indentation() {
        let text = "for x in [\"a\"] {\n    resource r: pg.grant {\n        privileges = [\"ALL\"]\n    }\n}\n";
        let found = actions(&[("main.orch", text)]);
        let fix = found.iter().find(|a| a.title.starts_with("Add missing")).expect("a fix");
        assert_eq!(fix.title, "Add missing required fields `role`, `database`, `object_type`");
        assert_eq!(fix.diagnostics.len(), 3);
        let fixed = apply(text, fix);
        assert!(
            fixed.contains(
                "        privileges = [\"ALL\"]\n        role = \"\"\n        database = \"\"\n        \
                 object_type = \"database\"\n    }"
            ),
            "{fixed}"
        );
        assert_eq!(errors(&[("main.orch", &fixed)]), Vec::<String>::new());

        for (text, expected) in [
            ("resource f: fs.file {}\n", "resource f: fs.file {\n  path = \"\"\n}\n"),
            ("resource f: fs.file {\n}\n", "resource f: fs.file {\n  path = \"\"\n}\n"),
            (
                "resource f: fs.file { mode = 0o600 }\n",
                "resource f: fs.file { mode = 0o600 path = \"\" }\n",
            ),
            (
                "resource f: fs.file {\n  mode = 0o600 // private\n}\n",
                "resource f: fs.file {\n  mode = 0o600 // private\n  path = \"\"\n}\n",
            ),
        ] {
            let found = actions(&[("main.orch", text)]);
            let fix = found.iter().find(|a| a.title.starts_with("Add missing")).expect("a fix");
            let fixed = apply(text, fix);
            assert_eq!(fixed, expected);
            assert_eq!(errors(&[("main.orch", &fixed)]), Vec::<String>::new());
        }
    }

    #[test]
    fn missing_module_params_get_placeholders_of_their_types() {
        let module = "param name: string\nparam size: int\nparam on: bool\nparam tags: list<string>\n\
            param labels: map<string>\nparam mode: \"a\" | \"b\"\nparam keep: int = 1\n\
            output o = \"${name}${size}${on}${length(tags)}${length(labels)}${mode}${keep}\"\n";
        let text = "module m: \"./m.orch\" {\n  size = 2\n}\n";
        let files = [("main.orch", text), ("m.orch", module)];
        let found = actions(&files);
        let fix = found.iter().find(|a| a.title.starts_with("Add missing")).expect("a fix");
        let fixed = apply(text, fix);
        assert_eq!(
            fixed,
            "module m: \"./m.orch\" {\n  size = 2\n  name = \"\"\n  on = false\n  tags = []\n  labels = {}\n  mode = \"a\"\n}\n"
        );
        assert_eq!(errors(&[("main.orch", &fixed), ("m.orch", module)]), Vec::<String>::new());
    }

    #[test]
    fn values_that_may_be_none_get_question_dots_and_defaults() {
        let text = "param on: bool = true\nif on {\n  resource f: fs.file {\n    path = \"/x\"\n  }\n}\n\
            output h = f.sha256\n";
        let found = actions(&[("main.orch", text)]);
        let titles: Vec<&str> = found.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Use `?.sha256`", "Use `?.sha256` with a default: `?? \"\"`"]);
        let fixed = apply(text, &found[0]);
        assert!(fixed.ends_with("output h = f?.sha256\n"), "{fixed}");
        assert_eq!(errors(&[("main.orch", &fixed)]), Vec::<String>::new());

        let typed = text.replace("output h =", "output h: string =");
        let found = actions(&[("main.orch", &typed)]);
        let fixed = apply(&typed, &found[1]);
        assert!(fixed.ends_with("output h: string = f?.sha256 ?? \"\"\n"), "{fixed}");
        assert_eq!(errors(&[("main.orch", &fixed)]), Vec::<String>::new());

        // Where a `T` is required, and inside an interpolation.
        let text = "param p: int? = none\noutput o: int = p\noutput s = \"${p}\"\n";
        let found = actions(&[("main.orch", text)]);
        let titles: Vec<&str> = found.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Add a default: `?? 0`", "Add a default: `?? 0`"]);
        let mut fixed = text.to_string();
        for action in found.iter().rev() {
            fixed = apply(&fixed, action);
        }
        assert_eq!(
            fixed,
            "param p: int? = none\noutput o: int = p ?? 0\noutput s = \"${p ?? 0}\"\n"
        );
        assert_eq!(errors(&[("main.orch", &fixed)]), Vec::<String>::new());
    }

    #[test]
    fn presentation_queries_accept_any_prefix_of_a_program() {
        let program = "/// é😀\n@depends_on(b)\nresource a: fs.file {\n  pth = \"${x ?? 1}\"\n}\n\
            param p: int? = none\nif p != none {\n  data b: env.var {}\n}\n\
            output o = b.value\nlet l: string = p\n/* é\n */ output m = \"\"\"\n  ${lenght([1])}\n  \"\"\"\n\
            module m2: \"./m.orch\" { size = 1 }\nfor k, v in {a = 1} key k { let z = [for i in [v]: i] }\n";
        for (end, _) in program.char_indices() {
            let prefix = &program[..end];
            let analysis = analyze_files(&[("main.orch", prefix), ("m.orch", "param size: int\n")]);
            let length = prefix.len() as u32;
            let _ = crate::ide::semantic_tokens(&analysis, FileId(0));
            let _ = crate::ide::inlay_hints(&analysis, FileId(0), 0, length);
            for action in code_actions(&analysis, FileId(0), 0, length) {
                let fixed = apply(prefix, &action);
                let _ = analyze_one(&fixed);
            }
        }
    }

    #[test]
    fn actions_are_restricted_to_the_range() {
        let text = "output a = lenght([1])\noutput b = lenght([2])\n";
        let analysis = analyze_one(text);
        let second = text.rfind("lenght").unwrap() as u32;
        let found = code_actions(&analysis, FileId(0), second + 2, second + 2);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].edits[0].span.start, second);
    }
}
