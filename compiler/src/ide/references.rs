//! Find references: every place that names a declaration, a type alias, a
//! field of a record alias or a loop variable, across the files of the
//! analysis. Rename (`rename.rs`) edits the same places.
//!
//! The places come from the checker's side tables, keyed by the span of
//! each name: `resolutions` (names and `alias.NAME` of imports),
//! `member_resolutions` (`instance.output`), `type_resolutions` (type
//! names) and `field_uses` (fields of named records), plus two syntactic
//! sources: the arguments of `module` bodies, which name the params of the
//! module's file, and loop variables, which are not declarations
//! (`bindings.rs`).

use std::collections::HashSet;

use orch_lang::ast::{
    self, Expr, ExprKind, FieldKey, Ident, Item, ItemKind, TypeExpr, TypeExprKind,
};
use orch_lang::visit::{self, Visitor};
use orch_lang::{FileId, LineIndex, Span};
use orch_providers::lookup_kind;
use orch_stdlib::{RecordTy, Ty, lookup_function};
use smol_str::SmolStr;

use super::bindings::{Meaning, file_names};
use super::locate::{Found, find};
use super::scope::{decl, decl_named_at, module_alias, module_decl, target_file};
use crate::Analysis;
use crate::model::{DeclId, DeclInfo, DeclKind};

/// The type names the language defines.
pub(crate) const BUILTIN_TYPES: &[&str] =
    &["string", "int", "float", "bool", "duration", "any", "list", "map", "secret"];

const NOTHING: &str = "there is no name here";

/// What a name refers to, for references and rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A param, `let`, resource, data, module, output or import.
    Decl(DeclId),
    /// `type NAME = ...` in `file`.
    Alias { file: FileId, name: SmolStr },
    /// A field of the record that the alias `alias` of `file` declares.
    Field { file: FileId, alias: SmolStr, field: SmolStr },
    /// A variable of a `for` block or comprehension, by the span of its
    /// binding.
    Local { file: FileId, binder: Span },
}

/// The target of the name under the cursor.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub(crate) target: Target,
    /// The name under the cursor.
    pub(crate) span: Span,
    pub(crate) name: SmolStr,
}

/// One place that names a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub(crate) span: Span,
    pub(crate) declaration: bool,
    /// A plain identifier, resolved by scope (so another binding of the
    /// same name may capture it), rather than a qualified name, a type
    /// name, a field or a module argument.
    pub(crate) bare: bool,
}

/// Every place that names a target, and the places where it cannot be
/// told whether they do.
#[derive(Debug, Default)]
pub(crate) struct Occurrences {
    pub(crate) list: Vec<Occurrence>,
    pub(crate) problems: Vec<String>,
}

/// The places that name what is under `offset` in `file`, in every file:
/// byte spans of the names, sorted by file and position.
pub fn references(
    analysis: &Analysis,
    file: FileId,
    offset: u32,
    include_declaration: bool,
) -> Vec<Span> {
    let Ok(named) = target_at(analysis, file, offset) else { return Vec::new() };
    occurrences(analysis, &named.target)
        .list
        .into_iter()
        .filter(|occurrence| include_declaration || !occurrence.declaration)
        .map(|occurrence| occurrence.span)
        .collect()
}

