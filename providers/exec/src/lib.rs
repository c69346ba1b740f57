//! The `exec` provider: `exec.run`, shell commands run as a resource.
//!
//! `create` runs when the object is created, `update` when `create`, `dir`
//! or `env` change (without `update`, such a change replaces the object),
//! `destroy` when it is deleted. Each command runs as `/bin/sh -c COMMAND`
//! with stdin closed, in its own process group so that cancelling kills
//! everything it started, in `dir` (resolved against the root module's
//! folder) and with `env` added to the environment of `orchc`.
//!
//! The group is led by the command's shell. This process's watcher
//! ([`orch_provider::children`]) kills the group if this process dies
//! while the command runs, however it died (even by `kill -9`); the shell
//! runs nothing before the group is known to the watcher ([`GATE`]). So no
//! command outlives the process that started it, whatever the way it
//! ended; the same registry covers the ways it ends on purpose.
//!
//! `env` is not sensitive: its plain values are shown and stored as they
//! are. It keeps secrets, though: each secret value in it is replaced by
//! `(secret)` wherever it appears in the outputs and messages of the
//! commands. A secret too short to be masked
//! ([`MIN_MASKED_SECRET`] characters) would turn every occurrence of its
//! characters into `(secret)`, so it makes the outputs secret as a whole
//! instead, as a command whose text is itself secret does.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use aho_corasick::{AhoCorasick, MatchKind};
use async_trait::async_trait;
use orch_stdlib::Value;
use rustix::process::Signal;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;

use orch_provider::REDACTED;
use orch_provider::children::ProcessGroup;
use orch_provider::{
    Change, OpContext, Planned, Provider, ProviderError, default_plan, field, inputs_of,
};

mod kinds;

use orch_provider::{Builtin, KindTable};
use orch_stdlib::kinds::KindSchema;

/// The `exec` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin =
    Builtin { name: "exec", kinds: &KINDS, new: || Box::new(ExecProvider) };

/// The kinds of the `exec` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// The most of each output stream kept: the first MiB of stdout (where
/// results usually are) and the last MiB of stderr (where errors usually
/// are).
const OUTPUT_LIMIT: usize = 1 << 20;
/// How many lines of stderr a failure message quotes.
const MESSAGE_LINES: usize = 10;
/// How long the output of an exited command is still read: a process it
/// left running in the background may hold its pipes open for ever.
const DRAIN_GRACE: Duration = Duration::from_millis(500);
/// How long a cancelled command has between `SIGTERM` and `SIGKILL`.
const TERM_GRACE: Duration = Duration::from_secs(1);
/// How long a killed command may take to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// The fewest characters a secret value of `env` has for its occurrences
/// in the output to be masked; a shorter one (`"1"`, `"ab"`) makes the
/// outputs secret as a whole. An empty one reveals nothing and is ignored.
pub const MIN_MASKED_SECRET: usize = 4;
/// What the command's shell runs before the command, on the same line (so
/// that line numbers in its messages are the command's own, and a syntax
/// error anywhere on the first line runs nothing at all): it waits for a
/// line on its standard input, a pipe from this process, which this
/// process writes once the command's group is known to the watcher. At
/// the pipe's end of file without that line (this process is gone), it
/// exits. Then standard input is closed (`/dev/null`) for the command.
pub const GATE: &str = "read -r _ || exit 125; exec </dev/null; ";
/// The inputs whose change runs `update` (or replaces the object).
const RUN_INPUTS: [&str; 3] = ["create", "dir", "env"];
const OUTPUTS: [&str; 3] = ["stdout", "stderr", "exit_code"];

#[derive(Debug, Default)]
pub struct ExecProvider;

