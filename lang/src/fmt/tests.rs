//! Unit tests of the layout rules. The corpus under `tests/data/fmt` covers
//! whole files; these pin one rule each.

use super::{MAX_WIDTH, format};
use crate::ast::{ExprKind, ItemKind};
use crate::dump::dump;
use crate::parser::parse;
use crate::span::FileId;

/// Formats `source`, checks that formatting the result changes nothing and
/// that the tree is the same, and returns the result.
fn fmt(source: &str) -> String {
    let output = match format(source) {
        Ok(output) => output,
        Err(diagnostics) => panic!("refused: {diagnostics:?}"),
    };
    assert_eq!(format(&output).as_deref(), Ok(output.as_str()), "not idempotent:\n{output}");
    let normalized = source.replace("\r\n", "\n");
    assert_eq!(
        dump(&parse(FileId(0), &normalized).file),
        dump(&parse(FileId(0), &output).file),
        "tree changed"
    );
    output
}

/// The value of the string of `let NAME = "..."`, the first declaration.
fn string_value(source: &str) -> String {
    let parsed = parse(FileId(0), source);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let ItemKind::Let(decl) = &parsed.file.items[0].kind else { panic!("not a let: {source}") };
    let ExprKind::Str(lit) = &decl.value.kind else { panic!("not a string: {source}") };
    lit.as_plain().expect("no interpolation")
}

#[test]
fn alignment_runs_end_at_blank_lines_and_comment_lines() {
    let source = "resource r: k.k {\na = 1\nlonger = 2\n\nb = 3\nmuch_longer = 4\n// note\nc = 5\nlong = 6 // trailing\nd = 7\n}\n";
    assert_eq!(
        fmt(source),
        "resource r: k.k {\n  a      = 1\n  longer = 2\n\n  b           = 3\n  much_longer = 4\n  // note\n  c    = 5\n  long = 6 // trailing\n  d    = 7\n}\n"
    );
}

#[test]
fn alignment_keeps_fields_whose_value_spans_lines_in_the_run() {
    let source = "let o = {\n  a = {\n    x = 1\n  }\n  bbb = 2\n}\n";
    assert_eq!(fmt(source), "let o = {\n  a   = {\n    x = 1\n  }\n  bbb = 2\n}\n");
}

#[test]
fn alignment_counts_characters_and_quoted_names() {
    let source = "let o = {\n\"b-c\" = 1\n\"é\" = 2\nabcdefg = 3\n}\n";
    assert_eq!(fmt(source), "let o = {\n  \"b-c\"   = 1\n  \"é\"     = 2\n  abcdefg = 3\n}\n");
}

#[test]
fn flat_objects_and_record_types_are_not_aligned() {
    assert_eq!(fmt("let o = {a=1, bbb=2}\n"), "let o = { a = 1, bbb = 2 }\n");
    assert_eq!(
        fmt("type T = {\na: int\nbbb?: string\n}\n"),
        "type T = {\n  a: int\n  bbb?: string\n}\n"
    );
}

#[test]
fn multiline_string_is_reindented_under_its_line() {
    let source = "resource r: fs.file {\ncontent = \"\"\"\n      one\n        two\n\n      three\n         \"\"\"\n}\n";
    assert_eq!(
        fmt(source),
        "resource r: fs.file {\n  content = \"\"\"\n    one\n      two\n\n    three\n  \"\"\"\n}\n"
    );
}

#[test]
fn multiline_string_at_top_level_and_in_a_list() {
    assert_eq!(fmt("let s = \"\"\"\n        a\n        \"\"\"\n"), "let s = \"\"\"\n  a\n\"\"\"\n");
    assert_eq!(
        fmt("let l = [\n\"\"\"\n a\n\"\"\",\n]\n"),
        "let l = [\n  \"\"\"\n    a\n  \"\"\",\n]\n"
    );
}

#[test]
fn multiline_string_value_never_changes() {
    let cases = [
        // Closing quotes after the last line: no final newline to remove.
        "let s = \"\"\"\n  a\n  b\"\"\"\n",
        // A trailing empty line is part of the value.
        "let s = \"\"\"\n  a\n\n  \"\"\"\n",
        // A line of only spaces inside the text is kept whole.
        "let s = \"\"\"\n  a\n     \n  b\n  \"\"\"\n",
        // Only whitespace, and nothing at all.
        "let s = \"\"\"\n     \n  \"\"\"\n",
        "let s = \"\"\"\n\"\"\"\n",
        // Tabs count as indentation like spaces.
        "let s = \"\"\"\n\t\ta\n\t\t  b\n\t\"\"\"\n",
        // Escapes stay as written.
        "let s = \"\"\"\n    \\tx \\u{41} \\\"\n  \"\"\"\n",
    ];
    for source in cases {
        let output = fmt(source);
        assert_eq!(
            string_value(&output),
            string_value(source),
            "value changed:\n{source}\n=>\n{output}"
        );
        assert!(output.ends_with("\"\"\"\n"), "closing quotes on their own line:\n{output}");
    }
}

