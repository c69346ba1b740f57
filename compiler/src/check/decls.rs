//! Checking each kind of declaration.

use orch_lang::ast::{self, ExprKind, FieldKey, ItemKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::{FieldTy, Ty};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{Checker, Phase, SecretSource, Typed, decorators, plan_time_diagnostic, types};
use crate::model::{DeclId, DeclKind, ScopeId, ScopeKind};
use crate::suggest::closest;

pub(super) fn check(checker: &mut Checker<'_, '_>, id: DeclId) -> Typed {
    let decl = checker.model.decl(id);
    let (file, scope, item) = (decl.file, decl.scope, decl.item);
    decorators::check(checker, id);
    match &item.kind {
        ItemKind::Param(param) => {
            let ty = types::resolve(checker, file, &param.ty);
            if let Some(default) = &param.default {
                let typed = checker.expr(file, default, scope, Some(&ty));
                checker.expect_type(
                    default,
                    &typed,
                    &ty,
                    &format!("the default of `{}`", param.name.name),
                );
            }
            let secret = ty.is_secret().then(|| SecretSource {
                span: param.name.span,
                description: format!("the secret param `{}`", param.name.name),
            });
            Typed { ty, phase: Phase::Known, secret, origin: None }
        }
        ItemKind::Let(decl) => {
            let declared = decl.ty.as_ref().map(|ty| types::resolve(checker, file, ty));
            let typed = checker.expr(file, &decl.value, scope, declared.as_ref());
            match declared {
                Some(ty) => {
                    checker.expect_type(&decl.value, &typed, &ty, &format!("`{}`", decl.name.name));
                    Typed { ty: if typed.ty.is_secret() { Ty::secret(ty) } else { ty }, ..typed }
                }
                None => typed,
            }
        }
        ItemKind::Output(output) => {
            let declared = output.ty.as_ref().map(|ty| types::resolve(checker, file, ty));
            let typed = checker.expr(file, &output.value, scope, declared.as_ref());
            match declared {
                Some(ty) => {
                    checker.expect_type(
                        &output.value,
                        &typed,
                        &ty,
                        &format!("the output `{}`", output.name.name),
                    );
                    Typed { ty, ..typed }
                }
                None => {
                    if typed.ty.contains_secret() {
                        let what = format!(
                            "the output `{}` (declare it `secret<T>` to export a secret)",
                            output.name.name
                        );
                        checker.secret_leak(output.value.span, &typed, &what);
                    }
                    typed
                }
            }
        }
        ItemKind::Resource(resource) | ItemKind::Data(resource) => resource_body(
            checker,
            id,
            file,
            scope,
            resource,
            matches!(item.kind, ItemKind::Data(_)),
        ),
        ItemKind::Module(module) => module_instance(checker, id, file, scope, module),
        ItemKind::Import(import) => {
            if !is_literal(&import.source) {
                checker.error(not_literal(&import.source, "an import path"));
                // Its names are still resolved, so that they count as used.
                checker.expr(file, &import.source, scope, None);
            }
            Typed::error()
        }
        ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
            let typed = checker.expr(file, &assert.condition, scope, Some(&Ty::Bool));
            checker.expect_type(&assert.condition, &typed, &Ty::Bool, "a condition");
            let message = checker.expr(file, &assert.message, scope, Some(&Ty::String));
            if !message.ty.reveal().assignable_to(&Ty::String) {
                checker.expect_type(&assert.message, &message, &Ty::String, "the message");
            } else if message.ty.is_secret() {
                checker.secret_leak(assert.message.span, &message, "an assertion message");
            }
            Typed::new(Ty::Bool).with_phase(typed.phase.join(&message.phase))
        }
        _ => Typed::error(),
    }
}

pub(super) fn is_literal(expr: &ast::Expr) -> bool {
    matches!(&expr.kind, ExprKind::Str(lit) if lit.as_plain().is_some())
}

fn not_literal(expr: &ast::Expr, what: &str) -> Diagnostic {
    Diagnostic::new(&codes::E0210, expr.span, format!("{what} must be a plain string literal"))
        .with_help("write the path as a string without `${...}`; paths are resolved before anything is evaluated")
}

