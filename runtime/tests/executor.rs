//! The executor in process, with a fake `exec` provider whose commands
//! say what to do (`sleep:50`, `fail`, `flaky:2`): ordering, parallelism,
//! failure isolation, retries, timeouts, interrupts, crash recovery from
//! the journal, apply-time values and cyclic state. No real process runs,
//! and the sleeps add up to well under a second.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orch_runtime::apply::{ApplyOptions, ApplyReport, Interrupts, Run};
use orch_runtime::engine::{Providers, plan_apply, plan_destroy, prepare};
use orch_runtime::events::{Collect, Event, Step};
use orch_runtime::plan::{Action, Plan};
use orch_runtime::project::Project;
use orch_runtime::provider::{Change, OpContext, Provider, ProviderError, field, inputs_of};
use orch_runtime::state::local::LocalBackend;
use orch_runtime::state::{Backend, Operation};
use orch_stdlib::{KindSchema, Value};

/// One call the fake provider served.
#[derive(Debug, Clone)]
struct Call {
    address: String,
    start: Instant,
    end: Instant,
}

/// `exec.run` whose `create` command is an instruction: `sleep:MS`,
/// `fail`, `flaky:N` (transient failure N times, then success), anything
/// else succeeds at once. `stdout` is the command itself.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<Call>>,
    running: Mutex<usize>,
    most_running: Mutex<usize>,
    attempts: Mutex<HashMap<String, usize>>,
}

impl Fake {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn call(&self, address: &str) -> Call {
        self.calls().into_iter().find(|c| c.address == address).expect("a call")
    }
}

#[async_trait]
impl Provider for Fake {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        orch_runtime::providers::exec::PROVIDER.kinds.get(kind)
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        _kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        Ok(Some(prior.clone()))
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        let config = match change {
            Change::Create { config } | Change::Update { config, .. } => config,
            Change::Delete { .. } => return Ok(None),
        };
        let command = match field(config, "create") {
            Value::String(text) => text.to_string(),
            _ => String::new(),
        };
        let start = Instant::now();
        {
            let mut running = self.running.lock().unwrap();
            *running += 1;
            let mut most = self.most_running.lock().unwrap();
            *most = (*most).max(*running);
        }
        let result = if let Some(ms) = command.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().unwrap();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => Ok(()),
                _ = ctx.cancel.cancelled() => Err(ProviderError::new("cancelled")),
            }
        } else if command == "fail" {
            Err(ProviderError::new("it failed on purpose"))
        } else if let Some(times) = command.strip_prefix("flaky:") {
            let times: usize = times.parse().unwrap();
            let mut attempts = self.attempts.lock().unwrap();
            let seen = attempts.entry(ctx.address.clone()).or_default();
            *seen += 1;
            if *seen <= times { Err(ProviderError::transient("not yet")) } else { Ok(()) }
        } else {
            Ok(())
        };
        *self.running.lock().unwrap() -= 1;
        self.calls.lock().unwrap().push(Call {
            address: ctx.address.clone(),
            start,
            end: Instant::now(),
        });
        result?;
        let mut object = match inputs_of(self.schema(kind), config) {
            Value::Map(fields) => fields.to_map(),
            _ => BTreeMap::new(),
        };
        object.insert("stdout".into(), Value::string(command));
        object.insert("stderr".into(), Value::string(""));
        object.insert("exit_code".into(), Value::Int(0));
        Ok(Some(Value::map(object)))
    }
}

/// A configuration in a temporary folder, its state there, and the fake.
struct Bench {
    dir: tempfile::TempDir,
    project: Project,
    fake: Arc<Fake>,
}

impl Bench {
    fn new(source: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let files = BTreeMap::from([("main.orch".to_string(), source.to_string())]);
        let project = Project::from_saved(
            "main.orch".into(),
            dir.path().to_path_buf(),
            files,
            HashMap::new(),
            Vec::new(),
        )
        .unwrap();
        assert!(project.errors().is_empty(), "{:?}", project.errors());
        Bench { dir, project, fake: Arc::new(Fake::default()) }
    }

    fn providers(&self) -> Providers {
        let fake: Arc<dyn Provider> = self.fake.clone();
        Providers::from_map(HashMap::from([("exec".to_string(), fake)]))
    }

    /// The state, sealing secrets (`env` values may be) with a test key.
    fn backend(&self) -> LocalBackend {
        let key: Arc<dyn orch_runtime::codec::Sealer> =
            Arc::new(orch_runtime::secrets::StateKey::from_bytes(&[7; 32]));
        LocalBackend::new(self.dir.path().join(".orch"), Some(key))
    }

    async fn plan(&self, backend: &mut LocalBackend) -> (Plan, orch_runtime::state::State) {
        let mut loaded = backend.load().await.unwrap();
        let config = self.project.config();
        let providers = self.providers();
        let prepared = prepare(&config, &mut loaded, &providers, true, 10).await;
        let handle = tokio::runtime::Handle::current();
        let (plan, _) = plan_apply(&config, &loaded.state, &providers, prepared, handle);
        assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        (plan, loaded.state)
    }

