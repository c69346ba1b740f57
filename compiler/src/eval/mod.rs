//! Check-time evaluation: with every param known (defaults, `--var`,
//! `--var-file`, `ORCH_VAR_*`), loops and conditions are expanded into
//! instances, every value known at plan time is computed, and `assert`,
//! `warn` and `policy` blocks run. Values that only exist after apply are
//! [`Value::Unknown`]; assertions that read them wait for apply.
//!
//! Evaluation is lazy and memoised per module instance, declaration and
//! instance key, so declarations may be used above their definition.

mod conflicts;
mod expr;
pub mod params;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;

use orch_lang::ast::{self, ExprKind, FieldKey, ItemKind};
use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use orch_providers::lookup_kind;
use orch_stdlib::Value;
use smol_str::SmolStr;

use crate::check::{Checked, KeyKind};
use crate::db::{Files, SourceDb};
use crate::decorator::DecoratorKind;
use crate::model::{DeclId, DeclKind, Model, ScopeId, ScopeKind};
pub use params::{ParamInput, ParamOrigin, VarFileError, conform, parse_var_file};

/// One key of an instance address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Str(SmolStr),
    Int(i64),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Str(text) => write!(f, "[{text:?}]"),
            Key::Int(index) => write!(f, "[{index}]"),
        }
    }
}

/// A resource, data or module instance of the expanded configuration.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `conf["api"]`, `db.role`, `db["eu"].role`.
    pub address: String,
    pub decl: DeclId,
    pub kind: DeclKind,
    /// The resource or data kind (`fs.file`); empty for modules.
    pub resource_kind: String,
    /// Inputs as configured (defaults filled in), outputs unknown.
    pub value: Value,
    /// The value other expressions see: what the [`Resolver`] made of
    /// `value` (the recorded object when nothing changes, predicted
    /// outputs, or `value` itself).
    pub resolved: Value,
    /// What the instance's decorators ask of the runtime.
    pub options: InstanceOptions,
    /// Addresses of the instances this one depends on.
    pub depends_on: Vec<String>,
    pub span: Span,
    /// Where the instance is in the expanded configuration, so that it can
    /// be evaluated again on its own ([`evaluate_instances`]).
    pub origin: InstanceRef,
    context: usize,
    keys: Vec<Key>,
}

/// An instance of the expanded configuration, by the module instances it
/// is inside (outermost first), its declaration and its loop keys: stable
/// from one evaluation to the next, unlike the evaluator's own numbering.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceRef {
    pub modules: Vec<(DeclId, Vec<Key>)>,
    pub decl: DeclId,
    pub keys: Vec<Key>,
}

/// The runtime's decorators of a resource or data instance, evaluated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceOptions {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    /// Fields whose differences are ignored (`@ignore_changes`).
    pub ignore_changes: Vec<String>,
    /// `@timeout`, in milliseconds.
    pub timeout_ms: Option<i64>,
    /// `@retry(attempts, backoff)`: attempts and the first backoff in
    /// milliseconds.
    pub retry: Option<(i64, i64)>,
    /// `@provider(ALIAS)`.
    pub provider_alias: Option<String>,
}

/// A `provider NAME [as ALIAS] { ... }` block, evaluated.
#[derive(Debug, Clone)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    pub config: Value,
    pub span: Span,
}

/// What the runtime knows about instances, consulted once per resource and
/// data instance as soon as its configuration is evaluated (its
/// dependencies always first). The value returned is what expressions that
/// reference the instance see.
pub trait Resolver {
    fn resolve(&mut self, instance: &Instance) -> Value;

    /// The final value of the instance at `address` when the runtime has
    /// it already (applied, or left unchanged), so that its configuration
    /// need not be evaluated again: evaluating one instance then costs what
    /// it reads, not the length of the chain behind it.
    fn settled(&mut self, _address: &str) -> Option<Value> {
        None
    }
}

/// The resolver of check-time evaluation: every instance is its
/// configuration, outputs unknown.
#[derive(Debug, Default)]
pub struct ConfigOnly;

impl Resolver for ConfigOnly {
    fn resolve(&mut self, instance: &Instance) -> Value {
        instance.value.clone()
    }
}

/// The result of evaluating one root module.
/// Why a configuration was not evaluated (not an error: `check` without
/// the values of required params still checks everything else).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalNote {
    /// The required params `names` of the module at `path` have no value.
    MissingParams { path: String, names: Vec<String> },
}

impl std::fmt::Display for EvalNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalNote::MissingParams { path, names } => write!(
                f,
                "{path}: evaluation skipped: no value for the required param{} {}; pass them with --var NAME=VALUE, --var-file or ORCH_VAR_NAME",
                if names.len() > 1 { "s" } else { "" },
                names.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub instances: Vec<Instance>,
    pub outputs: BTreeMap<String, Value>,
    /// The instances each root output depends on (through lets, params,
    /// other outputs and modules), by output name.
    pub output_depends_on: BTreeMap<String, Vec<String>>,
    pub diagnostics: Vec<Diagnostic>,
    /// Why evaluation was skipped, when it was.
    pub notes: Vec<EvalNote>,
    /// The required params of the root that have no value: evaluation
    /// was skipped for them (and `notes` says so).
    pub missing_params: Vec<String>,
    /// Provider configurations, from every module instance.
    pub providers: Vec<ProviderBlock>,
    /// Assertions (and policy checks) that read values unknown until
    /// apply, left for later.
    pub pending_assertions: usize,
    /// The `moved` blocks of every module instance, addresses absolute.
    pub moves: Vec<crate::lifecycle::Move>,
    /// The `removed` blocks of every module instance, addresses absolute.
    pub removals: Vec<crate::lifecycle::Removal>,
    /// The `import` blocks of every module instance, one per combination
    /// of the keys of the loops around them, addresses absolute.
    pub imports: Vec<crate::lifecycle::Import>,
}

impl Evaluation {
    /// Drops the values (`value` and `resolved`) of the instances that
    /// `keep` refuses, keeping everything else about them: for a caller
    /// that evaluates the configuration again before it needs the values,
    /// so that the two evaluations are not held at once.
    pub fn forget_values(&mut self, keep: impl Fn(&Instance) -> bool) {
        for instance in self.instances.iter_mut().filter(|i| !keep(i)) {
            instance.value = Value::None;
            instance.resolved = Value::None;
        }
    }
}

/// A failure during evaluation, at a span.
#[derive(Debug, Clone)]
pub(crate) struct EvalError {
    pub(crate) span: Span,
    pub(crate) message: String,
}

pub(crate) type EvalResult<T> = Result<T, EvalError>;

/// A module instance: the root, or one instance of a `module` declaration.
#[derive(Debug)]
struct Context {
    file: FileId,
    /// The module instances this context is inside, outermost first.
    path: Vec<(DeclId, Vec<Key>)>,
    /// The address prefix of everything inside: `""`, `db.`, `db["eu"].`.
    prefix: String,
    params: HashMap<SmolStr, Value>,
    /// A file reached through `import`: its lets and asserts are evaluated
    /// once, whoever imports it; its policies and provider blocks are not
    /// the configuration's.
    imported: bool,
}

/// Loop variables bound at some point of a block.
type Frame = Rc<Vec<(SmolStr, Value)>>;

