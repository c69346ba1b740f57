//! Check-time evaluation: instance expansion and addresses, values flowing
//! through references, params from outside, assertions and policies, and
//! the pages of the evaluation codes.

#![allow(clippy::disallowed_methods, reason = "the test reads the diagnostic pages")]

use std::collections::HashMap;

use orch_compiler::eval::ParamInput;
use orch_compiler::{Analysis, Options, SourceDb, analyze};
use orch_stdlib::Value;

/// Files held in memory.
struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

fn run(files: &[(&str, &str)], params: &[(&str, &str)]) -> Analysis {
    let db = Memory(files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect());
    let options = Options {
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), ParamInput::Text(v.to_string())))
            .collect(),
        policy_files: Vec::new(),
        evaluate: true,
        ..Options::default()
    };
    analyze(&db, &[files[0].0.to_string()], &options)
}

fn codes(analysis: &Analysis) -> Vec<&'static str> {
    analysis.diagnostics.iter().map(|d| d.code.code).collect()
}

#[test]
fn loops_conditions_and_modules_expand_into_addressed_instances() {
    let main = r#"
param services: list<string> = ["api", "worker"]
param env: string = "prod"
for svc in services {
  resource dir: fs.dir { path = "/srv/${svc}" }
}
for i in 0..2 {
  resource shard: fs.dir { path = "/srv/shard-${i}" }
}
if env == "prod" {
  resource backup: exec.run { create = "true" }
} else {
  resource note: fs.file { path = "/srv/NOTE" }
}
module db: "./db.orch" { name = "app" }
output paths: map<string> = { for k, d in dir: k => d.path }
output backup_cmd: string = backup?.create ?? "none"
output note_path: string = note?.path ?? "none"
output db_name: string = db.role_name
"#;
    let db = "param name: string\nresource role: core.value { input = name }\noutput role_name: string = \"${name}_owner\"\n";
    let analysis = run(&[("main.orch", main), ("db.orch", db)], &[]);
    assert_eq!(codes(&analysis), Vec::<&str>::new(), "{:?}", analysis.diagnostics);
    let (_, evaluation) = &analysis.evaluations[0];
    let mut addresses: Vec<&str> =
        evaluation.instances.iter().map(|i| i.address.as_str()).collect();
    addresses.sort();
    assert_eq!(
        addresses,
        ["backup", "db", "db.role", "dir[\"api\"]", "dir[\"worker\"]", "shard[0]", "shard[1]"]
            .into_iter()
            .filter(|a| *a != "db")
            .collect::<Vec<_>>()
    );
    let outputs = &evaluation.outputs;
    assert_eq!(outputs["backup_cmd"], Value::string("true"));
    assert_eq!(outputs["note_path"], Value::string("none"));
    assert_eq!(outputs["db_name"], Value::string("app_owner"));
    let Value::Map(paths) = &outputs["paths"] else { panic!("paths is a map") };
    assert_eq!(paths["api"], Value::string("/srv/api"));
    // The instance graph follows references: the backup depends on nothing,
    // and a resource reading another depends on it.
    let backup = evaluation.instances.iter().find(|i| i.address == "backup").expect("backup");
    assert!(backup.depends_on.is_empty());
}

#[test]
fn instance_dependencies_follow_references_through_lets() {
    let main = r#"
for svc in ["a", "b"] {
  resource dir: fs.dir { path = "/srv/${svc}" }
  let conf_path = "${dir.path}/app.conf"
  resource conf: fs.file { path = conf_path }
}
"#;
    let analysis = run(&[("main.orch", main)], &[]);
    assert_eq!(codes(&analysis), Vec::<&str>::new(), "{:?}", analysis.diagnostics);
    let (_, evaluation) = &analysis.evaluations[0];
    let conf = evaluation.instances.iter().find(|i| i.address == "conf[\"a\"]").expect("conf a");
    assert_eq!(conf.depends_on, vec!["dir[\"a\"]".to_string()]);
}