/// What the name at `offset` refers to, or why there is nothing there that
/// references or rename can follow.
pub(crate) fn target_at(analysis: &Analysis, file: FileId, offset: u32) -> Result<Named, String> {
    if file.0 as usize >= analysis.files.len() {
        return Err(NOTHING.to_string());
    }
    let ast = &analysis.files.get(file).parsed.file;
    if let Some(found) = type_target(analysis, file, &ast.items, offset) {
        return found;
    }
    let names = file_names(analysis, ast);
    if let Some(binder) = names.binders().iter().find(|binder| binder.ident.span.contains(offset)) {
        return Ok(local(file, binder.ident.span, binder.ident));
    }
    match find(ast, offset) {
        None => Err(NOTHING.to_string()),
        Some(Found::DeclName { item, name }) => match decl_named_at(analysis, name.span) {
            Some(info) => decl_target(analysis, info, name.span),
            None => Err(match item.kind {
                ItemKind::Provider(_) => "provider settings cannot be renamed".to_string(),
                ItemKind::Policy(_) => {
                    format!("the policy `{}` is not referred to by name", name.name)
                }
                _ => NOTHING.to_string(),
            }),
        },
        Some(Found::Kind { path }) => {
            Err(format!("`{}` is a kind of the standard library", path.to_dotted()))
        }
        Some(Found::BodyField { owner, field }) => {
            let FieldKey::Name(key) = &field.key else { return Err(NOTHING.to_string()) };
            match &owner.kind {
                ItemKind::Module(module) => {
                    let module = decl_named_at(analysis, module.name.span)
                        .ok_or_else(|| NOTHING.to_string())?;
                    let target = target_file(analysis, module.id).ok_or_else(|| {
                        format!("the file of the module `{}` was not loaded", module_name(module))
                    })?;
                    let param = module_decl(analysis, target, &key.name)
                        .filter(|decl| decl.kind == DeclKind::Param)
                        .ok_or_else(|| {
                            format!(
                                "the module `{}` has no param `{}`",
                                module_name(module),
                                key.name
                            )
                        })?;
                    decl_target(analysis, param, key.span)
                }
                ItemKind::Resource(resource) | ItemKind::Data(resource) => Err(format!(
                    "`{}` is a field of the kind `{}` from the standard library",
                    key.name,
                    resource.kind.to_dotted()
                )),
                _ => Err("provider settings cannot be renamed".to_string()),
            }
        }
        Some(Found::Member { name, .. }) => {
            let checked = &analysis.checked;
            let resolved = checked.resolutions.get(&name.span);
            if let Some(&id) = resolved.or_else(|| checked.member_resolutions.get(&name.span)) {
                let info = decl(analysis, id).ok_or_else(|| NOTHING.to_string())?;
                return decl_target(analysis, info, name.span);
            }
            match checked.field_uses.get(&name.span) {
                Some(record) => field_target(analysis, record, &name.name, name.span),
                None => Err(format!("`{}` is not a field of a named record type", name.name)),
            }
        }
        Some(Found::Callee { name }) => Err(if lookup_function(&name.name).is_some() {
            format!("`{}` is a built-in function", name.name)
        } else {
            format!("`{}` is not a known function", name.name)
        }),
        Some(Found::Expr { expr, .. }) => match &expr.kind {
            ExprKind::Ident(ident) => {
                let meaning = names.uses.iter().find(|u| u.ident.span == ident.span);
                match meaning.map(|u| u.meaning) {
                    Some(Meaning::Decl(id)) => {
                        let info = decl(analysis, id).ok_or_else(|| NOTHING.to_string())?;
                        decl_target(analysis, info, ident.span)
                    }
                    Some(Meaning::Local(binder)) => Ok(local(file, binder, ident)),
                    _ => Err(format!("`{}` is not declared", ident.name)),
                }
            }
            ExprKind::Str(lit) => {
                let record = analysis.checked.field_uses.get(&lit.span);
                match (record, lit.as_plain()) {
                    (Some(record), Some(text)) => {
                        let span = quoted_name(analysis, lit.span, &text)
                            .ok_or_else(|| NOTHING.to_string())?;
                        field_target(analysis, record, &text, span)
                    }
                    _ => Err(NOTHING.to_string()),
                }
            }
            ExprKind::Object(fields) => {
                let field = fields
                    .iter()
                    .find(|field| field.key.span().contains(offset))
                    .ok_or_else(|| NOTHING.to_string())?;
                let record = analysis.checked.field_uses.get(&field.key.span());
                match (&field.key, record) {
                    (FieldKey::Name(key), Some(record)) => {
                        field_target(analysis, record, &key.name, key.span)
                    }
                    (FieldKey::Quoted(lit), Some(record)) => {
                        let text = lit.as_plain().ok_or_else(|| NOTHING.to_string())?;
                        let span = quoted_name(analysis, lit.span, &text)
                            .ok_or_else(|| NOTHING.to_string())?;
                        field_target(analysis, record, &text, span)
                    }
                    (_, None) => Err(
                        "this key is not checked against a named record type (`type NAME = { ... }`)"
                            .to_string(),
                    ),
                }
            }
            _ => Err(NOTHING.to_string()),
        },
    }
}

