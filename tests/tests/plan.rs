//! Plan corpus: every folder under `tests/data/plan/` that holds a
//! `main.orch` is one case (see `tests/data/plan/README.md`).
//!
//! A case is a configuration (`main.orch` and any files it reaches), the
//! state recorded by an earlier apply (`state.json`, a compact form of the
//! local backend's), the objects a fake provider reports when they are read
//! (`live.json`), optional param values (`vars.json`) and run options
//! (`options.json`: `{"destroy": true}`, `{"refresh": false}`). The runner
//! loads the configuration in process (`Project::load` on
//! `Sources::memory`), refreshes and plans it with `engine::prepare` and
//! `plan_apply` (or `plan_destroy`) as `orchc plan` does, and compares a
//! complete text rendering of the plan with the insta snapshot `plan.snap`
//! beside it. `INSTA_UPDATE=always` (or `cargo insta review`) writes the
//! snapshots.
//!
//! The fake providers answer `read` from `live.json` and nothing else: no
//! file, process or server is touched. Everything else a provider decides
//! at plan time (validation, which changes force a replacement, the
//! outputs it can predict) is the built-in provider's own code, so the
//! corpus tests the real planning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use libtest_mimic::{Arguments, Failed, Trial};
use orch_compiler::eval::{ParamInput, ProviderBlock};
use orch_lang::Diagnostic;
use orch_runtime::codec::display_json;
use orch_runtime::engine::{Config, Providers, plan_apply, plan_destroy, prepare};
use orch_runtime::error::RunError;
use orch_runtime::plan::{Action, Change, Plan, differs, join_reasons};
use orch_runtime::project::{LoadRequest, Project, Sources};
use orch_runtime::provider::{self, OpContext, Planned, Provider, ProviderError};
use orch_runtime::providers;
use orch_runtime::providers::lookup_kind;
use orch_runtime::state::{InstanceState, Loaded, State};
use orch_stdlib::Value;
use orch_stdlib::kinds::{KindSchema, provider_of};
use orch_tests::repo_root;
use serde::Deserialize;
use serde_json::Value as Json;

/// The files of a case that describe the run rather than the
/// configuration.
const CASE_FILES: &[&str] = &["state.json", "live.json", "vars.json", "options.json", "README.md"];

fn main() {
    let args = Arguments::from_args();
    let base = repo_root().join("tests/data/plan");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    cases.retain(|path| path.is_dir());
    cases.sort();
    if cases.is_empty() {
        eprintln!("no plan cases under {}", base.display());
        std::process::exit(1);
    }
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name =
                dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Trial::test(name, move || {
                if !dir.join("main.orch").is_file() {
                    return Err("a case folder needs a main.orch".into());
                }
                run(&dir)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// One runtime for every case: planning blocks its thread on data reads,
/// which run on the runtime's workers.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

// ---------------------------------------------------------------------------
// The case's files.

/// `options.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Options {
    /// Plan `destroy` instead of `apply`.
    destroy: bool,
    /// Read recorded objects back first (`--refresh=false` is `false`).
    refresh: Option<bool>,
}

/// `state.json`: the instances and outputs an earlier apply recorded.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CaseState {
    instances: BTreeMap<String, CaseInstance>,
    outputs: BTreeMap<String, Json>,
}

/// One recorded object. `provider` defaults to the kind's provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseInstance {
    kind: String,
    #[serde(default)]
    provider: Option<String>,
    value: Json,
    #[serde(default)]
    depends_on: Vec<String>,
    #[serde(default)]
    tainted: bool,
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    create_before_destroy: bool,
    #[serde(default)]
    location: Option<String>,
}

/// What the fake provider reports when an address is read.
#[derive(Debug, Clone)]
enum Live {
    /// The object as it is now (for a data look-up: its outputs).
    Object(Value),
    /// Exactly as recorded in the state.
    AsRecorded,
    /// The read fails.
    Error { message: String, transient: bool },
}

