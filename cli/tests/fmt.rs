//! `orchc fmt` end to end: rewriting in place, `--check`, standard input,
//! and files with syntax errors.

mod common;

use common::Project;

/// Surely not in canonical form: trailing spaces, crowded `=` and a run of
/// blank lines.
const UNFORMATTED: &str = "let   x=1   \n\n\n\nresource d: fs.dir {path=\"/a\"\nmode=0o755}\n";

/// The canonical form of `source`, as `orchc fmt -` prints it.
fn canonical(project: &Project, source: &str) -> String {
    let run = project.run_with_stdin(&["fmt", "-"], Some(source));
    run.expect_code(0);
    run.stdout.clone()
}

#[test]
fn stdin_is_formatted_to_stdout() {
    let project = Project::new();
    let formatted = canonical(&project, UNFORMATTED);
    assert_ne!(formatted, UNFORMATTED);
    assert!(formatted.starts_with("let x = 1\n"), "{formatted}");
    assert!(!formatted.lines().any(|line| line.ends_with(' ')), "{formatted}");
    // Formatting is idempotent.
    assert_eq!(canonical(&project, &formatted), formatted);
}

#[test]
fn files_are_rewritten_in_place_only_when_changed() {
    let project = Project::new();
    let formatted = canonical(&project, UNFORMATTED);
    project.write("a.orch", UNFORMATTED);
    project.write("sub/b.orch", UNFORMATTED);
    project.write("sub/clean.orch", &formatted);
    let clean_modified = std::fs::metadata(project.path().join("sub/clean.orch"))
        .and_then(|metadata| metadata.modified())
        .expect("modification time");

    let run = project.run(&["fmt"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
    assert_eq!(project.read("a.orch"), formatted);
    assert_eq!(project.read("sub/b.orch"), formatted);
    let clean_after = std::fs::metadata(project.path().join("sub/clean.orch"))
        .and_then(|metadata| metadata.modified())
        .expect("modification time");
    assert_eq!(clean_modified, clean_after, "an unchanged file is not written");
    // No temporary files are left behind.
    let mut names: Vec<String> = std::fs::read_dir(project.path().join("sub"))
        .expect("list the folder")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["b.orch", "clean.orch"]);
}

#[cfg(unix)]
#[test]
fn rewriting_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    let path = project.write("main.orch", UNFORMATTED);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
        .expect("set permissions");
    project.run(&["fmt", "main.orch"]).expect_code(0);
    let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_stays_a_link() {
    let project = Project::new();
    let target = project.write("real/main.orch", UNFORMATTED);
    let link = project.path().join("link.orch");
    std::os::unix::fs::symlink(&target, &link).expect("create a symbolic link");
    project.run(&["fmt", "link.orch"]).expect_code(0);
    assert!(std::fs::symlink_metadata(&link).expect("metadata").file_type().is_symlink());
    assert_ne!(project.read("real/main.orch"), UNFORMATTED, "the target is formatted");
}

#[test]
fn check_lists_files_that_would_change_and_writes_nothing() {
    let project = Project::new();
    let formatted = canonical(&project, UNFORMATTED);
    project.write("b.orch", UNFORMATTED);
    project.write("a.orch", &formatted);
    project.write("c/d.orch", UNFORMATTED);

    let run = project.run(&["fmt", "--check"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "b.orch\nc/d.orch\n");
    assert_eq!(project.read("b.orch"), UNFORMATTED);

    let run = project.run(&["fmt", "--check", "a.orch"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn check_on_stdin() {
    let project = Project::new();
    let formatted = canonical(&project, UNFORMATTED);
    let run = project.run_with_stdin(&["fmt", "--check", "-"], Some(UNFORMATTED));
    run.expect_code(1);
    assert_eq!(run.stdout, "<stdin>\n");
    let run = project.run_with_stdin(&["fmt", "--check", "-"], Some(&formatted));
    run.expect_code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn files_with_syntax_errors_are_reported_and_left_untouched() {
    let project = Project::new();
    let broken = "let  x = \"ü\" #\n";
    project.write("broken.orch", broken);
    project.write("fine.orch", UNFORMATTED);
    let run = project.run(&["fmt"]);
    run.expect_code(1);
    assert_eq!(project.read("broken.orch"), broken);
    assert_ne!(project.read("fine.orch"), UNFORMATTED, "the other files are still formatted");
    assert!(run.stderr.contains("error[E0010]: unexpected character `#`"), "{}", run.stderr);
    assert!(run.stderr.contains("broken.orch:1:14"), "{}", run.stderr);
    assert!(run.stderr.contains("1 file was not formatted"), "{}", run.stderr);

    let run = project.run_with_stdin(&["fmt", "-"], Some(broken));
    run.expect_code(1);
    assert_eq!(run.stdout, "", "no output for input that does not parse");
    assert!(run.stderr.contains("<stdin>:1:14"), "{}", run.stderr);
}

#[test]
fn stdin_cannot_be_mixed_with_paths() {
    let project = Project::new();
    project.write("a.orch", UNFORMATTED);
    let run = project.run_with_stdin(&["fmt", "-", "a.orch"], Some(UNFORMATTED));
    run.expect_code(1);
    assert!(run.stderr.contains("cannot be combined"), "{}", run.stderr);
    assert_eq!(project.read("a.orch"), UNFORMATTED);
}

#[test]
fn missing_path_fails() {
    let project = Project::new();
    let run = project.run(&["fmt", "nowhere"]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot read `nowhere`"), "{}", run.stderr);
}
