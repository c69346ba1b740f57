//! `orchc test`: the tests of a test file (`NAME.test.orch`, LANGUAGE.md
//! §12) run in process against the module they test.
//!
//! Each test loads the module with its `vars`, evaluates it and plans it
//! with [`MockProvider`]s: every built-in provider's own schema,
//! validation and planning, but reads and computed outputs answered from
//! the file's `mock` blocks (else a placeholder of the field's type), and
//! nothing applied — nothing outside the process is touched. The errors
//! the module produces (failing asserts, type errors, policies) are
//! matched against `expect_errors`; then the test's assertions are
//! evaluated in the module's scope against the planned instances.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use orch_compiler::check::testing::TestCommand;
use orch_compiler::eval::{self, Instance, ParamInput, Resolver};
use orch_lang::ast::{self, BinaryOp, ExprKind, FieldKey, ItemKind};
use orch_lang::{Diagnostic, FileId, Span};
use orch_providers::lookup_kind;
use orch_providers::plugins::intern;
use orch_stdlib::kinds::KindSchema;
use orch_stdlib::{Ty, Value};

use crate::apply::{ApplyOptions, Interrupts};
use crate::engine::{Providers, plan_apply, prepare};
use crate::error::RunError;
use crate::events::Collect;
use crate::location::StateLocation;
use crate::plan::PlanKind;
use crate::project::{LoadRequest, Project, Sources};
use crate::provider::{self, OpContext, Planned, Provider, ProviderError};
use crate::providers;
use crate::session::{PlanOptions, Session};
use crate::state::{Loaded, State};

/// What happened to one test.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
    /// The test could not run: the module or the test file has errors it
    /// did not expect, or a setting cannot be evaluated.
    Error(Vec<String>),
}

/// Why a test failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An assertion was false (or had no value).
    Assertion {
        /// `file:line:column` of the assertion's condition.
        location: String,
        /// The condition as written.
        condition: String,
        /// The assertion's message, evaluated.
        message: String,
        /// Each operand of the condition as written, with its value
        /// (secrets `(secret)`).
        operands: Vec<(String, String)>,
    },
    /// Errors were expected and not all produced.
    MissingErrors { missing: Vec<String>, produced: Vec<String> },
}

/// One test's result.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub name: String,
    /// `file:line:column` of the test's name.
    pub location: String,
    pub outcome: Outcome,
}

/// The results of one test file, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct FileResult {
    pub path: String,
    pub tests: Vec<TestResult>,
}

/// The test files among `files` (those found below the paths `orchc test`
/// was given), as the compiler names paths (`.` and `..` resolved), sorted.
pub fn discover(files: &[String]) -> Vec<String> {
    let mut tests: Vec<String> = files
        .iter()
        .filter(|path| orch_compiler::db::is_test_file_name(path))
        .map(|path| orch_compiler::db::join_path("", path))
        .collect();
    tests.sort();
    tests.dedup();
    tests
}

/// Runs the tests of the test file `path` whose names contain `filter`.
pub fn run_file(path: &str, filter: Option<&str>, runtime: &tokio::runtime::Runtime) -> FileResult {
    let folder = orch_compiler::db::tested_folder(path);
    let mut result = FileResult { path: path.to_string(), tests: Vec::new() };
    let project = match load(&folder, HashMap::new()) {
        Ok(project) => project,
        Err(message) => {
            result.tests.push(file_error(path, message));
            return result;
        }
    };
    let Some(file) = project.analysis.files.find(path) else {
        result.tests.push(file_error(path, format!("`{path}` was not loaded with `{folder}`")));
        return result;
    };
    // Errors in the test file itself stop every test of the file.
    let own: Vec<String> = project
        .errors()
        .iter()
        .filter(|d| d.primary.span.file == file && d.detached.is_none())
        .map(|d| describe(&project, d))
        .collect();
    let tests = tests_of(&project, file);
    if !own.is_empty() {
        for test in &tests {
            if filter.is_none_or(|f| test.name.name.contains(f)) {
                result.tests.push(TestResult {
                    name: test.name.name.to_string(),
                    location: project.config().location(test.name.span),
                    outcome: Outcome::Error(own.clone()),
                });
            }
        }
        if result.tests.is_empty() {
            result.tests.push(file_error(path, own.join("\n")));
        }
        return result;
    }
    let mut applied = Applied { dir: None, vars: None };
    for test in tests {
        if filter.is_some_and(|f| !test.name.name.contains(f)) {
            continue;
        }
        let outcome = run_test(&project, &folder, file, test, runtime, &mut applied);
        result.tests.push(TestResult {
            name: test.name.name.to_string(),
            location: project.config().location(test.name.span),
            outcome,
        });
    }
    // The file's temporary state is destroyed after its last test, also
    // when a test failed.
    if let (Some(dir), Some(vars)) = (&applied.dir, applied.vars.take())
        && let Err(message) = destroy(&folder, vars, dir.path(), runtime)
    {
        result.tests.push(TestResult {
            name: "(destroy the temporary state)".to_string(),
            location: path.to_string(),
            outcome: Outcome::Error(vec![message]),
        });
    }
    result
}

