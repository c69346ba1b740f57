//! Type expressions to types.

use std::collections::HashSet;

use orch_lang::ast::{Ident, TypeExpr, TypeExprKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId};
use orch_providers::lookup_kind;
use orch_stdlib::{FieldTy, Ty};
use smol_str::SmolStr;

use super::Checker;
use crate::model::DeclKind;
use crate::suggest::closest;

const BUILTIN_TYPES: &[&str] =
    &["string", "int", "float", "bool", "duration", "any", "list", "map", "secret"];

/// The type a type expression denotes; reports unknown names.
pub(super) fn resolve(checker: &mut Checker<'_, '_>, file: FileId, ty: &TypeExpr) -> Ty {
    resolve_in(checker, file, ty, &mut HashSet::new())
}

fn resolve_in(
    checker: &mut Checker<'_, '_>,
    file: FileId,
    ty: &TypeExpr,
    seen: &mut HashSet<SmolStr>,
) -> Ty {
    // Aliases belong to modules: key them by the module's representative.
    let file = checker.model.modules.representative(file);
    match &ty.kind {
        TypeExprKind::Named(path) => {
            let dotted = path.to_dotted();
            if path.segments.len() == 1 {
                match dotted.as_str() {
                    "string" => return Ty::String,
                    "int" => return Ty::Int,
                    "float" => return Ty::Float,
                    "bool" => return Ty::Bool,
                    "duration" => return Ty::Duration,
                    "any" => return Ty::Any,
                    "list" | "map" | "secret" => {
                        checker.error(
                            Diagnostic::new(
                                &codes::E0104,
                                ty.span,
                                format!("`{dotted}` needs a type argument"),
                            )
                            .with_help(format!(
                                "write `{dotted}<T>`, for example `{dotted}<string>`"
                            )),
                        );
                        return Ty::Error;
                    }
                    _ => {}
                }
                record_type_name(checker, file, &path.segments[0]);
                return alias(checker, file, &path.segments[0].name, ty, seen);
            }
            // `alias.Type` from an import, or a resource kind.
            if let Some(kind) = lookup_kind(&dotted) {
                return kind.instance_type();
            }
            let first = &path.segments[0].name;
            let import = checker.model.modules.get(&file).and_then(|m| m.names.get(first).copied());
            if let Some(import) = import.filter(|d| checker.model.decl(*d).kind == DeclKind::Import)
                && path.segments.len() == 2
            {
                checker.used_import(import);
                checker.out.resolutions.insert(path.segments[0].span, import);
                if let Some(&target) = checker.out.targets.get(&import) {
                    record_type_name(checker, target, &path.segments[1]);
                    return alias(checker, target, &path.segments[1].name, ty, seen);
                }
                return Ty::Error;
            }
            checker.error(Diagnostic::new(&codes::E0104, ty.span, format!("unknown type `{dotted}`")).with_help(
                "a qualified type is a resource kind (`fs.file`) or a type of an imported file (`common.Service`)",
            ));
            Ty::Error
        }
        TypeExprKind::Generic { name, args } => {
            let dotted = name.to_dotted();
            let expected_args = match dotted.as_str() {
                "list" | "map" | "secret" => 1,
                _ => {
                    checker.error(
                        Diagnostic::new(
                            &codes::E0104,
                            name.span,
                            format!("unknown generic type `{dotted}`"),
                        )
                        .with_help("the generic types are `list<T>`, `map<T>` and `secret<T>`"),
                    );
                    return Ty::Error;
                }
            };
            if args.len() != expected_args {
                checker.error(Diagnostic::new(
                    &codes::E0104,
                    ty.span,
                    format!("`{dotted}` takes one type argument, found {}", args.len()),
                ));
                return Ty::Error;
            }
            let inner = resolve_in(checker, file, &args[0], seen);
            match dotted.as_str() {
                "list" => Ty::list(inner),
                "map" => Ty::map(inner),
                _ => Ty::secret(inner),
            }
        }
        TypeExprKind::Record(fields) => {
            let mut out: Vec<FieldTy> = Vec::new();
            for field in fields {
                if out.iter().any(|f| f.name == field.name.name) {
                    checker.error(Diagnostic::new(
                        &codes::E0102,
                        field.name.span,
                        format!("the field `{}` is declared twice", field.name.name),
                    ));
                    continue;
                }
                let ty = resolve_in(checker, file, &field.ty, seen);
                out.push(FieldTy { name: field.name.name.clone(), ty, optional: field.optional });
            }
            Ty::record(None, out)
        }
        TypeExprKind::Optional(inner) => Ty::optional(resolve_in(checker, file, inner, seen)),
        TypeExprKind::Paren(inner) => resolve_in(checker, file, inner, seen),
        TypeExprKind::Literal(text) => Ty::Enum(vec![SmolStr::new(text)].into()),
        TypeExprKind::Union(members) => {
            let mut names: Vec<SmolStr> = Vec::new();
            for member in members {
                match resolve_in(checker, file, member, seen) {
                    Ty::Enum(items) => {
                        for item in items.iter() {
                            if !names.contains(item) {
                                names.push(item.clone());
                            }
                        }
                    }
                    Ty::Error => return Ty::Error,
                    other => {
                        checker.error(
                            Diagnostic::new(
                                &codes::E0104,
                                member.span,
                                format!("a union may only list string literals, found `{other}`"),
                            )
                            .with_help(
                                "write an enum as `\"a\" | \"b\"`; use `T?` for an optional value",
                            ),
                        );
                        return Ty::Error;
                    }
                }
            }
            Ty::Enum(names.into())
        }
        TypeExprKind::Error => Ty::Error,
    }
}

