//! Checker corpus: every `tests/data/check/**/*.orch` file outside a
//! `modules/` folder is one test.
//!
//! The file is analysed as the root of a program; `module` and `import`
//! paths are read from the real folder, so a test reaches helper files under
//! `modules/` (or beside it) by relative path. The diagnostics located in
//! the root file must be exactly the ones written inline with
//! `//~ error[CODE]: text` or `//~^ warning[CODE]` (see
//! `orch_tests::expectations`). The text is matched against the message
//! followed by the labels and the help, as in
//! `message; primary: did you mean `x`?; label: first declared here; help: ...`,
//! so that an expectation may name a suggestion or a step of a chain.
//!
//! Other files of the program must produce no diagnostic, unless the root
//! file contains the comment `// expect-module-diagnostics`: then each of
//! them is compared with the expectations written in that file.
//!
//! Files under `ok/` expect no error. They expect no warning either, apart
//! from a few examples copied verbatim from the language specification,
//! which state the warnings they give inline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use orch_compiler::{Options, SourceDb, analyze};
use orch_lang::{Diagnostic, FileId, LineIndex};
use orch_tests::{Expectation, compare, expectations, files_with_suffix, repo_root};

/// The marker that lets diagnostics in module files be expected.
const EXPECT_MODULE_DIAGNOSTICS: &str = "// expect-module-diagnostics";

fn main() {
    let args = Arguments::from_args();
    let base = repo_root().join("tests/data/check");
    let trials = files_with_suffix(&base, ".orch")
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&base).ok()?.to_path_buf();
            if relative.components().any(|c| c.as_os_str() == "modules") {
                return None;
            }
            let name = relative.display().to_string();
            let base = base.clone();
            Some(Trial::test(name, move || run(&base, &relative)))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// Serves files from the corpus folder; paths are relative to it.
struct CorpusDb {
    base: PathBuf,
}

impl SourceDb for CorpusDb {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(self.base.join(path)).map_err(|e| e.to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        let entries = std::fs::read_dir(self.base.join(path)).ok()?;
        let names = entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        Some(Ok(names))
    }
}

fn run(base: &Path, relative: &Path) -> Result<(), Failed> {
    let root_path = relative.to_string_lossy().replace('\\', "/");
    let db = CorpusDb { base: base.to_path_buf() };
    let source = db.read(&root_path)?;
    // Semantic analysis only: evaluation has its own corpus.
    let options = Options { evaluate: true, ..Options::default() };
    let analysis = analyze(&db, std::slice::from_ref(&root_path), &options);
    let root = *analysis.roots.first().ok_or("the root file was not loaded")?;

    // The reported diagnostics of each file, as expectations with messages.
    let mut reported: HashMap<FileId, Vec<(Expectation, String)>> = HashMap::new();
    for diagnostic in &analysis.diagnostics {
        let span = diagnostic.primary.span;
        let file = analysis.files.get(span.file);
        let line = LineIndex::new(&file.source).line_col(&file.source, span.start).line;
        let got = Expectation {
            line,
            severity: diagnostic.severity.as_str().to_string(),
            code: diagnostic.code.code.to_string(),
            message: None,
        };
        reported.entry(span.file).or_default().push((got, describe(diagnostic)));
    }

    let module_diagnostics_expected = source.contains(EXPECT_MODULE_DIAGNOSTICS);
    let mut expected_by_file = vec![(root, expectations(&source)?)];
    for file in analysis.files.iter().filter(|f| f.id != root) {
        let expected =
            if module_diagnostics_expected { expectations(&file.source)? } else { Vec::new() };
        expected_by_file.push((file.id, expected));
    }

    let in_ok = relative.components().next().is_some_and(|c| c.as_os_str() == "ok");
    let all_expected = || expected_by_file.iter().flat_map(|(_, expected)| expected);
    if in_ok && all_expected().any(|e| e.severity == "error") {
        return Err("files under ok/ must not expect errors".into());
    }
    if !in_ok && all_expected().next().is_none() {
        return Err("files outside ok/ must expect at least one diagnostic".into());
    }

    let mut problems = Vec::new();
    for (file, expected) in &expected_by_file {
        let actual = reported.get(file).map_or(&[][..], Vec::as_slice);
        if let Err(difference) = compare(expected, actual) {
            if *file == root {
                problems.push(difference);
            } else {
                problems.push(format!("in {}:\n{difference}", analysis.files.get(*file).path));
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n").into()) }
}

/// The message, the primary label, the other labels and the help of a
/// diagnostic, in one line.
fn describe(diagnostic: &Diagnostic) -> String {
    let mut text = diagnostic.message.clone();
    if !diagnostic.primary.message.is_empty() {
        text.push_str(&format!("; primary: {}", diagnostic.primary.message));
    }
    for label in &diagnostic.labels {
        text.push_str(&format!("; label: {}", label.message));
    }
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("; help: {help}"));
    }
    text
}