fn read_json(path: &Path) -> Result<Option<Json>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: not valid JSON: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn parse<T: serde::de::DeserializeOwned + Default>(dir: &Path, file: &str) -> Result<T, String> {
    match read_json(&dir.join(file))? {
        Some(json) => serde_json::from_value(json).map_err(|e| format!("{file}: {e}")),
        None => Ok(T::default()),
    }
}

/// A value written in a case file: JSON as the state codec reads it
/// (`{"$duration": ms}`, ...), except that `{"$secret": X}` is the secret
/// `X` in plain text (the codec's is sealed, which no one can write by
/// hand).
fn value(json: &Json) -> Result<Value, String> {
    Ok(match json {
        Json::Object(object) if object.len() == 1 && object.contains_key("$secret") => {
            Value::secret(value(&object["$secret"])?)
        }
        Json::Object(object) if object.len() == 1 && object.keys().all(|k| k.starts_with('$')) => {
            orch_runtime::codec::decode(json, None)?
        }
        Json::Object(object) => Value::map(
            object
                .iter()
                .map(|(k, v)| Ok((k.as_str().into(), value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        Json::Array(items) => Value::list(items.iter().map(value).collect::<Result<_, _>>()?),
        scalar => orch_runtime::codec::decode(scalar, None)?,
    })
}

fn live_entries(dir: &Path) -> Result<HashMap<String, Live>, String> {
    let Some(json) = read_json(&dir.join("live.json"))? else { return Ok(HashMap::new()) };
    let Json::Object(entries) = json else {
        return Err("live.json must be an object: address => object".into());
    };
    let mut live = HashMap::new();
    for (address, entry) in entries {
        let parsed = match &entry {
            Json::String(text) if text == "as recorded" => Live::AsRecorded,
            Json::Object(object) if object.contains_key("$error") => Live::Error {
                message: object["$error"].as_str().unwrap_or_default().to_string(),
                transient: object.get("transient").and_then(Json::as_bool).unwrap_or(false),
            },
            Json::Object(_) => Live::Object(value(&entry).map_err(|e| format!("live.json: {e}"))?),
            _ => {
                return Err(format!(
                    "live.json: `{address}` must be an object, \"as recorded\" or {{\"$error\": ...}}"
                ));
            }
        };
        live.insert(address, parsed);
    }
    Ok(live)
}

fn state_of(case: CaseState) -> Result<State, String> {
    let mut state = State {
        lineage: "corpus".into(),
        serial: u64::from(!case.instances.is_empty()),
        instances: BTreeMap::new(),
        outputs: BTreeMap::new(),
    };
    for (address, instance) in case.instances {
        if lookup_kind(&instance.kind).is_none() {
            return Err(format!("state.json: `{address}` has an unknown kind `{}`", instance.kind));
        }
        let value = value(&instance.value).map_err(|e| format!("state.json: {address}: {e}"))?;
        state.instances.insert(
            address,
            InstanceState {
                provider: instance
                    .provider
                    .unwrap_or_else(|| provider_of(&instance.kind).to_string()),
                value: orch_runtime::plan::mark_sensitive(&instance.kind, value),
                kind: instance.kind,
                depends_on: instance.depends_on,
                tainted: instance.tainted,
                protected: instance.protected,
                create_before_destroy: instance.create_before_destroy,
                location: instance.location,
            },
        );
    }
    for (name, json) in case.outputs {
        state.outputs.insert(name, value(&json).map_err(|e| format!("state.json: {e}"))?);
    }
    Ok(state)
}

/// The configuration's files: everything in the folder but the case's own.
fn sources(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let relative = format!("{prefix}{name}");
            if path.is_dir() {
                walk(&path, &format!("{relative}/"), out)?;
            } else {
                let case_file = prefix.is_empty() && CASE_FILES.contains(&name.as_str());
                let snapshot = name.ends_with(".snap") || name.ends_with(".snap.new");
                if case_file || snapshot {
                    continue;
                }

                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                out.insert(relative, text);
            }
        }
        Ok(())
    }
    let mut files = BTreeMap::new();
    walk(dir, "", &mut files)?;
    Ok(files)
}

// ---------------------------------------------------------------------------
// The fake provider.

/// A built-in provider whose reads come from `live.json`: validation,
/// planning and the schema are the real provider's; `read` reports the
/// case's live objects and records what was read; `apply` is refused,
/// since the corpus only plans.
struct Fake {
    real: Box<dyn Provider>,
    live: Arc<HashMap<String, Live>>,
    reads: Arc<Mutex<Vec<String>>>,
}

#[async_trait]
impl Provider for Fake {
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
        self.real.plan(kind, prior, config)
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let data = lookup_kind(kind).is_some_and(|k| k.data);
        self.reads.lock().expect("the read log").push(format!(
            "{} {}",
            if data { "look up" } else { "refresh" },
            ctx.address
        ));
        match self.live.get(&ctx.address) {
            None => Ok(None),
            Some(Live::AsRecorded) => Ok(Some(prior.clone())),
            Some(Live::Error { message, transient: false }) => Err(ProviderError::new(message)),
            Some(Live::Error { message, transient: true }) => {
                Err(ProviderError::transient(message))
            }
            // A look-up answers with its configuration and the outputs found.
            Some(Live::Object(found)) if data => Ok(Some(merged(prior, found))),
            // A provider keeps secret what was recorded secret.
            Some(Live::Object(found)) => Ok(Some(keep_secret(prior, found))),
        }
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        _kind: &str,
        _change: provider::Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::new(format!(
            "{}: the plan corpus only plans; nothing is applied",
            ctx.address
        )))
    }
}

