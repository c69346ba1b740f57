//! Messages that once did not help, each run as a user meets it: it says
//! what happened, where, and what to do next. Also the ecosystem habits:
//! completion scripts, examples in `--help`, and the debug log.

mod common;

use common::orch::{Orch, flat};
use common::{CLEAN, Project};

#[test]
fn a_terraform_style_var_file_is_recognised() {
    let project = Project::new();
    project.write("main.orch", "param env: string\noutput e = env\n");
    project.write("dev.tfvars", "env = \"prod\"\n");
    let run = project.run(&["check", "main.orch", "--var-file", "dev.tfvars"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("dev.tfvars is a Terraform var file"), "{stderr}");
    assert!(stderr.contains("`.orchvars`"), "{stderr}");
    // The same lines in a file of another name: not JSON, and what to do.
    project.write("dev.vars", "env = \"prod\"\n");
    let run = project.run(&["check", "main.orch", "--var-file", "dev.vars"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(
        stderr.contains("the var file `dev.vars` is not valid JSON at line 1, column 1"),
        "{stderr}"
    );
    assert!(stderr.contains("name the file `*.orchvars`"), "{stderr}");
}

#[test]
fn a_broken_json_var_file_says_where() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    project.write("vars.json", "{\n  \"env\": \"prod\",\n}\n");
    let run = project.run(&["check", "main.orch", "--var-file", "vars.json"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("not valid JSON at line 3, column 1"), "{stderr}");
    assert!(!stderr.contains("Terraform"), "{stderr}");
}

#[test]
fn a_missing_var_file_is_about_the_flag() {
    let project = Project::new();
    project.write("main.orch", CLEAN);
    let run = project.run(&["check", "main.orch", "--var-file", "nope.json"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("cannot read the var file `nope.json`"), "{stderr}");
    assert!(stderr.contains("check the path given to --var-file"), "{stderr}");
    assert!(!stderr.contains(".orch` file"), "{stderr}");
}

#[test]
fn an_unreadable_state_says_so_once_and_what_to_do() {
    let orch = Orch::new("resource v: core.value { input = 1 }\n");
    orch.write(".orch/state.json", "{ not json");
    let run = orch.run(&["state", "list"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("cannot read the state"), "{stderr}");
    assert!(!stderr.contains("the state cannot be read"), "{stderr}");
    assert!(stderr.contains("state.json"), "where: {stderr}");
    assert!(stderr.contains("restore it from a backup"), "what to do: {stderr}");
}

#[test]
fn a_file_under_a_virtual_folder_is_not_called_missing() {
    let orch = Orch::new(
        "resource f: fs.file {\n  path = \"/proc/orch-message-test\"\n  content = \"x\"\n}\n",
    );
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    let all = flat(&format!("{}{}", run.stdout, run.stderr));
    assert!(all.contains("the folder /proc does not take new files"), "{all}");
    assert!(!all.contains("does not exist"), "{all}");
}

#[test]
fn the_audit_log_names_the_os_user_without_user_variables() {
    let expected = std::process::Command::new("id").arg("-un").output().expect("run id -un");
    let expected = String::from_utf8(expected.stdout).expect("UTF-8").trim().to_string();
    let orch = Orch::new("resource v: core.value { input = 1 }\n");
    let mut command =
        orch.command(&["apply", "main.orch", "--auto-approve", "--events", "audit.jsonl"]);
    command.env_remove("USER").env_remove("LOGNAME");
    let run = common::Run::from(command.output().expect("run orchc"));
    run.expect_code(0);
    let started = orch
        .log("audit.jsonl")
        .into_iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(&line).expect("a JSON event"))
        .find(|event| event["type"] == "run_started")
        .expect("a run_started event");
    assert_eq!(started["user"], expected.as_str(), "{started}");
}

#[test]
fn completion_scripts_for_every_shell() {
    let project = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = project.run(&["completions", shell]);
        run.expect_code(0);
        assert!(run.stdout.contains("orchc"), "{shell}: {}", run.stdout);
        for command in ["check", "plan", "apply", "completions"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    let run = project.run(&["completions", "tcsh"]);
    run.expect_code(1);
    assert!(run.stderr.contains("bash"), "{}", run.stderr);
}

#[test]
fn every_command_help_ends_with_examples() {
    let project = Project::new();
    for command in [
        "check",
        "fmt",
        "graph",
        "plan",
        "apply",
        "destroy",
        "state",
        "output",
        "explain",
        "lsp",
        "completions",
    ] {
        let run = project.run(&[command, "--help"]);
        run.expect_code(0);
        let examples = run.stdout.rsplit("Examples:\n").next().expect("a last part");
        assert!(run.stdout.contains("Examples:\n"), "{command}: {}", run.stdout);
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!((1..=3).contains(&lines.len()), "{command}: {examples}");
        for line in lines {
            assert!(line.trim_start().starts_with("orchc "), "{command}: {line}");
        }
    }
}

const SECRET_CONFIG: &str = r#"param token: secret<string>
resource conf: fs.file {
  path    = "token.txt"
  content = token
  mode    = 0o600
}
"#;

#[test]
fn the_debug_log_has_provider_calls_and_no_secret() {
    let orch = Orch::new(SECRET_CONFIG);
    let secret = "hunter2-very-secret";
    let args = ["apply", "main.orch", "--auto-approve", "--var", &format!("token={secret}")];
    let run = orch.run_env(&args, &[("ORCH_LOG", "debug")]);
    run.expect_code(0);
    assert!(run.stderr.contains("provider call finished"), "{}", run.stderr);
    assert!(run.stderr.contains("address=conf"), "{}", run.stderr);
    assert!(run.stderr.contains("state lock"), "{}", run.stderr);
    assert!(!run.stderr.contains(secret), "{}", run.stderr);
    assert!(!run.stdout.contains("provider call"), "the log stays off stdout");

    // --log-file: the same log in a file, and nothing on standard error.
    let args = ["plan", "main.orch", "--log-file", "orch.log", "--var", &format!("token={secret}")];
    let run = orch.run(&args);
    run.expect_code(0);
    assert!(!run.stderr.contains("refresh read"), "{}", run.stderr);
    let log = orch.read("orch.log");
    assert!(log.contains("refresh read") && log.contains("address=conf"), "{log}");
    assert!(!log.contains(secret), "{log}");
    assert!(!log.contains('\u{1b}'), "no colour in a file: {log}");
}

#[test]
fn a_bad_log_filter_is_reported() {
    let orch = Orch::new(CLEAN);
    let run = orch.run_env(&["check", "main.orch"], &[("ORCH_LOG", "debug=[")]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("ORCH_LOG=`debug=[` is not a log filter"), "{stderr}");
    assert!(stderr.contains("write a level"), "{stderr}");
}

#[test]
fn an_empty_destroy_says_there_is_nothing_to_destroy() {
    let orch = Orch::new("resource v: core.value { input = 1 }\n");
    let run = orch.run(&["destroy", "main.orch", "--auto-approve"]);
    run.expect_code(0);
    assert!(run.stdout.starts_with("Nothing to destroy"), "{}", run.stdout);
    assert!(!run.stdout.contains("No changes"), "{}", run.stdout);
}

#[test]
fn a_failed_data_read_is_not_no_changes() {
    let orch = Orch::new("data r: fs.read { path = \"missing.txt\" }\noutput text = r.content\n");
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(1);
    assert!(!run.stdout.contains("No changes"), "{}", run.stdout);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("missing.txt"), "{stderr}");
}

#[test]
fn progress_counts_operations_and_the_summary_splits_actions() {
    let orch = Orch::new(
        "resource a: core.value { input = 1 }\nresource b: core.value { input = 2 }\nresource c: fs.dir { path = \"c\" }\n",
    );
    let run = orch.apply(&[]);
    let finished: Vec<&str> = run.stdout.lines().filter(|l| l.contains(": created (")).collect();
    assert_eq!(finished.len(), 3, "{}", run.stdout);
    for (index, line) in finished.iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/3 ", index + 1)), "{line}");
    }
    assert!(run.stdout.contains("Apply complete: 3 created in "), "{}", run.stdout);

    orch.write(
        "main.orch",
        "resource a: core.value { input = 5 }\nresource c: fs.dir { path = \"d\" }\n",
    );
    let run = orch.apply(&[]);
    assert!(
        run.stdout.contains("Apply complete: 1 updated, 1 replaced, 1 deleted in "),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wrong_provider_url_is_reported_by_plan() {
    // Nothing listens on port 1 of the loopback address.
    let orch = Orch::new(
        "provider pg {\n  url = \"postgres://orch@127.0.0.1:1/postgres\"\n}\n\nresource r: pg.role { name = \"orch_probe_test\" }\n",
    );
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(1);
    let stderr = flat(&run.stderr);
    assert!(stderr.contains("E0904"), "{stderr}");
    assert!(
        stderr.contains("the provider `pg` cannot reach what it is configured for"),
        "{stderr}"
    );
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(stderr.contains("main.orch:1:1"), "at the block: {stderr}");
    assert!(!run.stdout.contains("No changes"), "{}", run.stdout);
    // Without pg resources, no server is needed.
    orch.write("main.orch", "provider pg {\n  url = \"postgres://orch@127.0.0.1:1/postgres\"\n}\n");
    orch.run(&["plan", "main.orch"]).expect_code(0);
}
