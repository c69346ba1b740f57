//! The `exec` provider running real commands: where they run, what they
//! are given, failures, redaction of `env`, plans and cancellation.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use orch_runtime::provider::{Change, OpContext, Provider, ProviderError, field};
use orch_runtime::providers::builtin;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;

/// A configuration of `exec.run`: the schema's defaults, then `fields`.
fn config(fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind("exec.run").expect("a known kind");
    let mut entries = BTreeMap::new();
    for input in schema.inputs() {
        if let Some(default) = &input.default {
            entries.insert(input.name.into(), default.clone());
        }
    }
    for (name, value) in fields {
        entries.insert((*name).into(), value.clone());
    }
    Value::map(entries)
}

fn strings(entries: &[(&str, Value)]) -> Value {
    Value::map(entries.iter().map(|(name, value)| ((*name).into(), value.clone())).collect())
}

fn exec() -> Box<dyn Provider> {
    builtin("exec").expect("the exec provider")
}

fn text<'v>(object: &'v Value, name: &str) -> &'v str {
    field(object, name).as_str().unwrap_or_else(|| panic!("{name} is text in {object}"))
}

#[tokio::test]
async fn create_runs_in_the_base_dir_with_env_and_masks_secret_env_values() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.hello");
    let config = config(&[
        ("create", Value::string("pwd; printf 'token=%s\\n' \"$TOKEN\"; echo note >&2")),
        ("env", strings(&[("TOKEN", Value::secret(Value::string("s3cr3t-value")))])),
    ]);
    let created = provider
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object");
    let stdout = text(&created, "stdout");
    let base_dir = base.path().canonicalize().expect("canonical");
    assert!(stdout.starts_with(&format!("{}\n", base_dir.display())), "{stdout}");
    assert!(stdout.contains("token=(secret)\n"), "{stdout}");
    assert!(!stdout.contains("s3cr3t-value"));
    assert_eq!(text(&created, "stderr"), "note\n");
    assert_eq!(field(&created, "exit_code"), &Value::Int(0));
    assert_eq!(field(&created, "env"), field(&config, "env"), "inputs are kept as given");

    let read = provider.read(&ctx, "exec.run", &created).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created), "nothing is read back");
}

/// Runs `create` with `env` and returns the object.
async fn created_with_env(create: &str, env: &[(&str, Value)]) -> Value {
    let base = tempfile::tempdir().expect("a temporary folder");
    let ctx = OpContext::new(base.path(), "exec.run.env");
    let config = config(&[("create", Value::string(create)), ("env", strings(env))]);
    exec()
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object")
}

#[tokio::test]
async fn plain_env_values_are_not_masked() {
    let created = created_with_env(
        "echo \"port 8080 has $N listener on host $HOST\"; echo \"$N$N$N\" >&2",
        &[("N", Value::string("1")), ("HOST", Value::string("10.0.0.1"))],
    )
    .await;
    assert_eq!(
        field(&created, "stdout"),
        &Value::string("port 8080 has 1 listener on host 10.0.0.1\n")
    );
    assert_eq!(field(&created, "stderr"), &Value::string("111\n"));
    assert_eq!(
        field(&created, "env"),
        &strings(&[("HOST", Value::string("10.0.0.1")), ("N", Value::string("1"))])
    );
}

#[tokio::test]
async fn only_the_secret_values_of_env_are_masked_longest_first() {
    let created = created_with_env(
        "echo \"$USER_NAME:$PASSWORD:$PASSWORD_LONG:$SHORT_PLAIN\"",
        &[
            ("USER_NAME", Value::string("admin")),
            ("PASSWORD", Value::secret(Value::string("hunter2"))),
            // Holds the other secret: masked whole, not in two pieces.
            ("PASSWORD_LONG", Value::secret(Value::string("hunter2-and-more"))),
            ("SHORT_PLAIN", Value::string("x")),
        ],
    )
    .await;
    let stdout = field(&created, "stdout");
    assert!(!stdout.is_secret(), "masked outputs are shown");
    assert_eq!(stdout, &Value::string("admin:(secret):(secret):x\n"));
}

