//! The `mock` and `test` blocks of test files (LANGUAGE.md §12), checked
//! against the module they test: settings (`vars` against the module's
//! params, `command`, `expect_errors`), assertions (names resolve in the
//! module's scope, conditions are `bool`, messages `string`) and mocks
//! (kinds and fields against the kind's schema).

use orch_lang::ast::{self, ExprKind, FieldKey, ItemKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId};
use orch_providers::lookup_kind;
use orch_stdlib::Ty;
use rustc_hash::FxHashMap as HashMap;

use super::Checker;
use crate::model::DeclKind;
use crate::suggest::closest;

/// What a test runs: the plan with mocked providers, or an apply with real
/// ones in a temporary state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestCommand {
    #[default]
    Plan,
    Apply,
}

impl TestCommand {
    /// The command named by `command = "..."`.
    pub fn from_name(name: &str) -> Option<TestCommand> {
        match name {
            "plan" => Some(TestCommand::Plan),
            "apply" => Some(TestCommand::Apply),
            _ => None,
        }
    }
}

/// The settings a test may have.
const SETTINGS: &[&str] = &["vars", "command", "expect_errors"];

impl Checker<'_, '_> {
    /// Checks every `mock` and `test` block, and reports those outside a
    /// test file.
    pub(super) fn check_tests(&mut self) {
        let files = self.files;
        for source in files.iter() {
            if crate::db::is_test_file_name(&source.path) {
                continue;
            }
            for item in &source.parsed.file.items {
                let keyword = match &item.kind {
                    ItemKind::Mock(mock) => mock.keyword,
                    ItemKind::Test(test) => test.keyword,
                    _ => continue,
                };
                self.error(
                    Diagnostic::new(
                        &codes::E1101,
                        keyword,
                        "`mock` and `test` blocks belong in a test file",
                    )
                    .with_help("move them to a file named `NAME.test.orch` beside the module it tests, or in its `tests/` folder"),
                );
            }
        }
        let model = self.model;
        let mut modules: Vec<FileId> = model.modules.iter().map(|(id, _)| *id).collect();
        modules.sort();
        for module in modules {
            let Some(info) = model.modules.get(&module) else { continue };
            let mut names: HashMap<&str, orch_lang::Span> = HashMap::default();
            for &(file, test) in &info.tests {
                if let Some(first) = names.get(test.name.name.as_str()) {
                    self.error(
                        Diagnostic::new(
                            &codes::E1101,
                            test.name.span,
                            format!("the test `{}` is declared twice", test.name.name),
                        )
                        .with_label(*first, "first declared here"),
                    );
                } else {
                    names.insert(&test.name.name, test.name.span);
                }
                self.check_test(file, module, test);
            }
            for &(file, mock) in &info.mocks {
                self.check_mock(file, mock);
            }
        }
    }

    fn check_test(&mut self, file: FileId, module: FileId, test: &ast::Test) {
        let Some(&scope) = self.model.module_scope.get(&file) else { return };
        // A test that expects errors may give a value of the wrong type on
        // purpose: the module reports it when the test runs.
        let expects_errors = test.block.items.iter().any(|item| {
            matches!(&item.kind, ItemKind::Setting(field)
                if matches!(&field.key, FieldKey::Name(name) if name.name == "expect_errors"))
        });
        let mut seen: Vec<&str> = Vec::new();
        for item in &test.block.items {
            match &item.kind {
                ItemKind::Setting(field) => {
                    let FieldKey::Name(name) = &field.key else { continue };
                    if seen.contains(&name.name.as_str()) {
                        self.error(Diagnostic::new(
                            &codes::E1101,
                            name.span,
                            format!("the setting `{}` is given twice", name.name),
                        ));
                    }
                    seen.push(&name.name);
                    match name.name.as_str() {
                        "vars" => self.check_vars(file, module, field, expects_errors),
                        "command" => {
                            let typed = self.expr(file, &field.value, scope, Some(&Ty::String));
                            let plain = match &field.value.kind {
                                ExprKind::Str(lit) => lit.as_plain(),
                                _ => None,
                            };
                            match plain {
                                Some(text) if TestCommand::from_name(&text).is_some() => {}
                                Some(text) => self.error(
                                    Diagnostic::new(
                                        &codes::E1101,
                                        field.value.span,
                                        format!("`command` is \"plan\" or \"apply\", not {text:?}"),
                                    )
                                    .with_help("\"plan\" mocks every provider; \"apply\" uses real ones in a temporary state"),
                                ),
                                None => {
                                    if self.expect_type(&field.value, &typed, &Ty::String, "`command`") {
                                        self.error(Diagnostic::new(
                                            &codes::E1101,
                                            field.value.span,
                                            "`command` must be the string \"plan\" or \"apply\"",
                                        ));
                                    }
                                }
                            }
                        }
                        "expect_errors" => {
                            let expected = Ty::list(Ty::String);
                            let typed = self.expr(file, &field.value, scope, Some(&expected));
                            self.expect_type(&field.value, &typed, &expected, "`expect_errors`");
                        }
                        other => {
                            let mut diagnostic = Diagnostic::new(
                                &codes::E1101,
                                name.span,
                                format!("a test has no setting `{other}`"),
                            );
                            if let Some(suggestion) = closest(other, SETTINGS.iter().copied()) {
                                diagnostic = diagnostic
                                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                                    .with_suggestion(name.span, suggestion);
                            }
                            self.error(
                                diagnostic
                                    .with_help("a test's settings: vars, command, expect_errors"),
                            );
                            self.expr(file, &field.value, scope, None);
                        }
                    }
                }
                ItemKind::Assert(assert) => {
                    let typed = self.expr(file, &assert.condition, scope, Some(&Ty::Bool));
                    self.expect_type(&assert.condition, &typed, &Ty::Bool, "a condition");
                    let message = self.expr(file, &assert.message, scope, Some(&Ty::String));
                    if !message.ty.reveal().assignable_to(&Ty::String) {
                        self.expect_type(&assert.message, &message, &Ty::String, "the message");
                    }
                }
                ItemKind::Error => {}
                _ => {
                    let start = item.span.start;
                    let span = orch_lang::Span { end: (start + 1).min(item.span.end), ..item.span };
                    self.error(
                        Diagnostic::new(
                            &codes::E1101,
                            span,
                            "a test holds only settings (`vars`, `command`, `expect_errors`) and `assert` statements",
                        )
                        .with_help("declare values the test needs in the module, or compute them in the assertion"),
                    );
                }
            }
        }
    }

