//! `provider` blocks of plugins: the `@plugin(...)` command, the schema the
//! driver installed from the cache (one `E0310` on the block when there is
//! none), and the block's fields against the schema's `provider` record.

use orch_lang::ast::{self, FieldKey};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId};
use orch_providers::plugins::{PluginSchema, SchemaProblem, plugin_schema};
use orch_stdlib::{KindSchema, Ty};

use super::Checker;
use crate::model::ScopeId;
use crate::plugin::{plugin_argv, plugin_decorator};
use crate::suggest::closest;

/// Checks one `provider` block that may be a plugin's; returns whether its
/// fields were checked (against the plugin's schema).
pub(super) fn check_block(
    checker: &mut Checker<'_, '_>,
    file: FileId,
    scope: ScopeId,
    item: &ast::Item,
    provider: &ast::Provider,
) -> bool {
    let Some(decorator) = plugin_decorator(item) else { return false };
    if plugin_argv(decorator).is_none() {
        checker.error(
            Diagnostic::new(
                &codes::E0208,
                decorator.span,
                "`@plugin` takes the plugin's command: a path or a list of plain strings",
            )
            .with_help(
                r#"write `@plugin("./providers/acme")` or `@plugin(["python3", "./acme.py"])`"#,
            ),
        );
    }
    let name = provider.name.name.as_str();
    let schema = match plugin_schema(name) {
        Some(PluginSchema::Loaded(schema)) => schema,
        other => {
            let problem = match other {
                Some(PluginSchema::Unavailable(problem)) => problem,
                _ => SchemaProblem::NotCached,
            };
            // An aliased block of the same plugin shares the diagnostic.
            if provider.alias.is_none() {
                checker.error(unavailable(name, provider, &problem));
            }
            return false;
        }
    };
    check_fields(checker, file, scope, provider, &schema.provider);
    true
}

fn unavailable(name: &str, provider: &ast::Provider, problem: &SchemaProblem) -> Diagnostic {
    let message = match problem {
        SchemaProblem::NotCached => {
            format!("the schema of the plugin provider `{name}` is not cached")
        }
        SchemaProblem::Stale => format!(
            "the cached schema of the plugin provider `{name}` is stale: the plugin file changed"
        ),
        SchemaProblem::Unreadable(detail) => {
            format!("the schema of the plugin provider `{name}` cannot be read: {detail}")
        }
    };
    Diagnostic::new(&codes::E0310, provider.name.span, message)
        .with_primary_message("a plugin provider")
        .with_help("fetch it with `orchc providers schema` (or run `orchc plan`, which caches it)")
}

/// The block's fields against the `provider` record: unknown fields,
/// outputs, types and required fields, as in a resource body.
fn check_fields(
    checker: &mut Checker<'_, '_>,
    file: FileId,
    scope: ScopeId,
    provider: &ast::Provider,
    schema: &KindSchema,
) {
    let name = &provider.name.name;
    for field in &provider.body.fields {
        let FieldKey::Name(key) = &field.key else {
            checker.expr(file, &field.value, scope, None);
            continue;
        };
        let Some(field_schema) = schema.field(&key.name).filter(|f| !f.output) else {
            let inputs: Vec<&str> = schema.inputs().map(|f| f.name).collect();
            let mut diagnostic = Diagnostic::new(
                &codes::E0301,
                key.span,
                format!("unknown field `{}` of the provider `{name}`", key.name),
            );
            if let Some(suggestion) = closest(&key.name, inputs.iter().copied()) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(key.span, suggestion);
            }
            checker
                .error(diagnostic.with_help(format!("`{name}` settings: {}", inputs.join(", "))));
            checker.expr(file, &field.value, scope, None);
            continue;
        };
        let expected = if field_schema.sensitive {
            Ty::secret(field_schema.ty.clone())
        } else {
            field_schema.ty.clone()
        };
        let typed = checker.expr(file, &field.value, scope, Some(&expected));
        checker.expect_type(&field.value, &typed, &expected, &format!("`{}`", key.name));
    }
    for required in schema.inputs().filter(|f| f.required) {
        let present = provider
            .body
            .fields
            .iter()
            .any(|f| matches!(&f.key, FieldKey::Name(n) if n.name == required.name));
        if !present {
            checker.error(
                Diagnostic::new(
                    &codes::E0302,
                    provider.name.span,
                    format!(
                        "missing required setting `{}` of the provider `{name}`",
                        required.name
                    ),
                )
                .with_label(provider.body.span, format!("add `{} = ...` here", required.name)),
            );
        }
    }
}

/// Whether some file declares `name` as a plugin provider (whose kinds are
/// then not reported unknown one by one when its schema is missing).
pub(super) fn is_declared_plugin(checker: &Checker<'_, '_>, name: &str) -> bool {
    checker.files.iter().any(|source| {
        source.parsed.file.items.iter().any(|item| {
            matches!(&item.kind, ast::ItemKind::Provider(p) if p.name.name == name)
                && plugin_decorator(item).is_some()
        })
    })
}
