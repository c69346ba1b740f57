//! `orchc check` end to end: exit codes, the four output formats and file
//! discovery.

mod common;

use common::{CLEAN, Project};
use serde_json::{Value, json};

/// Line 1 is clean; on line 2 the `#` after the non-ASCII string is the
/// error. Its character column is 21; counting bytes would give 23.
const BROKEN: &str = "let ok = 1\nlet name = \"café ü\" # note\n";

#[test]
fn clean_file_passes() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 1 file: no problems\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn broken_file_fails_with_a_human_report() {
    let project = Project::new();
    project.write("main.orch", BROKEN);
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.starts_with("error[E0010]: unexpected character `#`\n"), "{}", run.stdout);
    assert!(run.stdout.contains("main.orch:2:21"), "{}", run.stdout);
    assert!(run.stdout.contains("let name = \"café ü\" # note"), "{}", run.stdout);
    assert!(run.stdout.contains("error: 1 error (checked 1 file)\n"), "{}", run.stdout);
    assert!(run.stdout.contains("orchc explain E0010"), "{}", run.stdout);
    assert!(!run.stdout.contains('\u{1b}'), "no colour without a terminal: {}", run.stdout);
}

#[test]
fn json_has_the_documented_shape() {
    let project = Project::new();
    project.write("main.orch", BROKEN);
    let run = project.run(&["check", "--format", "json", "main.orch"]);
    run.expect_code(1);
    let document = run.json();
    assert_eq!(document["version"], 1);
    assert_eq!(document["summary"], json!({"errors": 1, "warnings": 0}));
    let diagnostics = document["diagnostics"].as_array().expect("diagnostics is a list");
    assert_eq!(diagnostics.len(), 1);
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["severity"], "error");
    assert_eq!(diagnostic["code"], "E0010");
    assert_eq!(diagnostic["message"], "unexpected character `#`");
    assert_eq!(diagnostic["file"], "main.orch");
    let range = json!({"start": {"line": 2, "column": 21}, "end": {"line": 2, "column": 22}});
    assert_eq!(diagnostic["range"], range);
    // The primary label has no message and there are no others.
    assert_eq!(diagnostic["labels"], json!([]));
    assert_eq!(diagnostic["help"], Value::Null);
    let keys: Vec<&str> =
        diagnostic.as_object().expect("an object").keys().map(String::as_str).collect();
    let mut expected = vec!["severity", "code", "message", "file", "range", "labels", "help"];
    expected.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, expected);
}

#[test]
fn json_labels_start_with_the_primary_message() {
    let project = Project::new();
    project.write("main.orch", "let a = 1\nlet x = \"é\" + }\n");
    let run = project.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let diagnostic = &run.json()["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0001");
    let range = json!({"start": {"line": 2, "column": 15}, "end": {"line": 2, "column": 16}});
    assert_eq!(diagnostic["range"], range);
    let labels = diagnostic["labels"].as_array().expect("labels is a list");
    assert!(!labels.is_empty(), "{diagnostic}");
    assert_eq!(labels[0]["range"], range);
    assert!(
        labels[0]["message"].as_str().is_some_and(|message| !message.is_empty()),
        "{diagnostic}"
    );
}

#[test]
fn json_help_and_clean_output() {
    let project = Project::new();
    project.write("a.orch", "resource x: fs.dir {\n  path = \"a\"\n");
    project.write("b.orch", CLEAN);
    let run = project.run(&["check", "--format", "json", "a.orch", "b.orch"]);
    run.expect_code(1);
    let diagnostic = &run.json()["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0002");
    assert_eq!(diagnostic["help"], "add the matching `}`");
    assert_eq!(diagnostic["range"]["start"], json!({"line": 1, "column": 20}));

    let run = project.run(&["check", "--format", "json", "b.orch"]);
    run.expect_code(0);
    assert_eq!(
        run.json(),
        json!({"version": 1, "diagnostics": [], "summary": {"errors": 0, "warnings": 0}})
    );
}