fn merged(config: &Value, found: &Value) -> Value {
    let (Value::Map(config), Value::Map(found)) = (config, found) else { return found.clone() };
    let mut fields = config.to_map();
    fields.extend(found.iter().map(|(k, v)| (k.clone(), v.clone())));
    Value::map(fields)
}

fn keep_secret(prior: &Value, found: &Value) -> Value {
    let (Value::Map(prior), Value::Map(found)) = (prior, found) else { return found.clone() };
    Value::map(
        found
            .iter()
            .map(|(name, value)| {
                let secret = matches!(prior.get(name), Some(Value::Secret(_)));
                (name.clone(), if secret { Value::secret(value.clone()) } else { value.clone() })
            })
            .collect(),
    )
}

/// A fake for every built-in provider, and for each aliased `provider`
/// block of the configuration.
fn fakes(
    blocks: &[ProviderBlock],
    live: &Arc<HashMap<String, Live>>,
    reads: &Arc<Mutex<Vec<String>>>,
) -> Providers {
    let fake = |name: &str| -> Arc<dyn Provider> {
        Arc::new(Fake {
            real: providers::builtin(name).expect("a built-in provider"),
            live: live.clone(),
            reads: reads.clone(),
        })
    };
    let mut map: HashMap<String, Arc<dyn Provider>> =
        providers::builtin_names().map(|name| (name.to_string(), fake(name))).collect();
    for block in blocks {
        if let Some(alias) = &block.alias
            && providers::builtin(&block.name).is_some()
        {
            map.insert(format!("{}.{alias}", block.name), fake(&block.name));
        }
    }
    Providers::from_map(map)
}

// ---------------------------------------------------------------------------
// A case.

fn run(dir: &Path) -> Result<(), Failed> {
    let options: Options = parse(dir, "options.json")?;
    let state = state_of(parse(dir, "state.json")?)?;
    let live = Arc::new(live_entries(dir)?);
    let vars: BTreeMap<String, Json> = parse(dir, "vars.json")?;
    let params = vars
        .iter()
        .map(|(name, json)| Ok((name.clone(), ParamInput::Value(value(json)?))))
        .collect::<Result<HashMap<_, _>, String>>()?;

    let request = LoadRequest {
        root: PathBuf::from("main.orch"),
        params,
        param_origins: HashMap::new(),
        policy_files: Vec::new(),
    };
    let project = Project::load(request, Sources::memory(sources(dir)?))
        .map_err(|e| format!("the case cannot be loaded: {e}"))?;
    let reads = Arc::new(Mutex::new(Vec::new()));
    let text = match project.preflight() {
        // What `orchc plan` refuses before it reads any state.
        Err(error) => refused(&project, &error),
        Ok(preflight) => {
            let providers = fakes(&preflight.evaluation.providers, &live, &reads);
            let plan = plan(&project, &options, state.clone(), &providers);
            let mut reads = reads.lock().expect("the read log").clone();
            reads.sort();
            let text = render(&project.config(), &plan, &state, &reads);
            no_plain_secrets(&text, &plan, &state)?;
            text
        }
    };

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(dir.join("main.orch"));
    settings.bind(|| insta::assert_snapshot!("plan", text));
    Ok(())
}