/// The temporary state the `command = "apply"` tests of a file share.
struct Applied {
    dir: Option<tempfile::TempDir>,
    /// The params of the last apply, to destroy with.
    vars: Option<HashMap<String, ParamInput>>,
}

fn state_location(dir: &Path) -> StateLocation {
    StateLocation::Local(dir.join("state"))
}

/// Destroys every object the file's apply tests recorded.
fn destroy(
    folder: &str,
    vars: HashMap<String, ParamInput>,
    dir: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<(), String> {
    let project = load(folder, vars)?;
    runtime.block_on(async {
        let state = state_location(dir).open().await.map_err(|e| e.to_string())?;
        let mut session =
            Session::start(&project, state, "destroy", std::time::Duration::from_secs(60))
                .await
                .map_err(|e| e.to_string())?;
        let options = PlanOptions { kind: PlanKind::Destroy, ..PlanOptions::default() };
        let plan = match session.plan(&options).await {
            Ok(plan) => plan,
            Err(error) => {
                session.close().await;
                return Err(error.to_string());
            }
        };
        let mut sink = Collect(Vec::new());
        let report =
            session.apply(&plan, &ApplyOptions::default(), &mut sink, Interrupts::default()).await;
        session.close().await;
        let report = report.map_err(|e| e.to_string())?;
        if report.failed > 0 {
            let failures: Vec<String> = report.failures.iter().map(|d| d.message.clone()).collect();
            return Err(format!(
                "the temporary state could not be destroyed: {}",
                failures.join("; ")
            ));
        }
        Ok(())
    })
}

/// Plans and applies `project` in the file's temporary state: the errors
/// of the run, and every recorded instance's value.
fn apply_test(
    project: &Project,
    applied: &mut Applied,
    runtime: &tokio::runtime::Runtime,
) -> Result<(Vec<Diagnostic>, HashMap<String, Value>), String> {
    if applied.dir.is_none() {
        let dir = tempfile::Builder::new()
            .prefix("orch-test-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary state: {e}"))?;
        applied.dir = Some(dir);
    }
    let dir = applied.dir.as_ref().map(|d| d.path().to_path_buf()).unwrap_or_default();
    applied.vars = Some(project.params.clone());
    runtime.block_on(async {
        let state = state_location(&dir).open().await.map_err(|e| e.to_string())?;
        let started =
            Session::start(project, state, "apply", std::time::Duration::from_secs(60)).await;
        let mut session = match started {
            Ok(session) => session,
            // The module's own errors (a provider block, a policy) are
            // what `expect_errors` matches.
            Err(RunError::Diagnostics(errors)) => return Ok((errors, HashMap::new())),
            Err(error) => return Err(error.to_string()),
        };
        let plan = match session.plan(&PlanOptions::default()).await {
            Ok(plan) => plan,
            Err(error) => {
                session.close().await;
                return match error {
                    RunError::Diagnostics(errors) => Ok((errors, HashMap::new())),
                    error => Err(error.to_string()),
                };
            }
        };
        let mut errors = plan.errors.clone();
        if errors.is_empty() {
            let mut sink = Collect(Vec::new());
            match session
                .apply(&plan, &ApplyOptions::default(), &mut sink, Interrupts::default())
                .await
            {
                Ok(report) => errors.extend(report.failures),
                Err(error) => {
                    session.close().await;
                    return Err(error.to_string());
                }
            }
        }
        let values = session
            .loaded
            .state
            .instances
            .iter()
            .map(|(address, instance)| (address.clone(), instance.value.clone()))
            .collect();
        session.close().await;
        Ok((errors, values))
    })
}