#[async_trait]
impl Provider for ExecProvider {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        Some(format!(
            "an {kind} is a command Orch runs during apply, not an object that exists on its \
             own: there is nothing to read back by an id"
        ))
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        if kind != "exec.run" {
            return Vec::new();
        }
        let mut problems = Vec::new();
        if field(config, "create").as_str().is_some_and(|text| text.trim().is_empty()) {
            problems.push("`create` must be a command, not empty".to_string());
        }
        for name in ["update", "destroy", "dir"] {
            if field(config, name).as_str().is_some_and(|text| text.trim().is_empty()) {
                problems.push(format!("`{name}` must not be empty: leave it out instead"));
            }
        }
        if let Value::Map(env) = field(config, "env").reveal().0 {
            for (name, value) in env.iter() {
                if name.is_empty() || name.contains(['=', '\0']) {
                    problems.push(format!(
                        "`env` cannot name a variable {name:?}: names are not empty and hold \
                         no `=` or NUL"
                    ));
                }
                if value.as_str().is_some_and(|text| text.contains('\0')) {
                    problems.push(format!("the value of `env.{name}` cannot hold a NUL character"));
                }
            }
        }
        problems
    }

    async fn read(
        &self,
        _ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        check_kind(kind)?;
        // What a command did cannot be read back.
        Ok(Some(prior.clone()))
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let mut planned = default_plan(self.schema(kind), prior, config);
        let (Some(prior), "exec.run") = (prior, kind) else { return planned };
        let changed = |name: &str| !field(prior, name).same_revealed(field(config, name));
        let run_changes: Vec<&str> = RUN_INPUTS.into_iter().filter(|name| changed(name)).collect();
        let has_update = !matches!(field(config, "update"), Value::None);
        let mut requires_replace = Vec::new();
        if changed("triggers") {
            requires_replace.push("triggers".to_string());
        }
        if !has_update {
            requires_replace.extend(run_changes.iter().map(|name| name.to_string()));
        }
        let runs_a_command = !requires_replace.is_empty() || !run_changes.is_empty();
        if !runs_a_command {
            // A change to `update` or `destroy` alone runs nothing: the
            // outputs stay those of the last command.
            planned.value = with_outputs_of(&planned.value, prior);
        }
        planned.requires_replace = requires_replace;
        planned
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        check_kind(kind)?;
        let inputs = |config| inputs_of(self.schema(kind), config);
        match change {
            Change::Create { config } => {
                let run = run(ctx, "create", config).await.map_err(|failure| {
                    // Whatever the command did before it failed is there:
                    // the object is kept, tainted, and replaced (`destroy`,
                    // then `create`) by the next apply, as Terraform does
                    // with a failed creation-time provisioner.
                    let partial = failure.run.map(|run| run.object(&inputs(config)));
                    match partial {
                        Some(partial) => failure.error.with_partial(partial),
                        None => failure.error,
                    }
                })?;
                Ok(Some(run.object(&inputs(config))))
            }
            Change::Update { prior, config } => {
                let run_changed = RUN_INPUTS
                    .iter()
                    .any(|name| !field(prior, name).same_revealed(field(config, name)));
                if !run_changed || matches!(field(config, "update"), Value::None) {
                    return Ok(Some(with_outputs_of(&inputs(config), prior)));
                }
                let run = run(ctx, "update", config).await.map_err(|failure| {
                    // The update may have done part of its work. The
                    // object keeps its prior inputs, so the next plan runs
                    // `update` again.
                    failure.error.with_partial(prior.clone())
                })?;
                Ok(Some(run.object(&inputs(config))))
            }
            Change::Delete { prior } => {
                if !matches!(field(prior, "destroy"), Value::None) {
                    run(ctx, "destroy", prior).await.map_err(|failure| failure.error)?;
                }
                Ok(None)
            }
        }
    }
}

fn check_kind(kind: &str) -> Result<(), ProviderError> {
    if kind == "exec.run" {
        Ok(())
    } else {
        Err(ProviderError::new(format!("the exec provider has no kind {kind}")))
    }
}