/// Checks a resource or data body against its kind's schema; returns the
/// instance type.
fn resource_body(
    checker: &mut Checker<'_, '_>,
    id: DeclId,
    file: FileId,
    scope: crate::model::ScopeId,
    resource: &ast::Resource,
    data: bool,
) -> Typed {
    let kind_name = resource.kind.to_dotted();
    let Some(kind) = lookup_kind(&kind_name) else {
        if super::plugins::is_declared_plugin(checker, orch_stdlib::kinds::provider_of(&kind_name))
            && orch_providers::plugins::plugin_schema(orch_stdlib::kinds::provider_of(&kind_name))
                .is_none_or(|s| !matches!(s, orch_providers::plugins::PluginSchema::Loaded(_)))
        {
            // Reported once, on the `provider` block (E0310).
            for field in &resource.body.fields {
                checker.expr(file, &field.value, scope, None);
            }
            return Typed::error();
        }
        // Built-in kinds, then those of the plugins' installed schemas.
        let candidates: Vec<&str> = orch_providers::kinds()
            .iter()
            .copied()
            .chain(orch_providers::plugins::plugin_kinds())
            .filter(|k| k.data == data)
            .map(|k| k.name)
            .collect();
        let what = if data { "data" } else { "resource" };
        let mut diagnostic = Diagnostic::new(
            &codes::E0103,
            resource.kind.span,
            format!("unknown {what} kind `{kind_name}`"),
        );
        if let Some(suggestion) = closest(&kind_name, candidates.iter().copied()) {
            diagnostic = diagnostic
                .with_primary_message(format!("did you mean `{suggestion}`?"))
                .with_suggestion(resource.kind.span, suggestion);
        }
        diagnostic = diagnostic.with_help(format!("{what} kinds: {}", candidates.join(", ")));
        checker.error(diagnostic);
        for field in &resource.body.fields {
            checker.expr(file, &field.value, scope, None);
        }
        return Typed::error();
    };
    if kind.data != data {
        let (is, keyword) =
            if kind.data { ("a data kind", "data") } else { ("a resource kind", "resource") };
        checker.error(
            Diagnostic::new(&codes::E0103, resource.kind.span, format!("`{kind_name}` is {is}"))
                .with_help(format!(
                    "declare it with `{keyword} {}: {kind_name} {{ ... }}`",
                    resource.name.name
                )),
        );
    }
    let mut input_phase = Phase::Known;
    let mut misspelt: Vec<&str> = Vec::new();
    let mut seen_fields: Vec<&ast::Ident> = Vec::new();
    for field in &resource.body.fields {
        let FieldKey::Name(name) = &field.key else { continue };
        if duplicate_field(checker, &mut seen_fields, name) {
            checker.expr(file, &field.value, scope, None);
            continue;
        }
        let Some(schema) = kind.field(&name.name) else {
            let inputs: Vec<&str> = kind.inputs().map(|f| f.name).collect();
            let mut diagnostic = Diagnostic::new(
                &codes::E0301,
                name.span,
                format!("unknown field `{}` on {kind_name}", name.name),
            );
            if let Some(suggestion) = closest(&name.name, inputs.iter().copied()) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(name.span, suggestion);
                // A misspelt field is not also reported missing.
                misspelt.push(suggestion);
            }
            let help = if super::decorators::is_decorator_of(&name.name, DeclKind::Resource) {
                format!(
                    "`{0}` is a decorator, not a field: write `@{0}(...)` on the line before `resource {1}`",
                    name.name, resource.name.name
                )
            } else {
                format!("{kind_name} fields: {}", inputs.join(", "))
            };
            checker.error(diagnostic.with_help(help));
            checker.expr(file, &field.value, scope, None);
            continue;
        };
        if schema.output {
            checker.error(
                Diagnostic::new(
                    &codes::E0303,
                    name.span,
                    format!("`{}` is computed by the provider and cannot be set", name.name),
                )
                .with_help(format!("read it instead: `{}.{}`", resource.name.name, name.name)),
            );
            checker.expr(file, &field.value, scope, None);
            continue;
        }
        // A field that keeps secrets takes a secret or a plain value.
        let expected = if schema.sensitive || schema.keeps_secrets {
            Ty::secret(schema.ty.clone())
        } else {
            schema.ty.clone()
        };
        checker.current_field = Some(name.name.clone());
        let typed = checker.expr(file, &field.value, scope, Some(&expected));
        checker.current_field = None;
        checker.expect_type(&field.value, &typed, &expected, &format!("`{}`", name.name));
        input_phase = input_phase.join(&typed.phase.through(field.value.span, || {
            format!("`{}.{}` uses a value computed on apply", resource.name.name, name.name)
        }));
        checker.out.field_phases.insert((id, name.name.clone()), typed.phase.clone());
    }
    for required in kind.inputs().filter(|f| f.required) {
        let present = resource
            .body
            .fields
            .iter()
            .any(|f| matches!(&f.key, FieldKey::Name(n) if n.name == required.name));
        if !present && !misspelt.contains(&required.name) {
            checker.error(
                Diagnostic::new(
                    &codes::E0302,
                    resource.name.span,
                    format!("missing required field `{}` of {kind_name}", required.name),
                )
                .with_label(resource.body.span, format!("add `{} = ...` here", required.name))
                .with_help(format!(
                    "`{}`: {}",
                    required.name,
                    first_line(required.doc)
                )),
            );
        }
    }
    let _ = input_phase;
    let mut typed = Typed::new(kind.instance_type());
    typed.origin = Some(id);
    typed
}

