//! Runs the real `orchc` binary in a temporary folder.

#![allow(dead_code, reason = "each test file uses a different part of this module")]

pub(crate) mod mysql;
pub(crate) mod orch;
pub(crate) mod pg;
pub(crate) mod rabbitmq;

/// The Redis server of the end-to-end tests (the rule written once).
#[path = "../../../runtime/tests/common/redis.rs"]
pub(crate) mod redis;

/// The NATS JetStream server of the end-to-end tests (the rule written once).
#[path = "../../../runtime/tests/common/nats.rs"]
pub(crate) mod nats;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary folder that the binary runs in.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new() -> Project {
        Project { dir: tempfile::tempdir().expect("a temporary folder") }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative`, creating folders on the way.
    pub(crate) fn write(&self, relative: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        fs::create_dir_all(path.parent().expect("a file has a parent folder"))
            .expect("create folders");
        fs::write(&path, text).expect("write a test file");
        path
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.dir.path().join(relative)).expect("read a test file")
    }

    /// Runs `orchc ARGS` in the folder with no standard input.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Runs `orchc ARGS` in the folder, feeding `stdin` when given.
    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orchc"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("NO_COLOR")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start orchc");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("piped standard input");
            pipe.write_all(text.as_bytes()).expect("write standard input");
        }
        Run::from(child.wait_with_output().expect("wait for orchc"))
    }
}

/// The result of one run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("orchc exits with a status, not a signal"),
            stdout: String::from_utf8(output.stdout).expect("standard output is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("standard error is UTF-8"),
        }
    }
}

impl Run {
    /// Asserts the exit status, showing the output when it differs.
    pub(crate) fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", self.stdout))
    }
}

/// A file with no problems.
pub(crate) const CLEAN: &str = "param replicas: int = 2\n\nresource data_dir: fs.dir {\n  path = \"/srv/data-${replicas}\"\n}\n";