#[tokio::test]
async fn a_secret_too_short_to_mask_makes_the_outputs_secret_whole() {
    let created = created_with_env(
        "echo \"one $PIN in 10.1.1.1\"; echo \"pin $PIN\" >&2",
        &[("PIN", Value::secret(Value::string("1")))],
    )
    .await;
    // Masking every `1` would garble the output; it is sealed whole
    // instead, and kept as written.
    for (name, text) in [("stdout", "one 1 in 10.1.1.1\n"), ("stderr", "pin 1\n")] {
        let value = field(&created, name);
        assert!(value.is_secret(), "{name} is secret");
        assert_eq!(value.reveal_all(), Value::string(text));
    }
    // An empty secret reveals nothing: nothing is masked or sealed.
    let created =
        created_with_env("echo \"[$EMPTY] 1\"", &[("EMPTY", Value::secret(Value::string("")))])
            .await;
    assert_eq!(field(&created, "stdout"), &Value::string("[] 1\n"));
}

#[tokio::test]
async fn a_failure_with_a_short_secret_does_not_quote_the_output() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let ctx = OpContext::new(base.path(), "exec.run.short");
    let config = config(&[
        ("create", Value::string("echo \"bad pin $PIN\" >&2; exit 2")),
        ("env", strings(&[("PIN", Value::secret(Value::string("42")))])),
    ]);
    let error = exec()
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect_err("exit status 2");
    assert!(error.message.contains("its standard error is secret"), "{}", error.message);
    assert!(!error.message.contains("42"), "{}", error.message);
}

/// Runs `create` as the command of a new object in `ctx`.
async fn create_in(ctx: &OpContext, create: &str) -> Result<Option<Value>, ProviderError> {
    let config = config(&[("create", Value::string(create))]);
    exec().apply(ctx, "exec.run", Change::Create { config: &config }).await
}

#[tokio::test]
async fn the_gate_is_invisible_a_killed_command_is_reported_by_its_signal() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let ctx = OpContext::new(base.path(), "exec.run.gated");
    let error = create_in(&ctx, "echo before; kill -9 $$").await.expect_err("killed");
    assert!(
        error.message.starts_with("the `create` command was killed by signal 9"),
        "{}",
        error.message
    );
    let partial = error.partial.expect("what it wrote");
    assert_eq!(text(&partial, "stdout"), "before\n");
    assert_eq!(text(&partial, "stderr"), "", "no report of another shell");
    assert_eq!(field(&partial, "exit_code"), &Value::Int(137));

    // Standard input is closed (the gate's pipe is not the command's), and
    // no other descriptor leaks into the command.
    let created = create_in(
        &ctx,
        "cat; readlink /proc/$$/fd/0; for fd in 3 4; do [ -e /proc/$$/fd/$fd ] && echo \"open $fd\"; done; true",
    )
    .await
    .expect("create")
    .expect("an object");
    assert_eq!(text(&created, "stdout"), "/dev/null\n");

    // The command is its shell's first line, as with `sh -c COMMAND`:
    // `$0` is the shell, there are no arguments, and a syntax error on the
    // first line runs nothing and is reported at line 1.
    let created =
        create_in(&ctx, "echo \"$0 $#\"\necho two").await.expect("create").expect("an object");
    assert_eq!(text(&created, "stdout"), "/bin/sh 0\ntwo\n");
    let error = create_in(&ctx, "touch ran; echo (").await.expect_err("a syntax error");
    let partial = error.partial.expect("what it wrote");
    assert!(text(&partial, "stderr").starts_with("/bin/sh: 1: Syntax error"), "{}", error.message);
    assert_eq!(field(&partial, "exit_code"), &Value::Int(2));
    assert!(!base.path().join("ran").exists(), "nothing of the line ran");
}

#[tokio::test]
async fn relative_dir_is_resolved_against_the_base_dir() {
    let base = tempfile::tempdir().expect("a temporary folder");
    fs::create_dir(base.path().join("work")).expect("a folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.where");
    let config = config(&[("create", Value::string("pwd")), ("dir", Value::string("work"))]);
    let created = provider
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object");
    let expected = base.path().join("work").canonicalize().expect("canonical");
    assert_eq!(text(&created, "stdout"), format!("{}\n", expected.display()));

    let missing = self::config(&[("create", Value::string("pwd")), ("dir", Value::string("gone"))]);
    let error = provider
        .apply(&ctx, "exec.run", Change::Create { config: &missing })
        .await
        .expect_err("no such folder");
    let gone = base.path().join("gone");
    assert!(error.message.contains(&gone.display().to_string()), "{}", error.message);
    assert_eq!(error.partial, None);
}

