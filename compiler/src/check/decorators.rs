//! Decorators: known names, the declarations they may stand on, and their
//! arguments.

use orch_lang::ast::{self, ExprKind, ItemKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, Span};
use orch_providers::lookup_kind;
use orch_stdlib::Ty;

use super::Checker;
use super::exprs::dotted_path;
use crate::decorator::DecoratorKind;
use crate::model::{DeclId, DeclKind};
use crate::suggest::closest;

/// Whether `name` is a decorator that applies to `kind` (a field of that
/// name in a body was meant as the decorator).
pub(super) fn is_decorator_of(name: &str, kind: DeclKind) -> bool {
    DecoratorKind::from_name(name).is_some_and(|d| d.applies_to().contains(&kind))
}

pub(super) fn check(checker: &mut Checker<'_, '_>, id: DeclId) {
    let decl = checker.model.decl(id);
    let (file, scope, kind, item) = (decl.file, decl.scope, decl.kind, decl.item);
    let mut seen: Vec<DecoratorKind> = Vec::new();
    for decorator in &item.decorators {
        let name = decorator.name.name.as_str();
        let Some(known) = DecoratorKind::from_name(name) else {
            let mut diagnostic = Diagnostic::new(
                &codes::E0106,
                decorator.name.span,
                format!("unknown decorator `@{name}`"),
            );
            if let Some(suggestion) = closest(name, DecoratorKind::ALL.iter().map(|d| d.name())) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `@{suggestion}`?"))
                    .with_suggestion(decorator.name.span, suggestion);
            }
            let names: Vec<String> =
                DecoratorKind::ALL.iter().map(|d| format!("@{}", d.name())).collect();
            checker.error(diagnostic.with_help(format!("decorators: {}", names.join(", "))));
            continue;
        };
        if !known.applies_to().contains(&kind) {
            checker.error(Diagnostic::new(
                &codes::E0208,
                decorator.span,
                format!("`@{name}` cannot be used on a `{}`", kind.describe()),
            ));
            continue;
        }
        if seen.contains(&known) {
            checker.error(Diagnostic::new(
                &codes::E0208,
                decorator.span,
                format!("`@{name}` is given twice"),
            ));
            continue;
        }
        seen.push(known);
        let args: &[ast::Arg] = decorator.args.as_deref().unwrap_or(&[]);
        match known {
            DecoratorKind::Description => {
                let [arg] = args else {
                    wrong_args(checker, decorator.span, "`@description` takes one string");
                    continue;
                };
                let typed = checker.expr(file, &arg.value, scope, Some(&Ty::String));
                checker.expect_type(&arg.value, &typed, &Ty::String, "a description");
            }
            DecoratorKind::PreventDestroy | DecoratorKind::CreateBeforeDestroy => {
                if decorator.args.is_none() {
                    continue;
                }
                wrong_args(
                    checker,
                    decorator.span,
                    &format!("`@{name}` takes no arguments; write `@{name}`"),
                );
            }
            DecoratorKind::DependsOn => {
                if args.is_empty() {
                    wrong_args(
                        checker,
                        decorator.span,
                        "`@depends_on` names at least one declaration",
                    );
                }
                for arg in args {
                    depends_on(checker, file, scope, arg);
                }
            }
            DecoratorKind::IgnoreChanges => {
                let kind_name = match &item.kind {
                    ItemKind::Resource(resource) => resource.kind.to_dotted(),
                    _ => String::new(),
                };
                for arg in args {
                    let ExprKind::Ident(field) = &arg.value.kind else {
                        wrong_args(
                            checker,
                            arg.span,
                            "`@ignore_changes` takes field names, such as `content`",
                        );
                        continue;
                    };
                    if let Some(kind) = lookup_kind(&kind_name)
                        && kind.inputs().all(|f| f.name != field.name)
                    {
                        let names: Vec<&str> = kind.inputs().map(|f| f.name).collect();
                        let mut diagnostic = Diagnostic::new(
                            &codes::E0301,
                            field.span,
                            format!("unknown field `{}` on {kind_name}", field.name),
                        );
                        if let Some(suggestion) = closest(&field.name, names.iter().copied()) {
                            diagnostic = diagnostic
                                .with_primary_message(format!("did you mean `{suggestion}`?"))
                                .with_suggestion(field.span, suggestion);
                        }
                        checker.error(diagnostic);
                    }
                }
            }
            DecoratorKind::Timeout => {
                let [arg] = args else {
                    wrong_args(
                        checker,
                        decorator.span,
                        "`@timeout` takes one duration, such as `5m`",
                    );
                    continue;
                };
                let typed = checker.expr(file, &arg.value, scope, Some(&Ty::Duration));
                checker.expect_type(&arg.value, &typed, &Ty::Duration, "a timeout");
            }
            DecoratorKind::Retry => {
                for arg in args {
                    let expected = match arg.name.as_ref().map(|n| n.name.as_str()) {
                        Some("attempts") => Ty::Int,
                        Some("backoff") => Ty::Duration,
                        _ => {
                            wrong_args(
                                checker,
                                arg.span,
                                "`@retry` takes `attempts = N` and `backoff = DURATION`",
                            );
                            continue;
                        }
                    };
                    let typed = checker.expr(file, &arg.value, scope, Some(&expected));
                    checker.expect_type(&arg.value, &typed, &expected, "a retry setting");
                }
            }
            // Never on a declaration (`applies_to` is empty): the provider
            // blocks' checks read it.
            DecoratorKind::Plugin => {}
            DecoratorKind::Provider => {
                let [arg] = args else {
                    wrong_args(
                        checker,
                        decorator.span,
                        "`@provider` takes the alias of a provider block",
                    );
                    continue;
                };
                let ExprKind::Ident(alias) = &arg.value.kind else {
                    wrong_args(
                        checker,
                        arg.span,
                        "`@provider` takes the alias of a provider block",
                    );
                    continue;
                };
                let providers = checker
                    .model
                    .modules
                    .get(&file)
                    .map(|m| m.providers.clone())
                    .unwrap_or_default();
                let aliases: Vec<&str> = providers
                    .iter()
                    .filter_map(|p| p.alias.as_ref().map(|a| a.name.as_str()))
                    .collect();
                if !aliases.contains(&alias.name.as_str()) {
                    let mut diagnostic = Diagnostic::new(
                        &codes::E0101,
                        alias.span,
                        format!("no provider configuration is aliased `{}`", alias.name),
                    );
                    if let Some(suggestion) = closest(&alias.name, aliases.iter().copied()) {
                        diagnostic = diagnostic
                            .with_primary_message(format!("did you mean `{suggestion}`?"))
                            .with_suggestion(alias.span, suggestion);
                    }
                    checker.error(diagnostic.with_help(format!(
                        "declare it: `provider NAME as {} {{ ... }}`",
                        alias.name
                    )));
                }
            }
        }
    }
}

