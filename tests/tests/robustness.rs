//! Property tests: arbitrary input and mutations of valid files never panic
//! the lexer, the parser, the formatter or the analysis; every diagnostic
//! span lies inside the source on character boundaries; and what the
//! formatter accepts it formats to text of the same tree, with the same
//! comments, that it leaves unchanged (the properties of `fuzz/`'s targets,
//! in bounded cases).

use orch_lang::{FileId, lex, parse};
use orch_tests::{files_with_suffix, repo_root};
use proptest::prelude::*;

/// The valid corpus, the seeds for mutation.
fn corpus() -> Vec<String> {
    let root = repo_root();
    let mut files = files_with_suffix(&root.join("tests/data/parse/ok"), ".orch");
    files.extend(files_with_suffix(&root.join("tests/data/check"), ".orch"));
    files.extend(files_with_suffix(&root.join("examples"), ".orch"));
    files.into_iter().filter_map(|path| std::fs::read_to_string(path).ok()).collect()
}

/// Runs the checks on a thread with the stack size the command-line tool and
/// the language server use for analysis.
fn check_invariants(source: &str) {
    let source = source.to_string();
    std::thread::Builder::new()
        .stack_size(orch_lang::ANALYSIS_STACK_SIZE)
        .spawn(move || check_invariants_here(&source))
        .expect("spawn a test thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

fn check_invariants_here(source: &str) {
    let lexed = lex(FileId(0), source);
    for (_, span) in &lexed.tokens {
        assert!(
            span.start <= span.end && span.end as usize <= source.len(),
            "token span out of range"
        );
    }
    let parsed = parse(FileId(0), source);
    analyze_alone(source);
    format_checks(source, &parsed);
    for diagnostic in &parsed.diagnostics {
        let span = diagnostic.primary.span;
        assert!(span.start <= span.end, "inverted span {span:?}");
        assert!(span.end as usize <= source.len(), "span {span:?} past the end");
        assert!(source.is_char_boundary(span.start as usize), "span {span:?} splits a character");
        assert!(source.is_char_boundary(span.end as usize), "span {span:?} splits a character");
    }
}

/// The formatter never panics; what it formats parses again to the same
/// tree with the same comments, and formatting that changes nothing.
fn format_checks(source: &str, parsed: &orch_lang::Parsed) {
    let Ok(formatted) = orch_lang::fmt::format(source) else { return };
    let again = parse(FileId(0), &formatted);
    assert!(again.diagnostics.is_empty(), "the formatted text does not parse:\n{formatted}");
    assert_eq!(
        orch_lang::dump::dump(&parsed.file),
        orch_lang::dump::dump(&again.file),
        "formatting changed the tree of:\n{source}"
    );
    assert_eq!(parsed.comments.len(), again.comments.len(), "a comment was lost:\n{source}");
    let twice = orch_lang::fmt::format(&formatted).expect("formatted text formats");
    assert_eq!(formatted, twice, "formatting is not idempotent on:\n{source}");
}

/// Files that exist for modules and imports of mutated sources: none, so
/// every module path is unreadable, plus the file itself.
struct OneFile(String);

impl orch_compiler::SourceDb for OneFile {
    fn read(&self, path: &str) -> Result<String, String> {
        if path == "main.orch" { Ok(self.0.clone()) } else { Err("no such file".to_string()) }
    }

    fn list_folder(&self, _path: &str) -> Option<Result<Vec<String>, String>> {
        None
    }
}

/// Runs the whole analysis, evaluation included, on one file: it must not
/// panic, and its spans must lie in the files.
fn analyze_alone(source: &str) {
    let db = OneFile(source.to_string());
    let options = orch_compiler::Options { evaluate: true, ..orch_compiler::Options::default() };
    let analysis = orch_compiler::analyze(&db, &["main.orch".to_string()], &options);
    for diagnostic in &analysis.diagnostics {
        let span = diagnostic.primary.span;
        if analysis.files.is_empty() {
            continue;
        }
        let text = &analysis.files.get(span.file).source;
        assert!(span.end as usize <= text.len(), "span {span:?} past the end of its file");
    }
}

/// Snippets that stress the grammar when spliced into valid files.
const SPLICES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\"\"\"",
    "${",
    "/*",
    "*/",
    "//",
    "///",
    "@",
    "=",
    ",",
    ":",
    "?",
    "??",
    "?.",
    "..",
    "..=",
    "=>",
    "resource",
    "if",
    "else",
    "for",
    "in",
    "key",
    "param x:",
    "0x",
    "1e",
    "9999999999999999999999",
    "\\u{110000}",
    "é",
    "😀",
    "\r\n",
    "\n",
    " ",
    "let",
    "type",
    "policy",
    "|",
    "<",
    ">",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, splice: usize },
    Swap { a: usize, b: usize },
}