#[test]
fn params_from_outside_are_converted_and_checked() {
    let main = "param replicas: int\nparam tags: list<string> = []\nassert replicas < 5, \"too many: ${replicas}\"\noutput n: int = replicas + length(tags)\n";
    let analysis = run(&[("main.orch", main)], &[]);
    assert!(analysis.notes.iter().any(|n| matches!(
        n,
        orch_compiler::eval::EvalNote::MissingParams { names, .. } if names == &["replicas"]
    )));
    assert!(analysis.notes[0].to_string().contains("evaluation skipped"));
    assert!(analysis.evaluations[0].1.instances.is_empty());
    let analysis = run(&[("main.orch", main)], &[("replicas", "3"), ("tags", "[\"x\"]")]);
    assert_eq!(analysis.evaluations[0].1.outputs["n"], Value::Int(4));
    let analysis = run(&[("main.orch", main)], &[("replicas", "7")]);
    assert_eq!(codes(&analysis), ["E0801"]);
    assert_eq!(analysis.diagnostics[0].message, "too many: 7");
    let analysis = run(&[("main.orch", main)], &[("replicas", "seven")]);
    assert_eq!(codes(&analysis), ["E0603"]);
}

#[test]
fn unknown_values_wait_for_apply() {
    let main = r#"
resource r: exec.run { create = "echo hi" }
assert r.stdout != "", "no output"
output out: string = r.stdout
"#;
    let analysis = run(&[("main.orch", main)], &[]);
    assert_eq!(codes(&analysis), Vec::<&str>::new());
    assert_eq!(analysis.evaluations[0].1.outputs["out"], Value::Unknown);
}

#[test]
fn secrets_stay_secret_in_values_and_messages() {
    let main = r#"
param token: secret<string> = "hunter2"
resource r: exec.run {
  create = "deploy"
  env    = { TOKEN = token }
}
let n = int(token)
assert true, "fine"
"#;
    let analysis = run(&[("main.orch", main)], &[]);
    let rendered: Vec<String> = analysis.diagnostics.iter().map(|d| format!("{d:?}")).collect();
    assert!(rendered.iter().all(|d| !d.contains("hunter2")), "{rendered:?}");
    assert_eq!(codes(&analysis).iter().filter(|c| **c == "E0601").count(), 1);
    let instance = &analysis.evaluations[0].1.instances[0];
    let Value::Map(fields) = &instance.value else { panic!("a record") };
    assert!(fields["env"].contains_secret());
}

/// The first ```orch block of each evaluation page produces its code when
/// evaluated; the second evaluates cleanly.
#[test]
fn evaluation_pages_show_their_codes() {
    for (code, params) in [
        ("E0601", vec![]),
        ("E0602", vec![]),
        ("E0603", vec![("replicas", "many")]),
        ("E0604", vec![]),
        ("E0801", vec![]),
        ("E0802", vec![]),
        ("W0801", vec![]),
    ] {
        let page = orch_lang::diagnostic::lookup_code(code).expect("a registered code").doc;
        let blocks: Vec<&str> =
            page.split("```orch\n").skip(1).map(|b| b.split("```").next().unwrap_or("")).collect();
        assert!(blocks.len() >= 2, "{code}: two examples");
        let analysis = run(&[("main.orch", blocks[0])], &params);
        assert!(
            codes(&analysis).contains(&code),
            "{code}: the example gives {:?}",
            codes(&analysis)
        );
        let fixed_params: Vec<(&str, &str)> =
            if code == "E0603" { vec![("replicas", "3")] } else { vec![] };
        let analysis = run(&[("main.orch", blocks[1])], &fixed_params);
        assert!(codes(&analysis).is_empty(), "{code}: the fix gives {:?}", analysis.diagnostics);
    }
}

