//! Formatter corpus: one test per `.orch` file.
//!
//! - `tests/data/fmt/**/NAME.orch`: the formatted text must equal
//!   `NAME.fmt.snap` beside it. `UPDATE_EXPECT=1` writes missing and changed
//!   snapshots; without it a missing snapshot fails.
//! - `tests/data/parse/ok/**/*.orch` and `examples/**/*.orch`: no snapshot.
//!
//! For every file the formatter must also keep its promises: the output is
//! a fixed point (formatting it again changes nothing), it parses to the
//! same tree modulo spans (compared with `orch_lang::dump`), it keeps every
//! comment (the multiset of comment texts), it ends with exactly one
//! newline and has no `\r`. The same promises are checked again on variants
//! of the file with a comment inserted after each token, and with its
//! tokens laid out anew.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};
use orch_lang::fmt::{comment_text, format};
use orch_lang::token::Token;
use orch_lang::{FileId, dump, lex, parse};
use orch_tests::{files_with_suffix, repo_root};

fn main() {
    let args = Arguments::from_args();
    let root = repo_root();
    let mut trials = Vec::new();
    let snapshots = root.join("tests/data/fmt");
    for path in files_with_suffix(&snapshots, ".orch") {
        let name = format!("fmt/{}", path.strip_prefix(&snapshots).unwrap_or(&path).display());
        trials.push(Trial::test(name, move || snapshot_case(&path)));
    }
    for dir in ["tests/data/parse/ok", "examples"] {
        for path in files_with_suffix(&root.join(dir), ".orch") {
            let name = format!("roundtrip/{}", path.strip_prefix(&root).unwrap_or(&path).display());
            trials.push(Trial::test(name, move || roundtrip_case(&path)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn snapshot_case(path: &Path) -> Result<(), Failed> {
    let source = read(path)?;
    let output = format_or_fail(&source)?;
    check_promises(&source, &output)?;
    check_trailing_whitespace(&output)?;
    check_inserted_comments(&source)?;
    check_relaid_out(&source)?;

    let snapshot = path.with_extension("fmt.snap");
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    match std::fs::read_to_string(&snapshot) {
        Ok(expected) if expected == output => Ok(()),
        _ if update => {
            std::fs::write(&snapshot, &output)
                .map_err(|e| format!("{}: {e}", snapshot.display()))?;
            Ok(())
        }
        Ok(expected) => Err(format!(
            "the output differs from {} (rerun with UPDATE_EXPECT=1 to accept it)\n{}",
            snapshot.display(),
            line_diff(&expected, &output)
        )
        .into()),
        Err(_) => Err(format!(
            "{} is missing (rerun with UPDATE_EXPECT=1 to create it); the output is:\n{output}",
            snapshot.display()
        )
        .into()),
    }
}

fn roundtrip_case(path: &Path) -> Result<(), Failed> {
    let source = read(path)?;
    let output = format_or_fail(&source)?;
    check_promises(&source, &output)?;
    check_inserted_comments(&source)?;
    check_relaid_out(&source)
}

fn format_or_fail(source: &str) -> Result<String, Failed> {
    format(source).map_err(|diagnostics| {
        let messages: Vec<String> =
            diagnostics.iter().map(|d| format!("{} {}", d.code.code, d.message)).collect();
        format!("the formatter refused the file: {}", messages.join("; ")).into()
    })
}

/// Idempotence, the same tree, the same comments, one final newline.
fn check_promises(source: &str, output: &str) -> Result<(), String> {
    let again =
        format(output).map_err(|d| format!("the output does not parse: {d:?}\n{output}"))?;
    if again != output {
        return Err(format!("formatting is not idempotent\n{}", line_diff(output, &again)));
    }
    // `\r\n` becomes `\n`, also inside multi-line strings: compare with the
    // source as the formatter reads it.
    let normalized = source.replace("\r\n", "\n");
    let before = dump::dump(&parse(FileId(0), &normalized).file);
    let after = dump::dump(&parse(FileId(0), output).file);
    if before != after {
        return Err(format!(
            "the output parses to a different tree\n{}",
            line_diff(&before, &after)
        ));
    }
    let (comments_before, comments_after) = (comment_texts(source), comment_texts(output));
    if comments_before != comments_after {
        return Err(format!(
            "the comments changed\nbefore: {comments_before:?}\nafter:  {comments_after:?}\noutput:\n{output}"
        ));
    }
    if output.contains('\r') {
        return Err("the output contains `\\r`".to_string());
    }
    if !output.is_empty() && (!output.ends_with('\n') || output.ends_with("\n\n")) {
        return Err("the output does not end with exactly one newline".to_string());
    }
    Ok(())
}

/// No line ends with whitespace, except inside multi-line strings where it
/// is part of the value.
fn check_trailing_whitespace(output: &str) -> Result<(), String> {
    let strings: Vec<(usize, usize)> = lex(FileId(0), output)
        .tokens
        .iter()
        .filter(|(token, _)| matches!(token, Token::StrText(_)))
        .map(|(_, span)| (span.start as usize, span.end as usize))
        .collect();
    let mut line_start = 0;
    for (index, line) in output.split('\n').enumerate() {
        let line_end = line_start + line.len();
        let in_string = strings.iter().any(|&(start, end)| start < line_end && line_end <= end);
        if line.ends_with([' ', '\t']) && !in_string {
            return Err(format!(
                "line {} of the output has trailing whitespace: {line:?}",
                index + 1
            ));
        }
        line_start = line_end + 1;
    }
    Ok(())
}

/// The texts of every comment, as the formatter prints them, sorted.
fn comment_texts(source: &str) -> Vec<String> {
    let source = source.replace("\r\n", "\n");
    let parsed = parse(FileId(0), &source);
    let mut texts: Vec<String> =
        parsed.comments.iter().map(|c| comment_text(&source[c.span.range()], c.kind)).collect();
    texts.sort();
    texts
}

/// Inserts a block comment, then a line comment, after each token outside
/// string text, and checks the promises on each variant: comments in odd
/// places must neither be lost nor break the output.
fn check_inserted_comments(source: &str) -> Result<(), Failed> {
    let source = source.replace("\r\n", "\n");
    let lexed = lex(FileId(0), &source);
    let mut offsets: Vec<usize> = lexed
        .tokens
        .iter()
        .filter(|(token, _)| {
            !matches!(token, Token::StrStart { .. } | Token::StrText(_) | Token::InterpEnd)
        })
        .map(|(_, span)| span.end as usize)
        .collect();
    offsets.insert(0, 0);
    offsets.dedup();
    let block = |index: usize| format!(" /* c{index} */ ");
    let line = |index: usize| format!(" // c{index}\n");
    for (index, &offset) in offsets.iter().enumerate() {
        for comment in [block(index), line(index)] {
            let variant = format!("{}{comment}{}", &source[..offset], &source[offset..]);
            check_variant(&variant).map_err(|problem| {
                format!("with `{}` at byte {offset}: {problem}", comment.trim())
            })?;
        }
    }
    // And comments everywhere at once: block comments, line comments, and
    // the two in turn.
    let everywhere = |comment: &dyn Fn(usize) -> String| {
        let mut variant = String::new();
        let mut previous = 0;
        for (index, &offset) in offsets.iter().enumerate() {
            variant.push_str(&source[previous..offset]);
            variant.push_str(&comment(index));
            previous = offset;
        }
        variant.push_str(&source[previous..]);
        variant
    };
    let alternating =
        |index: usize| if index.is_multiple_of(2) { block(index) } else { line(index) };
    for (name, variant) in [
        ("block", everywhere(&block)),
        ("line", everywhere(&line)),
        ("mixed", everywhere(&alternating)),
    ] {
        check_variant(&variant)
            .map_err(|problem| format!("with {name} comments after every token: {problem}"))?;
    }
    Ok(())
}

/// Re-lays the file out before formatting it: a line break after every
/// token, and line breaks or runs of spaces after tokens picked at random
/// (a fixed seed). Whatever the input layout, the promises hold.
fn check_relaid_out(source: &str) -> Result<(), Failed> {
    let source = source.replace("\r\n", "\n");
    let lexed = lex(FileId(0), &source);
    let offsets: Vec<usize> = lexed
        .tokens
        .iter()
        .filter(|(token, _)| {
            !matches!(token, Token::StrStart { .. } | Token::StrText(_) | Token::InterpEnd)
        })
        .map(|(_, span)| span.end as usize)
        .collect();
    let relaid = |gap: &mut dyn FnMut() -> &'static str| {
        let mut variant = String::new();
        let mut previous = 0;
        for &offset in &offsets {
            variant.push_str(&source[previous..offset]);
            variant.push_str(gap());
            previous = offset;
        }
        variant.push_str(&source[previous..]);
        variant
    };
    check_variant(&relaid(&mut || "\n"))
        .map_err(|problem| format!("with a line break after every token: {problem}"))?;
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for round in 0..4 {
        let mut gap = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            match state >> 61 {
                0 => "\n",
                1 => "\n\n",
                2 => "   ",
                _ => "",
            }
        };
        check_variant(&relaid(&mut gap))
            .map_err(|problem| format!("re-laid out at random ({round}): {problem}"))?;
    }
    Ok(())
}

fn check_variant(variant: &str) -> Result<(), String> {
    let output =
        format(variant).map_err(|d| format!("the variant does not parse: {d:?}\n{variant}"))?;
    check_promises(variant, &output)
}

/// The lines that differ, marked `-` (expected) and `+` (actual), with
/// their line numbers.
fn line_diff(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for index in 0..expected.len().max(actual.len()) {
        let (want, got) = (expected.get(index), actual.get(index));
        if want != got {
            if let Some(want) = want {
                out.push_str(&format!("{:>4} - {want}\n", index + 1));
            }
            if let Some(got) = got {
                out.push_str(&format!("{:>4} + {got}\n", index + 1));
            }
        }
    }
    out
}
