//! `orchc test` end to end: the real binary on test files (`*.test.orch`,
//! LANGUAGE.md §12) in temporary folders and on the examples: one line
//! per test, the closing `N passed, N failed` line, the exit status, the
//! failing assertion's span and operand values (secrets hidden), JSON
//! output, `--filter`, and an `apply` test whose temporary state (and
//! every file it made) is gone afterwards, also when an assertion fails.

mod common;

use std::path::Path;

use common::Project;
use serde_json::Value;

const MODULE: &str = r#"param replicas: int = 1
param token: secret<string> = "hunter2-not-for-logs"

assert replicas > 0, "replicas must be positive"

resource conf: fs.file {
  path    = "out/app.conf"
  content = "replicas=${replicas}\n"
}

resource key: fs.file {
  path    = "out/key"
  content = token
}

output hash: string = conf.sha256
"#;

const TESTS: &str = r#"mock fs.file {
  sha256 = "abc123"
}

test three_replicas {
  vars = { replicas = 3 }
  assert conf.content == "replicas=3\n", "the config"
  assert hash == "abc123", "the mocked hash"
}

test wrong_hash {
  assert conf.content == "replicas=1\n", "passes"
  assert hash == "def456", "the hash"
}

test key_is_hidden {
  assert key.content == "guess", "the key"
}

test zero_replicas_is_refused {
  vars          = { replicas = 0 }
  expect_errors = ["replicas must be positive"]
}

test refused_but_no_error {
  vars          = { replicas = 2 }
  expect_errors = ["E0801"]
}
"#;

fn project() -> Project {
    let project = Project::new();
    project.write("app/main.orch", MODULE);
    project.write("app/main.test.orch", TESTS);
    project
}

#[test]
fn one_line_per_test_the_failures_with_values_and_a_closing_count() {
    let project = project();
    let run = project.run(&["test", "app"]);
    run.expect_code(1);
    let out = &run.stdout;
    assert!(out.contains("ok    three_replicas (app/main.test.orch:5:6)"), "{out}");
    assert!(out.contains("FAIL  wrong_hash (app/main.test.orch:11:6)"), "{out}");
    // The failing assertion's span, its message, and each operand's value.
    assert!(out.contains("assertion failed at app/main.test.orch:13:10: the hash"), "{out}");
    assert!(out.contains("    hash = \"abc123\""), "{out}");
    assert!(out.contains("ok    zero_replicas_is_refused"), "{out}");
    assert!(out.contains("FAIL  refused_but_no_error"), "{out}");
    assert!(out.contains("expected an error matching \"E0801\""), "{out}");
    assert!(out.contains("the module produced no error"), "{out}");
    assert!(out.ends_with("2 passed, 3 failed\n"), "{out}");
}