/// Reports a field given twice in one body; remembers the others.
fn duplicate_field<'n>(
    checker: &mut Checker<'_, '_>,
    given: &mut Vec<&'n ast::Ident>,
    name: &'n ast::Ident,
) -> bool {
    if let Some(first) = given.iter().find(|g| g.name == name.name) {
        checker.error(
            Diagnostic::new(
                &codes::E0102,
                name.span,
                format!("the field `{}` is given twice", name.name),
            )
            .with_primary_message("given again here")
            .with_label(first.span, "first given here"),
        );
        return true;
    }
    given.push(name);
    false
}

fn first_line(doc: &str) -> &str {
    doc.lines().next().unwrap_or_default()
}

/// Checks a module instance's arguments against the module's params; the
/// instance's type is the record of the module's outputs.
fn module_instance(
    checker: &mut Checker<'_, '_>,
    id: DeclId,
    file: FileId,
    scope: crate::model::ScopeId,
    module: &ast::Module,
) -> Typed {
    if !is_literal(&module.source) {
        checker.error(not_literal(&module.source, "a module path"));
        // Its names are still resolved, so that they count as used.
        checker.expr(file, &module.source, scope, None);
    }
    let Some(&target) = checker.out.targets.get(&id) else {
        // The loader reported why the module could not be loaded.
        for field in &module.body.fields {
            checker.expr(file, &field.value, scope, None);
        }
        return Typed::error();
    };
    let model = checker.model;
    let Some(info) = model.modules.get(&target) else { return Typed::error() };
    let params: Vec<DeclId> =
        info.decls.iter().copied().filter(|d| model.decl(*d).kind == DeclKind::Param).collect();
    let decides_blocks = params_deciding_blocks(checker, target);
    let mut arg_phase = Phase::Known;
    let mut misspelt: Vec<&str> = Vec::new();
    let mut seen_fields: Vec<&ast::Ident> = Vec::new();
    for field in &module.body.fields {
        let FieldKey::Name(name) = &field.key else { continue };
        if duplicate_field(checker, &mut seen_fields, name) {
            checker.expr(file, &field.value, scope, None);
            continue;
        }
        let Some(&param) = params.iter().find(|p| model.decl(**p).name_str() == name.name) else {
            let names: Vec<&str> = params.iter().map(|p| model.decl(*p).name_str()).collect();
            let mut diagnostic = Diagnostic::new(
                &codes::E0301,
                name.span,
                format!("module `{}` has no param `{}`", module.name.name, name.name),
            );
            if let Some(suggestion) = closest(&name.name, names.iter().copied()) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(name.span, suggestion);
                // A misspelt param is not also reported missing.
                misspelt.push(suggestion);
            }
            checker.error(diagnostic.with_help(format!("its params: {}", names.join(", "))));
            checker.expr(file, &field.value, scope, None);
            continue;
        };
        let param_ty = checker.check_decl(param).ty;
        let typed = checker.expr(file, &field.value, scope, Some(&param_ty));
        checker.expect_type(&field.value, &typed, &param_ty, &format!("the param `{}`", name.name));
        if let Some(&read_at) = decides_blocks.get(&param) {
            let what = format!("the argument `{}`", name.name);
            if let Some(diagnostic) = plan_time_diagnostic(field.value.span, &typed.phase, &what) {
                checker.error(diagnostic.with_label(
                    read_at,
                    format!("the module expands a `for` or `if` with `{}` here", name.name),
                ));
            }
        }
        arg_phase = arg_phase.join(&typed.phase);
    }
    for &param in &params {
        let decl = model.decl(param);
        let ItemKind::Param(ast_param) = &decl.item.kind else { continue };
        let given = module
            .body
            .fields
            .iter()
            .any(|f| matches!(&f.key, FieldKey::Name(n) if n.name == decl.name_str()));
        if ast_param.default.is_none() && !given && !misspelt.contains(&decl.name_str()) {
            checker.error(
                Diagnostic::new(
                    &codes::E0302,
                    module.name.span,
                    format!(
                        "missing required param `{}` of module `{}`",
                        decl.name_str(),
                        module.name.name
                    ),
                )
                .with_label(decl.name_span(), "declared here without a default"),
            );
        }
    }
    // The instance is the record of the module's outputs.
    let outputs: Vec<DeclId> =
        info.decls.iter().copied().filter(|d| model.decl(*d).kind == DeclKind::Output).collect();
    let mut fields = Vec::new();
    for output in outputs {
        let module_scope = model.module_scope[&target];
        let typed = checker.decl_type_from(output, module_scope);
        fields.push(FieldTy {
            name: model.decl(output).name_str().into(),
            ty: typed.ty,
            optional: false,
        });
    }
    let mut typed = Typed::new(Ty::record(Some(&format!("module {}", module.name.name)), fields));
    typed.origin = Some(id);
    typed.phase = arg_phase;
    typed
}