    /// `vars = { NAME = VALUE ... }`: each name a param of the module,
    /// each value of the param's type.
    fn check_vars(
        &mut self,
        file: FileId,
        module: FileId,
        field: &ast::Field,
        expects_errors: bool,
    ) {
        let Some(&scope) = self.model.module_scope.get(&file) else { return };
        let ExprKind::Object(fields) = &field.value.kind else {
            let typed = self.expr(file, &field.value, scope, None);
            self.expect_type(&field.value, &typed, &Ty::map(Ty::Any), "`vars`");
            self.error(Diagnostic::new(
                &codes::E1101,
                field.value.span,
                "`vars` must be written as an object: `{ NAME = VALUE }`",
            ));
            return;
        };
        let model = self.model;
        let Some(info) = model.modules.get(&module) else { return };
        let params: Vec<_> =
            info.decls.iter().copied().filter(|d| model.decl(*d).kind == DeclKind::Param).collect();
        for var in fields {
            let FieldKey::Name(name) = &var.key else {
                self.expr(file, &var.value, scope, None);
                continue;
            };
            let Some(&param) = params.iter().find(|p| model.decl(**p).name_str() == name.name)
            else {
                let names: Vec<&str> = params.iter().map(|p| model.decl(*p).name_str()).collect();
                let mut diagnostic = Diagnostic::new(
                    &codes::E0610,
                    name.span,
                    format!("the tested module has no param `{}`", name.name),
                );
                if let Some(suggestion) = closest(&name.name, names.iter().copied()) {
                    diagnostic = diagnostic
                        .with_primary_message(format!("did you mean `{suggestion}`?"))
                        .with_suggestion(name.span, suggestion);
                }
                self.error(diagnostic.with_help(format!("its params: {}", names.join(", "))));
                self.expr(file, &var.value, scope, None);
                continue;
            };
            self.reference(param, name.span, false);
            self.out.resolutions.insert(name.span, param);
            let ty = self.check_decl(param).ty;
            let typed = self.expr(file, &var.value, scope, Some(&ty));
            if !expects_errors {
                self.expect_assignable(
                    &var.value,
                    &typed,
                    &ty,
                    &format!("the param `{}`", name.name),
                );
            }
        }
    }

    fn check_mock(&mut self, file: FileId, mock: &ast::Mock) {
        let Some(&scope) = self.model.module_scope.get(&file) else { return };
        let name = mock.kind.to_dotted();
        let Some(kind) = lookup_kind(&name) else {
            // Built-in kinds, then those of the plugins' installed schemas.
            let candidates: Vec<&str> = orch_providers::kinds()
                .iter()
                .copied()
                .chain(orch_providers::plugins::plugin_kinds())
                .filter(|k| k.data == mock.data)
                .map(|k| k.name)
                .collect();
            let mut diagnostic = Diagnostic::new(
                &codes::E1102,
                mock.kind.span,
                format!("unknown {} kind `{name}`", if mock.data { "data" } else { "resource" }),
            );
            if let Some(suggestion) = closest(&name, candidates.iter().copied()) {
                diagnostic = diagnostic
                    .with_primary_message(format!("did you mean `{suggestion}`?"))
                    .with_suggestion(mock.kind.span, suggestion);
            }
            self.error(diagnostic);
            return;
        };
        if kind.data != mock.data {
            let help = if kind.data {
                format!("`{name}` is a data source: write `mock data {name} {{ ... }}`")
            } else {
                format!("`{name}` is a resource kind: write `mock {name} {{ ... }}`")
            };
            self.error(
                Diagnostic::new(
                    &codes::E1102,
                    mock.kind.span,
                    format!(
                        "`{name}` is {}",
                        if kind.data { "a data source" } else { "a resource kind" }
                    ),
                )
                .with_help(help),
            );
        }
        for field in &mock.body.fields {
            let FieldKey::Name(field_name) = &field.key else { continue };
            let Some(schema) = kind.field(&field_name.name) else {
                let mut diagnostic = Diagnostic::new(
                    &codes::E1102,
                    field_name.span,
                    format!("the kind `{name}` has no field `{}`", field_name.name),
                );
                if let Some(suggestion) =
                    closest(&field_name.name, kind.fields.iter().map(|f| f.name))
                {
                    diagnostic = diagnostic
                        .with_primary_message(format!("did you mean `{suggestion}`?"))
                        .with_suggestion(field_name.span, suggestion);
                }
                self.error(diagnostic);
                self.expr(file, &field.value, scope, None);
                continue;
            };
            let ty = schema.ty.clone();
            let typed = self.expr(file, &field.value, scope, Some(&ty));
            self.expect_assignable(
                &field.value,
                &typed,
                &ty,
                &format!("the field `{}`", field_name.name),
            );
        }
    }
}