#[test]
fn a_secret_operand_is_shown_as_secret_never_in_plaintext() {
    let project = project();
    for format in ["human", "json"] {
        let run = project.run(&["test", "app", "--filter", "key", "--format", format]);
        run.expect_code(1);
        assert!(run.stdout.contains("(secret)"), "{}", run.stdout);
        assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
}

#[test]
fn json_reports_each_test_with_its_status() {
    let project = project();
    let run = project.run(&["test", "app", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["passed"], 2);
    assert_eq!(report["failed"], 3);
    let tests = report["tests"].as_array().expect("a list of tests");
    let status = |name: &str| -> &Value {
        &tests.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name}"))["status"]
    };
    assert_eq!(status("three_replicas"), "pass");
    assert_eq!(status("wrong_hash"), "fail");
    assert_eq!(status("refused_but_no_error"), "fail");
    let failed = tests.iter().find(|t| t["name"] == "wrong_hash").unwrap();
    assert_eq!(failed["assertion"]["location"], "app/main.test.orch:13:10");
    assert_eq!(failed["assertion"]["operands"][0]["expr"], "hash");
    assert_eq!(failed["assertion"]["operands"][0]["value"], "\"abc123\"");
}

#[test]
fn filter_runs_only_the_matching_tests_and_passing_exits_zero() {
    let project = project();
    let run = project.run(&["test", "app", "--filter", "replicas"]);
    run.expect_code(0);
    assert!(run.stdout.contains("three_replicas"), "{}", run.stdout);
    assert!(!run.stdout.contains("wrong_hash"), "{}", run.stdout);
    assert!(run.stdout.ends_with("2 passed, 0 failed\n"), "{}", run.stdout);
}

#[test]
fn every_module_below_the_path_and_its_tests_folder_are_run() {
    let project = Project::new();
    project.write("a/main.orch", "let greeting = \"hello\"\n");
    project.write(
        "a/tests/greeting.test.orch",
        "test hello {\n  assert greeting == \"hello\", \"x\"\n}\n",
    );
    project.write("b/main.orch", "let n = 2\n");
    project.write("b/main.test.orch", "test two {\n  assert n == 3, \"n\"\n}\n");
    let run = project.run(&["test"]);
    run.expect_code(1);
    assert!(run.stdout.contains("ok    hello (a/tests/greeting.test.orch:1:6)"), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL  two (b/main.test.orch:1:6)"), "{}", run.stdout);
    assert!(run.stdout.contains("    n = 2"), "{}", run.stdout);
    assert!(run.stdout.ends_with("1 passed, 1 failed\n"), "{}", run.stdout);
}

#[test]
fn a_broken_test_file_errs_and_check_reports_it() {
    let project = Project::new();
    project.write("m/main.orch", "let n = 2\n");
    project.write(
        "m/main.test.orch",
        "test t {\n  command = \"deploy\"\n  assert nn == 2, \"n\"\n}\n",
    );
    let run = project.run(&["test", "m"]);
    run.expect_code(1);
    assert!(run.stdout.contains("ERROR t (m/main.test.orch:1:6)"), "{}", run.stdout);
    assert!(run.stdout.contains("error[E1101]"), "{}", run.stdout);
    assert!(run.stdout.contains("error[E0101]"), "{}", run.stdout);
    let check = project.run(&["check", "m"]);
    check.expect_code(1);
    assert!(check.stderr.contains("E1101") || check.stdout.contains("E1101"), "{check:?}");
}

#[test]
fn an_apply_test_leaves_nothing_behind_even_when_it_fails() {
    let project = Project::new();
    project.write(
        "m/main.orch",
        "param name: string = \"one\"\n\nresource dir: fs.dir {\n  path = \"made\"\n}\n\nresource note: fs.file {\n  path    = \"${dir.path}/${name}.txt\"\n  content = \"hello ${name}\\n\"\n}\n",
    );
    project.write(
        "m/main.test.orch",
        "test applies {\n  command = \"apply\"\n  assert note.size == 10, \"real size\"\n}\n\ntest fails_after_apply {\n  command = \"apply\"\n  vars    = { name = \"two\" }\n  assert note.sha256 == \"nope\", \"a wrong hash\"\n}\n",
    );
    let run = project.run(&["test", "m"]);
    run.expect_code(1);
    assert!(run.stdout.contains("ok    applies"), "{}", run.stdout);
    assert!(run.stdout.contains("FAIL  fails_after_apply"), "{}", run.stdout);
    assert!(run.stdout.ends_with("1 passed, 1 failed\n"), "{}", run.stdout);
    let module = project.path().join("m");
    assert!(!module.join("made").exists(), "the applied files are destroyed");
    assert!(!module.join(".orch").exists(), "no state is kept beside the module");
    let mut names: Vec<String> = std::fs::read_dir(&module)
        .expect("the module folder")
        .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["main.orch", "main.test.orch"]);
}

#[test]
fn the_examples_tests_pass() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let project = Project::new();
    let run = project.run(&["test", examples.to_str().expect("a UTF-8 path")]);
    run.expect_code(0);
    assert!(run.stdout.ends_with(" 0 failed\n"), "{}", run.stdout);
    for example in
        ["environments", "local-env", "modules", "plugin-provider", "postgres-app", "web-service"]
    {
        assert!(run.stdout.contains(&format!("/{example}/")), "{example}: {}", run.stdout);
    }
}