/// The elements of a `for`: each key with the variables it binds, in the
/// collection's order, and where each key is among them (so that finding
/// one instance's variables, and refusing a repeated key, cost the same
/// however many elements the loop has).
#[derive(Debug, Default)]
struct LoopElements {
    items: Vec<(Key, Vec<(SmolStr, Value)>)>,
    positions: HashMap<Key, usize>,
}

impl LoopElements {
    fn iter(&self) -> std::slice::Iter<'_, (Key, Vec<(SmolStr, Value)>)> {
        self.items.iter()
    }

    /// The variables that the element `key` binds.
    fn bindings(&self, key: &Key) -> Option<&[(SmolStr, Value)]> {
        self.positions.get(key).map(|&at| self.items[at].1.as_slice())
    }

    /// Adds an element; `false` (and nothing added) when its key is taken.
    fn push(&mut self, key: Key, bindings: Vec<(SmolStr, Value)>) -> bool {
        match self.positions.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                self.items.push((slot.key().clone(), bindings));
                slot.insert(self.items.len() - 1);
                true
            }
        }
    }
}

type Elements = Rc<LoopElements>;

pub struct Evaluator<'e, 'a> {
    files: &'e Files,
    model: &'e Model<'a>,
    checked: &'e Checked,
    db: &'e dyn SourceDb,
    contexts: Vec<Context>,
    values: HashMap<(usize, DeclId, Vec<Key>), Value>,
    in_progress: rustc_hash::FxHashSet<(usize, DeclId, Vec<Key>)>,
    elements: HashMap<(usize, ScopeId, Vec<Key>), Elements>,
    frames: HashMap<(usize, ScopeId, Vec<Key>), Frame>,
    children: HashMap<(usize, DeclId, Vec<Key>), usize>,
    /// The context of each imported file.
    imports: HashMap<FileId, usize>,
    instances: Vec<Instance>,
    diagnostics: Vec<Diagnostic>,
    /// Spans already reported, so that a failing expression shared by many
    /// instances is reported once.
    reported: rustc_hash::FxHashSet<Span>,
    /// Comprehension and key-expression variables, innermost last.
    locals: Vec<(SmolStr, Value)>,
    resolver: &'e mut dyn Resolver,
    pending_assertions: usize,
    missing_params: Vec<String>,
    /// List and map elements built so far by ranges, comprehensions and
    /// function results, against `expr::MAX_ELEMENTS`.
    built: u64,
}

/// Evaluates the configuration rooted at `root` with the given param
/// values; `policy_files` are extra files whose policies apply to it.
#[allow(clippy::too_many_arguments, reason = "the parts of an analysis, borrowed separately")]
pub fn evaluate(
    files: &Files,
    model: &Model<'_>,
    checked: &Checked,
    graph: &crate::ir::Graph,
    db: &dyn SourceDb,
    root: FileId,
    inputs: &std::collections::HashMap<String, ParamInput>,
    policy_files: &[FileId],
    resolver: &mut dyn Resolver,
) -> Evaluation {
    let parts = Parts { files, model, checked, graph, db };
    evaluate_with(parts, root, inputs, policy_files, resolver, &[]).0
}

/// The parts of an analysis an evaluation reads.
#[derive(Clone, Copy)]
pub struct Parts<'e, 'a> {
    pub files: &'e Files,
    pub model: &'e Model<'a>,
    pub checked: &'e Checked,
    pub graph: &'e crate::ir::Graph,
    pub db: &'e dyn SourceDb,
}

/// [`evaluate`], then the expressions `extra` (each of a file of the root
/// module, evaluated in the root module's scope): what `orchc test` asks
/// of a test's assertions. `Err` is why an expression has no value.
pub fn evaluate_with(
    parts: Parts<'_, '_>,
    root: FileId,
    inputs: &std::collections::HashMap<String, ParamInput>,
    policy_files: &[FileId],
    resolver: &mut dyn Resolver,
    extra: &[(FileId, &ast::Expr)],
) -> (Evaluation, Vec<Result<Value, String>>) {
    let Parts { files, model, checked, graph, db } = parts;
    let mut evaluator = Evaluator::new(files, model, checked, db, resolver);
    let mut notes = Vec::new();
    let Some(params) = evaluator.root_params(root, inputs, &mut notes) else {
        let missing = Err("the module was not evaluated".to_string());
        let evaluation = Evaluation {
            diagnostics: evaluator.diagnostics,
            notes,
            missing_params: evaluator.missing_params,
            ..Evaluation::default()
        };
        return (evaluation, vec![missing; extra.len()]);
    };
    evaluator.contexts.push(Context {
        file: root,
        path: Vec::new(),
        prefix: String::new(),
        params,
        imported: false,
    });
    evaluator.enumerate_module(0);
    let mut outputs = BTreeMap::new();
    if let Some(module) = model.modules.get(&root) {
        for &decl in &module.decls {
            if model.decl(decl).kind != DeclKind::Output {
                continue;
            }
            let scope = model.module_scope[&root];
            match evaluator.reference(0, decl, scope, &[]) {
                Ok(value) => {
                    outputs.insert(model.decl(decl).name_str().to_string(), value);
                }
                Err(error) => evaluator.report(error),
            }
        }
    }
    evaluator.enumerate_imports();
    evaluator.run_assertions();
    let mut policy_sources: Vec<FileId> =
        evaluator.contexts.iter().filter(|c| !c.imported).map(|c| c.file).collect();
    policy_sources.extend(policy_files);
    policy_sources.sort();
    policy_sources.dedup();
    for file in policy_sources {
        evaluator.run_policies(file);
    }
    let mut values = Vec::new();
    for &(file, expr) in extra {
        let value = match model.module_scope.get(&file) {
            Some(&scope) => evaluator.eval_expr(0, scope, &[], expr).map_err(|e| e.message),
            None => Err("the file is not part of the module".to_string()),
        };
        values.push(value);
    }
    evaluator.link_instances(graph);
    let conflicts = conflicts::conflicting_grants(&evaluator.instances);
    evaluator.diagnostics.extend(conflicts);
    let output_depends_on = evaluator.output_dependencies(graph, root);
    let providers = evaluator.provider_blocks();
    let (moves, removals) = evaluator.lifecycle_blocks();
    let imports = evaluator.import_blocks();
    let evaluation = Evaluation {
        moves,
        removals,
        imports,
        instances: evaluator.instances,
        outputs,
        output_depends_on,
        diagnostics: evaluator.diagnostics,
        notes,
        providers,
        pending_assertions: evaluator.pending_assertions,
        missing_params: Vec::new(),
    };
    (evaluation, values)
}

/// The value of `expr`, an expression of `file` that reads no declaration
/// (a test's `vars`): `Err` says why it has none.
pub fn evaluate_constant(
    parts: Parts<'_, '_>,
    file: FileId,
    expr: &ast::Expr,
) -> Result<Value, String> {
    let mut resolver = ConfigOnly;
    let mut evaluator =
        Evaluator::new(parts.files, parts.model, parts.checked, parts.db, &mut resolver);
    evaluator.contexts.push(Context {
        file,
        path: Vec::new(),
        prefix: String::new(),
        params: HashMap::default(),
        imported: false,
    });
    let scope = *parts.model.module_scope.get(&file).ok_or("the file has no module")?;
    evaluator.eval_expr(0, scope, &[], expr).map_err(|e| e.message)
}

