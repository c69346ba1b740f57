//! `orchc test [PATH] [--filter NAME] [--format human|json]`: runs the
//! tests of every test file (`*.test.orch`) below `PATH` with
//! `orch_runtime::testing`, one line per test and a closing
//! `N passed, N failed` line; exits 1 when any test fails or errs.

use std::path::PathBuf;

use orch_runtime::testing::{self, Failure, FileResult, Outcome as TestOutcome};
use serde_json::json;

use crate::Outcome;
use crate::commands::run::{print, runtime};
use crate::errors;
use crate::files;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TestFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// A test file, a module folder, or any folder: every test file of
    /// the modules below it. Default: the current folder.
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,

    /// Run only the tests whose name contains NAME.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,

    #[arg(long, value_enum, default_value = "human")]
    format: TestFormat,
}

pub(crate) fn run(args: &TestArgs) -> Outcome {
    let inputs: Vec<PathBuf> = args.path.iter().cloned().collect();
    let discovery = files::discover(&inputs);
    let mut failed_input = false;
    for error in discovery.errors {
        errors::report(error.report);
        failed_input = true;
    }
    let paths: Vec<String> =
        discovery.files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let test_files = testing::discover(&paths);
    let Some(runtime) = runtime() else { return Outcome::Failure };
    let results: Vec<FileResult> = test_files
        .iter()
        .map(|path| testing::run_file(path, args.filter.as_deref(), &runtime))
        .collect();
    let (passed, failed) = counts(&results);
    match args.format {
        TestFormat::Human => print(&human(&results, passed, failed)),
        TestFormat::Json => print(&format!("{}\n", json_report(&results, passed, failed))),
    }
    if failed > 0 || failed_input { Outcome::Failure } else { Outcome::Success }
}

fn counts(results: &[FileResult]) -> (usize, usize) {
    let tests = results.iter().flat_map(|r| &r.tests);
    let passed = tests.clone().filter(|t| t.outcome == TestOutcome::Passed).count();
    let failed = tests.count() - passed;
    (passed, failed)
}

fn human(results: &[FileResult], passed: usize, failed: usize) -> String {
    let mut out = String::new();
    for file in results {
        for test in &file.tests {
            let name = if test.name.is_empty() { &file.path } else { &test.name };
            match &test.outcome {
                TestOutcome::Passed => out.push_str(&format!("ok    {name} ({})\n", test.location)),
                TestOutcome::Failed(failure) => {
                    out.push_str(&format!("FAIL  {name} ({})\n", test.location));
                    match failure {
                        Failure::Assertion { location, condition, message, operands } => {
                            out.push_str(&format!("  assertion failed at {location}: {message}\n"));
                            out.push_str(&format!("    assert {condition}\n"));
                            for (text, value) in operands {
                                out.push_str(&format!("    {text} = {value}\n"));
                            }
                        }
                        Failure::MissingErrors { missing, produced } => {
                            for expected in missing {
                                out.push_str(&format!(
                                    "  expected an error matching {expected:?}\n"
                                ));
                            }
                            if produced.is_empty() {
                                out.push_str("  the module produced no error\n");
                            }
                            for error in produced {
                                out.push_str(&format!("  produced: {error}\n"));
                            }
                        }
                    }
                }
                TestOutcome::Error(messages) => {
                    out.push_str(&format!("ERROR {name} ({})\n", test.location));
                    for message in messages {
                        out.push_str(&format!("  {message}\n"));
                    }
                }
            }
        }
    }
    out.push_str(&format!("{passed} passed, {failed} failed\n"));
    out
}

fn json_report(results: &[FileResult], passed: usize, failed: usize) -> serde_json::Value {
    let tests: Vec<serde_json::Value> = results
        .iter()
        .flat_map(|file| {
            file.tests.iter().map(move |test| {
                let mut entry = json!({
                    "file": file.path,
                    "name": test.name,
                    "location": test.location,
                });
                match &test.outcome {
                    TestOutcome::Passed => entry["status"] = json!("pass"),
                    TestOutcome::Failed(Failure::Assertion { location, condition, message, operands }) => {
                        entry["status"] = json!("fail");
                        entry["assertion"] = json!({
                            "location": location,
                            "condition": condition,
                            "message": message,
                            "operands": operands.iter().map(|(text, value)| json!({"expr": text, "value": value})).collect::<Vec<_>>(),
                        });
                    }
                    TestOutcome::Failed(Failure::MissingErrors { missing, produced }) => {
                        entry["status"] = json!("fail");
                        entry["missing_errors"] = json!(missing);
                        entry["errors"] = json!(produced);
                    }
                    TestOutcome::Error(messages) => {
                        entry["status"] = json!("error");
                        entry["errors"] = json!(messages);
                    }
                }
                entry
            })
        })
        .collect();
    json!({ "tests": tests, "passed": passed, "failed": failed })
}