/// `object` with the outputs of `source`.
fn with_outputs_of(object: &Value, source: &Value) -> Value {
    let mut entries = match object {
        Value::Map(entries) => entries.to_map(),
        _ => Default::default(),
    };
    for name in OUTPUTS {
        entries.insert(name.into(), field(source, name).clone());
    }
    Value::map(entries)
}

/// A command that ran to its end (or was stopped).
struct Run {
    stdout: String,
    stderr: String,
    exit_code: i64,
    /// The command's text was secret, so its output may be.
    secret: bool,
}

impl Run {
    /// `inputs` with this run's outputs.
    fn object(&self, inputs: &Value) -> Value {
        let mark = |value| if self.secret { Value::secret(value) } else { value };
        let mut entries = match inputs {
            Value::Map(entries) => entries.to_map(),
            _ => Default::default(),
        };
        entries.insert("stdout".into(), mark(Value::string(&self.stdout)));
        entries.insert("stderr".into(), mark(Value::string(&self.stderr)));
        entries.insert("exit_code".into(), Value::Int(self.exit_code));
        Value::map(entries)
    }
}

/// A command that could not run, failed or was cancelled, with what it
/// wrote if it started.
struct Failure {
    error: ProviderError,
    run: Option<Run>,
}

impl From<ProviderError> for Failure {
    fn from(error: ProviderError) -> Failure {
        Failure { error, run: None }
    }
}

