//! `Targeting` through the runtime's API in process: a `Session` on a
//! configuration in a temporary folder with the built-in `fs`, `exec` and
//! `core` providers and a local state. Each test checks what the plan
//! covers and what is, and is not, touched on disk and in the state.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use orch_runtime::apply::{ApplyOptions, ApplyReport, Interrupts};
use orch_runtime::error::RunError;
use orch_runtime::events::Collect;
use orch_runtime::location::StateLocation;
use orch_runtime::plan::{Action, Plan, PlanKind, Reason};
use orch_runtime::project::Project;
use orch_runtime::session::{PlanOptions, Session};
use orch_runtime::targeting::{AddressFlag, ReplaceRefusal, Targeting};
use orch_stdlib::Value;

const CONFIG: &str = r#"
resource a: fs.file {
  path    = "a.txt"
  content = "a ${version}"
}

resource b: fs.file {
  path    = "b.txt"
  content = "b after ${a.sha256}"
}

resource c: fs.file {
  path    = "c.txt"
  content = "c ${version}"
}

resource run: exec.run {
  create = "echo ran >> runs.log; echo made"
}

resource after: exec.run {
  env    = { GOT = run.stdout }
  create = "echo \"got $GOT\" >> after.log"
}

param version: string = "1"

output a_path = a.path
output c_text = c.content
"#;

fn project(dir: &Path, version: &str) -> Project {
    let files = BTreeMap::from([("main.orch".to_string(), CONFIG.to_string())]);
    let params = HashMap::from([(
        "version".to_string(),
        orch_compiler::eval::ParamInput::Value(Value::string(version)),
    )]);
    let project =
        Project::from_saved("main.orch".into(), dir.to_path_buf(), files, params, Vec::new())
            .unwrap();
    assert!(project.errors().is_empty(), "{:?}", project.errors());
    project
}

/// Plans with `options` and, with `apply`, applies the plan.
async fn run(
    dir: &Path,
    version: &str,
    options: PlanOptions,
    apply: bool,
) -> Result<(Plan, Option<ApplyReport>), RunError> {
    let project = project(dir, version);
    let location = StateLocation::Local(dir.join(".orch"));
    let state = location.open().await?;
    let operation = options.kind.as_str();
    let mut session = Session::start(&project, state, operation, Duration::ZERO).await?;
    let plan = match session.plan(&options).await {
        Ok(plan) => plan,
        Err(error) => {
            session.close().await;
            return Err(error);
        }
    };
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    let report = if apply {
        let mut sink = Collect::default();
        let report = session
            .apply(&plan, &ApplyOptions::default(), &mut sink, Interrupts::default())
            .await?;
        assert!(report.ok(), "{:?}", report.failures);
        Some(report)
    } else {
        None
    };
    session.close().await;
    Ok((plan, report))
}

fn targeting(targets: &[&str], excludes: &[&str], replace: &[&str]) -> Targeting {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    Targeting { targets: list(targets), excludes: list(excludes), replace: list(replace) }
}

fn options(kind: PlanKind, targeting: Targeting) -> PlanOptions {
    PlanOptions { kind, targeting, ..PlanOptions::default() }
}

fn addresses(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan.effective().map(|c| c.address.clone()).collect();
    out.sort();
    out
}