/// Grants that would undo each other (`E0604`) are found among the
/// expanded instances, with both declarations shown; ones that touch other
/// objects, roles or servers are not.
#[test]
fn grants_that_undo_each_other_are_an_error_at_both_declarations() {
    let main = r#"
provider pg { url = "postgres://admin@db-a/postgres" }
provider pg as other { url = "postgres://admin@db-b/postgres" }
let base = { role = "app", database = "shop", schema = "public" }
resource all_tables: pg.grant {
  role = base.role
  database = base.database
  schema = base.schema
  object_type = "table"
  privileges = ["SELECT"]
}
for table in ["orders", "items"] {
  resource one: pg.grant {
    role = base.role
    database = base.database
    schema = base.schema
    object_type = "table"
    objects = [table]
    privileges = ["INSERT"]
  }
}
@provider(other)
resource elsewhere: pg.grant {
  role = "app"
  database = "shop"
  schema = "public"
  object_type = "table"
  privileges = ["SELECT"]
}
resource other_role: pg.grant {
  role = "audit"
  database = "shop"
  schema = "public"
  object_type = "table"
  privileges = ["SELECT"]
}
resource columns_x: pg.grant {
  role = "app"
  database = "shop"
  schema = "public"
  object_type = "column"
  objects = ["orders"]
  columns = ["x"]
  privileges = ["SELECT"]
}
resource columns_y: pg.grant {
  role = "app"
  database = "shop"
  schema = "public"
  object_type = "column"
  objects = ["orders"]
  columns = ["y"]
  privileges = ["UPDATE"]
}
resource member: pg.grant_role {
  role = "app"
  grant_role = "readers"
}
resource member_again: pg.grant_role {
  role = "app"
  grant_role = "readers"
  with_admin_option = true
}
resource exact: pg.role {
  name = "audit"
  roles = ["auditors"]
}
resource loose: pg.role {
  name = "app"
}
resource audit_member: pg.grant_role {
  role = "audit"
  grant_role = "readers"
}
"#;
    let analysis = run(&[("main.orch", main)], &[]);
    let conflicts: Vec<_> =
        analysis.diagnostics.iter().filter(|d| d.code.code == "E0604").collect();
    let messages: Vec<&str> = conflicts.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(conflicts.len(), 4, "{messages:#?} {:#?}", analysis.diagnostics);
    assert!(messages[0].starts_with("`all_tables` and `one[\"orders\"]`"), "{messages:?}");
    assert!(messages[1].starts_with("`all_tables` and `one[\"items\"]`"), "{messages:?}");
    assert!(messages[2].contains("the membership of app in readers"), "{messages:?}");
    assert!(
        messages[3].starts_with("`exact` and `audit_member` both manage the memberships of audit"),
        "{messages:?}"
    );
    for conflict in &conflicts {
        assert_eq!(conflict.labels.len(), 1, "the other declaration is shown");
        assert_ne!(conflict.labels[0].span, conflict.span());
    }
    assert_eq!(codes(&analysis), ["E0604"; 4], "{:?}", analysis.diagnostics);
}

/// Found by the `check` fuzz target (fuzz/seeds/text/nested-ranges.orch):
/// nested loops each within the range limit built 10^12 elements. The
/// whole evaluation's element budget stops them with an error at the
/// inner loop, while one loop of a million elements still evaluates.
#[test]
fn nested_loops_stop_at_the_evaluation_element_budget() {
    let nested = "output x = [for a in range(1000000): [for b in range(1000000): b]]\n";
    let analysis = run(&[("main.orch", nested)], &[]);
    let over: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("list and map elements in all"))
        .collect();
    assert_eq!(over.len(), 1, "{:?}", analysis.diagnostics);
    let inner = nested.find("[for b").unwrap();
    assert!(over[0].primary.span.start as usize >= inner, "{:?}", over[0].primary.span);

    let single = "output x = length([for a in range(1000000): a])\n";
    let analysis = run(&[("main.orch", single)], &[]);
    assert!(analysis.diagnostics.is_empty(), "{:?}", analysis.diagnostics);
}
