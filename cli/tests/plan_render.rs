//! The human plan as a reviewer reads it, in snapshots (`insta`): a
//! multi-line file content changes as a unified diff with context, modes
//! are octal, and the outputs' changes are listed.

mod common;

use common::orch::Orch;

/// A configuration file of twelve lines; `workers` is on line 4, so a
/// change of it shows three lines of context on each side and leaves the
/// rest out.
const SERVER: &str = r#"param workers: int = 4
param log: string = "info"

resource srv: fs.dir {
  path = "srv"
  mode = 0o750
}

resource conf: fs.file {
  path    = "${srv.path}/server.toml"
  content = """
[server]
host = "0.0.0.0"
port = 8080
workers = ${workers}
timeout = "30s"

[log]
level = "${log}"
format = "json"

[limits]
body = "1MiB"
"""
  mode    = 0o640
}

output worker_count = workers
output summary = "${workers} workers, log ${log}"
"#;

fn applied() -> Orch {
    let orch = Orch::new(SERVER);
    orch.apply(&[]);
    orch
}

#[test]
fn a_multi_line_content_change_is_a_unified_diff() {
    let orch = applied();
    let run = orch.run(&["plan", "-v", "main.orch", "--var", "workers=8"]);
    run.expect_code(0);
    insta::assert_snapshot!("multi_line_diff", run.stdout);
    // Not verbose: one line per change, no field.
    let short = orch.run(&["plan", "main.orch", "--var", "workers=8"]);
    short.expect_code(0);
    assert!(!short.stdout.contains("@@"), "{}", short.stdout);
}

#[test]
fn two_distant_changes_give_two_hunks() {
    let orch = applied();
    let run = orch.run(&["plan", "-v", "main.orch", "--var", "workers=8", "--var", "log=debug"]);
    run.expect_code(0);
    let hunks = run.stdout.lines().filter(|line| line.trim_start().starts_with("@@")).count();
    assert_eq!(hunks, 1, "lines 4 and 8 are within 2×3 lines of context: {}", run.stdout);
    assert!(run.stdout.contains("-level = \"info\"") && run.stdout.contains("+level = \"debug\""));
}

#[test]
fn a_new_multi_line_file_is_shown_as_a_block() {
    let orch = Orch::new(SERVER);
    let run = orch.run(&["plan", "-v", "main.orch"]);
    run.expect_code(0);
    insta::assert_snapshot!("multi_line_create", run.stdout);
}

#[test]
fn modes_are_octal_in_plans_and_state() {
    let orch = applied();
    let changed = SERVER.replace("mode = 0o750", "mode = 0o755");
    orch.write("main.orch", &changed);
    let run = orch.run(&["plan", "-v", "main.orch"]);
    run.expect_code(0);
    insta::assert_snapshot!("mode_change", run.stdout);
    let show = orch.run(&["state", "show", "srv"]);
    show.expect_code(0);
    assert!(show.stdout.contains("mode = 0o750"), "{}", show.stdout);
    assert!(!show.stdout.contains("488"), "{}", show.stdout);
}

#[test]
fn output_changes_are_listed() {
    let orch = applied();
    let changed = SERVER
        .replace("output worker_count = workers\n", "output port = 8080\n")
        .replace("param workers: int = 4", "param workers: int = 6");
    orch.write("main.orch", &changed);
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(0);
    insta::assert_snapshot!("output_changes", run.stdout);
}

#[test]
fn outputs_print_in_full() {
    let long = "x".repeat(200);
    let orch = Orch::new(&format!("output long = \"{long}\"\noutput list = [\"{long}\"]\n"));
    orch.apply(&[]);
    let run = orch.run(&["output", "main.orch"]);
    run.expect_code(0);
    assert!(run.stdout.contains(&format!("long = \"{long}\"")), "{}", run.stdout);
    assert!(!run.stdout.contains('…'), "{}", run.stdout);
}