fn module_name(module: &DeclInfo) -> &str {
    module.name.as_deref().unwrap_or_default()
}

fn local(file: FileId, binder: Span, ident: &Ident) -> Named {
    Named { target: Target::Local { file, binder }, span: ident.span, name: ident.name.clone() }
}

/// A declaration as a target, unless it is a duplicate (which nothing
/// refers to).
fn decl_target(analysis: &Analysis, info: &DeclInfo, span: Span) -> Result<Named, String> {
    let name = info.name.clone().ok_or_else(|| NOTHING.to_string())?;
    let first = analysis.decls.iter().find(|other| {
        analysis.same_module(other.file, info.file)
            && other.block == info.block
            && other.name == info.name
            && !matches!(other.kind, DeclKind::Assert | DeclKind::Warn)
    });
    if first.map(|d| d.id) != Some(info.id) {
        return Err(format!("`{name}` is declared twice; remove or rename the other declaration"));
    }
    Ok(Named { target: Target::Decl(info.id), span, name })
}

/// The span of `text` inside a string literal written exactly `"text"`.
fn quoted_name(analysis: &Analysis, lit: Span, text: &str) -> Option<Span> {
    let source = &analysis.files.get(lit.file).source;
    let written = source.get(lit.range())?;
    (written.len() == text.len() + 2 && written.get(1..written.len() - 1) == Some(text))
        .then(|| Span::new(lit.file, lit.start + 1, lit.end - 1))
}

/// A field of a named record as a target.
fn field_target(
    analysis: &Analysis,
    record: &RecordTy,
    field: &str,
    span: Span,
) -> Result<Named, String> {
    let record_name = record.name.as_deref().unwrap_or_default();
    if lookup_kind(record_name).is_some() {
        return Err(format!(
            "`{field}` is a field of the kind `{record_name}` from the standard library"
        ));
    }
    match field_owners(analysis, record).as_slice() {
        [(file, alias)] => Ok(Named {
            target: Target::Field { file: *file, alias: alias.clone(), field: field.into() },
            span,
            name: field.into(),
        }),
        [] => Err(format!("`{field}` is not a field of a type alias")),
        _ => Err(format!(
            "several files declare a record type `{record_name}` like this one; \
             its fields cannot be told apart"
        )),
    }
}

/// The aliases that may have declared `record`: those of its name that
/// declare a record (not `type B = A`), narrowed to those of the same
/// type when the name alone is ambiguous.
fn field_owners(analysis: &Analysis, record: &RecordTy) -> Vec<(FileId, SmolStr)> {
    let Some(name) = &record.name else { return Vec::new() };
    let declares = |ty: &Ty| matches!(ty, Ty::Record(r) if r.name.as_ref() == Some(name));
    let mut owners: Vec<(FileId, SmolStr)> = analysis
        .checked
        .aliases
        .iter()
        .filter(|((_, alias), ty)| alias == name && declares(ty))
        .map(|(key, _)| key.clone())
        .collect();
    if owners.len() > 1 {
        owners.retain(|key| {
            matches!(analysis.checked.aliases.get(key), Some(Ty::Record(r)) if **r == *record)
        });
    }
    owners.sort();
    owners
}