    async fn apply_with(
        &self,
        options: ApplyOptions,
        interrupts: Interrupts,
    ) -> (ApplyReport, Collect) {
        let mut backend = self.backend();
        let (plan, mut state) = self.plan(&mut backend).await;
        let config = self.project.config();
        let providers = self.providers();
        let mut sink = Collect::default();
        let run = Run {
            config: Some(&config),
            state: &mut state,
            backend: &mut backend,
            providers: &providers,
            sink: &mut sink,
            interrupts,
        };
        let report = orch_runtime::apply::apply(&plan, run, &options).await.unwrap();
        (report, sink)
    }

    async fn apply(&self) -> (ApplyReport, Collect) {
        self.apply_with(ApplyOptions::default(), Interrupts::default()).await
    }
}

fn started(sink: &Collect) -> Vec<String> {
    sink.0
        .iter()
        .filter_map(|e| match e {
            Event::OperationStarted { address, .. } => Some(address.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_starts_when_its_last_dependency_finishes_not_level_by_level() {
    let bench = Bench::new(
        r#"resource slow: exec.run { create = "sleep:120" }
resource quick: exec.run { create = "sleep:10" }
resource after_quick: exec.run {
  create = "sleep:10"
  env    = { FROM = quick.stdout }
}
resource after_both: exec.run {
  create = "done"
  env    = { A = slow.stdout, B = after_quick.stdout }
}
"#,
    );
    let (report, _) = bench.apply().await;
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.succeeded, 4);
    let (slow, quick) = (bench.fake.call("slow"), bench.fake.call("quick"));
    let (after_quick, after_both) = (bench.fake.call("after_quick"), bench.fake.call("after_both"));
    // after_quick waits for quick only, not for slow (a level-by-level
    // walk would wait for both).
    assert!(after_quick.start >= quick.end);
    assert!(after_quick.start < slow.end, "after_quick waited for slow");
    assert!(after_both.start >= slow.end && after_both.start >= after_quick.end);
}

#[tokio::test(flavor = "multi_thread")]
async fn parallelism_bounds_the_operations_running_at_once() {
    let source: String =
        (0..6).map(|i| format!("resource r{i}: exec.run {{ create = \"sleep:40\" }}\n")).collect();
    let bench = Bench::new(&source);
    let options = ApplyOptions { parallelism: 2, fail_fast: false };
    let (report, sink) = bench.apply_with(options, Interrupts::default()).await;
    assert!(report.ok());
    assert_eq!(*bench.fake.most_running.lock().unwrap(), 2);
    // Each operation's time excludes waiting for a slot.
    for event in &sink.0 {
        if let Event::OperationFinished { elapsed_ms, .. } = event {
            assert!(*elapsed_ms < 200, "an operation counted its wait for a slot: {elapsed_ms}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_skips_only_its_dependents() {
    let bench = Bench::new(
        r#"resource broken: exec.run { create = "fail" }
resource downstream: exec.run {
  create = "x"
  env    = { FROM = broken.stdout }
}
resource independent: exec.run { create = "sleep:20" }
"#,
    );
    let (report, sink) = bench.apply().await;
    assert!(!report.ok());
    assert_eq!((report.succeeded, report.failed, report.skipped), (1, 1, 1));
    assert_eq!(report.failures.len(), 1, "the skipped one reports no error of its own");
    assert!(report.failures[0].message.contains("broken: create failed: it failed on purpose"));
    assert!(!started(&sink).contains(&"downstream".to_string()));
    // What failed is not recorded; what succeeded is.
    let loaded = bench.backend().load().await.unwrap();
    assert!(loaded.state.instances.contains_key("independent"));
    assert!(!loaded.state.instances.contains_key("broken"));
}

#[tokio::test(flavor = "multi_thread")]
async fn transient_errors_are_retried_with_backoff() {
    let bench = Bench::new(
        r#"@retry(attempts = 3, backoff = 10ms)
resource flaky: exec.run { create = "flaky:2" }
@retry(attempts = 2, backoff = 10ms)
resource hopeless: exec.run { create = "flaky:5" }
"#,
    );
    let (report, sink) = bench.apply().await;
    let retries: Vec<(String, u32)> = sink
        .0
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { address, attempt, .. } => Some((address.clone(), *attempt)),
            _ => None,
        })
        .collect();
    assert!(retries.contains(&("flaky".into(), 1)) && retries.contains(&("flaky".into(), 2)));
    assert_eq!(retries.iter().filter(|(a, _)| a == "hopeless").count(), 1);
    assert_eq!((report.succeeded, report.failed), (1, 1));
    assert_eq!(bench.fake.attempts.lock().unwrap()["flaky"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timed_out_create_fails_and_is_kept_tainted_to_read_back() {
    let bench = Bench::new(
        r#"@timeout(50ms)
resource stuck: exec.run { create = "sleep:5000" }
"#,
    );
    let started = Instant::now();
    let (report, _) = bench.apply().await;
    assert!(started.elapsed() < Duration::from_secs(2), "the timeout did not cancel");
    assert_eq!(report.failed, 1);
    assert!(report.failures[0].message.contains("timed out after 50ms"), "{:?}", report.failures);
    let loaded = bench.backend().load().await.unwrap();
    assert!(loaded.state.instances["stuck"].tainted);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_starts_nothing_new_and_waits_for_what_runs() {
    let bench = Bench::new(
        r#"resource first: exec.run { create = "sleep:100" }
resource second: exec.run {
  create = "x"
  env    = { FROM = first.stdout }
}
"#,
    );
    let interrupts = Interrupts::default();
    let notify = interrupts.first.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        notify.notify_one();
    });
    let (report, sink) = bench.apply_with(ApplyOptions::default(), interrupts).await;
    assert!(report.cancelled);
    assert_eq!((report.succeeded, report.interrupted), (1, 1));
    assert_eq!(started(&sink), vec!["first".to_string()]);
    let loaded = bench.backend().load().await.unwrap();
    assert!(loaded.state.instances.contains_key("first"), "the running operation was saved");
}

#[tokio::test(flavor = "multi_thread")]
async fn values_known_only_after_apply_flow_down_a_chain() {
    let mut source = String::from("resource c0: exec.run { create = \"start\" }\n");
    for i in 1..20 {
        source.push_str(&format!(
            "resource c{i}: exec.run {{\n  create = \"step\"\n  env    = {{ PREV = c{}.stdout }}\n}}\n",
            i - 1
        ));
    }
    let bench = Bench::new(&source);
    let (report, _) = bench.apply().await;
    assert!(report.ok(), "{:?}", report.failures);
    assert_eq!(report.succeeded, 20);
    let loaded = bench.backend().load().await.unwrap();
    let last = &loaded.state.instances["c19"].value;
    assert_eq!(field(&field(last, "env").reveal_all(), "PREV").reveal_all(), Value::string("step"));
    let calls = bench.fake.calls();
    for pair in calls.windows(2) {
        assert!(pair[1].start >= pair[0].end, "a chain ran out of order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_operation_is_read_back_and_nothing_that_never_started_is() {
    let bench = Bench::new(r#"resource made: exec.run { create = "x" }"#);
    // A run that journalled the create and died before its outcome.
    {
        let mut backend = bench.backend();
        backend.load().await.unwrap();
        let planned = Value::map(BTreeMap::from([
            ("create".into(), Value::string("x")),
            ("stdout".into(), Value::Unknown),
        ]));
        let operation = Operation {
            address: "made".into(),
            action: Step::Create,
            kind: "exec.run".into(),
            provider: "exec".into(),
            planned,
        };
        backend.begin(&operation).await.unwrap();
    }
    let mut backend = bench.backend();
    let mut loaded = backend.load().await.unwrap();
    assert_eq!(loaded.interrupted.len(), 1);
    let config = bench.project.config();
    let prepared = prepare(&config, &mut loaded, &bench.providers(), true, 10).await;
    assert!(
        prepared.warnings[0].contains("interrupted during 1 operation"),
        "{:?}",
        prepared.warnings
    );
    // The fake reads the object back as planned: adopted, marked tainted
    // because its outputs were never seen, so the plan replaces it.
    assert!(loaded.state.instances["made"].tainted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dependency_cycle_in_the_state_fails_the_destroy_instead_of_passing_quietly() {
    let bench = Bench::new(
        r#"resource a: exec.run { create = "a" }
resource b: exec.run { create = "b" }
"#,
    );
    let (report, _) = bench.apply().await;
    assert!(report.ok());
    // Edit the state by hand into a cycle.
    let mut backend = bench.backend();
    let mut loaded = backend.load().await.unwrap();
    loaded.state.instances.get_mut("a").unwrap().depends_on = vec!["b".into()];
    loaded.state.instances.get_mut("b").unwrap().depends_on = vec!["a".into()];
    backend.finish(&loaded.state).await.unwrap();
    let mut loaded = backend.load().await.unwrap();
    let config = bench.project.config();
    let prepared = prepare(&config, &mut loaded, &bench.providers(), false, 10).await;
    let plan = plan_destroy(&loaded.state, prepared);
    assert_eq!(plan.changes.iter().filter(|c| c.action == Action::Delete).count(), 2);
    let providers = bench.providers();
    let mut sink = Collect::default();
    let run = Run {
        config: None,
        state: &mut loaded.state,
        backend: &mut backend,
        providers: &providers,
        sink: &mut sink,
        interrupts: Interrupts::default(),
    };
    let report = orch_runtime::apply::apply(&plan, run, &ApplyOptions::default()).await.unwrap();
    assert!(!report.ok());
    assert_eq!(report.failed, 2);
    assert!(report.failures[0].message.contains("form a cycle"), "{:?}", report.failures);
}
