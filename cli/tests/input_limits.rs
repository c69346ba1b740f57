//! Hostile inputs to `orchc check`, through the binary: files that are no
//! regular files (a FIFO would block forever), files over the size limit,
//! thousands of diagnostics, megabyte lines; and the location headers of
//! reports whose labels lie before the primary place or in other files.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Project, Run};

/// Runs `orchc ARGS` in `project`, failing the test if it takes longer
/// than a minute (a hang) instead of waiting forever.
fn run_bounded(project: &Project, args: &[&str]) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_orchc"))
        .args(args)
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start orchc");
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => Run::from(output.expect("collect the output")),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("`orchc {}` did not finish within a minute", args.join(" "));
        }
    }
}

fn mkfifo(project: &Project, name: &str) {
    let path = project.path().join(name);
    let made = Command::new("mkfifo").arg(&path).status().expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn a_fifo_or_a_device_is_refused_not_waited_for() {
    let project = Project::new();
    mkfifo(&project, "x.orch");
    let run = run_bounded(&project, &["check", "x.orch"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("cannot read `x.orch`: it is a FIFO (named pipe), not a regular file"),
        "{}",
        run.stderr
    );

    let run = run_bounded(&project, &["check", "/dev/zero"]);
    run.expect_code(1);
    assert!(run.stderr.contains("it is a character device"), "{}", run.stderr);

    // A module whose file is a FIFO, and `fmt` and `plan` of one.
    mkfifo(&project, "pipe.orch");
    project.write("main.orch", "module m: \"./pipe.orch\" {}\n");
    let run = run_bounded(&project, &["check", "main.orch"]);
    run.expect_code(1);
    assert!(run.stdout.contains("FIFO (named pipe)"), "{}\n{}", run.stdout, run.stderr);
    let run = run_bounded(&project, &["fmt", "--check", "x.orch"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let project = Project::new();
    let path = project.write("big.orch", "");
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(orch_lang::MAX_SOURCE_BYTES + 1).unwrap();
    let run = run_bounded(&project, &["check", "big.orch"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("it has 16777217 bytes, more than the limit of 16777216 bytes"),
        "{}",
        run.stderr
    );
    // Issue 17's 50 MB file: refused from its size, before it is read.
    file.set_len(50_000_000).unwrap();
    let run = run_bounded(&project, &["check", "big.orch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("it has 50000000 bytes, more than the limit"), "{}", run.stderr);
    // A file of exactly the limit is read.
    file.set_len(orch_lang::MAX_SOURCE_BYTES).unwrap();
    let run = run_bounded(&project, &["check", "big.orch"]);
    assert!(!run.stderr.contains("more than the limit"), "{}", run.stderr);
}

#[test]
fn at_most_a_hundred_diagnostics_are_shown_per_file() {
    let project = Project::new();
    let text: String = (0..250).map(|i| format!("output o{i}: int = missing{i}\n")).collect();
    project.write("many.orch", text);
    project.write("few.orch", "output p: int = absent\n");
    let run = run_bounded(&project, &["check", "many.orch", "few.orch"]);
    run.expect_code(1);
    assert_eq!(run.stdout.matches("error[E0101]").count(), 101, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("note: 150 more diagnostics in many.orch not shown (at most 100 per file"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("absent"), "the other file's diagnostic is shown");
    assert!(run.stdout.contains("251 errors (checked 2 files)"), "{}", run.stdout);
    // Machine formats list every one.
    let run = run_bounded(&project, &["check", "--format", "json", "many.orch"]);
    assert_eq!(run.json()["diagnostics"].as_array().unwrap().len(), 250);
}

#[test]
fn a_diagnostic_on_a_megabyte_line_shows_a_window_of_it() {
    let project = Project::new();
    let filler = "é".repeat(500_000);
    project.write("cut.orch", format!("let a = 1\noutput x: string = \"{filler}\" + missing\n"));
    let run = run_bounded(&project, &["check", "cut.orch"]);
    run.expect_code(1);
    assert!(run.stdout.len() < 10_000, "{} bytes printed", run.stdout.len());
    // The header gives the file's line and column of `missing`.
    let column = "output x: string = \"".len() + 500_000 + "\" + ".len() + 1;
    assert!(run.stdout.contains(&format!("─[ cut.orch:2:{column} ]")), "{}", run.stdout);
    assert!(run.stdout.contains(" 2 │ …éééé"), "cut, keeping its number: {}", run.stdout);
    assert!(run.stdout.contains("éééé\" + missing\n"), "{}", run.stdout);

    // A run of 80,000 unexpected characters is one diagnostic.
    project.write("emoji.orch", format!("let x = {}\n", "😀".repeat(80_000)));
    let run = run_bounded(&project, &["check", "emoji.orch"]);
    let start: String = run.stdout.chars().take(500).collect();
    assert_eq!(run.stdout.matches("error[E0010]").count(), 1, "{start}");
    assert!(run.stdout.len() < 10_000, "{} bytes printed", run.stdout.len());
}

#[test]
fn a_label_before_the_primary_place_gets_no_second_header() {
    let project = Project::new();
    project.write(
        "pol.orch",
        "resource f: fs.file {\n  path = \"/tmp/x\"\n  content = \"x\"\n  mode = 0o666\n}\n\
         policy private_files {\n  for f in resources(fs.file) {\n    \
         assert f.mode <= 0o640, \"${f.path} is readable by others\"\n  }\n}\n",
    );
    let run = run_bounded(&project, &["check", "pol.orch"]);
    run.expect_code(1);
    assert_eq!(run.stdout.matches("─[ ").count(), 1, "{}", run.stdout);
    assert!(run.stdout.contains("╭─[ pol.orch:8:12 ]"), "{}", run.stdout);
    let first = run.stdout.find(" 1 │ resource f").expect("the label's line");
    let eighth = run.stdout.find(" 8 │     assert").expect("the primary line");
    assert!(first < eighth, "{}", run.stdout);
}

#[test]
fn the_header_of_a_second_file_names_its_own_line_after_non_ascii_text() {
    let project = Project::new();
    project.write("m/a.orch", "// éééééééééé\n// ééééééééééééééééééé\n\n\nlet a = 1\n");
    project.write("m/b.orch", "let a = 2\noutput o: int = a\n");
    let run = run_bounded(&project, &["check", "m"]);
    run.expect_code(1);
    assert!(run.stdout.contains("╭─[ m/b.orch:1:5 ]"), "{}", run.stdout);
    assert!(run.stdout.contains("├─[ m/a.orch:5:5 ]"), "{}", run.stdout);
    assert!(run.stdout.contains(" 5 │ let a = 1"), "{}", run.stdout);
}