/// The target of a name written in a type expression, or the name of a
/// type alias, at `offset`.
fn type_target(
    analysis: &Analysis,
    file: FileId,
    items: &[Item],
    offset: u32,
) -> Option<Result<Named, String>> {
    for item in all_items(items).into_iter().filter(|item| item.span.contains(offset)) {
        let found = match &item.kind {
            ItemKind::Param(param) => type_expr(analysis, &param.ty, None, offset),
            ItemKind::Let(decl) => {
                decl.ty.as_ref().and_then(|ty| type_expr(analysis, ty, None, offset))
            }
            ItemKind::Output(output) => {
                output.ty.as_ref().and_then(|ty| type_expr(analysis, ty, None, offset))
            }
            ItemKind::TypeAlias(alias) => {
                if alias.name.span.contains(offset) {
                    return Some(alias_target(analysis, file, &alias.name));
                }
                type_expr(analysis, &alias.ty, Some(&alias.name), offset)
                    .map(|found| found.and_then(|named| declared_once(analysis, named)))
            }
            // No type expressions of their own (those inside blocks are
            // items of `all_items` too).
            ItemKind::Resource(_)
            | ItemKind::Data(_)
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
            | ItemKind::Error => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The alias named `name` where it is declared, unless it is declared
/// twice.
fn alias_target(analysis: &Analysis, file: FileId, name: &Ident) -> Result<Named, String> {
    let first = module_alias(analysis, file, &name.name).map(|(_, alias)| alias.name.span);
    if first != Some(name.span) {
        return Err(format!(
            "the type `{}` is declared twice; remove or rename the other declaration",
            name.name
        ));
    }
    // Aliases belong to modules, keyed by the module's representative.
    let file = analysis.files.module_of(file);
    if !analysis.checked.aliases.contains_key(&(file, name.name.clone())) {
        return Err(NOTHING.to_string());
    }
    let target = Target::Alias { file, name: name.name.clone() };
    Ok(Named { target, span: name.span, name: name.name.clone() })
}

/// A field written in a duplicate alias is not the field of the alias.
fn declared_once(analysis: &Analysis, named: Named) -> Result<Named, String> {
    if let Target::Field { file, alias, .. } = &named.target {
        let declared = module_alias(analysis, *file, alias)
            .and_then(|(_, decl)| record_fields(&decl.ty))
            .is_some_and(|fields| fields.iter().any(|field| field.name.span == named.span));
        if !declared || !analysis.checked.aliases.contains_key(&(*file, alias.clone())) {
            return Err(format!(
                "the type `{alias}` is declared twice; remove or rename the other declaration"
            ));
        }
    }
    Ok(named)
}

/// The target of the name at `offset` in the type expression `ty`; `alias`
/// is the alias whose record `ty` declares, if it does.
fn type_expr(
    analysis: &Analysis,
    ty: &TypeExpr,
    alias: Option<&Ident>,
    offset: u32,
) -> Option<Result<Named, String>> {
    if !ty.span.contains(offset) {
        return None;
    }
    match &ty.kind {
        TypeExprKind::Named(path) => {
            let segment = path.segments.iter().position(|s| s.span.contains(offset))?;
            Some(type_name(analysis, path, segment))
        }
        TypeExprKind::Generic { name, args } => {
            if name.span.contains(offset) {
                return Some(Err(format!("`{}` is a built-in type", name.to_dotted())));
            }
            args.iter().find_map(|arg| type_expr(analysis, arg, None, offset))
        }
        TypeExprKind::Record(fields) => {
            for field in fields {
                if field.name.span.contains(offset) {
                    return Some(match alias {
                        Some(alias) => Ok(Named {
                            target: Target::Field {
                                file: field.name.span.file,
                                alias: alias.name.clone(),
                                field: field.name.name.clone(),
                            },
                            span: field.name.span,
                            name: field.name.name.clone(),
                        }),
                        None => Err("only the fields of a record declared by a type alias \
                                     (`type NAME = { ... }`) can be renamed"
                            .to_string()),
                    });
                }
                if let Some(found) = type_expr(analysis, &field.ty, None, offset) {
                    return Some(found);
                }
            }
            None
        }
        TypeExprKind::Paren(inner) => type_expr(analysis, inner, alias, offset),
        TypeExprKind::Optional(inner) => type_expr(analysis, inner, None, offset),
        TypeExprKind::Union(members) => {
            members.iter().find_map(|member| type_expr(analysis, member, None, offset))
        }
        TypeExprKind::Literal(_) | TypeExprKind::Error => None,
    }
}

/// Segment `segment` of a type name: an alias, or the import of
/// `alias.Type`.
fn type_name(analysis: &Analysis, path: &ast::Path, segment: usize) -> Result<Named, String> {
    let ident = &path.segments[segment];
    let alias = |(file, name): &(FileId, SmolStr)| Named {
        target: Target::Alias { file: *file, name: name.clone() },
        span: ident.span,
        name: name.clone(),
    };
    if path.segments.len() == 1 && BUILTIN_TYPES.contains(&ident.name.as_str()) {
        return Err(format!("`{}` is a built-in type", ident.name));
    }
    if lookup_kind(&path.to_dotted()).is_some() {
        return Err(format!("`{}` is a kind of the standard library", path.to_dotted()));
    }
    if let Some(found) = analysis.checked.type_resolutions.get(&ident.span) {
        return Ok(alias(found));
    }
    if segment == 0
        && path.segments.len() > 1
        && let Some(info) =
            analysis.checked.resolutions.get(&ident.span).and_then(|&id| decl(analysis, id))
    {
        return decl_target(analysis, info, ident.span);
    }
    Err(format!("`{}` is not a declared type", path.to_dotted()))
}

/// Every item of `items`, with those inside `if`, `for` and `policy`
/// blocks, in source order.
pub(crate) fn all_items(items: &[Item]) -> Vec<&Item> {
    let mut out = Vec::new();
    collect_items(items, &mut out);
    out
}

fn collect_items<'a>(items: &'a [Item], out: &mut Vec<&'a Item>) {
    struct Items<'o, 'a>(&'o mut Vec<&'a Item>);
    impl<'a> Visitor<'a> for Items<'_, 'a> {
        fn visit_item(&mut self, item: &'a Item) {
            self.0.push(item);
            visit::walk_item(self, item);
        }
        // No item is written inside an expression.
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    visit::walk_items(&mut Items(out), items);
}

/// The alias `name` as the checker registered it: the first declared.
pub(crate) fn alias_decl<'a>(items: &'a [Item], name: &str) -> Option<&'a ast::TypeAlias> {
    all_items(items).into_iter().find_map(|item| match &item.kind {
        ItemKind::TypeAlias(alias) if alias.name.name == name => Some(alias),
        _ => None,
    })
}

/// The fields of a record type expression (through parentheses).
pub(crate) fn record_fields(ty: &TypeExpr) -> Option<&[ast::RecordFieldType]> {
    match &ty.kind {
        TypeExprKind::Record(fields) => Some(fields),
        TypeExprKind::Paren(inner) => record_fields(inner),
        _ => None,
    }
}

/// Every place that names `target`, sorted by file and position.
pub(crate) fn occurrences(analysis: &Analysis, target: &Target) -> Occurrences {
    let mut out = Occurrences::default();
    match target {
        Target::Decl(id) => decl_occurrences(analysis, *id, &mut out),
        Target::Alias { file, name } => {
            if let Some((_, alias)) = module_alias(analysis, *file, name) {
                out.list.push(declaration(alias.name.span));
            }
            let module = analysis.files.module_of(*file);
            for (span, resolved) in &analysis.checked.type_resolutions {
                if resolved.0 == module && resolved.1 == *name {
                    out.list.push(qualified(*span));
                }
            }
        }
        Target::Field { file, alias, field } => {
            field_occurrences(analysis, *file, alias, field, &mut out)
        }
        Target::Local { file, binder } => {
            out.list.push(declaration(*binder));
            let names = file_names(analysis, &analysis.files.get(*file).parsed.file);
            for name in &names.uses {
                if name.meaning == Meaning::Local(*binder) {
                    out.list.push(Occurrence {
                        span: name.ident.span,
                        declaration: false,
                        bare: true,
                    });
                }
            }
        }
    }
    out.list.sort_by_key(|occurrence| (occurrence.span.file, occurrence.span.start));
    out.list.dedup_by_key(|occurrence| occurrence.span);
    out
}

fn declaration(span: Span) -> Occurrence {
    Occurrence { span, declaration: true, bare: false }
}

fn qualified(span: Span) -> Occurrence {
    Occurrence { span, declaration: false, bare: false }
}

fn decl_occurrences(analysis: &Analysis, id: DeclId, out: &mut Occurrences) {
    let Some(info) = decl(analysis, id) else { return };
    out.list.push(declaration(info.name_span));
    let names = file_names(analysis, &analysis.files.get(info.file).parsed.file);
    let uses: HashSet<Span> = names.uses.iter().map(|name| name.ident.span).collect();
    for (span, resolved) in &analysis.checked.resolutions {
        if *resolved == id {
            out.list.push(Occurrence {
                span: *span,
                declaration: false,
                bare: uses.contains(span),
            });
        }
    }
    for (span, resolved) in &analysis.checked.member_resolutions {
        if *resolved == id {
            out.list.push(qualified(*span));
        }
    }
    if info.kind == DeclKind::Param {
        for key in module_arguments(analysis, info) {
            out.list.push(qualified(key.span));
        }
    }
}

/// The arguments `NAME = ...` of every `module` body that sets the param
/// `param`.
pub(crate) fn module_arguments<'a>(analysis: &'a Analysis, param: &DeclInfo) -> Vec<&'a Ident> {
    let mut out = Vec::new();
    for (_, body) in module_bodies(analysis, param.file) {
        for field in &body.fields {
            if let FieldKey::Name(key) = &field.key
                && Some(&key.name) == param.name.as_ref()
            {
                out.push(key);
            }
        }
    }
    out
}

