//! The registry of diagnostic codes and its pages in `docs/diagnostics/`:
//! codes and names are unique and well formed, every code has a page that
//! names it, every page belongs to a code, and each page's examples do what
//! the page says (the first `orch` block produces the code, the second
//! parses cleanly).

// The front end does no IO, but this test reads the documentation folder to
// find pages that belong to no code.
#![allow(clippy::disallowed_methods, reason = "the test lists the pages in docs/diagnostics")]

use std::collections::HashSet;
use std::path::PathBuf;

use orch_lang::diagnostic::{CODES, Code, lookup_code};
use orch_lang::{FileId, Severity, parse};

/// Codes that no short source can produce, with the reason; their pages
/// have no `orch` blocks.
const NO_EXAMPLE: &[(&str, &str)] = &[("E0017", "needs a source file larger than 4 GiB")];

fn docs_folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics")
}

fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && name.starts_with(|c: char| c.is_ascii_lowercase())
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
    assert!(current.is_none(), "an ```orch block is never closed");
    blocks
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for code in CODES {
        assert!(codes.insert(code.code), "code {} is registered twice", code.code);
        assert!(names.insert(code.name), "name {} is used by two codes", code.name);
        assert!(is_kebab_case(code.name), "{}: name `{}` is not kebab-case", code.code, code.name);
        let (prefix, digits) = code.code.split_at(1);
        assert!(
            digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()),
            "{}: a code is a letter and four digits",
            code.code
        );
        let expected = match prefix {
            "E" => Severity::Error,
            "W" => Severity::Warning,
            _ => panic!("{}: a code starts with E (error) or W (warning)", code.code),
        };
        assert_eq!(code.severity, expected, "{}: the prefix and the severity disagree", code.code);
    }
    let mut sorted: Vec<&str> = CODES.iter().map(|code| code.code).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        CODES.iter().map(|code| code.code).collect::<Vec<_>>(),
        "CODES is in code order"
    );
}

#[test]
fn lookup_accepts_code_lowercase_code_and_name() {
    for code in CODES {
        assert_eq!(lookup_code(code.code).map(|c| c.code), Some(code.code));
        assert_eq!(lookup_code(&code.code.to_ascii_lowercase()).map(|c| c.code), Some(code.code));
        assert_eq!(lookup_code(code.name).map(|c| c.code), Some(code.code));
    }
    assert!(lookup_code("E9999").is_none());
}

#[test]
fn every_page_names_its_code() {
    for code in CODES {
        let first_line = code.doc.lines().next().unwrap_or_default();
        assert_eq!(
            first_line,
            format!("# {}: {}", code.code, code.name),
            "first line of {}.md",
            code.code
        );
        assert!(code.doc.lines().count() > 3, "{}.md is only a title; write the page", code.code);
    }
}

#[test]
fn every_page_belongs_to_a_code() {
    let mut pages = 0;
    for entry in std::fs::read_dir(docs_folder()).expect("docs/diagnostics is readable") {
        let path = entry.expect("docs/diagnostics is readable").path();
        if path.extension().is_none_or(|extension| extension != "md") {
            continue;
        }
        let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
        if stem == "README" {
            continue;
        }
        pages += 1;
        assert!(
            CODES.iter().any(|code| code.code == stem),
            "{} belongs to no code in lang/src/diagnostic/codes.rs",
            path.display()
        );
    }
    assert_eq!(pages, CODES.len(), "one page per code");
}

#[test]
fn readme_lists_every_code() {
    let readme = std::fs::read_to_string(docs_folder().join("README.md"))
        .expect("docs/diagnostics/README.md");
    for code in CODES {
        assert!(
            readme.contains(&format!("[{0}]({0}.md)", code.code)),
            "README.md does not list {}",
            code.code
        );
    }
}

fn check_examples(code: &Code) -> Result<(), String> {
    // Only lexical and syntax codes come from the parser alone; the
    // compiler's tests check the examples of the others.
    if !code.code.starts_with("E00") {
        return Ok(());
    }
    let blocks = orch_blocks(code.doc);
    if let Some((_, reason)) = NO_EXAMPLE.iter().find(|(no_example, _)| *no_example == code.code) {
        return if blocks.is_empty() {
            Ok(())
        } else {
            Err(format!("is listed in NO_EXAMPLE ({reason}) but has ```orch blocks"))
        };
    }
    let [example, fixed, ..] = blocks.as_slice() else {
        return Err(format!("needs an erroneous and a fixed ```orch block, has {}", blocks.len()));
    };
    let found: Vec<&str> =
        parse(FileId(0), example).diagnostics.iter().map(|d| d.code.code).collect();
    if !found.contains(&code.code) {
        return Err(format!("the example does not produce {}; it produces {found:?}", code.code));
    }
    let fixed_diagnostics: Vec<String> = parse(FileId(0), fixed)
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect();
    if !fixed_diagnostics.is_empty() {
        return Err(format!("the fixed example does not parse cleanly: {fixed_diagnostics:?}"));
    }
    Ok(())
}

#[test]
fn examples_produce_their_code_and_fixes_parse() {
    let failures: Vec<String> = CODES
        .iter()
        .filter_map(|code| {
            check_examples(code).err().map(|error| format!("{}.md: {error}", code.code))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn block_extraction() {
    let page = "# X\n```orch\nlet a = 1\n```\ntext\n```text\nno\n```\n```orch\nlet b = 2\n```\n";
    assert_eq!(orch_blocks(page), vec!["let a = 1\n".to_string(), "let b = 2\n".to_string()]);
}