fn plan(project: &Project, options: &Options, state: State, providers: &Providers) -> Plan {
    let config = project.config();
    let mut loaded = Loaded { state, interrupted: Vec::new(), created: false };
    let refresh = options.refresh.unwrap_or(true);
    let prepared = runtime().block_on(prepare(&config, &mut loaded, providers, refresh, 4));
    if options.destroy {
        plan_destroy(&loaded.state, prepared)
    } else {
        plan_apply(&config, &loaded.state, providers, prepared, runtime().handle().clone()).0
    }
}

/// Fails when the plain text of a secret (of the plan or the prior state)
/// appears in the rendering.
fn no_plain_secrets(text: &str, plan: &Plan, prior: &State) -> Result<(), String> {
    fn collect(value: &Value, inside: bool, out: &mut BTreeSet<String>) {
        match value {
            Value::Secret(inner) => collect(inner, true, out),
            Value::String(text) if inside && text.len() >= 4 => {
                out.insert(text.to_string());
            }
            Value::List(items) => items.iter().for_each(|v| collect(v, inside, out)),
            Value::Map(entries) => entries.values().for_each(|v| collect(v, inside, out)),
            _ => {}
        }
    }
    let mut secrets = BTreeSet::new();
    for change in &plan.changes {
        for value in change.before.iter().chain([&change.after, &change.config]) {
            collect(value, false, &mut secrets);
        }
    }
    for value in plan.outputs.values().chain(plan.data_reads.values()) {
        collect(value, false, &mut secrets);
    }
    for instance in prior.instances.values() {
        collect(&instance.value, false, &mut secrets);
    }
    prior.outputs.values().for_each(|v| collect(v, false, &mut secrets));
    match secrets.iter().find(|secret| text.contains(secret.as_str())) {
        Some(secret) => Err(format!("the plan shows a secret in plain text: {secret:?}\n{text}")),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// The rendering: every change with every field, the drift, outputs,
// diagnostics and the reads the plan made.

/// A value on one line: secrets `(secret)`, unknowns `(known after apply)`.
fn show(value: &Value) -> String {
    match value {
        Value::Secret(_) => "(secret)".into(),
        Value::Unknown => "(known after apply)".into(),
        Value::None => "none".into(),
        other => serde_json::to_string(&display_json(other)).unwrap_or_default(),
    }
}

fn fields(value: Option<&Value>) -> BTreeMap<String, Value> {
    match value {
        Some(Value::Map(entries)) => {
            entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
        }
        _ => BTreeMap::new(),
    }
}

fn location(config: &Config<'_>, diagnostic: &Diagnostic) -> String {
    match &diagnostic.detached {
        Some(place) => place.clone(),
        None => config.location(diagnostic.primary.span),
    }
}

fn diagnostic_lines(config: &Config<'_>, diagnostic: &Diagnostic, out: &mut String) {
    let _ = writeln!(
        out,
        "  {}[{}] {}: {}",
        diagnostic.severity.as_str(),
        diagnostic.code.code,
        location(config, diagnostic),
        diagnostic.message
    );
    if !diagnostic.primary.message.is_empty() {
        let _ = writeln!(out, "      here: {}", diagnostic.primary.message);
    }
    for label in &diagnostic.labels {
        let _ = writeln!(out, "      {}: {}", config.location(label.span), label.message);
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "      help: {help}");
    }
}

fn refused(project: &Project, error: &RunError) -> String {
    let mut out = format!("refused before planning: {error}\n");
    if let RunError::Diagnostics(diagnostics) = error {
        let config = project.config();
        for diagnostic in diagnostics {
            diagnostic_lines(&config, diagnostic, &mut out);
        }
    }
    out
}

fn change_lines(change: &Change, out: &mut String) {
    let sign = change.action.sign(change.options.create_before_destroy);
    let _ = writeln!(
        out,
        "{sign:>3} {} {}  ({})",
        change.address,
        change.kind,
        change.location.as_deref().unwrap_or("not in the configuration")
    );
    let _ = writeln!(out, "      {}: {}", change.action, join_reasons(&change.reasons));
    if change.provider != provider_of(&change.kind) {
        let _ = writeln!(out, "      provider: {}", change.provider);
    }
    if change.options.create_before_destroy && change.action == Action::Replace {
        let _ = writeln!(out, "      create before destroy");
    }
    if !change.depends_on.is_empty() {
        let _ = writeln!(out, "      depends on: {}", change.depends_on.join(", "));
    }
    let before = fields(change.before.as_ref());
    let after = fields(Some(&change.after));
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let line = match (change.action, before.get(name), after.get(name)) {
            (Action::Delete, Some(old), _) => format!("{name} = {}", show(old)),
            (_, None, Some(new)) => format!("{name} = {}", show(new)),
            (_, Some(old), None) => format!("{name}: {} → (removed)", show(old)),
            (_, Some(old), Some(new)) if differs(old, new) => {
                let forces = if change.forces_replacement.contains(name) {
                    "   # forces replacement"
                } else {
                    ""
                };
                format!("{name}: {} → {}{forces}", show(old), show(new))
            }
            (_, Some(old), Some(_)) => format!("{name} = {}", show(old)),
            (_, None, None) => continue,
        };
        let _ = writeln!(out, "        {line}");
    }
}