#[test]
fn sarif_is_a_code_scanning_log() {
    let project = Project::new();
    project.write("infra/main.orch", BROKEN);
    project.write("infra/escape.orch", "let s = \"a\\q\"\n");
    let run = project.run(&["check", "--format", "sarif", "infra"]);
    run.expect_code(1);
    let log = run.json();
    assert!(log["$schema"].as_str().is_some_and(|schema| schema.contains("sarif-schema-2.1.0")));
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs is a list");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "orchc");
    assert!(driver["informationUri"].is_string());
    assert!(driver["version"].is_string());
    let rules = driver["rules"].as_array().expect("rules is a list");
    let rule_ids: Vec<&str> = rules.iter().map(|rule| rule["id"].as_str().expect("id")).collect();
    assert_eq!(rule_ids, ["E0010", "E0012"]);
    assert_eq!(rules[0]["name"], "unexpected-character");
    assert!(rules[0]["shortDescription"]["text"].as_str().is_some_and(|text| !text.is_empty()));
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");

    let results = runs[0]["results"].as_array().expect("results is a list");
    assert_eq!(results.len(), 2);
    // Files are checked in sorted order: escape.orch, then main.orch.
    let escape = &results[0];
    assert_eq!(escape["ruleId"], "E0012");
    assert_eq!(escape["ruleIndex"], 1);
    assert_eq!(escape["level"], "error");
    assert!(
        escape["message"]["text"].as_str().is_some_and(|text| text.starts_with("unknown escape"))
    );
    let main = &results[1];
    assert_eq!(main["ruleId"], "E0010");
    assert_eq!(main["ruleIndex"], 0);
    assert_eq!(main["message"]["text"], "unexpected character `#`");
    let location = &main["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "infra/main.orch");
    assert_eq!(
        location["region"],
        json!({"startLine": 2, "startColumn": 21, "endLine": 2, "endColumn": 22})
    );
}

#[test]
fn github_prints_workflow_commands() {
    let project = Project::new();
    project.write("main.orch", BROKEN);
    project.write("escape.orch", "let s = \"50%\\q\"\n");
    let run = project.run(&["check", "--format", "github"]);
    run.expect_code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "::error file=escape.orch,line=1,col=13,endLine=1,endColumn=15,title=E0012 invalid-escape::unknown escape `\\q` in string%0Ahelp: valid escapes are \\n \\r \\t \\\\ \\\" \\$ and \\u{...}",
            "::error file=main.orch,line=2,col=21,endLine=2,endColumn=22,title=E0010 unexpected-character::unexpected character `#`",
        ]
    );
}