fn apply(source: &str, mutations: &[Mutation]) -> String {
    let mut text: Vec<char> = source.chars().collect();
    for mutation in mutations {
        let len = text.len().max(1);
        match *mutation {
            Mutation::Delete { at, len: n } => {
                let at = at % len;
                let end = (at + n).min(text.len());
                if at < end {
                    text.drain(at..end);
                }
            }
            Mutation::Insert { at, splice } => {
                let at = (at % len).min(text.len());
                let splice: Vec<char> = SPLICES[splice % SPLICES.len()].chars().collect();
                text.splice(at..at, splice);
            }
            Mutation::Swap { a, b } => {
                if !text.is_empty() {
                    let (a, b) = (a % text.len(), b % text.len());
                    text.swap(a, b);
                }
            }
        }
    }
    text.into_iter().collect()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), any::<usize>()).prop_map(|(at, splice)| Mutation::Insert { at, splice }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap { a, b }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        check_invariants(&source);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_invariants(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(pieces in proptest::collection::vec(0..SPLICES.len(), 0..60)) {
        let source: String = pieces.iter().map(|&i| SPLICES[i]).collect::<Vec<_>>().join(" ");
        check_invariants(&source);
    }

    #[test]
    fn mutated_corpus_never_panics(seed in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let corpus = corpus();
        prop_assume!(!corpus.is_empty());
        let source = apply(&corpus[seed % corpus.len()], &mutations);
        check_invariants(&source);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    for open in ["(", "[", "{", "\"${"] {
        let source = format!("let x = {}", open.repeat(5_000));
        check_invariants(&source);
    }
    let source = format!("let x = {}1", "-".repeat(10_000));
    check_invariants(&source);
    // Long operator chains make deep left-leaning trees.
    let source = format!("let x = 1{}", " + 1".repeat(20_000));
    check_invariants(&source);
}

/// The shortest time of parsing `source` in seven runs: other processes on
/// a shared machine only ever make a run longer, so the minimum is the
/// measure least disturbed by them.
fn parse_time(source: &str) -> std::time::Duration {
    (0..7)
        .map(|_| {
            let start = std::time::Instant::now();
            let parsed = parse(FileId(0), source);
            assert!(parsed.has_errors(), "the input is broken on purpose");
            start.elapsed()
        })
        .min()
        .expect("seven runs")
}

/// Unclosed blocks, bodies and brackets nested `n` deep: the parse time of
/// 4n levels is within a generous bound of 4 × that of n levels (error
/// recovery that re-parsed each level made it double with every level:
/// 11 s for 20 unclosed `for` blocks).
#[test]
fn unclosed_nesting_parses_in_linear_time() {
    let patterns = [
        ("for", "for i in [1] {\n", ""),
        ("if", "if true {\n", ""),
        ("resource bodies", "resource r: core.value {\n input = {\n", ""),
        ("records", "{ a = ", "let v = "),
        ("lists", "[", "let v = "),
        ("calls", "f(", "let v = "),
        ("mixed", "for i in [1] { resource r: core.value { input = [ ( {\n", ""),
    ];
    for (what, level, prefix) in patterns {
        let small = format!("{prefix}{}", level.repeat(6));
        let large = format!("{prefix}{}", level.repeat(24));
        let (t_small, t_large) = std::thread::Builder::new()
            .stack_size(orch_lang::ANALYSIS_STACK_SIZE)
            .spawn(move || (parse_time(&small), parse_time(&large)))
            .expect("spawn a test thread")
            .join()
            .expect("parsing does not panic");
        // Linear is 4×; 40× leaves room for a noisy machine, and
        // exponential recovery would be thousands of times slower.
        let bound = t_small * 40 + std::time::Duration::from_millis(20);
        assert!(
            t_large <= bound,
            "{what}: 24 levels took {t_large:?}, 6 levels {t_small:?} (bound {bound:?})"
        );
    }
}