#[tokio::test]
async fn failure_names_the_status_and_the_last_stderr_lines_without_secrets() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.fails");
    let config = config(&[
        (
            "create",
            Value::string(
                "echo starting; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \"line $i\" >&2; done; \
                 echo \"cannot log in with $PASSWORD\" >&2; exit 3",
            ),
        ),
        ("env", strings(&[("PASSWORD", Value::secret(Value::string("hunter2")))])),
    ]);
    let error = provider
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect_err("exit status 3");
    assert!(error.message.starts_with("the `create` command exited with status 3:"));
    assert!(error.message.contains("cannot log in with (secret)"), "{}", error.message);
    assert!(!error.message.contains("hunter2"));
    assert!(error.message.contains("line 12"));
    assert!(!error.message.contains("line 2\n"), "only the last lines: {}", error.message);
    assert!(!error.transient);
    // What the command did before failing may be there: the object is
    // returned to be recorded tainted.
    let partial = error.partial.expect("a partial object");
    assert_eq!(field(&partial, "exit_code"), &Value::Int(3));
    assert_eq!(text(&partial, "stdout"), "starting\n");
    assert!(!text(&partial, "stderr").contains("hunter2"));
}

#[tokio::test]
async fn secret_command_text_makes_its_outputs_secret() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.spliced");
    let config = config(&[("create", Value::secret(Value::string("echo spliced-secret")))]);
    let created = provider
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object");
    assert!(field(&created, "stdout").is_secret());
    assert_eq!(field(&created, "stdout").reveal_all(), Value::string("spliced-secret\n"));

    let failing =
        self::config(&[("create", Value::secret(Value::string("echo hunter2 >&2; exit 1")))]);
    let error = provider
        .apply(&ctx, "exec.run", Change::Create { config: &failing })
        .await
        .expect_err("exit status 1");
    assert!(!error.message.contains("hunter2"), "{}", error.message);
}

#[test]
fn plan_replaces_or_updates_as_the_schema_says() {
    let provider = exec();
    let prior = {
        let Value::Map(entries) = config(&[
            ("create", Value::string("make it")),
            ("destroy", Value::string("unmake it")),
            ("env", strings(&[("KEY", Value::secret(Value::string("one")))])),
        ]) else {
            unreachable!("a configuration is a map")
        };
        let mut entries = entries.to_map();
        entries.insert("stdout".into(), Value::string("made"));
        entries.insert("stderr".into(), Value::string(""));
        entries.insert("exit_code".into(), Value::Int(0));
        Value::map(entries)
    };
    let base = [
        ("create", Value::string("make it")),
        ("destroy", Value::string("unmake it")),
        ("env", strings(&[("KEY", Value::secret(Value::string("one")))])),
    ];
    let planned = |fields: &[(&str, Value)]| {
        let mut all: Vec<(&str, Value)> = base.to_vec();
        all.extend(fields.iter().cloned());
        provider.plan("exec.run", Some(&prior), &config(&all))
    };

    let unchanged = planned(&[]);
    assert!(unchanged.requires_replace.is_empty());
    assert_eq!(field(&unchanged.value, "stdout"), &Value::string("made"));

    let new_create = planned(&[("create", Value::string("make it again"))]);
    assert_eq!(new_create.requires_replace, vec!["create".to_string()]);

    let new_env = planned(&[("env", strings(&[("KEY", Value::secret(Value::string("two")))]))]);
    assert_eq!(new_env.requires_replace, vec!["env".to_string()]);

    let with_update = planned(&[
        ("create", Value::string("make it again")),
        ("update", Value::string("remake it")),
    ]);
    assert!(with_update.requires_replace.is_empty(), "`update` runs instead");
    assert_eq!(field(&with_update.value, "stdout"), &Value::Unknown);

    let triggers = planned(&[
        ("update", Value::string("remake it")),
        ("triggers", strings(&[("version", Value::string("2"))])),
    ]);
    assert_eq!(triggers.requires_replace, vec!["triggers".to_string()]);

    let destroy_only = planned(&[("destroy", Value::string("unmake it differently"))]);
    assert!(destroy_only.requires_replace.is_empty());
    assert_eq!(
        field(&destroy_only.value, "stdout"),
        &Value::string("made"),
        "a change to `destroy` alone runs nothing and keeps the outputs"
    );
    assert_eq!(field(&destroy_only.value, "exit_code"), &Value::Int(0));
}