fn file_error(path: &str, message: String) -> TestResult {
    TestResult {
        name: String::new(),
        location: path.to_string(),
        outcome: Outcome::Error(vec![message]),
    }
}

fn load(folder: &str, params: HashMap<String, ParamInput>) -> Result<Project, String> {
    let request = LoadRequest {
        root: PathBuf::from(folder),
        params,
        param_origins: HashMap::new(),
        policy_files: Vec::new(),
    };
    Project::load_with_tests(request, Sources::disk()).map_err(|e| e.to_string())
}

/// The `test` blocks of `file`, in source order.
fn tests_of(project: &Project, file: FileId) -> Vec<&ast::Test> {
    project
        .analysis
        .files
        .get(file)
        .parsed
        .file
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Test(test) => Some(test),
            _ => None,
        })
        .collect()
}

/// A test's settings.
struct Settings<'t> {
    vars: HashMap<String, ParamInput>,
    command: TestCommand,
    expect_errors: Vec<String>,
    asserts: Vec<&'t ast::Assert>,
}

fn settings<'t>(
    project: &Project,
    file: FileId,
    test: &'t ast::Test,
) -> Result<Settings<'t>, String> {
    let parts = project.analysis.parts(&project.sources);
    let mut settings = Settings {
        vars: HashMap::new(),
        command: TestCommand::Plan,
        expect_errors: Vec::new(),
        asserts: Vec::new(),
    };
    for item in &test.block.items {
        match &item.kind {
            ItemKind::Assert(assert) => settings.asserts.push(assert),
            ItemKind::Setting(field) => {
                let FieldKey::Name(name) = &field.key else { continue };
                let value = eval::evaluate_constant(parts, file, &field.value)
                    .map_err(|e| format!("`{}`: {e}", name.name))?;
                match name.name.as_str() {
                    "vars" => {
                        let Value::Map(entries) = value else { continue };
                        for (key, value) in entries.iter() {
                            settings.vars.insert(key.to_string(), ParamInput::Value(value.clone()));
                        }
                    }
                    "command" => {
                        if let Value::String(text) = &value {
                            settings.command = TestCommand::from_name(text).unwrap_or_default();
                        }
                    }
                    "expect_errors" => {
                        if let Value::List(items) = &value {
                            settings.expect_errors = items
                                .iter()
                                .map(|v| match v {
                                    Value::String(text) => text.to_string(),
                                    other => other.to_string(),
                                })
                                .collect();
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(settings)
}

fn run_test(
    base: &Project,
    folder: &str,
    file: FileId,
    test: &ast::Test,
    runtime: &tokio::runtime::Runtime,
    applied: &mut Applied,
) -> Outcome {
    let settings = match settings(base, file, test) {
        Ok(settings) => settings,
        Err(message) => return Outcome::Error(vec![message]),
    };
    let project = match load(folder, settings.vars.clone()) {
        Ok(project) => project,
        Err(message) => return Outcome::Error(vec![message]),
    };
    let Some(file) = project.analysis.files.find(&base.analysis.files.get(file).path) else {
        return Outcome::Error(vec!["the test file was not loaded".to_string()]);
    };
    let mut errors: Vec<Diagnostic> = project.errors();
    let mut planned: HashMap<String, Value> = HashMap::new();
    if errors.is_empty() {
        let config = project.config();
        let evaluation = config.evaluate(&mut eval::ConfigOnly);
        if !evaluation.missing_params.is_empty() {
            return Outcome::Error(vec![format!(
                "no value for the required param{} {} of the module: give {} in `vars`",
                if evaluation.missing_params.len() > 1 { "s" } else { "" },
                evaluation
                    .missing_params
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if evaluation.missing_params.len() > 1 { "them" } else { "it" },
            )]);
        }
        errors.extend(evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned());
        if errors.is_empty() && settings.command == TestCommand::Apply {
            match apply_test(&project, applied, runtime) {
                Ok((found, values)) => {
                    errors.extend(found);
                    planned = values;
                }
                Err(message) => return Outcome::Error(vec![message]),
            }
        } else if errors.is_empty() {
            let mocks = mocks(&project, file);
            let providers = mock_providers(&project, &mocks);
            let mut loaded = Loaded { state: State::new(), interrupted: Vec::new(), created: true };
            let prepared = runtime.block_on(prepare(&config, &mut loaded, &providers, false, 4));
            let (plan, evaluation) =
                plan_apply(&config, &loaded.state, &providers, prepared, runtime.handle().clone());
            errors.extend(plan.errors.iter().cloned());
            errors.extend(evaluation.diagnostics.iter().filter(|d| d.is_error()).cloned());
            for instance in &evaluation.instances {
                let mut value = instance.resolved.clone();
                // A look-up the plan defers to the apply (it waits for a
                // resource being created) is answered by its mock now.
                if instance.kind == orch_compiler::model::DeclKind::Data && !value.is_known() {
                    let config = match value {
                        Value::Map(_) => value,
                        _ => instance.value.clone(),
                    };
                    value = complete(&mocks, &instance.resource_kind, config);
                }
                planned.insert(instance.address.clone(), value);
            }
        }
    }
    let produced: Vec<String> = errors.iter().map(|d| describe(&project, d)).collect();
    if !settings.expect_errors.is_empty() {
        let missing: Vec<String> = settings
            .expect_errors
            .iter()
            .filter(|expected| !errors.iter().any(|d| matches_error(d, expected)))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Outcome::Failed(Failure::MissingErrors { missing, produced });
        }
        // The expected errors stop the module: its assertions cannot run.
        return Outcome::Passed;
    }
    if !errors.is_empty() {
        return Outcome::Error(produced);
    }
    assertions(&project, file, &settings, planned)
}

/// Whether the diagnostic is the expected error: its code (`E0801`), or
/// a piece of its message.
fn matches_error(diagnostic: &Diagnostic, expected: &str) -> bool {
    diagnostic.code.code.eq_ignore_ascii_case(expected) || diagnostic.message.contains(expected)
}

fn describe(project: &Project, diagnostic: &Diagnostic) -> String {
    let place = match &diagnostic.detached {
        Some(place) => place.clone(),
        None => project.config().location(diagnostic.primary.span),
    };
    format!("error[{}] {place}: {}", diagnostic.code.code, diagnostic.message)
}

/// The instances as planned.
struct Planned_(HashMap<String, Value>);

impl Resolver for Planned_ {
    fn resolve(&mut self, instance: &Instance) -> Value {
        self.0.get(&instance.address).cloned().unwrap_or_else(|| instance.value.clone())
    }
}

/// The operands shown for a failing condition: both sides of a comparison
/// or logical operator, the operand of `!`, else the condition itself;
/// literals, whose value is what they say, are left out.
fn operands(condition: &ast::Expr) -> Vec<&ast::Expr> {
    let mut expr = condition;
    while let ExprKind::Paren(inner) = &expr.kind {
        expr = inner;
    }
    let all: Vec<&ast::Expr> = match &expr.kind {
        ExprKind::Binary { op, lhs, rhs } if !matches!(op, BinaryOp::Coalesce) => vec![lhs, rhs],
        ExprKind::Unary { operand, .. } => vec![operand],
        _ => vec![condition],
    };
    all.into_iter().filter(|e| !is_literal(e)).collect()
}

fn is_literal(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Duration { .. } => true,
        ExprKind::Str(lit) => lit.as_plain().is_some(),
        _ => false,
    }
}

fn assertions(
    project: &Project,
    file: FileId,
    settings: &Settings<'_>,
    planned: HashMap<String, Value>,
) -> Outcome {
    let mut exprs: Vec<(FileId, &ast::Expr)> = Vec::new();
    for assert in &settings.asserts {
        exprs.push((file, &assert.condition));
        exprs.push((file, &assert.message));
        for operand in operands(&assert.condition) {
            exprs.push((file, operand));
        }
    }
    let config = project.config();
    let mut resolver = Planned_(planned);
    let (_, values) = eval::evaluate_with(
        project.analysis.parts(&project.sources),
        project.root,
        &project.params,
        &[],
        &mut resolver,
        &exprs,
    );
    let source = &project.analysis.files.get(file).source;
    let text =
        |span: Span| source.get(span.start as usize..span.end as usize).unwrap_or("").to_string();
    let mut index = 0;
    for assert in &settings.asserts {
        let condition = &values[index];
        let message = &values[index + 1];
        let count = operands(&assert.condition).len();
        let operand_values = &values[index + 2..index + 2 + count];
        index += 2 + count;
        if matches!(condition, Ok(value) if value.reveal().0 == &Value::Bool(true)) {
            continue;
        }
        let message = match message {
            Ok(Value::String(text)) => text.to_string(),
            Ok(other) => show(other),
            Err(error) => error.clone(),
        };
        let mut shown: Vec<(String, String)> = operands(&assert.condition)
            .iter()
            .zip(operand_values)
            .map(|(expr, value)| {
                let value = match value {
                    Ok(value) => show(value),
                    Err(error) => format!("(error: {error})"),
                };
                (text(expr.span), value)
            })
            .collect();
        if let Err(error) = condition {
            shown.push(("error".to_string(), error.clone()));
        }
        return Outcome::Failed(Failure::Assertion {
            location: config.location(assert.condition.span),
            condition: text(assert.condition.span),
            message,
            operands: shown,
        });
    }
    Outcome::Passed
}

/// A value on one line: secrets `(secret)`, unknowns `(known after apply)`.
pub fn show(value: &Value) -> String {
    match value {
        Value::Secret(_) => "(secret)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::None => "none".into(),
        other => serde_json::to_string(&crate::codec::display_json(other)).unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------
// Mocked providers.

/// What the file's `mock` blocks say, by kind: field values.
type Mocks = Arc<HashMap<String, BTreeMap<String, Value>>>;

fn mocks(project: &Project, file: FileId) -> Mocks {
    let parts = project.analysis.parts(&project.sources);
    let mut out: HashMap<String, BTreeMap<String, Value>> = HashMap::new();
    for item in &project.analysis.files.get(file).parsed.file.items {
        let ItemKind::Mock(mock) = &item.kind else { continue };
        let fields = out.entry(mock.kind.to_dotted()).or_default();
        for field in &mock.body.fields {
            let FieldKey::Name(name) = &field.key else { continue };
            if let Ok(value) = eval::evaluate_constant(parts, file, &field.value) {
                fields.insert(name.name.to_string(), value);
            }
        }
    }
    Arc::new(out)
}

/// A built-in provider whose schema, validation and planning are its
/// own, and whose reads, computed outputs and data look-ups come from the
/// test file's mocks (or placeholders of the right type). It applies
/// nothing: a plan test touches nothing outside the process.
pub struct MockProvider {
    real: Box<dyn Provider>,
    mocks: Mocks,
}

impl MockProvider {
    fn complete(&self, kind: &str, value: Value) -> Value {
        complete(&self.mocks, kind, value)
    }
}

/// `value` with every unknown or missing output of `kind` set from the
/// mocks, else a placeholder.
fn complete(mocks: &Mocks, kind: &str, value: Value) -> Value {
    let Some(schema) = lookup_kind(kind) else { return value };
    let mut entries = match value {
        Value::Map(entries) => entries.to_map(),
        _ => BTreeMap::new(),
    };
    let mocked = mocks.get(kind);
    for output in schema.outputs() {
        let known = entries.get(output.name).is_some_and(|v| v.is_known() && *v != Value::None);
        if let Some(value) = mocked.and_then(|m| m.get(output.name)) {
            entries.insert(output.name.into(), value.clone());
        } else if !known {
            entries.insert(output.name.into(), placeholder(&output.ty));
        }
    }
    let value = Value::map(entries);
    crate::plan::mark_sensitive(kind, value)
}

/// A deterministic value of type `ty`: empty, zero, false or none.
pub fn placeholder(ty: &Ty) -> Value {
    match ty {
        Ty::String | Ty::Enum(_) => Value::String("".into()),
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Float(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::Duration => Value::Duration(0),
        Ty::List(_) => Value::list(Vec::new()),
        Ty::Map(_) => Value::map(BTreeMap::new()),
        Ty::Record(record) => Value::map(
            record
                .fields
                .iter()
                .filter(|f| !f.optional)
                .map(|f| (f.name.clone(), placeholder(&f.ty)))
                .collect(),
        ),
        Ty::Secret(inner) => Value::secret(placeholder(inner)),
        Ty::Optional(_) | Ty::None | Ty::Any | Ty::Error => Value::None,
    }
}

#[async_trait]
impl Provider for MockProvider {
    fn name(&self) -> &'static str {
        self.real.name()
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        self.real.schema(kind)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        self.real.validate(kind, config)
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let planned = self.real.plan(kind, prior, config);
        Planned {
            value: self.complete(kind, planned.value),
            requires_replace: planned.requires_replace,
        }
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        if lookup_kind(kind).is_some_and(|k| k.data) {
            return Ok(Some(self.complete(kind, prior.clone())));
        }
        // A test's state is empty: no recorded object to read back.
        Ok(None)
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        _kind: &str,
        _change: provider::Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{}: a plan test applies nothing", ctx.address)))
    }
}

/// A plugin provider in a plan test: the schemas of its kinds (as the
/// plugin gave them, cached) and the default planning. Its process is not
/// started.
struct PluginKinds {
    name: &'static str,
}

#[async_trait]
impl Provider for PluginKinds {
    fn name(&self) -> &'static str {
        self.name
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        lookup_kind(kind).filter(|k| k.provider() == self.name)
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _kind: &str,
        _prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        _kind: &str,
        _change: provider::Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!("{}: a plan test applies nothing", ctx.address)))
    }
}

/// A mock of every built-in provider, of every plugin provider, and of
/// each aliased `provider` block of the module.
fn mock_providers(project: &Project, mocks: &Mocks) -> Providers {
    let plugins = crate::plugin::specs(&project.analysis);
    let mock = |name: &str| -> Option<Arc<dyn Provider>> {
        let real: Box<dyn Provider> = match providers::builtin(name) {
            Some(real) => real,
            None => {
                let spec = plugins.iter().find(|spec| spec.name == name)?;
                Box::new(PluginKinds { name: intern(&spec.name) })
            }
        };
        Some(Arc::new(MockProvider { real, mocks: mocks.clone() }))
    };
    let mut map: HashMap<String, Arc<dyn Provider>> = HashMap::new();
    let mut names: Vec<&str> = providers::builtin_names().collect();
    names.extend(plugins.iter().filter(|spec| spec.alias.is_none()).map(|spec| spec.name.as_str()));
    for name in names {
        if let Some(provider) = mock(name) {
            map.insert(name.to_string(), provider);
        }
    }
    if let Ok(preflight) = project.preflight() {
        for block in &preflight.evaluation.providers {
            if let Some(alias) = &block.alias
                && let Some(provider) = mock(&block.name)
            {
                map.insert(format!("{}.{alias}", block.name), provider);
            }
        }
    }
    Providers::from_map(map)
}

#[cfg(test)]
mod tests {
    use orch_lang::diagnostic::codes;

    use super::*;

    #[test]
    fn placeholders_are_the_empty_value_of_each_type() {
        assert_eq!(placeholder(&Ty::String), Value::String("".into()));
        assert_eq!(placeholder(&Ty::Int), Value::Int(0));
        assert_eq!(placeholder(&Ty::Bool), Value::Bool(false));
        assert_eq!(placeholder(&Ty::list(Ty::Int)), Value::list(Vec::new()));
        assert_eq!(placeholder(&Ty::optional(Ty::Int)), Value::None);
        assert_eq!(placeholder(&Ty::secret(Ty::String)), Value::secret(Value::String("".into())));
    }

    #[test]
    fn an_expected_error_matches_its_code_or_a_piece_of_its_message() {
        let diagnostic = Diagnostic::new(
            &codes::E0801,
            Span::default(),
            "replicas must be positive".to_string(),
        );
        assert!(matches_error(&diagnostic, "E0801"));
        assert!(matches_error(&diagnostic, "e0801"));
        assert!(matches_error(&diagnostic, "must be positive"));
        assert!(!matches_error(&diagnostic, "E0802"));
        assert!(!matches_error(&diagnostic, "Must Be Positive"));
    }

    #[test]
    fn secrets_and_unknowns_are_never_shown() {
        let secret = Value::secret(Value::String("hunter2".into()));
        assert_eq!(show(&secret), "(secret)");
        assert_eq!(show(&Value::Unknown), "(known after apply)");
        assert_eq!(show(&Value::String("a".into())), "\"a\"");
        let nested = Value::list(vec![secret]);
        assert!(!show(&nested).contains("hunter2"), "{}", show(&nested));
    }
}