/// Evaluates only the instances `targets` (and what they read, which the
/// resolver may answer with [`Resolver::settled`]): the executor's
/// evaluation of the nodes whose inputs became known. The instances
/// evaluated on the way are returned too; diagnostics are those of the
/// expressions evaluated.
#[allow(clippy::too_many_arguments, reason = "the parts of an analysis, borrowed separately")]
pub fn evaluate_instances(
    files: &Files,
    model: &Model<'_>,
    checked: &Checked,
    db: &dyn SourceDb,
    root: FileId,
    inputs: &std::collections::HashMap<String, ParamInput>,
    resolver: &mut dyn Resolver,
    targets: &[InstanceRef],
) -> Evaluation {
    let mut evaluator = Evaluator::new(files, model, checked, db, resolver);
    let mut notes = Vec::new();
    let Some(params) = evaluator.root_params(root, inputs, &mut notes) else {
        return Evaluation {
            diagnostics: evaluator.diagnostics,
            notes,
            missing_params: evaluator.missing_params,
            ..Evaluation::default()
        };
    };
    evaluator.contexts.push(Context {
        file: root,
        path: Vec::new(),
        prefix: String::new(),
        params,
        imported: false,
    });
    for target in targets {
        let result = evaluator.context_of(&target.modules).and_then(|context| match context {
            Some(context) => evaluator.decl_value(context, target.decl, &target.keys).map(|_| ()),
            None => Ok(()),
        });
        if let Err(error) = result {
            evaluator.report(error);
        }
    }
    Evaluation {
        instances: evaluator.instances,
        diagnostics: evaluator.diagnostics,
        notes,
        pending_assertions: evaluator.pending_assertions,
        ..Evaluation::default()
    }
}

impl<'e, 'a> Evaluator<'e, 'a> {
    fn new(
        files: &'e Files,
        model: &'e Model<'a>,
        checked: &'e Checked,
        db: &'e dyn SourceDb,
        resolver: &'e mut dyn Resolver,
    ) -> Evaluator<'e, 'a> {
        Evaluator {
            files,
            model,
            checked,
            db,
            contexts: Vec::new(),
            values: HashMap::default(),
            in_progress: Default::default(),
            elements: HashMap::default(),
            frames: HashMap::default(),
            children: HashMap::default(),
            imports: HashMap::default(),
            instances: Vec::new(),
            diagnostics: Vec::new(),
            reported: Default::default(),
            locals: Vec::new(),
            resolver,
            pending_assertions: 0,
            missing_params: Vec::new(),
            built: 0,
        }
    }

    fn report(&mut self, error: EvalError) {
        if self.reported.insert(error.span) {
            self.diagnostics.push(Diagnostic::new(&codes::E0601, error.span, error.message));
        }
    }

    /// The values of the root module's params, or `None` (with a note)
    /// when a required one is missing.
    fn root_params(
        &mut self,
        root: FileId,
        inputs: &std::collections::HashMap<String, ParamInput>,
        notes: &mut Vec<EvalNote>,
    ) -> Option<HashMap<SmolStr, Value>> {
        let module = self.model.modules.get(&root)?;
        let mut values = HashMap::default();
        let mut missing = Vec::new();
        let mut defaults = Vec::new();
        for &decl in &module.decls {
            let d = self.model.decl(decl);
            if d.kind != DeclKind::Param {
                continue;
            }
            let ItemKind::Param(param) = &d.item.kind else { continue };
            let ty = self
                .checked
                .decl_types
                .get(&decl)
                .map(|t| t.ty.clone())
                .unwrap_or(orch_stdlib::Ty::Error);
            match inputs.get(d.name_str()) {
                Some(input) => match conform(input.to_value(), &ty) {
                    Ok(value) => {
                        values.insert(SmolStr::new(d.name_str()), value);
                    }
                    Err(problem) => {
                        // Never quote a secret's value.
                        let problem = if ty.is_secret() {
                            "the value is hidden because the param is secret".to_string()
                        } else {
                            problem
                        };
                        self.diagnostics.push(
                        Diagnostic::new(
                            &codes::E0603,
                            d.name_span(),
                            format!("the value given for the param `{}` does not fit its type: {problem}", d.name_str()),
                        )
                        .with_help(format!("`{}` is a `{ty}`", d.name_str())),
                    )
                    }
                },
                None if param.default.is_some() => defaults.push(decl),
                None => missing.push(d.name_str().to_string()),
            }
        }
        if !missing.is_empty() {
            self.missing_params = missing.clone();
            let path = self.files.module_path(root);
            notes.push(EvalNote::MissingParams { path: path.to_string(), names: missing });
            return None;
        }
        if self.diagnostics.iter().any(Diagnostic::is_error) {
            return None;
        }
        // Defaults may use other params: evaluate them in a context that
        // already holds the given values.
        self.contexts.push(Context {
            file: root,
            path: Vec::new(),
            prefix: String::new(),
            params: values,
            imported: false,
        });
        for decl in defaults {
            let ItemKind::Param(param) = &self.model.decl(decl).item.kind else { continue };
            let Some(default) = &param.default else { continue };
            let scope = self.model.decl(decl).scope;
            match self.eval_expr(0, scope, &[], default) {
                Ok(value) => {
                    let name = SmolStr::new(self.model.decl(decl).name_str());
                    let value = self.conform_param(decl, value);
                    self.contexts[0].params.insert(name, value);
                }
                Err(error) => self.report(error),
            }
        }
        let context = self.contexts.pop()?;
        Some(context.params)
    }

    /// A param value in the shape of the param's type: secret when the type
    /// is, optional record fields present as none. Values were type-checked
    /// statically, so a mismatch only happens with unknown values.
    fn conform_param(&self, param: DeclId, value: Value) -> Value {
        let Some(typed) = self.checked.decl_types.get(&param) else { return value };
        if !value.is_known() {
            return if typed.ty.is_secret() { Value::secret(value) } else { value };
        }
        conform(value.clone(), &typed.ty).unwrap_or(value)
    }

    /// Evaluates every resource, data, module and output of a module
    /// instance, registering instances.
    fn enumerate_module(&mut self, context: usize) {
        let file = self.contexts[context].file;
        let Some(module) = self.model.modules.get(&file) else { return };
        for &decl in &module.decls {
            let kind = self.model.decl(decl).kind;
            if !matches!(
                kind,
                DeclKind::Resource | DeclKind::Data | DeclKind::Module | DeclKind::Let
            ) {
                continue;
            }
            let scope = self.model.decl(decl).scope;
            if self.model.decl(decl).policy.is_some() {
                continue;
            }
            match self.key_combinations(context, scope) {
                Ok(combinations) => {
                    for keys in combinations {
                        if let Err(error) = self.decl_value(context, decl, &keys) {
                            self.report(error);
                        }
                    }
                }
                Err(error) => self.report(error),
            }
        }
    }

    /// Every key combination under which `scope` is entered (conditions
    /// true), outermost loop first.
    fn key_combinations(&mut self, context: usize, scope: ScopeId) -> EvalResult<Vec<Vec<Key>>> {
        let mut chain = self.model.scope_chain(scope);
        chain.reverse();
        let mut combinations: Vec<Vec<Key>> = vec![Vec::new()];
        for scope in chain {
            let mut next = Vec::new();
            for keys in combinations {
                match &self.model.scope(scope).kind {
                    ScopeKind::For(_) => {
                        // Instances of a loop over values not known yet are
                        // enumerated at plan time.
                        let Some(elements) = self.elements(context, scope, &keys)? else {
                            continue;
                        };
                        for (key, _) in elements.iter() {
                            let mut extended = keys.clone();
                            extended.push(key.clone());
                            next.push(extended);
                        }
                    }
                    ScopeKind::If { .. } => {
                        if self.if_taken(context, scope, &keys)? == Some(true) {
                            next.push(keys);
                        }
                    }
                    ScopeKind::Module | ScopeKind::Policy(_) => next.push(keys),
                }
            }
            combinations = next;
        }
        Ok(combinations)
    }