/// Records which alias a type name refers to, when `file` declares it.
fn record_type_name(checker: &mut Checker<'_, '_>, file: FileId, name: &Ident) {
    let file = checker.model.modules.representative(file);
    let declared =
        checker.model.modules.get(&file).is_some_and(|m| m.types.contains_key(&name.name));
    if declared {
        checker.out.type_resolutions.insert(name.span, (file, name.name.clone()));
    }
}

/// A type alias of `file`, resolved (aliases may refer to each other, not
/// to themselves).
fn alias(
    checker: &mut Checker<'_, '_>,
    file: FileId,
    name: &str,
    ty: &TypeExpr,
    seen: &mut HashSet<SmolStr>,
) -> Ty {
    let file = checker.model.modules.representative(file);
    let Some(alias) = checker.model.modules.get(&file).and_then(|m| m.types.get(name).copied())
    else {
        let mut candidates: Vec<&str> = BUILTIN_TYPES.to_vec();
        let local: Vec<SmolStr> = checker
            .model
            .modules
            .get(&file)
            .map(|m| m.types.keys().cloned().collect())
            .unwrap_or_default();
        candidates.extend(local.iter().map(SmolStr::as_str));
        let mut diagnostic =
            Diagnostic::new(&codes::E0104, ty.span, format!("unknown type `{name}`"));
        if let Some(suggestion) = closest(name, candidates.iter().copied()) {
            // In `common.Servce`, only the last segment is replaced, unless
            // the suggestion is a built-in type.
            let span = match &ty.kind {
                TypeExprKind::Named(path) if !BUILTIN_TYPES.contains(&suggestion) => {
                    path.segments.last().map_or(ty.span, |segment| segment.span)
                }
                _ => ty.span,
            };
            diagnostic = diagnostic
                .with_primary_message(format!("did you mean `{suggestion}`?"))
                .with_suggestion(span, suggestion);
        }
        checker.error(diagnostic);
        return Ty::Error;
    };
    // Each alias is resolved once, so that a mistake in it is reported
    // once however often it is used.
    if let Some(resolved) = checker.alias_types.get(&(file, SmolStr::new(name))) {
        return resolved.clone();
    }
    let key = SmolStr::new(format!("{}:{name}", file.0));
    if !seen.insert(key.clone()) {
        checker.error(
            Diagnostic::new(&codes::E0104, ty.span, format!("the type `{name}` refers to itself"))
                .with_help("recursive types are not supported"),
        );
        return Ty::Error;
    }
    let resolved = resolve_in(checker, file, &alias.ty, seen);
    seen.remove(&key);
    let resolved = match resolved {
        Ty::Record(record) if record.name.is_none() => {
            Ty::record(Some(name), record.fields.clone())
        }
        other => other,
    };
    checker.alias_types.insert((file, SmolStr::new(name)), resolved.clone());
    resolved
}

/// Resolves every type alias of every module, used or not, so that a
/// mistake in an unused alias is reported too.
pub(super) fn check_aliases(checker: &mut Checker<'_, '_>) {
    let mut aliases: Vec<(FileId, u32, SmolStr, &TypeExpr)> = Vec::new();
    for (&file, module) in &checker.model.modules {
        for (name, alias) in &module.types {
            aliases.push((file, alias.name.span.start, name.clone(), &alias.ty));
        }
    }
    aliases.sort_by_key(|(file, start, _, _)| (*file, *start));
    for (file, _, name, ty) in aliases {
        alias(checker, file, &name, ty, &mut HashSet::new());
    }
}