/// Runs the command in the field `which` of `object` (`create`, `update`
/// or `destroy`) with the object's `dir` and `env`. A non-zero exit
/// status, a signal or a cancellation is a failure.
async fn run(ctx: &OpContext, which: &str, object: &Value) -> Result<Run, Failure> {
    let (command_text, secret_command) = match field(object, which).reveal() {
        (Value::String(text), secret) => (text.to_string(), secret),
        (Value::Unknown, _) => {
            return Err(
                ProviderError::new(format!("the `{which}` command is not known yet")).into()
            );
        }
        _ => return Err(ProviderError::new(format!("`{which}` must be a command")).into()),
    };
    let env = env_of(object)?;
    let redactor = Redactor::new(
        env.iter().filter(|variable| variable.secret).map(|variable| variable.value.as_str()),
    );
    // Outputs that cannot be masked are secret whole.
    let secret = secret_command || redactor.is_whole();
    let dir =
        match field(object, "dir").reveal().0 {
            Value::None => ctx.base_dir.clone(),
            value => ctx.resolve(value.as_str().ok_or_else(|| {
                Failure::from(ProviderError::new("`dir` must be a folder's path"))
            })?),
        };
    if !dir.is_dir() {
        return Err(ProviderError::new(format!(
            "cannot run the `{which}` command: its folder {} does not exist",
            dir.display()
        ))
        .into());
    }

    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("{GATE}{command_text}"))
        .current_dir(&dir)
        .envs(env.iter().map(|variable| (&variable.name, &variable.value)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that killing the group kills what the
        // shell started too (`sh -c "sleep 100"`).
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|error| {
        ProviderError::new(format!(
            "cannot run the `{which}` command in {}: {error}",
            dir.display()
        ))
    })?;
    let mut group = ProcessGroup::register(child.id()).map_err(|error| {
        ProviderError::new(format!(
            "cannot run the `{which}` command: cannot start the watcher that ends it if orchc \
             is killed: {error}"
        ))
    })?;
    // Watched: the command may start.
    if let Some(mut gate) = child.stdin.take() {
        use tokio::io::AsyncWriteExt as _;
        // It fails only if the shell is gone already, which its status tells.
        let _ = gate.write_all(b"\n").await;
    }
    let mut stdout_pipe = child.stdout.take();
    let mut stderr_pipe = child.stderr.take();
    let mut stdout = Capture::new(Keep::Head);
    let mut stderr = Capture::new(Keep::Tail);
    let (mut stdout_buffer, mut stderr_buffer) = (vec![0u8; 8192], vec![0u8; 8192]);
    let mut status: Option<ExitStatus> = None;
    let mut drain_until: Option<Instant> = None;

    let cancelled = loop {
        if status.is_some() && stdout_pipe.is_none() && stderr_pipe.is_none() {
            break false;
        }
        tokio::select! {
            () = ctx.cancel.cancelled(), if status.is_none() => break true,
            read = read_some(&mut stdout_pipe, &mut stdout_buffer), if stdout_pipe.is_some() => {
                match read {
                    Ok(0) | Err(_) => stdout_pipe = None,
                    Ok(n) => stdout.push(&stdout_buffer[..n]),
                }
            }
            read = read_some(&mut stderr_pipe, &mut stderr_buffer), if stderr_pipe.is_some() => {
                match read {
                    Ok(0) | Err(_) => stderr_pipe = None,
                    Ok(n) => stderr.push(&stderr_buffer[..n]),
                }
            }
            exited = child.wait(), if status.is_none() => {
                let exited = exited.map_err(|error| {
                    ProviderError::new(format!("cannot wait for the `{which}` command: {error}"))
                })?;
                // Reaped: the process id may be reused from now on, so the
                // group is no longer ours to kill. What the command left
                // running in the background is its own business.
                group.release();
                status = Some(exited);
                drain_until = Some(Instant::now() + DRAIN_GRACE);
            }
            () = sleep_until(drain_until), if drain_until.is_some() => break false,
        }
    };

    let stdout = redactor.redact(&stdout.into_text());
    let stderr = redactor.redact(&stderr.into_text());
    if cancelled {
        // Politely first: `SIGTERM` to the whole group, then `SIGKILL` to
        // what is left once the shell ended or the grace ran out.
        group.signal(Signal::TERM);
        let _ = tokio::time::timeout(TERM_GRACE, child.wait()).await;
        group.kill();
        let _ = child.start_kill();
        let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
        let error = ProviderError::new(format!(
            "the `{which}` command was cancelled: it was killed with everything it started"
        ));
        let exit_code = 128 + i64::from(Signal::KILL.as_raw());
        return Err(Failure { error, run: Some(Run { stdout, stderr, exit_code, secret }) });
    }
    // The loop ends with a status unless it was cancelled.
    let status = status.expect("the command has exited");
    let (exit_code, failure) = match (status.code(), signal_of(status)) {
        (Some(0), _) => (0, None),
        (Some(code), _) => (i64::from(code), Some(format!("exited with status {code}"))),
        (None, Some(signal)) => {
            (128 + i64::from(signal), Some(format!("was killed by signal {signal}")))
        }
        (None, None) => (-1, Some("ended without an exit status".to_string())),
    };
    let run = Run { stdout, stderr, exit_code, secret };
    match failure {
        None => Ok(run),
        Some(how) => {
            let mut message = format!("the `{which}` command {how}");
            let (quoted, stream) = if run.stderr.trim().is_empty() {
                (last_lines(&run.stdout), "standard output")
            } else {
                (last_lines(&run.stderr), "standard error")
            };
            if quoted.is_empty() {
                message.push_str(" and wrote nothing");
            } else if secret {
                message.push_str(&format!(" (its {stream} is secret)"));
            } else {
                message.push_str(&format!(":\n{quoted}"));
            }
            Err(Failure { error: ProviderError::new(message), run: Some(run) })
        }
    }
}

/// A variable of `env`, revealed, with whether its value was secret.
struct EnvVariable {
    name: String,
    value: String,
    secret: bool,
}

/// The `env` field as revealed variables. A value is secret when it holds
/// a secret, or when the whole map is.
fn env_of(object: &Value) -> Result<Vec<EnvVariable>, ProviderError> {
    let (Value::Map(entries), all_secret) = field(object, "env").reveal() else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|(name, value)| {
            let text = value.reveal_all().to_interpolated().ok_or_else(|| {
                ProviderError::new(format!("the value of `env.{name}` is not known yet"))
            })?;
            let secret = all_secret || value.contains_secret();
            Ok(EnvVariable { name: name.to_string(), value: text, secret })
        })
        .collect()
}

