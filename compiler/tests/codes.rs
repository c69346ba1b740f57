//! The pages of the semantic codes (`E01xx` to `E05xx`, `E07xx` and their
//! warnings) show what they say: the first ```` ```orch ```` block of a page,
//! checked as the file `main.orch`, produces the page's code and no other
//! error; the second block, checked the same way, produces no error and not
//! the page's code.
//!
//! Examples are single files. A page that needs another file (a module or an
//! import) gives it in a later block whose first line is `// file: PATH`;
//! the test serves those blocks at PATH, relative to `main.orch`, for both
//! the example and the fix. A block whose first line is
//! `// fixed file: PATH` replaces that file for the fix only. Any other path
//! is missing.
//!
//! The pages of the test-file codes (`E11xx`) show test files: their blocks
//! are checked as `main.test.orch`, with the test files loaded
//! (`Options::tests`), beside a module `main.orch` (`let n = 1` unless a
//! `// file: main.orch` block gives it).
//!
//! Lexical and syntax pages are tested by `lang/tests/codes.rs`; evaluation
//! and assertion pages (`E06xx`, `E08xx`, `W08xx`) by `tests/eval.rs`; runtime
//! pages (`E09xx`) by the end-to-end tests of `orchc apply` in `cli/tests`.

use std::collections::HashMap;

use orch_compiler::{Analysis, Options, SourceDb, analyze};
use orch_lang::diagnostic::{CODES, Code};

/// Files held in memory; every other path is missing.
struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

/// Whether this test checks the page of `code`.
fn is_semantic(code: &Code) -> bool {
    let family = &code.code[1..3];
    // E0310 needs a schema cache on disk: `cli/tests/plugin.rs` shows it.
    !matches!(family, "00" | "06" | "08" | "09") && code.code != "E0310"
}

/// The bodies of the ```` ```orch ```` blocks of a page, in order.
fn orch_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match &mut current {
            None if line.trim_end() == "```orch" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

fn check(code: &Code, main: &str, extra: &HashMap<String, String>) -> Analysis {
    let mut files = extra.clone();
    if code.code.starts_with("E11") {
        files.insert("main.test.orch".to_string(), main.to_string());
        files.entry("main.orch".to_string()).or_insert_with(|| "let n = 1\n".to_string());
        let options = Options { tests: true, ..Options::default() };
        return analyze(&Memory(files), &["main.test.orch".to_string()], &options);
    }
    files.insert("main.orch".to_string(), main.to_string());
    analyze(&Memory(files), &["main.orch".to_string()], &Options::default())
}

fn describe(analysis: &Analysis) -> Vec<String> {
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let file = &analysis.files.get(d.primary.span.file).path;
            format!("{file}: {}[{}]: {}", d.severity.as_str(), d.code.code, d.message)
        })
        .collect()
}

fn check_page(code: &Code) -> Result<(), String> {
    let blocks = orch_blocks(code.doc);
    let [example, fixed, rest @ ..] = blocks.as_slice() else {
        return Err(format!("needs an erroneous and a fixed ```orch block, has {}", blocks.len()));
    };
    let mut extra = HashMap::new();
    let mut fixed_extra = HashMap::new();
    for block in rest {
        let Some((first, body)) = block.split_once('\n') else { continue };
        if let Some(path) = first.strip_prefix("// file: ") {
            extra.insert(path.trim().to_string(), body.to_string());
            fixed_extra.entry(path.trim().to_string()).or_insert_with(|| body.to_string());
        } else if let Some(path) = first.strip_prefix("// fixed file: ") {
            fixed_extra.insert(path.trim().to_string(), body.to_string());
        }
    }

    let analysis = check(code, example, &extra);
    if !analysis.diagnostics.iter().any(|d| d.code.code == code.code) {
        return Err(format!(
            "the example does not produce {}: {:#?}",
            code.code,
            describe(&analysis)
        ));
    }
    if analysis.diagnostics.iter().any(|d| d.is_error() && d.code.code != code.code) {
        return Err(format!("the example produces other errors too: {:#?}", describe(&analysis)));
    }

    let analysis = check(code, fixed, &fixed_extra);
    if analysis.diagnostics.iter().any(|d| d.is_error() || d.code.code == code.code) {
        return Err(format!("the fix is not clean: {:#?}", describe(&analysis)));
    }
    Ok(())
}

#[test]
fn semantic_pages_produce_their_code_and_fixes_check_cleanly() {
    let failures: Vec<String> = CODES
        .iter()
        .filter(|code| is_semantic(code))
        .filter_map(|code| check_page(code).err().map(|error| format!("{}.md: {error}", code.code)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_semantic_code_has_a_page_checked_here() {
    let checked: Vec<&str> = CODES.iter().filter(|c| is_semantic(c)).map(|c| c.code).collect();
    for expected in ["E0101", "E0210", "E0303", "E0401", "E0501", "E0703", "W0101", "W0401"] {
        assert!(checked.contains(&expected), "{expected} is checked");
    }
    assert!(
        !checked.contains(&"E0601") && !checked.contains(&"W0801") && !checked.contains(&"E0001")
    );
}
