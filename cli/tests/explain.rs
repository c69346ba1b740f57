//! `orchc explain` end to end.

mod common;

use common::Project;

#[test]
fn explains_by_code_lowercase_code_or_name() {
    let project = Project::new();
    for query in ["E0011", "e0011", "unterminated-string", "UNTERMINATED-STRING"] {
        let run = project.run(&["explain", query]);
        run.expect_code(0);
        assert!(
            run.stdout.starts_with("# E0011: unterminated-string\n"),
            "{query}: {}",
            run.stdout
        );
        assert!(run.stdout.contains("```orch"), "{}", run.stdout);
    }
}

#[test]
fn lists_every_code() {
    let run = Project::new().run(&["explain", "--list"]);
    run.expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), orch_lang_code_count());
    assert_eq!(lines[0], "E0001  unexpected-token");
    assert!(lines.contains(&"E0012  invalid-escape"));
}

/// The number of `# Exxxx:` pages, which is the number of codes.
fn orch_lang_code_count() -> usize {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics");
    std::fs::read_dir(folder)
        .expect("docs/diagnostics")
        .filter(|entry| {
            let name = entry.as_ref().expect("an entry").file_name();
            let name = name.to_string_lossy();
            name.ends_with(".md") && name != "README.md"
        })
        .count()
}

#[test]
fn unknown_code_fails_with_help() {
    let project = Project::new();
    let run = project.run(&["explain", "E9999"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("unknown diagnostic code `E9999`"), "{}", run.stderr);
    assert!(run.stderr.contains("orchc explain --list"), "{}", run.stderr);

    let run = project.run(&["explain", "unterminated-strng"]);
    run.expect_code(1);
    assert!(run.stderr.contains("did you mean `E0011`"), "{}", run.stderr);
}

#[test]
fn code_or_list_is_required() {
    let project = Project::new();
    project.run(&["explain"]).expect_code(1);
    project.run(&["explain", "E0001", "--list"]).expect_code(1);
}
