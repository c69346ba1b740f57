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
//! A folder directly under `err/` or `ok/` (other than `modules/`) is one
//! test as well: a folder module, analysed as the root, whose files each
//! carry their own expectations.
//!
//! A root file may give param values as from the command line, with a
//! line `// vars: NAME=VALUE NAME=VALUE` (for `E0610`).
//!
//! Files under `ok/` expect no error. They expect no warning either, apart
//! from a few examples copied verbatim from the language specification,
//! which state the warnings they give inline.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use orch_compiler::eval::{ParamInput, ParamOrigin};
use orch_compiler::{Options, SourceDb, analyze};
use orch_lang::{Diagnostic, FileId, LineIndex};
use orch_tests::{Expectation, compare, expectations, files_with_suffix, repo_root};

/// The marker that lets diagnostics in module files be expected.
const EXPECT_MODULE_DIAGNOSTICS: &str = "// expect-module-diagnostics";

/// The directive that gives param values, as `--var` would.
const VARS: &str = "// vars:";

fn main() {
    let args = Arguments::from_args();
    let base = repo_root().join("tests/data/check");
    let mut trials: Vec<Trial> = files_with_suffix(&base, ".orch")
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&base).ok()?.to_path_buf();
            // Helper modules, and the files of folder tests.
            if relative.components().any(|c| c.as_os_str() == "modules")
                || relative.components().count() > 2
            {
                return None;
            }
            let name = relative.display().to_string();
            let base = base.clone();
            Some(Trial::test(name, move || run(&base, &relative)))
        })
        .collect();
    for group in ["err", "ok"] {
        let Ok(entries) = std::fs::read_dir(base.join(group)) else { continue };
        let mut folders: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.is_dir() && path.file_name().is_some_and(|n| n != "modules"))
            .collect();
        folders.sort();
        for folder in folders {
            let Ok(relative) = folder.strip_prefix(&base).map(Path::to_path_buf) else { continue };
            let name = format!("{}/", relative.display());
            let base = base.clone();
            trials.push(Trial::test(name, move || run(&base, &relative)));
        }
    }
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
    // The text of the root's files, for the directives.
    let texts: Vec<String> = match db.list_folder(&root_path) {
        Some(names) => {
            let paths = orch_compiler::db::module_file_names(&root_path, &names?);
            paths.iter().map(|path| db.read(path)).collect::<Result<_, _>>()?
        }
        None => vec![db.read(&root_path)?],
    };
    let mut options = Options { evaluate: true, ..Options::default() };
    for line in texts.iter().flat_map(|text| text.lines()) {
        let Some(vars) = line.trim().strip_prefix(VARS) else { continue };
        for var in vars.split_whitespace() {
            let (name, value) = var.split_once('=').ok_or("a var is NAME=VALUE")?;
            options.params.insert(name.to_string(), ParamInput::Text(value.to_string()));
            options.param_origins.insert(name.to_string(), ParamOrigin::Flag);
        }
    }
    let analysis = analyze(&db, std::slice::from_ref(&root_path), &options);
    let root = *analysis.roots.first().ok_or("the root was not loaded")?;
    let root_files = analysis.files.module_files(root);

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

    let module_diagnostics_expected = texts.iter().any(|t| t.contains(EXPECT_MODULE_DIAGNOSTICS));
    let mut expected_by_file = Vec::new();
    for &file in &root_files {
        expected_by_file.push((file, expectations(&analysis.files.get(file).source)?));
    }
    for file in analysis.files.iter().filter(|f| !root_files.contains(&f.id)) {
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
            if *file == root && root_files.len() == 1 {
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