/// The span of `a` in the path `a.b.c`.
fn first_segment_span(expr: &ast::Expr) -> Option<Span> {
    match &expr.kind {
        ExprKind::Ident(ident) => Some(ident.span),
        ExprKind::Field { base, .. } => first_segment_span(base),
        _ => None,
    }
}

/// Records what the names of a `@depends_on` path refer to, for the
/// language server: the first names `first`; the second, when `first` is
/// a module instance, a declaration of the module's file.
fn record_depends_on_names(checker: &mut Checker<'_, '_>, first: DeclId, path: &ast::Expr) {
    let mut names = Vec::new();
    let mut current = path;
    while let ExprKind::Field { base, name, .. } = &current.kind {
        names.push(name);
        current = base;
    }
    let ExprKind::Ident(head) = &current.kind else { return };
    checker.out.resolutions.insert(head.span, first);
    let Some(second) = names.last() else { return };
    if checker.model.decl(first).kind != DeclKind::Module {
        return;
    }
    let Some(&target) = checker.out.targets.get(&first) else { return };
    if let Some(&decl) = checker.model.modules.get(&target).and_then(|m| m.names.get(&second.name))
    {
        checker.out.member_resolutions.insert(second.span, decl);
    }
}

fn wrong_args(checker: &mut Checker<'_, '_>, span: Span, message: &str) {
    checker.error(Diagnostic::new(&codes::E0208, span, message.to_string()));
}

/// `@depends_on(a, db.role)`: each argument names a declaration (or a
/// declaration inside a module instance); it becomes an ordering edge.
fn depends_on(
    checker: &mut Checker<'_, '_>,
    file: orch_lang::FileId,
    scope: crate::model::ScopeId,
    arg: &ast::Arg,
) {
    let Some(path) = dotted_path(&arg.value) else {
        return wrong_args(
            checker,
            arg.span,
            "`@depends_on` takes names of declarations, such as `data_dir`",
        );
    };
    let first = path.split('.').next().unwrap_or_default();
    match checker.lookup(file, first, scope) {
        Some(super::Resolved::Decl(id)) => {
            checker.reference(id, arg.value.span, true);
            record_depends_on_names(checker, id, &arg.value);
        }
        _ => {
            let names = checker.visible_names(file, scope);
            let mut diagnostic = Diagnostic::new(
                &codes::E0101,
                arg.value.span,
                format!("cannot find `{first}` in this scope"),
            );
            if let Some(suggestion) = closest(first, names.iter().map(|n| n.as_str())) {
                diagnostic =
                    diagnostic.with_primary_message(format!("did you mean `{suggestion}`?"));
                if let Some(span) = first_segment_span(&arg.value) {
                    diagnostic = diagnostic.with_suggestion(span, suggestion);
                }
            }
            checker.error(diagnostic);
        }
    }
}