#[test]
fn folders_are_searched_recursively_in_order() {
    let project = Project::new();
    project.write("z.orch", "let z = #\n");
    project.write("a/b/deep.orch", "let d = #\n");
    project.write("a/first.orch", "let f = #\n");
    project.write("notes.txt", "let n = #\n");
    project.write(".hidden/h.orch", "let h = #\n");
    project.write(".orch/state.orch", "let s = #\n");
    project.write("target/t.orch", "let t = #\n");
    let files = |run: &common::Run| -> Vec<String> {
        run.json()["diagnostics"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|d| d["file"].as_str().expect("file").to_string())
            .collect()
    };

    // No PATH: the current folder, with paths relative to it.
    let run = project.run(&["check", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(files(&run), ["a/b/deep.orch", "a/first.orch", "z.orch"]);

    // A folder and a file: in the order given, each file once.
    let run = project.run(&["check", "--format", "json", "z.orch", "a", "./z.orch"]);
    assert_eq!(files(&run), ["z.orch", "a/b/deep.orch", "a/first.orch"]);

    // An explicitly named file is checked whatever its extension.
    let run = project.run(&["check", "--format", "json", "notes.txt"]);
    assert_eq!(files(&run), ["notes.txt"]);

    // An absolute folder gives absolute paths.
    let absolute = project.path().join("a");
    let run = project.run(&["check", "--format", "json", absolute.to_str().expect("UTF-8 path")]);
    let expected = absolute.join("b/deep.orch");
    assert_eq!(files(&run)[0], expected.to_str().expect("UTF-8 path"));
}

#[test]
fn human_summary_counts_files() {
    // Three modules (the files of one folder would be one module).
    let project = Project::new();
    project.write("a/main.orch", CLEAN);
    project.write("b/main.orch", "let x = #\nlet y = \"\\q\"\n");
    project.write("c/main.orch", CLEAN);
    let run = project.run(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("error: 2 errors (checked 3 files)\n"), "{}", run.stdout);

    project.write("b/main.orch", CLEAN);
    let run = project.run(&["check", "--deny-warnings"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 3 files: no problems\n");
}

#[test]
fn empty_folder_passes_with_a_warning() {
    let project = Project::new();
    let run = project.run(&["check"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 0 files: no problems\n");
    assert!(run.stderr.contains("no `.orch` files found"), "{}", run.stderr);
}

#[test]
fn missing_and_unreadable_inputs_fail_but_others_are_checked() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    project.write("latin1.orch", b"let s = \"caf\xe9\"\n");
    let run = project.run(&["check", "missing.orch", "latin1.orch", "main.orch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot read `missing.orch`"), "{}", run.stderr);
    assert!(run.stderr.contains("`latin1.orch` is not valid UTF-8"), "{}", run.stderr);
    assert_eq!(run.stdout, "error: 2 paths not read (checked 1 file)\n");
}

#[test]
fn evaluation_flags_are_accepted_and_validated() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    project.write("dev.vars", r#"{"replicas": 3}"#);
    project.write("policies/small.orch", "policy small_dirs {\n  for d in resources(fs.dir) {\n    assert d.mode <= 0o755, \"${d.path} is too open\"\n  }\n}\n");
    project.write("more.orch", "policy named {\n  for d in resources(fs.dir) {\n    assert d.path != \"\", \"a directory needs a path\"\n  }\n}\n");
    let run = project.run(&[
        "check",
        "main.orch",
        "--var",
        "replicas=3",
        "--var-file",
        "dev.vars",
        "--policy",
        "policies",
        "--policy",
        "more.orch",
    ]);
    run.expect_code(0);

    let run = project.run(&["check", "main.orch", "--var", "replicas"]);
    run.expect_code(1);
    assert!(run.stderr.contains("expected K=V"), "{}", run.stderr);
}

#[test]
fn params_come_from_vars_var_files_and_the_environment_in_that_order() {
    let project = Project::new();
    project.write(
        "main.orch",
        "param replicas: int\nassert replicas < 5, \"too many replicas: ${replicas}\"\n",
    );
    project.write("high.vars", r#"{"replicas": 7}"#);
    // A missing required param skips evaluation with a note.
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(0);
    assert!(run.stderr.contains("evaluation skipped"), "{}", run.stderr);
    // The var file is used, and fails the assertion.
    let run = project.run(&["check", "main.orch", "--var-file", "high.vars", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.json()["diagnostics"][0]["code"], "E0801");
    assert_eq!(run.json()["diagnostics"][0]["message"], "too many replicas: 7");
    // --var wins over the var file.
    let run =
        project.run(&["check", "main.orch", "--var-file", "high.vars", "--var", "replicas=2"]);
    run.expect_code(0);
    // A value of the wrong type is reported at the param.
    let run = project.run(&["check", "main.orch", "--var", "replicas=many", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.json()["diagnostics"][0]["code"], "E0603");
}

#[test]
fn policy_files_apply_to_the_configuration() {
    let project = Project::new();
    project
        .write("main.orch", "resource open: fs.dir {\n  path = \"/srv/open\"\n  mode = 0o777\n}\n");
    project.write("policy.orch", "policy closed_dirs {\n  for d in resources(fs.dir) {\n    assert d.mode <= 0o755, \"${d.path} is open to everyone\"\n  }\n}\n");
    let run = project.run(&["check", "main.orch", "--policy", "policy.orch", "--format", "json"]);
    run.expect_code(1);
    let diagnostic = &run.json()["diagnostics"][0];
    assert_eq!(diagnostic["code"], "E0802");
    assert_eq!(
        diagnostic["message"],
        "policy `closed_dirs` is violated: /srv/open is open to everyone"
    );
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(0);
}

#[test]
fn usage_errors_exit_with_1_not_2() {
    let project = Project::new();
    project.run(&["check", "--format", "xml"]).expect_code(1);
    project.run(&["check", "--no-such-flag"]).expect_code(1);
    project.run(&["no-such-command"]).expect_code(1);
    project.run(&[]).expect_code(1);
    let run = project.run(&["check", "--help"]);
    run.expect_code(0);
    assert!(run.stdout.contains("--deny-warnings"), "{}", run.stdout);
}

#[test]
fn version_is_printed() {
    let run = Project::new().run(&["--version"]);
    run.expect_code(0);
    assert_eq!(run.stdout, format!("orchc {}\n", env!("CARGO_PKG_VERSION")));
}

// ---------------------------------------------------------------------
// Regressions of issue 10.

#[test]
fn a_file_of_lets_and_asserts_is_evaluated() {
    let project = Project::new();
    project.write("main.orch", "let a = 1\nassert a == 2, \"a is ${a}\"\n");
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.starts_with("error[E0801]: a is 1\n"), "{}", run.stdout);
    project.write("main.orch", "let a = 1\nassert a == 1, \"a is ${a}\"\n");
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 1 file: no problems\n");
    project.write("main.orch", "assert false, \"x\"\n");
    project.run(&["check", "main.orch"]).expect_code(1);
}

#[test]
fn check_sees_the_values_of_imports() {
    let project = Project::new();
    project.write("lib/common.orch", "let default_port = 8000\nlet names = [\"a\", \"b\"]\n");
    let main = "import \"./lib/common.orch\" as common\n\
                assert common.default_port == 1, \"the port is ${common.default_port}\"\n";
    project.write("main.orch", main);
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.starts_with("error[E0801]: the port is 8000\n"), "{}", run.stdout);
    project.write("main.orch", main.replace("== 1", "== 8000"));
    project.run(&["check", "main.orch"]).expect_code(0);
    // An imported list expands a loop at check time.
    project.write(
        "main.orch",
        "import \"./lib/common.orch\" as common\n\
         for n in common.names {\n  resource v: core.value { input = n }\n}\n\
         assert length(v) == 3, \"${length(v)} instances\"\n",
    );
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.starts_with("error[E0801]: 2 instances\n"), "{}", run.stdout);
}

#[test]
fn asserts_of_an_imported_file_run_once() {
    let project = Project::new();
    project.write("common.orch", "let port = 8000\nassert port < 1024, \"port ${port} is high\"\n");
    project.write(
        "site.orch",
        "import \"./common.orch\" as common\nparam p: int = common.port\n\
         resource v: core.value { input = \"${p}\" }\n",
    );
    project.write(
        "main.orch",
        "import \"./common.orch\" as common\n\
         module a: \"./site.orch\" {}\nmodule b: \"./site.orch\" { p = common.port + 1 }\n",
    );
    let run = project.run(&["check", "--format", "json", "main.orch"]);
    run.expect_code(1);
    let diagnostics = run.json()["diagnostics"].as_array().expect("a list").clone();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "E0801");
    assert_eq!(diagnostics[0]["message"], "port 8000 is high");
    assert_eq!(diagnostics[0]["file"], "common.orch");
}

#[test]
fn a_param_read_only_by_a_provider_block_is_used() {
    let project = Project::new();
    project.write(
        "main.orch",
        "param url: string = \"postgres://postgres@127.0.0.1:5432/postgres\"\n\
         provider pg { url = url }\n\
         resource db: pg.database { name = \"app\" }\n",
    );
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 1 file: no problems\n");
    // Names in provider blocks are resolved like any other.
    project.write("main.orch", "provider pg { url = nowhere }\n");
    let run = project.run(&["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.starts_with("error[E0101]: cannot find `nowhere`"), "{}", run.stdout);
}