    /// The elements of the `for` block `scope` under the outer keys, or
    /// `None` when the collection is not known yet (it reads a data source,
    /// which is read at plan time).
    fn elements(
        &mut self,
        context: usize,
        scope: ScopeId,
        outer: &[Key],
    ) -> EvalResult<Option<Elements>> {
        let memo = (context, scope, outer.to_vec());
        if let Some(elements) = self.elements.get(&memo) {
            return Ok(Some(elements.clone()));
        }
        let ScopeKind::For(decl) = &self.model.scope(scope).kind else {
            return Ok(Some(Rc::new(LoopElements::default())));
        };
        let parent = self.model.scope(scope).parent.unwrap_or(scope);
        let collection = self.eval_expr(context, parent, outer, &decl.collection)?;
        let key_kind = self.checked.loops.get(&scope).map_or(KeyKind::String, |l| l.key_kind);
        // The loop variables keep the secret marks of the elements (the
        // checker made sure that no key is secret).
        let collection = collection.reveal().0.clone();
        let mut out = LoopElements::default();
        let first = decl.binding.first.name.clone();
        let second = decl.binding.second.as_ref().map(|s| s.name.clone());
        let items: Vec<(Value, Value)> = match &collection {
            Value::List(items) => {
                items.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v.clone())).collect()
            }
            Value::Map(entries) => {
                entries.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect()
            }
            // The checker made sure it is known at plan time.
            Value::Unknown => return Ok(None),
            other => {
                return Err(EvalError {
                    span: decl.collection.span,
                    message: format!("cannot iterate over a {}", other.kind_name()),
                });
            }
        };
        for (index, item) in items {
            let bindings = match &second {
                Some(second) => {
                    vec![(first.clone(), index.clone()), (second.clone(), item.clone())]
                }
                None => vec![(first.clone(), item.clone())],
            };
            let key = match &decl.key {
                Some(key_expr) => {
                    let value = self.with_locals(&bindings, |this| {
                        this.eval_expr(context, parent, outer, key_expr)
                    })?;
                    match value.reveal().0 {
                        Value::String(text) => Key::Str(text.clone()),
                        Value::Unknown => return Ok(None),
                        other => {
                            return Err(EvalError {
                                span: key_expr.span,
                                message: format!(
                                    "an instance key must be a string, this is a {}",
                                    other.kind_name()
                                ),
                            });
                        }
                    }
                }
                None => match (&index, item.reveal().0, key_kind, &collection) {
                    (_, _, KeyKind::String, Value::Map(_)) => match &index {
                        Value::String(text) => Key::Str(text.clone()),
                        _ => Key::Int(0),
                    },
                    (_, Value::String(text), KeyKind::String, _) => Key::Str(text.clone()),
                    (Value::Int(i), Value::Int(value), KeyKind::Int, _)
                        if matches!(decl.collection.kind, ExprKind::Range { .. }) =>
                    {
                        let _ = i;
                        Key::Int(*value)
                    }
                    (Value::Int(i), _, _, _) => Key::Int(*i),
                    (Value::String(text), _, _, _) => Key::Str(text.clone()),
                    _ => Key::Int(0),
                },
            };
            if out.positions.contains_key(&key) {
                let span = decl.key.as_ref().map_or(decl.collection.span, |k| k.span);
                let diagnostic = Diagnostic::new(
                    &codes::E0602,
                    span,
                    format!("two instances have the key {key}: instance keys must be unique"),
                )
                .with_help("instance keys identify objects in state; make them unique, for example with `key`");
                if self.reported.insert(span) {
                    self.diagnostics.push(diagnostic);
                }
                continue;
            }
            out.push(key, bindings);
        }
        let elements = Rc::new(out);
        self.elements.insert(memo, elements.clone());
        Ok(Some(elements))
    }

    /// Whether the `if` branch `scope` is taken under `keys`, or `None`
    /// while a condition is not known yet.
    fn if_taken(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
    ) -> EvalResult<Option<bool>> {
        let ScopeKind::If { decl, branch } = &self.model.scope(scope).kind else {
            return Ok(Some(true));
        };
        let (decl, branch) = (*decl, *branch);
        let parent = self.model.scope(scope).parent.unwrap_or(scope);
        for (index, (condition, _)) in decl.branches.iter().enumerate() {
            let value = self.eval_expr(context, parent, keys, condition)?;
            let truth = match value.reveal().0 {
                Value::Bool(b) => *b,
                Value::Unknown => return Ok(None),
                other => {
                    return Err(EvalError {
                        span: condition.span,
                        message: format!(
                            "a condition must be a bool, this is a {}",
                            other.kind_name()
                        ),
                    });
                }
            };
            if index == branch {
                return Ok(Some(truth));
            }
            if truth {
                return Ok(Some(false));
            }
        }
        // The `else` block: every condition was false.
        Ok(Some(branch == decl.branches.len()))
    }

    /// The loop variables bound inside `scope` under `keys`.
    pub(crate) fn frame(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
    ) -> EvalResult<Frame> {
        let memo = (context, scope, keys.to_vec());
        if let Some(frame) = self.frames.get(&memo) {
            return Ok(frame.clone());
        }
        let mut chain = self.model.scope_chain(scope);
        chain.reverse();
        let mut bindings = Vec::new();
        let mut used = 0;
        for scope in chain {
            if !matches!(self.model.scope(scope).kind, ScopeKind::For(_)) {
                continue;
            }
            let Some(key) = keys.get(used) else { break };
            let Some(elements) = self.elements(context, scope, &keys[..used])? else { break };
            if let Some(vars) = elements.bindings(key) {
                bindings.extend(vars.iter().cloned());
            }
            used += 1;
        }
        let frame = Rc::new(bindings);
        self.frames.insert(memo, frame.clone());
        Ok(frame)
    }

    /// The number of `for` blocks around `scope`.
    pub(crate) fn loop_depth(&self, scope: ScopeId) -> usize {
        self.model
            .scope_chain(scope)
            .iter()
            .filter(|s| matches!(self.model.scope(**s).kind, ScopeKind::For(_)))
            .count()
    }

    /// The value of `decl` seen from `site` with the site's loop keys:
    /// loops and conditions around `decl` that do not surround the site
    /// make a map, a list or an optional.
    pub(crate) fn reference(
        &mut self,
        context: usize,
        decl: DeclId,
        site: ScopeId,
        site_keys: &[Key],
    ) -> EvalResult<Value> {
        let mut decl_chain = self.model.scope_chain(self.model.decl(decl).scope);
        decl_chain.reverse();
        let mut site_chain = self.model.scope_chain(site);
        site_chain.reverse();
        let mut shared = 0;
        let mut keys = Vec::new();
        while shared < decl_chain.len()
            && shared < site_chain.len()
            && decl_chain[shared] == site_chain[shared]
        {
            if matches!(self.model.scope(decl_chain[shared]).kind, ScopeKind::For(_)) {
                match site_keys.get(keys.len()) {
                    Some(key) => keys.push(key.clone()),
                    None => break,
                }
            }
            shared += 1;
        }
        let rest: Vec<ScopeId> = decl_chain[shared..].to_vec();
        self.build(context, decl, &rest, keys)
    }

    fn build(
        &mut self,
        context: usize,
        decl: DeclId,
        rest: &[ScopeId],
        keys: Vec<Key>,
    ) -> EvalResult<Value> {
        let Some((&scope, deeper)) = rest.split_first() else {
            return self.decl_value(context, decl, &keys);
        };
        match &self.model.scope(scope).kind {
            ScopeKind::For(_) => {
                let Some(elements) = self.elements(context, scope, &keys)? else {
                    return Ok(Value::Unknown);
                };
                let key_kind =
                    self.checked.loops.get(&scope).map_or(KeyKind::String, |l| l.key_kind);
                let mut map = BTreeMap::new();
                let mut list = Vec::new();
                for (key, _) in elements.iter() {
                    let mut extended = keys.clone();
                    extended.push(key.clone());
                    let value = self.build(context, decl, deeper, extended)?;
                    match (key_kind, key) {
                        (KeyKind::String, Key::Str(text)) => {
                            map.insert(text.clone(), value);
                        }
                        (KeyKind::String, Key::Int(i)) => {
                            map.insert(SmolStr::new(i.to_string()), value);
                        }
                        (KeyKind::Int, _) => list.push(value),
                    }
                }
                Ok(if key_kind == KeyKind::String { Value::map(map) } else { Value::list(list) })
            }
            ScopeKind::If { .. } => match self.if_taken(context, scope, &keys)? {
                Some(true) => self.build(context, decl, deeper, keys),
                Some(false) => Ok(Value::None),
                None => Ok(Value::Unknown),
            },
            ScopeKind::Module | ScopeKind::Policy(_) => self.build(context, decl, deeper, keys),
        }
    }

    /// The value of one instance of `decl`.
    fn decl_value(&mut self, context: usize, decl: DeclId, keys: &[Key]) -> EvalResult<Value> {
        let memo = (context, decl, keys.to_vec());
        if let Some(value) = self.values.get(&memo) {
            return Ok(value.clone());
        }
        if !self.in_progress.insert(memo.clone()) {
            // A cycle, reported by the checker.
            return Ok(Value::Unknown);
        }
        let result = self.compute(context, decl, keys);
        self.in_progress.remove(&memo);
        let value = result?;
        self.values.insert(memo, value.clone());
        Ok(value)
    }

    fn compute(&mut self, context: usize, decl: DeclId, keys: &[Key]) -> EvalResult<Value> {
        let d = self.model.decl(decl);
        let (scope, item, kind) = (d.scope, d.item, d.kind);
        match &item.kind {
            ItemKind::Param(_) => {
                let name = d.name_str();
                Ok(self.contexts[context].params.get(name).cloned().unwrap_or(Value::Unknown))
            }
            ItemKind::Let(decl_ast) => self.eval_expr(context, scope, keys, &decl_ast.value),
            ItemKind::Output(output) => self.eval_expr(context, scope, keys, &output.value),
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                let address = self.address(context, decl, keys);
                if let Some(settled) = self.resolver.settled(&address) {
                    let origin = self.origin(context, decl, keys);
                    self.instances.push(Instance {
                        address,
                        decl,
                        kind,
                        resource_kind: resource.kind.to_dotted(),
                        value: settled.clone(),
                        resolved: settled.clone(),
                        options: InstanceOptions::default(),
                        depends_on: Vec::new(),
                        span: self.model.decl(decl).name_span(),
                        origin,
                        context,
                        keys: keys.to_vec(),
                    });
                    return Ok(settled);
                }
                let mut fields = BTreeMap::new();
                for field in &resource.body.fields {
                    let FieldKey::Name(name) = &field.key else { continue };
                    let value = self.eval_expr(context, scope, keys, &field.value)?;
                    fields.insert(name.name.clone(), value);
                }
                let kind_name = resource.kind.to_dotted();
                if let Some(schema) = lookup_kind(&kind_name) {
                    for field in &schema.fields {
                        let name = SmolStr::new(field.name);
                        if field.output {
                            fields.insert(name, Value::Unknown);
                        } else {
                            fields
                                .entry(name)
                                .or_insert_with(|| field.default.clone().unwrap_or(Value::None));
                        }
                        if field.sensitive
                            && let Some(value) = fields.get_mut(field.name)
                        {
                            *value = Value::sensitive(value.clone());
                        }
                    }
                }
                let value = Value::map(fields);
                let options = self.instance_options(context, scope, keys, item)?;
                let origin = self.origin(context, decl, keys);
                let mut instance = Instance {
                    address,
                    decl,
                    kind,
                    resource_kind: kind_name,
                    value: value.clone(),
                    resolved: Value::Unknown,
                    options,
                    depends_on: Vec::new(),
                    span: self.model.decl(decl).name_span(),
                    origin,
                    context,
                    keys: keys.to_vec(),
                };
                let resolved = self.resolver.resolve(&instance);
                instance.resolved = resolved.clone();
                self.instances.push(instance);
                Ok(resolved)
            }
            ItemKind::Module(module) => self.module_value(context, decl, scope, keys, module),
            _ => Ok(Value::Unknown),
        }
    }

    fn module_value(
        &mut self,
        context: usize,
        decl: DeclId,
        scope: ScopeId,
        keys: &[Key],
        module: &ast::Module,
    ) -> EvalResult<Value> {
        let Some(&target) = self.checked.targets.get(&decl) else { return Ok(Value::Unknown) };
        let memo = (context, decl, keys.to_vec());
        let child = match self.children.get(&memo) {
            Some(&child) => child,
            None => {
                let mut params = HashMap::default();
                let target_names = self.model.modules.get(&target).map(|m| &m.names);
                for field in &module.body.fields {
                    let FieldKey::Name(name) = &field.key else { continue };
                    let mut value = self.eval_expr(context, scope, keys, &field.value)?;
                    if let Some(&param) = target_names.and_then(|n| n.get(&name.name)) {
                        value = self.conform_param(param, value);
                    }
                    params.insert(name.name.clone(), value);
                }
                let prefix = format!("{}{}", self.address(context, decl, keys), ".");
                let child = self.contexts.len();
                let mut path = self.contexts[context].path.clone();
                path.push((decl, keys.to_vec()));
                self.contexts.push(Context { file: target, path, prefix, params, imported: false });
                self.children.insert(memo, child);
                // Defaults of params not given.
                if let Some(info) = self.model.modules.get(&target) {
                    let module_scope = self.model.module_scope[&target];
                    for &param in &info.decls {
                        let d = self.model.decl(param);
                        let ItemKind::Param(ast_param) = &d.item.kind else { continue };
                        if self.contexts[child].params.contains_key(d.name_str()) {
                            continue;
                        }
                        if let Some(default) = &ast_param.default {
                            let value = self.eval_expr(child, module_scope, &[], default)?;
                            let value = self.conform_param(param, value);
                            let name = SmolStr::new(self.model.decl(param).name_str());
                            self.contexts[child].params.insert(name, value);
                        }
                    }
                }
                self.enumerate_module(child);
                child
            }
        };
        let mut outputs = BTreeMap::new();
        if let Some(info) = self.model.modules.get(&target) {
            let module_scope = self.model.module_scope[&target];
            for &output in &info.decls {
                if self.model.decl(output).kind != DeclKind::Output {
                    continue;
                }
                let value = self.reference(child, output, module_scope, &[])?;
                outputs.insert(SmolStr::new(self.model.decl(output).name_str()), value);
            }
        }
        Ok(Value::map(outputs))
    }

    /// The context of the imported file `file`, made on first use.
    fn import_context(&mut self, file: FileId) -> usize {
        if let Some(&context) = self.imports.get(&file) {
            return context;
        }
        let context = self.contexts.len();
        self.contexts.push(Context {
            file,
            path: Vec::new(),
            prefix: String::new(),
            params: HashMap::default(),
            imported: true,
        });
        self.imports.insert(file, context);
        context
    }

    /// The value of `decl`, a declaration of an imported file, read as
    /// `alias.NAME`: the same wherever it is read from, since an imported
    /// file has no params.
    pub(crate) fn imported_value(&mut self, decl: DeclId) -> EvalResult<Value> {
        let file = self.model.decl(decl).file;
        let context = self.import_context(file);
        let scope = self.model.module_scope[&file];
        self.reference(context, decl, scope, &[])
    }

    /// Makes a context for every file that the configuration's files
    /// import, directly or through other imports, and evaluates its lets,
    /// so that their mistakes and their asserts are found at check time
    /// even when nothing reads them.
    fn enumerate_imports(&mut self) {
        let mut index = 0;
        while index < self.contexts.len() {
            let file = self.contexts[index].file;
            index += 1;
            let Some(module) = self.model.modules.get(&file) else { continue };
            let targets: Vec<FileId> = module
                .decls
                .iter()
                .filter(|d| self.model.decl(**d).kind == DeclKind::Import)
                .filter_map(|d| self.checked.targets.get(d).copied())
                .collect();
            for target in targets {
                if !self.imports.contains_key(&target) {
                    let context = self.import_context(target);
                    self.enumerate_module(context);
                }
            }
        }
    }

    fn origin(&self, context: usize, decl: DeclId, keys: &[Key]) -> InstanceRef {
        InstanceRef { modules: self.contexts[context].path.clone(), decl, keys: keys.to_vec() }
    }

    /// The context of the module instance `path` leads to, made (with the
    /// module's instances) when it does not exist yet.
    fn context_of(&mut self, path: &[(DeclId, Vec<Key>)]) -> EvalResult<Option<usize>> {
        let mut context = 0;
        for (decl, keys) in path {
            let memo = (context, *decl, keys.clone());
            if !self.children.contains_key(&memo) {
                self.decl_value(context, *decl, keys)?;
            }
            match self.children.get(&memo) {
                Some(&child) => context = child,
                None => return Ok(None),
            }
        }
        Ok(Some(context))
    }

    /// The address of an instance: the module prefix, the name and keys.
    fn address(&self, context: usize, decl: DeclId, keys: &[Key]) -> String {
        let mut out = self.contexts[context].prefix.clone();
        out.push_str(self.model.decl(decl).name_str());
        for key in keys {
            out.push_str(&key.to_string());
        }
        out
    }

    /// The `moved` and `removed` blocks of every module instance, their
    /// addresses prefixed with the instance's (checked before evaluation:
    /// blocks that do not decode were reported then).
    fn lifecycle_blocks(&self) -> (Vec<crate::lifecycle::Move>, Vec<crate::lifecycle::Removal>) {
        use crate::lifecycle::{Block, Move, Removal, decode};
        let (mut moves, mut removals) = (Vec::new(), Vec::new());
        for context in &self.contexts {
            let Some(module) = self.model.modules.get(&context.file) else { continue };
            for (block, _) in &module.lifecycle {
                match decode(block) {
                    Ok(Block::Moved { from, to }) => moves.push(Move {
                        from: format!("{}{from}", context.prefix),
                        to: format!("{}{to}", context.prefix),
                        span: block.keyword,
                    }),
                    Ok(Block::Removed { from, destroy }) => removals.push(Removal {
                        from: format!("{}{from}", context.prefix),
                        destroy,
                        span: block.keyword,
                    }),
                    Ok(Block::Import { .. }) | Err(_) => {}
                }
            }
        }
        (moves, removals)
    }

    /// The `import` blocks of every module instance, each evaluated under
    /// every key combination of the loops around it: `to = dir[name]` in a
    /// `for name in names` adopts one object per name.
    fn import_blocks(&mut self) -> Vec<crate::lifecycle::Import> {
        use crate::lifecycle::{Block, Import, decode};
        let mut imports = Vec::new();
        for context in 0..self.contexts.len() {
            if self.contexts[context].imported {
                continue;
            }
            let file = self.contexts[context].file;
            let Some(module) = self.model.modules.get(&file) else { continue };
            let blocks: Vec<_> = module.lifecycle.clone();
            for (block, scope) in blocks {
                let Ok(Block::Import { to_expr, id, .. }) = decode(block) else { continue };
                let combinations = match self.key_combinations(context, scope) {
                    Ok(combinations) => combinations,
                    Err(error) => {
                        self.report(error);
                        continue;
                    }
                };
                for keys in combinations {
                    let to = match self.import_address(context, scope, &keys, to_expr) {
                        Ok(Some(to)) => to,
                        Ok(None) => continue,
                        Err(error) => {
                            self.report(error);
                            continue;
                        }
                    };
                    let id_value = match self.eval_expr(context, scope, &keys, id) {
                        Ok(value) => value,
                        Err(error) => {
                            self.report(error);
                            continue;
                        }
                    };
                    let id_text = match id_value {
                        Value::String(text) => Some(text.to_string()),
                        _ => None,
                    };
                    imports.push(Import {
                        to: format!("{}{to}", self.contexts[context].prefix),
                        id: id_text,
                        span: block.keyword,
                        id_span: id.span,
                    });
                }
            }
        }
        imports
    }

    /// The address an `import` block's `to` names under `keys`: its
    /// names, with its keys evaluated (`dir[name]` → `dir["a"]`); `None`
    /// when a key is not known yet.
    fn import_address(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        expr: &ast::Expr,
    ) -> EvalResult<Option<String>> {
        match &expr.kind {
            ExprKind::Ident(ident) => Ok(Some(ident.name.to_string())),
            ExprKind::Paren(inner) => self.import_address(context, scope, keys, inner),
            ExprKind::Field { base, name, .. } => {
                let Some(base) = self.import_address(context, scope, keys, base)? else {
                    return Ok(None);
                };
                Ok(Some(format!("{base}.{}", name.name)))
            }
            ExprKind::Index { base, index } => {
                let Some(base) = self.import_address(context, scope, keys, base)? else {
                    return Ok(None);
                };
                let key = match self.eval_expr(context, scope, keys, index)?.reveal().0 {
                    Value::String(text) => Key::Str(text.clone()),
                    Value::Int(value) => Key::Int(*value),
                    Value::Unknown => return Ok(None),
                    other => {
                        return Err(EvalError {
                            span: index.span,
                            message: format!(
                                "an address key must be a string or an integer, not a {}",
                                other.kind_name()
                            ),
                        });
                    }
                };
                Ok(Some(format!("{base}{key}")))
            }
            _ => Err(EvalError {
                span: expr.span,
                message: "expected an instance address such as `dir[name]`".into(),
            }),
        }
    }

    /// Runs every `assert` and `warn` outside policies.
    fn run_assertions(&mut self) {
        // Every module instance and imported file has its context by now.
        for context in 0..self.contexts.len() {
            let file = self.contexts[context].file;
            let Some(module) = self.model.modules.get(&file) else { continue };
            let decls: Vec<DeclId> = module
                .decls
                .iter()
                .copied()
                .filter(|d| matches!(self.model.decl(*d).kind, DeclKind::Assert | DeclKind::Warn))
                .filter(|d| self.model.decl(*d).policy.is_none())
                .collect();
            for decl in decls {
                self.run_assertion(context, decl, None);
            }
        }
    }

    /// Evaluates one assertion in every instance of its scope.
    fn run_assertion(&mut self, context: usize, decl: DeclId, policy: Option<&ast::Policy>) {
        let d = self.model.decl(decl);
        let (scope, kind) = (d.scope, d.kind);
        let (ItemKind::Assert(assert) | ItemKind::Warn(assert)) = &d.item.kind else { return };
        let combinations = match self.key_combinations(context, scope) {
            Ok(combinations) => combinations,
            Err(error) => return self.report(error),
        };
        for keys in combinations {
            let condition = match self.eval_expr(context, scope, &keys, &assert.condition) {
                Ok(value) => value,
                Err(error) => {
                    self.report(error);
                    continue;
                }
            };
            if !condition.is_known() {
                self.pending_assertions += 1;
                continue;
            }
            if condition.reveal().0 != &Value::Bool(false) {
                continue;
            }
            let message = match self.eval_expr(context, scope, &keys, &assert.message) {
                Ok(value) => match value {
                    Value::String(text) => text.to_string(),
                    other => other.to_string(),
                },
                Err(error) => {
                    self.report(error);
                    continue;
                }
            };
            let prefix = &self.contexts[context].prefix;
            let place = if prefix.is_empty() {
                String::new()
            } else {
                format!(" (in {})", prefix.trim_end_matches('.'))
            };
            let diagnostic = match (policy, kind) {
                (Some(policy), _) => {
                    let mut diagnostic = Diagnostic::new(
                        &codes::E0802,
                        assert.condition.span,
                        format!("policy `{}` is violated: {message}", policy.name.name),
                    )
                    .with_primary_message("this check failed");
                    if let Some(instance) = self.policy_subject(context, scope, &keys) {
                        diagnostic =
                            diagnostic.with_label(instance.1, format!("by `{}`", instance.0));
                    }
                    diagnostic
                }
                (None, DeclKind::Warn) => Diagnostic::new(
                    &codes::W0801,
                    assert.condition.span,
                    format!("{message}{place}"),
                )
                .with_primary_message("this condition is false"),
                (None, _) => Diagnostic::new(
                    &codes::E0801,
                    assert.condition.span,
                    format!("{message}{place}"),
                )
                .with_primary_message("this assertion failed"),
            };
            self.diagnostics.push(diagnostic);
        }
    }

    /// For an assertion inside `for x in resources(KIND)`, the instance
    /// (address and span) that the current keys select.
    fn policy_subject(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
    ) -> Option<(String, Span)> {
        let mut chain = self.model.scope_chain(scope);
        chain.reverse();
        let mut depth = 0;
        for scope in chain {
            let ScopeKind::For(decl) = &self.model.scope(scope).kind else { continue };
            if let ExprKind::Call { callee, args } = &decl.collection.kind
                && matches!(&callee.kind, ExprKind::Ident(n) if n.name == "resources")
                && let Some(kind) = args.first().and_then(|a| expr::dotted(&a.value))
                && let Some(Key::Int(index)) = keys.get(depth)
            {
                let _ = context;
                let instance = self
                    .instances
                    .iter()
                    .filter(|i| i.resource_kind == kind)
                    .nth(*index as usize)?;
                return Some((instance.address.clone(), instance.span));
            }
            depth += 1;
        }
        None
    }

    fn run_policies(&mut self, file: FileId) {
        let Some(module) = self.model.modules.get(&file) else { return };
        let policies = module.policies.clone();
        let context = match self.contexts.iter().position(|c| c.file == file) {
            Some(context) => context,
            None => {
                self.contexts.push(Context {
                    file,
                    path: Vec::new(),
                    prefix: String::new(),
                    params: HashMap::default(),
                    imported: false,
                });
                self.contexts.len() - 1
            }
        };
        for policy in policies {
            let decls: Vec<DeclId> = self
                .model
                .decls
                .iter()
                .filter(|d| {
                    self.files.module_of(d.file) == file
                        && d.policy.is_some_and(|p| std::ptr::eq(p, policy))
                })
                .filter(|d| matches!(d.kind, DeclKind::Assert | DeclKind::Warn))
                .map(|d| d.id)
                .collect();
            for decl in decls {
                self.run_assertion(context, decl, Some(policy));
            }
        }
    }

    /// The runtime decorators of a resource or data declaration.
    fn instance_options(
        &mut self,
        context: usize,
        scope: ScopeId,
        keys: &[Key],
        item: &ast::Item,
    ) -> EvalResult<InstanceOptions> {
        let mut options = InstanceOptions::default();
        for decorator in &item.decorators {
            let args = decorator.args.as_deref().unwrap_or_default();
            match DecoratorKind::from_name(&decorator.name.name) {
                Some(DecoratorKind::PreventDestroy) => options.prevent_destroy = true,
                Some(DecoratorKind::CreateBeforeDestroy) => options.create_before_destroy = true,
                Some(DecoratorKind::IgnoreChanges) => options
                    .ignore_changes
                    .extend(args.iter().filter_map(|a| expr::dotted(&a.value))),
                Some(DecoratorKind::Provider) => {
                    options.provider_alias = args.first().and_then(|a| expr::dotted(&a.value))
                }
                Some(DecoratorKind::Timeout) => {
                    if let Some(arg) = args.first()
                        && let Value::Duration(ms) =
                            self.eval_expr(context, scope, keys, &arg.value)?.reveal_all()
                    {
                        options.timeout_ms = Some(ms);
                    }
                }
                Some(DecoratorKind::Retry) => {
                    let (mut attempts, mut backoff) = (3, 1000);
                    for (index, arg) in args.iter().enumerate() {
                        let value = self.eval_expr(context, scope, keys, &arg.value)?.reveal_all();
                        let name = arg.name.as_ref().map(|n| n.name.as_str());
                        match (name, index, value) {
                            (Some("attempts") | None, 0, Value::Int(n))
                            | (Some("attempts"), _, Value::Int(n)) => attempts = n,
                            (_, _, Value::Duration(ms)) => backoff = ms,
                            _ => {}
                        }
                    }
                    options.retry = Some((attempts, backoff));
                }
                // Checked, with nothing for the runtime; unknown ones are
                // errors at check.
                Some(
                    DecoratorKind::Description | DecoratorKind::DependsOn | DecoratorKind::Plugin,
                )
                | None => {}
            }
        }
        Ok(options)
    }

    /// Every `provider` block of every module instance, evaluated.
    fn provider_blocks(&mut self) -> Vec<ProviderBlock> {
        let mut out = Vec::new();
        for context in 0..self.contexts.len() {
            if self.contexts[context].imported {
                continue;
            }
            let file = self.contexts[context].file;
            let Some(module) = self.model.modules.get(&file) else { continue };
            let Some(&scope) = self.model.module_scope.get(&file) else { continue };
            for provider in module.providers.clone() {
                let mut fields = BTreeMap::new();
                for field in &provider.body.fields {
                    let FieldKey::Name(name) = &field.key else { continue };
                    match self.eval_expr(context, scope, &[], &field.value) {
                        Ok(value) => {
                            fields.insert(name.name.clone(), value);
                        }
                        Err(error) => self.report(error),
                    }
                }
                let block = ProviderBlock {
                    name: provider.name.name.to_string(),
                    alias: provider.alias.as_ref().map(|a| a.name.to_string()),
                    config: Value::map(fields),
                    span: provider.name.span,
                };
                if !out
                    .iter()
                    .any(|b: &ProviderBlock| b.name == block.name && b.alias == block.alias)
                {
                    out.push(block);
                }
            }
        }
        out
    }

    /// Fills `depends_on` of every instance from the IR graph, following
    /// references through lets, params and outputs. An instance inside a
    /// module instance also depends on what that module instance depends on
    /// (its arguments and `@depends_on`), and so on up to the root.
    fn link_instances(&mut self, ir: &crate::ir::Graph) {
        let mut by_decl: HashMap<(usize, DeclId), Vec<usize>> = HashMap::default();
        for (index, instance) in self.instances.iter().enumerate() {
            by_decl.entry((instance.context, instance.decl)).or_default().push(index);
        }
        // The module instance that made each context: (parent, decl, keys).
        let mut parents: HashMap<usize, (usize, DeclId, Vec<Key>)> = HashMap::default();
        for ((parent, decl, keys), &child) in &self.children {
            parents.insert(child, (*parent, *decl, keys.clone()));
        }
        let mut module_deps: HashMap<usize, Vec<String>> = HashMap::default();
        let mut links = Vec::new();
        for index in 0..self.instances.len() {
            let (context, decl, keys) = {
                let instance = &self.instances[index];
                (instance.context, instance.decl, instance.keys.clone())
            };
            let mut depends = self.decl_dependencies(ir, &by_decl, context, decl, &keys);
            if parents.contains_key(&context) {
                let inherited = module_deps.entry(context).or_insert_with(|| {
                    let mut inherited = Vec::new();
                    let mut current = context;
                    while let Some((parent, module, module_keys)) = parents.get(&current).cloned() {
                        inherited.extend(self.decl_dependencies(
                            ir,
                            &by_decl,
                            parent,
                            module,
                            &module_keys,
                        ));
                        current = parent;
                    }
                    inherited
                });
                depends.extend(inherited.iter().cloned());
            }
            depends.sort();
            depends.dedup();
            links.push((index, depends));
        }
        for (index, depends) in links {
            self.instances[index].depends_on = depends;
        }
    }

    /// The instances each output of the root module (`root`, context 0)
    /// depends on, through the IR graph.
    fn output_dependencies(
        &self,
        ir: &crate::ir::Graph,
        root: FileId,
    ) -> BTreeMap<String, Vec<String>> {
        let mut by_decl: HashMap<(usize, DeclId), Vec<usize>> = HashMap::default();
        for (index, instance) in self.instances.iter().enumerate() {
            by_decl.entry((instance.context, instance.decl)).or_default().push(index);
        }
        let mut out = BTreeMap::new();
        let Some(module) = self.model.modules.get(&root) else { return out };
        for &decl in &module.decls {
            if self.model.decl(decl).kind != DeclKind::Output {
                continue;
            }
            let mut depends = self.decl_dependencies(ir, &by_decl, 0, decl, &[]);
            depends.sort();
            depends.dedup();
            out.insert(self.model.decl(decl).name_str().to_string(), depends);
        }
        out
    }

    /// The instances that the instance `keys` of `decl` in `context`
    /// depends on, through the IR graph.
    fn decl_dependencies(
        &self,
        ir: &crate::ir::Graph,
        by_decl: &HashMap<(usize, DeclId), Vec<usize>>,
        context: usize,
        decl: DeclId,
        keys: &[Key],
    ) -> Vec<String> {
        use petgraph::visit::EdgeRef;
        let Some(&node) = ir.nodes.get(&decl) else { return Vec::new() };
        let mut targets: Vec<DeclId> = Vec::new();
        let mut stack = vec![node];
        let mut seen = rustc_hash::FxHashSet::default();
        seen.insert(node);
        while let Some(current) = stack.pop() {
            for edge in ir.graph.edges(current) {
                let target = edge.target();
                if !seen.insert(target) {
                    continue;
                }
                let target_decl = ir.graph[target].decl;
                match self.model.decl(target_decl).kind {
                    DeclKind::Resource | DeclKind::Data | DeclKind::Module => {
                        targets.push(target_decl)
                    }
                    _ => stack.push(target),
                }
            }
        }
        let mut depends = Vec::new();
        let own_scope = self.model.decl(decl).scope;
        for target in targets {
            let shared = shared_loops(self.model, own_scope, self.model.decl(target).scope);
            for &other in by_decl.get(&(context, target)).into_iter().flatten() {
                let other = &self.instances[other];
                if other.keys.iter().take(shared).eq(keys.iter().take(shared)) {
                    depends.push(other.address.clone());
                }
            }
            // A module instance stands for everything inside it.
            if self.model.decl(target).kind == DeclKind::Module {
                let prefix =
                    format!("{}.", self.address(context, target, &keys[..shared.min(keys.len())]));
                depends.extend(
                    self.instances
                        .iter()
                        .filter(|i| i.address.starts_with(&prefix))
                        .map(|i| i.address.clone()),
                );
            }
        }
        depends
    }
}