#[test]
fn multiline_string_with_interpolations() {
    let source = "let s = \"\"\"\n    ${ a }\n      x ${b}\n    \"\"\"\n";
    assert_eq!(fmt(source), "let s = \"\"\"\n  ${a}\n    x ${b}\n\"\"\"\n");
}

#[test]
fn flat_containers_break_past_the_column_limit() {
    // `let o = { a = "…" }` with the string sized to end exactly at the limit.
    let fill = MAX_WIDTH - "let o = { a = \"\" }".len();
    let fits = format!("let o = {{ a = \"{}\" }}\n", "x".repeat(fill));
    assert_eq!(fmt(&fits), fits);
    let too_long = format!("let o = {{ a = \"{}\" }}\n", "x".repeat(fill + 1));
    assert_eq!(fmt(&too_long), format!("let o = {{\n  a = \"{}\"\n}}\n", "x".repeat(fill + 1)));
}

#[test]
fn broken_containers_stay_broken() {
    assert_eq!(fmt("let l = [1,\n2]\n"), "let l = [\n  1,\n  2,\n]\n");
    assert_eq!(fmt("let c = f(a,\nb)\n"), "let c = f(\n  a,\n  b,\n)\n");
    assert_eq!(fmt("let c = f(\n)\n"), "let c = f()\n");
    assert_eq!(fmt("resource r: k.k {\n}\n"), "resource r: k.k {}\n");
}

#[test]
fn containers_with_comments_break() {
    assert_eq!(fmt("let l = [1, /* one */ 2]\n"), "let l = [\n  1, /* one */\n  2,\n]\n");
}

#[test]
fn blank_lines_are_collapsed_kept_and_never_added() {
    let source = "\n\nlet a = 1\n\n\n\nlet b = 2\nlet c = 3\nif a {\n\n  let d = 4\n\n}\n\n";
    assert_eq!(fmt(source), "let a = 1\n\nlet b = 2\nlet c = 3\nif a {\n  let d = 4\n}\n");
}

#[test]
fn decorators_stand_on_their_own_lines_in_order() {
    assert_eq!(fmt("@b @a(1)\n\n@c resource r: k.k {}\n"), "@b\n@a(1)\n@c\nresource r: k.k {}\n");
}

#[test]
fn numbers_are_printed_as_written() {
    assert_eq!(
        fmt("let n = [0o644,1_000,0x1F,500ms,2e3]\n"),
        "let n = [0o644, 1_000, 0x1F, 500ms, 2e3]\n"
    );
}

#[test]
fn comments_are_never_dropped() {
    let source = "let a = \"${x /* in */}\" // after\nlet b = (c // before paren\n)\n/* end */";
    let output = fmt(source);
    for comment in ["/* in */", "// after", "// before paren", "/* end */"] {
        assert_eq!(output.matches(comment).count(), 1, "{comment} in:\n{output}");
    }
}

#[test]
fn trailing_comments_stay_on_their_line() {
    assert_eq!(
        fmt("let a = 1     // one\nlet b = 2/* two */\n"),
        "let a = 1 // one\nlet b = 2 /* two */\n"
    );
}

#[test]
fn crlf_becomes_lf() {
    assert_eq!(fmt("let a = 1\r\n// c\r\nlet b = 2\r\n"), "let a = 1\n// c\nlet b = 2\n");
}

#[test]
fn output_ends_with_one_newline() {
    assert_eq!(fmt("let a = 1"), "let a = 1\n");
    assert_eq!(fmt("let a = 1\n\n\n"), "let a = 1\n");
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n"), "");
}

#[test]
fn syntax_errors_are_refused() {
    let diagnostics = format("let a = \nlet b = 2\n").expect_err("a syntax error");
    assert!(diagnostics.iter().any(|d| d.is_error()));
    assert!(format("let s = \"unterminated\n").is_err());
}

#[test]
fn comments_in_the_interpolations_of_a_list_element_go_above_it_at_its_indentation() {
    assert_eq!(
        fmt("let k = [ // b\n\"${ // c\n app // d\n }:*\" // e\n , \"x\"]\n"),
        "let k = [ // b\n  // c\n  // d\n  \"${app}:*\", // e\n  \"x\",\n]\n"
    );
    // After code, the string continues the line under its comment.
    assert_eq!(fmt("let k = \"${ // c\n app}\"\n"), "let k = // c\n  \"${app}\"\n");
}