/// Replaces every occurrence of a set of secret texts with `(secret)`, in
/// one pass over the text whatever their number.
enum Redactor {
    /// Nothing to mask.
    Nothing,
    /// The secrets, matched leftmost-longest: a secret that contains
    /// another is replaced whole.
    Mask(AhoCorasick),
    /// A secret is too short to mask: the outputs are secret whole.
    Whole,
}

impl Redactor {
    fn new<'a>(secrets: impl Iterator<Item = &'a str>) -> Redactor {
        let secrets: Vec<&str> = secrets.filter(|secret| !secret.is_empty()).collect();
        if secrets.iter().any(|secret| secret.chars().count() < MIN_MASKED_SECRET) {
            return Redactor::Whole;
        }
        if secrets.is_empty() {
            return Redactor::Nothing;
        }
        match AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&secrets) {
            Ok(matcher) => Redactor::Mask(matcher),
            // Only a set too large for the automaton fails to build: it
            // cannot be masked, so nothing of the output is shown.
            Err(_) => Redactor::Whole,
        }
    }

    /// Whether the outputs must be secret as a whole.
    fn is_whole(&self) -> bool {
        matches!(self, Redactor::Whole)
    }

    /// `text` with the secrets masked (unchanged when the outputs are
    /// secret whole: they are sealed and never shown).
    fn redact(&self, text: &str) -> String {
        match self {
            Redactor::Mask(matcher) => {
                matcher.replace_all(text, &vec![REDACTED; matcher.patterns_len()])
            }
            Redactor::Nothing | Redactor::Whole => text.to_string(),
        }
    }
}

/// Which part of a long output is kept.
enum Keep {
    Head,
    Tail,
}

/// An output stream, kept up to [`OUTPUT_LIMIT`] bytes.
struct Capture {
    bytes: Vec<u8>,
    keep: Keep,
    /// Bytes read but not kept.
    dropped: usize,
}

impl Capture {
    fn new(keep: Keep) -> Capture {
        Capture { bytes: Vec::new(), keep, dropped: 0 }
    }

    fn push(&mut self, data: &[u8]) {
        match self.keep {
            Keep::Head => {
                let room = OUTPUT_LIMIT.saturating_sub(self.bytes.len()).min(data.len());
                self.bytes.extend_from_slice(&data[..room]);
                self.dropped += data.len() - room;
            }
            Keep::Tail => {
                self.bytes.extend_from_slice(data);
                // Trimmed only once twice the limit is reached, so that the
                // cost of trimming stays proportional to what is read.
                if self.bytes.len() > 2 * OUTPUT_LIMIT {
                    self.trim();
                }
            }
        }
    }

    fn trim(&mut self) {
        let excess = self.bytes.len().saturating_sub(OUTPUT_LIMIT);
        self.bytes.drain(..excess);
        self.dropped += excess;
    }

    /// The kept output as text (invalid UTF-8 replaced), saying how much
    /// was left out.
    fn into_text(mut self) -> String {
        if matches!(self.keep, Keep::Tail) {
            self.trim();
        }
        let text = String::from_utf8_lossy(&self.bytes);
        match (self.dropped, self.keep) {
            (0, _) => text.into_owned(),
            (dropped, Keep::Head) => format!("{text}\n… ({dropped} more bytes not kept)"),
            (dropped, Keep::Tail) => format!("… ({dropped} earlier bytes not kept)\n{text}"),
        }
    }
}

/// The last lines of an output, for a message.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> =
        text.lines().map(str::trim_end).filter(|line| !line.is_empty()).collect();
    let start = lines.len().saturating_sub(MESSAGE_LINES);
    lines[start..].join("\n")
}

/// Reads what is available from a pipe; never ready once the pipe is
/// closed (the `select!` branch is disabled then).
async fn read_some<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(buffer).await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn signal_of(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}
