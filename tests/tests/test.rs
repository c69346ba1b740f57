//! The `orchc test` corpus: every folder under `tests/data/test/` is one
//! case, a module with one or more test files (`*.test.orch`, beside it
//! or in its `tests/` folder). The runner runs each test file in process
//! with `orch_runtime::testing::run_file`, as `orchc test` does, and
//! compares each test's outcome with the expectation written on its
//! `test NAME {` line:
//!
//! - `//~ pass`: the test passes;
//! - `//~ fail`: it fails; when the failure is an assertion, the failing
//!   assertion's line carries `//~ here` (optionally `//~ here: TEXT`,
//!   a piece of the operand lines `EXPR = VALUE` the failure shows);
//! - `//~ error: TEXT`: it cannot run, with TEXT in one of its messages.
//!
//! A test without an expectation, or an expectation without a test, fails
//! the case. Cases whose name starts with `apply_` apply real files: they
//! run in a temporary copy of the case folder, which must hold nothing
//! but the copied sources afterwards (no `out-apply/`, no `.orch/`): the
//! temporary state is destroyed after the file's last test, also when one
//! fails, and with it every file the tests made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use orch_runtime::testing::{self, Failure, Outcome};
use orch_tests::repo_root;

fn main() {
    let args = Arguments::from_args();
    let base = repo_root().join("tests/data/test");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    cases.retain(|path| path.is_dir());
    cases.sort();
    if cases.is_empty() {
        eprintln!("no test cases under {}", base.display());
        std::process::exit(1);
    }
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name =
                dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Trial::test(name, move || run(&dir))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

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

/// What a test's line says it must do.
#[derive(Debug)]
enum Expected {
    Pass,
    /// Fails; at the line (1-based) and with the text of `//~ here`.
    Fail(Option<(usize, String)>),
    Error(String),
}

fn test_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            test_files(&path, out);
        } else if path.to_string_lossy().ends_with(".test.orch") {
            out.push(path);
        }
    }
}

/// The expectations of a test file, by test name.
fn expectations(text: &str) -> Result<BTreeMap<String, Expected>, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let (code, comment) = match line.split_once("//~") {
            Some((code, comment)) => (code, Some(comment.trim())),
            None => (line, None),
        };
        let code = code.trim();
        if let Some(rest) = code.strip_prefix("test ") {
            let name = rest.trim_end_matches('{').trim().to_string();
            let expected = match comment {
                Some("pass") => Expected::Pass,
                Some("fail") => Expected::Fail(None),
                Some(other) if other.starts_with("error:") => {
                    Expected::Error(other["error:".len()..].trim().to_string())
                }
                other => {
                    return Err(format!(
                        "line {}: `test {name}` needs `//~ pass`, `//~ fail` or `//~ error: TEXT`, found {other:?}",
                        index + 1
                    ));
                }
            };
            out.insert(name.clone(), expected);
            current = Some(name);
        } else if let Some(comment) = comment
            && let Some(rest) = comment.strip_prefix("here")
        {
            let text = rest.trim_start_matches(':').trim().to_string();
            let Some(Expected::Fail(at)) = current.as_ref().and_then(|name| out.get_mut(name))
            else {
                return Err(format!(
                    "line {}: `//~ here` outside a test expected to fail",
                    index + 1
                ));
            };
            *at = Some((index + 1, text));
        }
    }
    Ok(out)
}

/// The line of a `file:line:column` location.
fn line_of(location: &str) -> Option<usize> {
    location.rsplit(':').nth(1)?.parse().ok()
}

fn run(case: &Path) -> Result<(), Failed> {
    let name = case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if !name.starts_with("apply_") {
        return run_in(case);
    }
    let copy = tempfile::Builder::new()
        .prefix("orch-test-case-")
        .tempdir()
        .map_err(|e| format!("a temporary folder: {e}"))?;
    let dir = copy.path().join(&name);
    copy_folder(case, &dir).map_err(|e| format!("copying {}: {e}", case.display()))?;
    let result = run_in(&dir);
    let mut left = Vec::new();
    list(&dir, &dir, &mut left);
    left.retain(|path| !path.ends_with(".orch"));
    if !left.is_empty() {
        let mut message = result.err().map(|e| format!("{e:?}\n")).unwrap_or_default();
        message.push_str(&format!(
            "left behind (the temporary state was not destroyed): {}",
            left.join(", ")
        ));
        return Err(message.into());
    }
    result
}

fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Every file and empty folder under `dir`, relative to `base`.
fn list(base: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut empty = true;
    for entry in entries.filter_map(Result::ok) {
        empty = false;
        let path = entry.path();
        if path.is_dir() {
            list(base, &path, out);
        } else {
            out.push(path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned());
        }
    }
    if empty && dir != base {
        out.push(format!("{}/", dir.strip_prefix(base).unwrap_or(dir).display()));
    }
}

fn run_in(dir: &Path) -> Result<(), Failed> {
    let mut files = Vec::new();
    test_files(dir, &mut files);
    if files.is_empty() {
        return Err("a case needs a `*.test.orch` file".into());
    }
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut expected = expectations(&text)?;
        let path = file.to_string_lossy().into_owned();
        let result = testing::run_file(&path, None, runtime());
        for test in &result.tests {
            let Some(expectation) = expected.remove(&test.name) else {
                problems.push(format!(
                    "`{}`: no expectation for this outcome: {:?}",
                    test.name, test.outcome
                ));
                continue;
            };
            let ok = match (&expectation, &test.outcome) {
                (Expected::Pass, Outcome::Passed) => true,
                (Expected::Fail(None), Outcome::Failed(_)) => true,
                (
                    Expected::Fail(Some((line, text))),
                    Outcome::Failed(Failure::Assertion { location, operands, .. }),
                ) => {
                    let shown: Vec<String> =
                        operands.iter().map(|(e, v)| format!("{e} = {v}")).collect();
                    line_of(location) == Some(*line)
                        && shown.iter().any(|s| s.contains(text.as_str()))
                }
                (Expected::Error(text), Outcome::Error(messages)) => {
                    messages.iter().any(|m| m.contains(text.as_str()))
                }
                _ => false,
            };
            if !ok {
                problems.push(format!(
                    "`{}`: expected {expectation:?}, got {:?}",
                    test.name, test.outcome
                ));
            }
        }
        for name in expected.keys() {
            problems.push(format!("`{name}`: expected an outcome, but the test did not run"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n").into()) }
}