#[tokio::test]
async fn update_runs_only_when_a_command_input_changed_and_delete_runs_destroy() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.lifecycle");
    let log = base.path().join("log");
    let first = config(&[
        ("create", Value::string("echo \"create $V\" >> log; echo created")),
        ("update", Value::string("echo \"update $V\" >> log; echo updated")),
        ("destroy", Value::string("echo \"destroy $V\" >> log")),
        ("env", strings(&[("V", Value::string("v1"))])),
    ]);
    let created = provider
        .apply(&ctx, "exec.run", Change::Create { config: &first })
        .await
        .expect("create")
        .expect("an object");

    // `destroy` alone changed: nothing runs, the outputs stay.
    let second = with(&first, "destroy", Value::string("echo \"destroy2 $V\" >> log"));
    let same = provider
        .apply(&ctx, "exec.run", Change::Update { prior: &created, config: &second })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(text(&same, "stdout"), "created\n");
    assert_eq!(field(&same, "destroy"), field(&second, "destroy"));

    let third = with(&second, "env", strings(&[("V", Value::string("v2"))]));
    let updated = provider
        .apply(&ctx, "exec.run", Change::Update { prior: &same, config: &third })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(text(&updated, "stdout"), "updated\n");

    let deleted = provider.apply(&ctx, "exec.run", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
    assert_eq!(
        fs::read_to_string(&log).expect("the log"),
        "create v1\nupdate v2\ndestroy2 v2\n",
        "each command ran once, with the object's own env"
    );

    let forget = config(&[("create", Value::string("true"))]);
    let deleted = provider.apply(&ctx, "exec.run", Change::Delete { prior: &forget }).await;
    assert_eq!(deleted, Ok(None), "without `destroy`, deleting only forgets");
}

#[tokio::test]
async fn failed_destroy_keeps_the_object() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.stuck");
    let prior = config(&[("create", Value::string("true")), ("destroy", Value::string("exit 7"))]);
    let error = provider
        .apply(&ctx, "exec.run", Change::Delete { prior: &prior })
        .await
        .expect_err("exit status 7");
    assert!(
        error.message.starts_with("the `destroy` command exited with status 7"),
        "{}",
        error.message
    );
}

/// `object` with `name` set to `value`.
fn with(object: &Value, name: &str, value: Value) -> Value {
    let Value::Map(entries) = object else { unreachable!("an object is a map") };
    let mut entries = entries.to_map();
    entries.insert(name.into(), value);
    Value::map(entries)
}

/// Whether a process is running (not gone, not a zombie waiting for its
/// parent).
fn running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => {
            stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }
        Err(_) => false,
    }
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cancellation_kills_the_command_and_everything_it_started() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.slow");
    // The inner shell writes the pid of its `sleep` (`exec` keeps the pid).
    let config = config(&[(
        "create",
        Value::string("sh -c 'echo $$ > sleep.pid; exec sleep 100'; echo never"),
    )]);
    let cancel = ctx.cancel.clone();
    let pid_file = base.path().join("sleep.pid");
    let started = Instant::now();
    let (result, pid) =
        tokio::join!(provider.apply(&ctx, "exec.run", Change::Create { config: &config }), async {
            let pid = wait_for_file(&pid_file).await;
            cancel.cancel();
            pid
        });
    let error = result.expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(error.message.contains("cancelled"), "{}", error.message);
    let pid: u32 = pid.trim().parse().expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while running(pid) {
        assert!(Instant::now() < deadline, "sleep ({pid}) is still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let partial = error.partial.expect("a cancelled create may have done something");
    assert!(!text(&partial, "stdout").contains("never"));
}

#[tokio::test]
async fn a_background_process_holding_the_output_does_not_block() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = exec();
    let ctx = OpContext::new(base.path(), "exec.run.daemon");
    let config = config(&[("create", Value::string("sleep 30 & echo $!"))]);
    let started = Instant::now();
    let created = provider
        .apply(&ctx, "exec.run", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    let pid: u32 = text(&created, "stdout").trim().parse().expect("a pid");
    // A process the command left running is its own business; end it here.
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[test]
fn validation_rejects_an_empty_command() {
    let provider = exec();
    let problems = provider.validate("exec.run", &config(&[("create", Value::string("  "))]));
    assert_eq!(problems, vec!["`create` must be a command, not empty".to_string()]);
    let bad_env = config(&[
        ("create", Value::string("true")),
        ("env", strings(&[("A=B", Value::string("x"))])),
    ]);
    assert_eq!(provider.validate("exec.run", &bad_env).len(), 1);
}