/// How many `for` blocks two scopes share, counted from the outside.
fn shared_loops(model: &Model<'_>, a: ScopeId, b: ScopeId) -> usize {
    let mut a_chain = model.scope_chain(a);
    a_chain.reverse();
    let mut b_chain = model.scope_chain(b);
    b_chain.reverse();
    a_chain
        .iter()
        .zip(&b_chain)
        .take_while(|(x, y)| x == y)
        .filter(|(x, _)| matches!(model.scope(**x).kind, ScopeKind::For(_)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: i64) -> Vec<(SmolStr, Value)> {
        vec![(SmolStr::new(name), Value::Int(value))]
    }

    #[test]
    fn loop_elements_keep_order_find_by_key_and_refuse_a_repeated_key() {
        let mut elements = LoopElements::default();
        for i in (0..1000).rev() {
            assert!(elements.push(Key::Int(i), var("x", i * 2)));
        }
        assert!(elements.push(Key::Str("a".into()), var("y", 7)));
        assert!(!elements.push(Key::Int(500), var("x", -1)), "a repeated key is refused");
        assert!(!elements.push(Key::Str("a".into()), var("y", -1)));
        assert_eq!(elements.iter().count(), 1001);
        let first: Vec<&Key> = elements.iter().take(2).map(|(k, _)| k).collect();
        assert_eq!(first, [&Key::Int(999), &Key::Int(998)], "the collection's order is kept");
        assert_eq!(elements.bindings(&Key::Int(500)), Some(var("x", 1000).as_slice()));
        assert_eq!(elements.bindings(&Key::Str("a".into())), Some(var("y", 7).as_slice()));
        assert_eq!(elements.bindings(&Key::Int(1000)), None);
        assert_eq!(elements.positions.len(), elements.items.len());
    }
}