fn render(config: &Config<'_>, plan: &Plan, prior: &State, reads: &[String]) -> String {
    let mut out = format!("{} plan: {}\n", plan.operation, plan.summary());
    if !plan.errors.is_empty() {
        out.push_str("\nerrors (the plan cannot be applied):\n");
        for diagnostic in &plan.errors {
            diagnostic_lines(config, diagnostic, &mut out);
        }
    }
    if !plan.warnings.is_empty() {
        out.push_str("\nwarnings:\n");
        for warning in &plan.warnings {
            let _ = writeln!(out, "  {warning}");
        }
    }
    if !plan.drift.is_empty() {
        out.push_str("\ndrift (changed outside Orch):\n");
        for drift in &plan.drift {
            let what = if drift.deleted {
                "deleted".to_string()
            } else {
                format!("changed: {}", drift.fields.join(", "))
            };
            let _ = writeln!(out, "  {} {}  {what}", drift.address, drift.kind);
        }
    }
    if plan.has_changes() {
        out.push_str("\nchanges:\n");
        for change in plan.effective() {
            change_lines(change, &mut out);
        }
    }
    let unchanged: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| !c.action.is_change() && !c.data)
        .map(|c| c.address.as_str())
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(out, "\nunchanged: {}", unchanged.join(", "));
    }
    if !plan.data_reads.is_empty() {
        out.push_str("\nread while planning:\n");
        for (address, found) in &plan.data_reads {
            let _ = writeln!(out, "  {address} = {}", show(found));
        }
    }
    let names: BTreeSet<&String> = plan.outputs.keys().chain(prior.outputs.keys()).collect();
    if !names.is_empty() && plan.operation == orch_runtime::plan::PlanKind::Apply {
        out.push_str("\noutputs:\n");
        for name in names {
            let line = match (prior.outputs.get(name), plan.outputs.get(name)) {
                (None, Some(new)) => format!("+ {name} = {}", show(new)),
                (Some(old), None) => format!("- {name} (was {})", show(old)),
                (Some(old), Some(new)) if differs(old, new) => {
                    format!("~ {name}: {} → {}", show(old), show(new))
                }
                (Some(old), Some(_)) => format!("  {name} = {}", show(old)),
                (None, None) => continue,
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    if !reads.is_empty() {
        let _ = writeln!(out, "\nprovider reads: {}", reads.join(", "));
    }
    out
}