/// The params of module `file` that the header of a `for` or `if` reads,
/// directly or through `let`s, with the place in the header that reads
/// them: a module argument for such a param must be known at plan time.
/// Chains through resources and nested modules are left to evaluation.
fn params_deciding_blocks(checker: &mut Checker<'_, '_>, file: FileId) -> HashMap<DeclId, Span> {
    if let Some(known) = checker.block_params.get(&file) {
        return known.clone();
    }
    let model = checker.model;
    let mut out = HashMap::default();
    let headers: Vec<ScopeId> = model
        .scopes
        .iter()
        .filter(|s| s.file == file && matches!(s.kind, ScopeKind::For(_) | ScopeKind::If { .. }))
        .map(|s| s.id)
        .collect();
    for scope in headers {
        checker.check_block_header(scope);
        let reads = checker.out.block_refs.get(&scope).cloned().unwrap_or_default();
        for (first, read_at) in reads {
            let mut stack = vec![first];
            let mut seen = HashSet::default();
            while let Some(decl) = stack.pop() {
                if !seen.insert(decl) {
                    continue;
                }
                match model.decl(decl).kind {
                    DeclKind::Param => {
                        out.entry(decl).or_insert(read_at);
                    }
                    DeclKind::Let => {
                        checker.check_decl(decl);
                        stack.extend(
                            checker
                                .out
                                .references
                                .iter()
                                .filter(|r| r.from == decl && !r.explicit)
                                .map(|r| r.to),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    checker.block_params.insert(file, out.clone());
    out
}