/// Every `module` declaration that instantiates `file`, with its body.
pub(crate) fn module_bodies(analysis: &Analysis, file: FileId) -> Vec<(&DeclInfo, &ast::Body)> {
    let mut out = Vec::new();
    for source in analysis.files.iter() {
        for item in all_items(&source.parsed.file.items) {
            let ItemKind::Module(module) = &item.kind else { continue };
            let Some(info) = decl_named_at(analysis, module.name.span) else { continue };
            if target_file(analysis, info.id) == Some(analysis.files.module_of(file)) {
                out.push((info, &module.body));
            }
        }
    }
    out
}

fn field_occurrences(
    analysis: &Analysis,
    file: FileId,
    alias: &str,
    field: &str,
    out: &mut Occurrences,
) {
    let declared =
        module_alias(analysis, file, alias).and_then(|(_, decl)| record_fields(&decl.ty));
    if let Some(written) = declared.and_then(|fields| fields.iter().find(|f| f.name.name == field))
    {
        out.list.push(declaration(written.name.span));
    }
    let owner = (analysis.files.module_of(file), SmolStr::new(alias));
    for (span, record) in &analysis.checked.field_uses {
        if record.name.as_deref() != Some(alias) {
            continue;
        }
        let source = &analysis.files.get(span.file).source;
        let written = source.get(span.range()).unwrap_or_default();
        let span = if written == field {
            *span
        } else if written.len() == field.len() + 2
            && written.starts_with('"')
            && written.get(1..written.len() - 1) == Some(field)
        {
            Span::new(span.file, span.start + 1, span.end - 1)
        } else {
            continue;
        };
        let owners = field_owners(analysis, record);
        if owners == [owner.clone()] {
            out.list.push(qualified(span));
        } else if owners.contains(&owner) {
            out.problems.push(format!(
                "cannot tell which `{alias}` the field at {} belongs to: several files declare it alike",
                place(analysis, span)
            ));
        }
    }
}

/// `path:line` of a span, for messages.
pub(crate) fn place(analysis: &Analysis, span: Span) -> String {
    if span.file.0 as usize >= analysis.files.len() {
        return "an unknown place".to_string();
    }
    let file = analysis.files.get(span.file);
    let line = LineIndex::new(&file.source).line_of(span.start) + 1;
    format!("{}:{line}", file.path)
}
