//! Parser corpus: every `tests/data/parse/**/*.orch` file is one test.
//!
//! Files under `ok/` must lex and parse without any diagnostic. Files under
//! `err/` must report exactly the diagnostics written inline in them with
//! `//~ error[CODE]` (see `orch_tests::expectations`), no more and no fewer.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use orch_lang::{FileId, LineIndex, parse};
use orch_tests::{Expectation, compare, expectations, files_with_suffix, repo_root};

fn main() {
    let args = Arguments::from_args();
    let root = repo_root().join("tests/data/parse");
    let trials = files_with_suffix(&root, ".orch")
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
            Trial::test(name, move || run(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run(path: &Path) -> Result<(), Failed> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let expected = expectations(&source)?;
    let parsed = parse(FileId(0), &source);
    let index = LineIndex::new(&source);
    let actual: Vec<(Expectation, String)> = parsed
        .diagnostics
        .iter()
        .map(|d| {
            let line = index.line_col(&source, d.primary.span.start).line;
            let got = Expectation {
                line,
                severity: d.severity.as_str().to_string(),
                code: d.code.code.to_string(),
                message: None,
            };
            (got, d.message.clone())
        })
        .collect();
    let in_ok = path.components().any(|c| c.as_os_str() == "ok");
    if in_ok && !expected.is_empty() {
        return Err("files under ok/ must not expect diagnostics".into());
    }
    if !in_ok && expected.is_empty() {
        return Err("files under err/ must expect at least one diagnostic".into());
    }
    compare(&expected, &actual)?;
    Ok(())
}