async fn recorded(dir: &Path) -> orch_runtime::state::State {
    let location = StateLocation::Local(dir.join(".orch"));
    orch_runtime::session::read_state(&location).await.unwrap().1
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_takes_what_it_depends_on_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (plan, _) =
        run(dir.path(), "1", options(PlanKind::Apply, targeting(&["b"], &[], &[])), true)
            .await
            .unwrap();
    assert_eq!(addresses(&plan), ["a", "b"]);
    let partial = plan.partial.as_ref().expect("a partial plan");
    assert_eq!(partial.targets, ["b"]);
    assert_eq!(partial.left_out, ["after", "c", "run"]);
    assert!(dir.path().join("a.txt").exists() && dir.path().join("b.txt").exists());
    assert!(!dir.path().join("c.txt").exists(), "c was left out");
    assert!(!dir.path().join("runs.log").exists(), "the command was left out");
    let state = recorded(dir.path()).await;
    assert_eq!(state.instances.keys().collect::<Vec<_>>(), ["a", "b"]);
    // `c_text` depends on the left-out `c`: not recorded; `a_path` is.
    assert_eq!(state.outputs.get("a_path"), Some(&Value::string("a.txt")));
    assert!(!state.outputs.contains_key("c_text"), "{:?}", state.outputs);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exclude_leaves_out_what_depends_on_it_and_outputs_keep_their_value() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "1", PlanOptions::default(), true).await.unwrap();
    // Version 2 changes `a` (and so `b`) and `c`.
    let (plan, report) =
        run(dir.path(), "2", options(PlanKind::Apply, targeting(&[], &["a"], &[])), true)
            .await
            .unwrap();
    assert_eq!(addresses(&plan), ["c"]);
    assert_eq!(plan.partial.as_ref().unwrap().left_out, ["a", "b"]);
    assert_eq!(read(dir.path(), "a.txt"), "a 1", "an excluded file is not touched");
    assert_eq!(read(dir.path(), "c.txt"), "c 2");
    let outputs = report.unwrap().outputs;
    assert_eq!(outputs.get("c_text"), Some(&Value::string("c 2")));
    assert_eq!(outputs.get("a_path"), Some(&Value::string("a.txt")));
    // The next full plan still has the left-out changes.
    let (plan, _) = run(dir.path(), "2", PlanOptions::default(), false).await.unwrap();
    assert_eq!(addresses(&plan), ["a", "b"]);
    assert!(plan.partial.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_runs_a_command_again_and_leaves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "1", PlanOptions::default(), true).await.unwrap();
    assert_eq!(read(dir.path(), "runs.log"), "ran\n");
    let before = recorded(dir.path()).await;
    let (plan, _) =
        run(dir.path(), "1", options(PlanKind::Apply, targeting(&[], &[], &["run"])), true)
            .await
            .unwrap();
    let change = plan.effective().find(|c| c.address == "run").unwrap();
    assert_eq!(change.action, Action::Replace);
    assert_eq!(change.reasons, [Reason::ReplaceRequested]);
    // `after` reads `run.stdout`, known again only once `run` is made.
    assert_eq!(addresses(&plan), ["after", "run"]);
    assert!(plan.partial.is_none(), "a replacement alone is no partial plan");
    assert_eq!(read(dir.path(), "runs.log"), "ran\nran\n");
    // `GOT` ends with the newline of `made`.
    assert_eq!(read(dir.path(), "after.log"), "got made\n\n", "the same stdout: `after` is kept");
    let now = recorded(dir.path()).await;
    assert_eq!(now.instances["a"].value, before.instances["a"].value);
    // Asked for by name, `after` is replaced even though what it reads
    // turns out the same during apply.
    run(dir.path(), "1", options(PlanKind::Apply, targeting(&[], &[], &["run", "after"])), true)
        .await
        .unwrap();
    assert_eq!(read(dir.path(), "runs.log"), "ran\nran\nran\n");
    assert_eq!(read(dir.path(), "after.log"), "got made\n\ngot made\n\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_refuses_what_is_not_recorded_and_unknown_addresses_name_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let refused =
        run(dir.path(), "1", options(PlanKind::Apply, targeting(&[], &[], &["run"])), false).await;
    assert!(
        matches!(
            refused,
            Err(RunError::CannotReplace { ref address, why: ReplaceRefusal::NotRecorded }) if address == "run"
        ),
        "{refused:?}"
    );
    let unknown =
        run(dir.path(), "1", options(PlanKind::Apply, targeting(&["rum"], &[], &[])), false).await;
    match unknown {
        Err(RunError::UnknownAddress { flag: AddressFlag::Target, address, closest, .. }) => {
            assert_eq!(address, "rum");
            assert_eq!(closest.as_deref(), Some("run"));
        }
        other => panic!("{other:?}"),
    }
    let bad =
        run(dir.path(), "1", options(PlanKind::Apply, targeting(&[], &["a["], &[])), false).await;
    assert!(matches!(bad, Err(RunError::BadAddress { flag: AddressFlag::Exclude, .. })), "{bad:?}");
    assert!(!dir.path().join("a.txt").exists(), "nothing was applied");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_only_records_drift_and_changes_no_object() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "1", PlanOptions::default(), true).await.unwrap();
    std::fs::write(dir.path().join("a.txt"), "edited by hand").unwrap();
    std::fs::remove_file(dir.path().join("c.txt")).unwrap();
    let (plan, _) =
        run(dir.path(), "1", options(PlanKind::Refresh, Targeting::default()), true).await.unwrap();
    assert_eq!(plan.operation, PlanKind::Refresh);
    assert_eq!(plan.effective().count(), 0);
    let found: Vec<(&str, bool)> =
        plan.refreshed.iter().map(|r| (r.address.as_str(), r.object.is_some())).collect();
    assert_eq!(found, [("a", true), ("c", false)]);
    assert_eq!(read(dir.path(), "a.txt"), "edited by hand", "no object is changed");
    assert!(!dir.path().join("c.txt").exists());
    let state = recorded(dir.path()).await;
    let content = orch_runtime::provider::field(&state.instances["a"].value, "content").clone();
    assert_eq!(content, Value::string("edited by hand"));
    assert!(!state.instances.contains_key("c"), "a gone object is forgotten");
    // The next plan puts the configuration back.
    let (plan, _) = run(dir.path(), "1", PlanOptions::default(), false).await.unwrap();
    assert_eq!(addresses(&plan), ["a", "c"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_target_takes_what_depends_on_it() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), "1", PlanOptions::default(), true).await.unwrap();
    let (plan, _) =
        run(dir.path(), "1", options(PlanKind::Destroy, targeting(&["a"], &[], &[])), true)
            .await
            .unwrap();
    assert_eq!(addresses(&plan), ["a", "b"]);
    assert!(!dir.path().join("a.txt").exists() && !dir.path().join("b.txt").exists());
    assert_eq!(read(dir.path(), "c.txt"), "c 1");
    let state = recorded(dir.path()).await;
    assert_eq!(state.instances.keys().collect::<Vec<_>>(), ["after", "c", "run"]);
    // `a_path` read the destroyed `a`; `c_text` stays.
    assert!(!state.outputs.contains_key("a_path"), "{:?}", state.outputs);
    assert_eq!(state.outputs.get("c_text"), Some(&Value::string("c 1")));
}
