//! `orchc plan`/`apply`/`state` in a temporary project, for the end-to-end
//! tests of the runtime (`apply.rs`, `pg.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Project, Run};

/// A folder with a `main.orch`, a configuration folder of its own (for the
/// state key), and arguments and variables added to every run.
pub(crate) struct Orch {
    project: Project,
    /// The configuration folder (`ORCH_CONFIG_DIR`), where a key file goes.
    pub(crate) config: tempfile::TempDir,
    common_args: Vec<String>,
    /// Variables set for every run.
    pub(crate) env: Vec<(String, String)>,
}

impl Orch {
    pub(crate) fn new(main: &str) -> Orch {
        let orch = Orch {
            project: Project::new(),
            config: tempfile::tempdir().expect("a configuration folder"),
            common_args: Vec::new(),
            env: Vec::new(),
        };
        orch.write("main.orch", main);
        orch
    }

    /// Every run gets `args` after its own and the variables `env`.
    pub(crate) fn with(mut self, args: Vec<String>, env: Vec<(String, String)>) -> Orch {
        self.common_args = args;
        self.env = env;
        self
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.project.path().join(relative)
    }

    pub(crate) fn write(&self, relative: &str, text: &str) {
        self.project.write(relative, text);
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        self.project.read(relative)
    }

    pub(crate) fn exists(&self, relative: &str) -> bool {
        self.path(relative).exists()
    }

    /// `orchc ARGS` (and the common arguments) in the folder, with a clean
    /// environment: no colour, no inherited `ORCH_*` settings, no proxy.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchc"));
        command.args(args).args(&self.common_args).current_dir(self.project.path());
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("ORCH_") || name.to_ascii_lowercase().ends_with("_proxy") {
                command.env_remove(name.as_ref());
            }
        }
        command
            .env("ORCH_CONFIG_DIR", self.config.path())
            .env("NO_COLOR", "1")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    pub(crate) fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::from(command.output().expect("run orchc"))
    }

    /// `orchc apply main.orch --auto-approve ARGS`, expected to succeed.
    pub(crate) fn apply(&self, args: &[&str]) -> Run {
        let run = self.run(&[&["apply", "main.orch", "--auto-approve"], args].concat());
        run.expect_code(0);
        run
    }

    /// `orchc plan main.orch --json ARGS` as a document.
    pub(crate) fn plan_json(&self, args: &[&str]) -> Value {
        let run = self.run(&[&["plan", "main.orch", "--json"], args].concat());
        run.expect_code(0);
        run.json()
    }

    /// `plan --detailed-exitcode` finds nothing to do.
    pub(crate) fn expect_no_changes(&self, args: &[&str]) {
        self.run(&[&["plan", "main.orch", "--detailed-exitcode"], args].concat()).expect_code(0);
    }

    /// `orchc state list --json`.
    pub(crate) fn state_json(&self) -> Value {
        let run = self.run(&["state", "list", "--json"]);
        run.expect_code(0);
        run.json()
    }

    /// `orchc state list`: address → marks (`""`, `"tainted"`, ...).
    pub(crate) fn state_list(&self) -> BTreeMap<String, String> {
        let run = self.run(&["state", "list"]);
        run.expect_code(0);
        run.stdout
            .lines()
            .map(|line| {
                let mut words = line.split_whitespace();
                let address = words.next().expect("an address").to_string();
                let _kind = words.next();
                (address, words.collect::<Vec<_>>().join(" "))
            })
            .collect()
    }

    /// The lines of a log file that commands append to.
    pub(crate) fn log(&self, relative: &str) -> Vec<String> {
        if !self.exists(relative) {
            return Vec::new();
        }
        self.read(relative).lines().map(str::to_string).collect()
    }
}

/// A report with `miette`'s line wrapping undone: words joined by single
/// spaces, the `|` of continuation lines dropped.
pub(crate) fn flat(text: &str) -> String {
    text.split_whitespace().filter(|word| !matches!(*word, "|" | "│")).collect::<Vec<_>>().join(" ")
}

/// Waits until `done` holds, for at most `limit`.
pub(crate) fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// The changes of a `plan --json` document: address → action.
pub(crate) fn actions(plan: &Value) -> BTreeMap<String, String> {
    plan["changes"]
        .as_array()
        .expect("changes is a list")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().expect("an address").to_string(),
                c["action"].as_str().expect("an action").to_string(),
            )
        })
        .collect()
}

/// The change of `address` in a `plan --json` document.
pub(crate) fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["changes"]
        .as_array()
        .expect("changes is a list")
        .iter()
        .find(|c| c["address"] == address)
        .unwrap_or_else(|| panic!("a change of {address} in {plan}"))
}

/// The fields of the drift of `address` in a `plan --json` document.
pub(crate) fn drift_fields(plan: &Value, address: &str) -> Vec<String> {
    let drift = plan["drift"].as_array().expect("drift is a list");
    let entry = drift
        .iter()
        .find(|d| d["address"] == address)
        .unwrap_or_else(|| panic!("drift of {address} in {plan}"));
    entry["fields"]
        .as_array()
        .expect("fields is a list")
        .iter()
        .map(|f| f.as_str().expect("a field name").to_string())
        .collect()
}
