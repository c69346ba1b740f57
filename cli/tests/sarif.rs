//! `orchc check --format sarif` over the checker corpus: every log
//! validates against the official SARIF 2.1.0 schema (vendored in
//! `tests/data/sarif/`) and meets GitHub code scanning's requirements;
//! unreadable inputs are reported in the log and as GitHub annotations.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{CLEAN, Project, Run};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

fn validator() -> jsonschema::Validator {
    let path = repo_root().join("tests/data/sarif/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path).expect("the vendored SARIF schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

/// The corpus files below `tests/data/check/<which>`, relative to the root.
fn corpus(which: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![repo_root().join("tests/data/check").join(which)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("a corpus folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "orch")
                // `modules/` holds what corpus files import, not cases.
                && !path.parent().is_some_and(|p| p.ends_with("modules"))
            {
                let relative = path.strip_prefix(repo_root()).expect("inside the root");
                files.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {which}");
    files
}

/// Runs `orchc ARGS` from the repository root, as CI would.
fn run_at_root(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_orchc"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run orchc");
    Run::from(output)
}

fn schema_errors(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator
        .iter_errors(log)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

/// GitHub code scanning's documented requirements for an uploaded log.
fn github_problems(log: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    if driver["informationUri"]
        .as_str()
        .is_none_or(|uri| uri.is_empty() || uri.contains(".invalid"))
    {
        problems.push(format!("informationUri: {}", driver["informationUri"]));
    }
    let rules = driver["rules"].as_array().cloned().unwrap_or_default();
    for rule in &rules {
        for field in ["/shortDescription/text", "/fullDescription/text", "/help/text", "/helpUri"] {
            if rule.pointer(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                problems.push(format!("rule {} has no {field}", rule["id"]));
            }
        }
        if rule["help"]["text"].as_str().is_some_and(|text| text.contains("```")) {
            problems.push(format!("rule {}: help.text is not plain text", rule["id"]));
        }
    }
    let bases = run["originalUriBaseIds"].as_object().cloned().unwrap_or_default();
    for (name, base) in &bases {
        let uri = base["uri"].as_str().unwrap_or_default();
        if !uri.starts_with("file:///") || !uri.ends_with('/') {
            problems.push(format!("base {name} is not an absolute folder URI: {uri}"));
        }
    }
    let invocation = &run["invocations"][0];
    if !invocation["executionSuccessful"].is_boolean() {
        problems.push("invocations[0].executionSuccessful is missing".into());
    }
    let results = run["results"].as_array().cloned().unwrap_or_default();
    let mut fingerprints = HashSet::new();
    for result in &results {
        let fingerprint = result["partialFingerprints"].as_object().and_then(|f| f.values().next());
        match fingerprint.and_then(Value::as_str) {
            Some(value) if !value.is_empty() => {
                if !fingerprints.insert(value.to_string()) {
                    problems.push(format!("fingerprint {value} is not unique"));
                }
            }
            _ => problems.push(format!("result without partialFingerprints: {result}")),
        }
        let index = result["ruleIndex"].as_u64().expect("a rule index") as usize;
        if rules.get(index).map(|rule| &rule["id"]) != Some(&result["ruleId"]) {
            problems.push(format!("ruleIndex {index} does not name rule {}", result["ruleId"]));
        }
        let located = result["locations"].as_array().into_iter().flatten();
        let related = result["relatedLocations"].as_array().into_iter().flatten();
        for location in located.chain(related.clone()) {
            let artifact = &location["physicalLocation"]["artifactLocation"];
            let uri = artifact["uri"].as_str().unwrap_or_default();
            if uri.starts_with("file:") {
                continue;
            }
            match artifact["uriBaseId"].as_str() {
                Some(base) if bases.contains_key(base) => {}
                other => problems.push(format!("relative uri {uri} with base {other:?}")),
            }
        }
        let text = result["message"]["text"].as_str().unwrap_or_default();
        for location in related {
            let link = format!("]({})", location["id"]);
            if !text.contains(&link) {
                problems
                    .push(format!("related location {} not linked from {text:?}", location["id"]));
            }
        }
    }
    problems
}

#[test]
fn every_corpus_log_validates_against_the_schema() {
    let validator = validator();
    let mut failures = Vec::new();
    let files: Vec<String> = corpus("err").into_iter().chain(corpus("ok")).collect();
    for file in &files {
        let run = run_at_root(&["check", "--format", "sarif", file]);
        let log: Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|error| panic!("{file}: not JSON ({error}): {}", run.stdout));
        let errors = schema_errors(&validator, &log);
        if !errors.is_empty() {
            failures.push(format!("{file}:\n  {}", errors.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_invalid_corpus_file_meets_github_requirements() {
    let mut failures = Vec::new();
    for file in corpus("err") {
        // A case's `// vars: K=V ...` line gives values from outside.
        let text = std::fs::read_to_string(repo_root().join(&file)).expect("read a corpus file");
        let mut args = vec!["check".to_string(), "--format".into(), "sarif".into(), file.clone()];
        for line in text.lines().filter_map(|l| l.strip_prefix("// vars:")) {
            for var in line.split_whitespace() {
                args.extend(["--var".to_string(), var.to_string()]);
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_at_root(&args);
        let log: Value = serde_json::from_str(&run.stdout).expect("a JSON log");
        let results = log["runs"][0]["results"].as_array().map_or(0, Vec::len);
        if results == 0 {
            failures.push(format!("{file}: no results"));
        }
        let problems = github_problems(&log);
        if !problems.is_empty() {
            failures.push(format!("{file}:\n  {}", problems.join("\n  ")));
        }
        let uri = log.pointer("/runs/0/results/0/locations/0/physicalLocation/artifactLocation");
        assert_eq!(
            uri.and_then(|a| a["uriBaseId"].as_str()),
            Some("SRCROOT"),
            "{file}: a path inside the root is relative"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_github_checker_catches_what_it_checks() {
    // The requirements test above must be able to fail: a log that breaks
    // each rule is rejected.
    let run = run_at_root(&[
        "check",
        "--format",
        "sarif",
        "tests/data/check/err/E0101_undefined_name.orch",
    ]);
    let good: Value = serde_json::from_str(&run.stdout).expect("a JSON log");
    assert_eq!(github_problems(&good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["runs"][0]["tool"]["driver"]["informationUri"] = Value::from("");
    bad["runs"][0]["results"][0].as_object_mut().expect("a result").remove("partialFingerprints");
    bad["runs"][0]["tool"]["driver"]["rules"][0]["help"]["text"] = Value::from("```orch\nx\n```");
    let problems = github_problems(&bad);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(!schema_errors(&validator(), &serde_json::json!({"version": "2.0"})).is_empty());
}

#[test]
fn related_locations_are_linked_from_the_message() {
    let project = Project::new();
    project.write("main.orch", "let a = 1\nlet a = 2\n");
    let run = project.run(&["check", "--format", "sarif"]);
    run.expect_code(1);
    let log = run.json();
    let results = log["runs"][0]["results"].as_array().expect("results");
    let result = results.iter().find(|r| r["ruleId"] == "E0102").expect("the duplicate");
    let related = result["relatedLocations"].as_array().expect("a related location");
    assert_eq!(related[0]["id"], 1);
    let text = result["message"]["text"].as_str().expect("a message");
    assert!(text.contains("](1)"), "{text}");
    assert_eq!(github_problems(&log), Vec::<String>::new());
    let base = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"].as_str().expect("a base");
    let root = std::fs::canonicalize(project.path()).expect("the project folder");
    assert!(base.ends_with('/'), "{base}");
    assert!(base.contains(root.file_name().and_then(|n| n.to_str()).expect("a name")), "{base}");
}

#[test]
fn unreadable_inputs_make_the_invocation_fail() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    project.write("latin1.orch", b"let s = \"caf\xe9\"\n");
    let run =
        project.run(&["check", "--format", "sarif", "missing.orch", "latin1.orch", "main.orch"]);
    run.expect_code(1);
    let log = run.json();
    assert_eq!(schema_errors(&validator(), &log), Vec::<String>::new());
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notifications = invocation["toolExecutionNotifications"].as_array().expect("notifications");
    assert_eq!(notifications.len(), 2);
    assert_eq!(notifications[0]["level"], "error");
    assert_eq!(notifications[0]["descriptor"]["id"], "orchc::io");
    assert_eq!(
        notifications[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "missing.orch"
    );
    assert!(
        notifications[0]["message"]["text"]
            .as_str()
            .is_some_and(|text| text.contains("cannot read `missing.orch`")),
        "{}",
        notifications[0]
    );
    assert_eq!(notifications[1]["descriptor"]["id"], "orchc::encoding");

    let clean = project.run(&["check", "--format", "sarif", "main.orch"]);
    clean.expect_code(0);
    let invocation = &clean.json()["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(invocation["toolExecutionNotifications"], serde_json::json!([]));
}

#[test]
fn github_annotates_unreadable_inputs_and_multi_line_ranges() {
    let project = Project::new();
    // The mismatched value spans three lines; `#` is on one.
    project.write("main.orch", "let x: int = [\n  1,\n]\nlet y = #\n");
    let run = project.run(&["check", "--format", "github", "missing.orch", "main.orch"]);
    run.expect_code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with(
            "::error file=missing.orch,title=orchc%3A%3Aio::cannot read `missing.orch`"
        ),
        "{}",
        run.stdout
    );
    let multi = lines.iter().find(|line| line.contains("E0201")).expect("the type mismatch");
    assert!(multi.starts_with("::error file=main.orch,line=1,endLine=3,title="), "{multi}");
    let single = lines.iter().find(|line| line.contains("E0010")).expect("the bad character");
    assert!(single.contains("line=4,col=9,endLine=4,endColumn=10,"), "{single}");
}
