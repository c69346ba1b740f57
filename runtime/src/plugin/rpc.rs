//! The channel to one plugin process: JSON-RPC 2.0 with `Content-Length`
//! framing over its standard input and output (PROVIDERS.md, "Transport").
//!
//! The process runs in a process group of its own, led by a guard shell
//! ([`GUARD`]) that kills the group when this process is gone, however it
//! ended (it watches a FIFO only this process holds open for writing), and
//! is registered with [`crate::children`] while it runs. Three threads
//! serve it: a writer (so that sending never blocks a caller, even when the
//! plugin stops reading), a reader that hands each answer to its waiting
//! request (answers may come in any order; several requests are in flight
//! at once), and one that copies the plugin's standard error to the log.
//! Anything on the output that is not a framed JSON-RPC message, and the
//! end of the output, fail every request in flight with a message naming
//! the plugin, and the process is killed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use crate::children::ProcessGroup;

/// The leader of a plugin's process group: `/bin/sh -c GUARD orch-plugin
/// FIFO ARGV...`. A watcher in the background reads the FIFO, which this
/// process holds open; at its end of file (this process is gone) it kills
/// the group. The plugin runs as a child of the guard with the guard's
/// standard input, output and error (the channel and the log); when it
/// ends, the watcher is stopped and the guard exits as the plugin did.
pub const GUARD: &str = r#"fifo=$1
shift
{ read -r _ < "$fifo"; kill -s KILL 0; } </dev/null >/dev/null 2>&1 &
watcher=$!
"$@"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
"#;

/// The largest message accepted from a plugin.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// JSON-RPC's "request cancelled" (LSP's `RequestCancelled`).
pub const REQUEST_CANCELLED: i64 = -32800;
/// JSON-RPC's "method not found".
pub const METHOD_NOT_FOUND: i64 = -32601;

/// How a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcError {
    /// The plugin answered with an error.
    Remote { code: i64, message: String, data: Option<Json> },
    /// The plugin is gone or broke the protocol: why, naming the plugin.
    Broken(String),
    /// Cancelled by us, and the plugin confirmed it or did not answer in
    /// time.
    Cancelled,
}

type Reply = Result<Json, RpcError>;

/// Where the answer of a request goes.
enum Waiter {
    Async(tokio::sync::oneshot::Sender<Reply>),
    Blocking(mpsc::Sender<Reply>),
}

impl Waiter {
    fn send(self, reply: Reply) {
        match self {
            Waiter::Async(sender) => {
                let _ = sender.send(reply);
            }
            Waiter::Blocking(sender) => {
                let _ = sender.send(reply);
            }
        }
    }
}

/// The requests in flight, and why the channel broke once it did.
#[derive(Default)]
struct Pending {
    waiters: HashMap<u64, Waiter>,
    broken: Option<String>,
}

struct Shared {
    /// The plugin's name, for messages.
    label: String,
    pending: Mutex<Pending>,
    /// Secret texts sent to the plugin: masked in its log and messages.
    secrets: Mutex<Vec<String>>,
    process: Mutex<Process>,
}

struct Process {
    child: Child,
    group: ProcessGroup,
    /// The FIFO's path (removed when the process is gone) and our end of it.
    fifo: Option<(PathBuf, std::fs::File)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running plugin.
pub struct Connection {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    outgoing: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
}

impl Connection {
    /// Starts `argv` in `dir`. `label` names the plugin in messages
    /// (`the plugin provider \`acme\``).
    pub fn start(label: &str, argv: &[String], dir: &Path) -> Result<Connection, String> {
        let fifo_path = std::env::temp_dir().join(format!(
            "orch-plugin-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo_path,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .map_err(|e| format!("cannot start {label}: cannot make a FIFO: {e}"))?;
        // Read and write: opening does not wait for the guard, and the
        // guard's read sees its end only when this process is gone.
        let fifo = std::fs::OpenOptions::new().read(true).write(true).open(&fifo_path);
        let fifo = match fifo {
            Ok(file) => file,
            Err(error) => {
                let _ = std::fs::remove_file(&fifo_path);
                return Err(format!("cannot start {label}: {error}"));
            }
        };
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(GUARD)
            .arg("orch-plugin")
            .arg(&fifo_path)
            .args(argv)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                let _ = std::fs::remove_file(&fifo_path);
                return Err(format!("cannot start {label} (`{}`): {error}", argv.join(" ")));
            }
        };
        let group = match ProcessGroup::register(Some(child.id())) {
            Ok(group) => group,
            Err(error) => {
                // Killed already, as a group; reaped here.
                let _ = child.wait();
                let _ = std::fs::remove_file(&fifo_path);
                return Err(format!("cannot watch {label} (`{}`): {error}", argv.join(" ")));
            }
        };
        let stdin = child.stdin.take().expect("a piped stdin");
        let stdout = child.stdout.take().expect("a piped stdout");
        let stderr = child.stderr.take().expect("a piped stderr");
        let shared = Arc::new(Shared {
            label: label.to_string(),
            pending: Mutex::new(Pending::default()),
            secrets: Mutex::new(Vec::new()),
            process: Mutex::new(Process { child, group, fifo: Some((fifo_path, fifo)) }),
        });
        let (sender, receiver) = mpsc::channel::<Vec<u8>>();
        let writer_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("orch-plugin-writer".into())
            .spawn(move || write_loop(stdin, receiver, writer_shared))
            .map_err(|e| format!("cannot start {label}: {e}"))?;
        let reader_shared = Arc::clone(&shared);
        let replies = sender.clone();
        std::thread::Builder::new()
            .name("orch-plugin-reader".into())
            .spawn(move || read_loop(stdout, reader_shared, replies))
            .map_err(|e| format!("cannot start {label}: {e}"))?;
        let log_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("orch-plugin-log".into())
            .spawn(move || log_loop(stderr, log_shared))
            .map_err(|e| format!("cannot start {label}: {e}"))?;
        Ok(Connection { shared, next_id: AtomicU64::new(1), outgoing: Mutex::new(Some(sender)) })
    }

    /// Remembers secret texts sent to the plugin, to mask them in what it
    /// says.
    pub fn add_secrets(&self, secrets: Vec<String>) {
        if secrets.is_empty() {
            return;
        }
        let mut known = lock(&self.shared.secrets);
        for secret in secrets {
            if !secret.is_empty() && !known.contains(&secret) {
                known.push(secret);
            }
        }
    }

    /// `text` with every secret sent to the plugin replaced by `(secret)`.
    pub fn mask(&self, text: &str) -> String {
        mask(&self.shared, text)
    }

    fn send(&self, message: &Json) -> Result<(), String> {
        let body = serde_json::to_vec(message).expect("a JSON message");
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        let outgoing = lock(&self.outgoing);
        match outgoing.as_ref().map(|s| s.send(frame)) {
            Some(Ok(())) => Ok(()),
            _ => Err(self.broken_reason()),
        }
    }

    fn broken_reason(&self) -> String {
        lock(&self.shared.pending)
            .broken
            .clone()
            .unwrap_or_else(|| format!("{} is not running", self.shared.label))
    }

    fn register(&self, waiter: Waiter) -> Result<u64, (Waiter, String)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut pending = lock(&self.shared.pending);
        if let Some(reason) = &pending.broken {
            return Err((waiter, reason.clone()));
        }
        pending.waiters.insert(id, waiter);
        Ok(id)
    }

    fn forget(&self, id: u64) {
        lock(&self.shared.pending).waiters.remove(&id);
    }

    /// Sends a request and waits for its answer; on `cancel`, sends
    /// `$/cancelRequest` and waits up to `grace` for the plugin to answer.
    pub async fn call(
        &self,
        method: &str,
        params: Json,
        cancel: &CancellationToken,
        grace: Duration,
    ) -> Reply {
        let (sender, mut receiver) = tokio::sync::oneshot::channel();
        let id = match self.register(Waiter::Async(sender)) {
            Ok(id) => id,
            Err((_, reason)) => return Err(RpcError::Broken(reason)),
        };
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Err(reason) = self.send(&message) {
            self.forget(id);
            return Err(RpcError::Broken(reason));
        }
        // Dropped before the answer (a `@timeout` abandons the call): the
        // plugin is told to cancel.
        let mut in_flight = InFlight { connection: self, id, answered: false };
        let reply = self.wait(&mut receiver, id, method, cancel, grace).await;
        in_flight.answered = true;
        drop(in_flight);
        reply
    }

    async fn wait(
        &self,
        receiver: &mut tokio::sync::oneshot::Receiver<Reply>,
        id: u64,
        method: &str,
        cancel: &CancellationToken,
        grace: Duration,
    ) -> Reply {
        tokio::select! {
            reply = &mut *receiver => return reply.unwrap_or_else(|_| Err(RpcError::Broken(self.broken_reason()))),
            () = cancel.cancelled() => {}
        }
        tracing::debug!(plugin = %self.shared.label, method, id, "request cancelled");
        let _ = self
            .send(&json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": id}}));
        match tokio::time::timeout(grace, &mut *receiver).await {
            Ok(Ok(Err(RpcError::Remote { code: REQUEST_CANCELLED, .. }))) | Err(_) => {
                self.forget(id);
                Err(RpcError::Cancelled)
            }
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(RpcError::Broken(self.broken_reason())),
        }
    }

    /// Sends a request and waits for its answer from synchronous code, at
    /// most `timeout`.
    pub fn call_blocking(&self, method: &str, params: Json, timeout: Duration) -> Reply {
        let (sender, receiver) = mpsc::channel();
        let id = match self.register(Waiter::Blocking(sender)) {
            Ok(id) => id,
            Err((_, reason)) => return Err(RpcError::Broken(reason)),
        };
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Err(reason) = self.send(&message) {
            self.forget(id);
            return Err(RpcError::Broken(reason));
        }
        match receiver.recv_timeout(timeout) {
            Ok(reply) => reply,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.send(
                    &json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": id}}),
                );
                self.forget(id);
                Err(RpcError::Broken(format!(
                    "{} did not answer `{method}` within {}",
                    self.shared.label,
                    orch_stdlib::value::format_duration(timeout.as_millis() as i64)
                )))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(RpcError::Broken(self.broken_reason()))
            }
        }
    }

    /// Ends the plugin: `shutdown`, then its input closed; killed if it has
    /// not exited after `grace`.
    pub fn shutdown(&self, grace: Duration) {
        let answered = self.call_blocking("shutdown", json!({}), grace);
        if let Err(error) = &answered {
            tracing::debug!(plugin = %self.shared.label, ?error, "shutdown not answered");
        }
        // Closing the input: the writer ends and drops the pipe.
        lock(&self.outgoing).take();
        let deadline = std::time::Instant::now() + grace;
        loop {
            let exited = {
                let mut process = lock(&self.shared.process);
                matches!(process.child.try_wait(), Ok(Some(_)) | Err(_))
            };
            if exited || std::time::Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        break_channel(&self.shared, format!("{} was shut down", self.shared.label));
    }

    /// Whether the plugin's process still runs.
    pub fn is_running(&self) -> bool {
        lock(&self.shared.pending).broken.is_none()
    }
}

/// A request whose answer is awaited.
struct InFlight<'c> {
    connection: &'c Connection,
    id: u64,
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let id = self.id;
        tracing::debug!(id, "request abandoned; cancelling it");
        let _ = self
            .connection
            .send(&json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": id}}));
        self.connection.forget(id);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        lock(&self.outgoing).take();
        break_channel(&self.shared, format!("{} was stopped", self.shared.label));
    }
}

fn mask(shared: &Shared, text: &str) -> String {
    let secrets = lock(&shared.secrets);
    let mut out = text.to_string();
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), crate::codec::REDACTED);
        }
    }
    out
}

/// Fails every request in flight with `reason` (the first reason wins),
/// kills the process group and reaps the guard.
fn break_channel(shared: &Shared, reason: String) {
    let waiters = {
        let mut pending = lock(&shared.pending);
        if pending.broken.is_none() {
            pending.broken = Some(reason.clone());
        }
        std::mem::take(&mut pending.waiters)
    };
    let reason = lock(&shared.pending).broken.clone().unwrap_or(reason);
    for (_, waiter) in waiters {
        waiter.send(Err(RpcError::Broken(reason.clone())));
    }
    let mut process = lock(&shared.process);
    let reaped = matches!(process.child.try_wait(), Ok(Some(_)));
    if !reaped {
        process.group.kill();
        let _ = process.child.wait();
    }
    process.group.release();
    if let Some((path, _file)) = process.fifo.take() {
        let _ = std::fs::remove_file(path);
    }
}

fn write_loop(
    mut stdin: std::process::ChildStdin,
    frames: mpsc::Receiver<Vec<u8>>,
    shared: Arc<Shared>,
) {
    for frame in frames {
        if stdin.write_all(&frame).and_then(|()| stdin.flush()).is_err() {
            tracing::debug!(plugin = %shared.label, "the plugin's input is closed");
            break;
        }
    }
}

fn read_loop(stdout: ChildStdout, shared: Arc<Shared>, replies: mpsc::Sender<Vec<u8>>) {
    let mut reader = BufReader::new(stdout);
    let reason = loop {
        match read_message(&mut reader) {
            Ok(None) => {
                let status = {
                    let mut process = lock(&shared.process);
                    // The output closed: the process is exiting; give it a
                    // moment to be reaped for its status.
                    let mut status = None;
                    for _ in 0..50 {
                        if let Ok(Some(s)) = process.child.try_wait() {
                            status = Some(s);
                            break;
                        }
                        drop(process);
                        std::thread::sleep(Duration::from_millis(10));
                        process = lock(&shared.process);
                    }
                    status
                };
                break match status {
                    Some(status) => format!("{} exited ({status})", shared.label),
                    None => format!("{} closed its output", shared.label),
                };
            }
            Ok(Some(message)) => {
                if let Some(reason) = dispatch(&shared, message, &replies) {
                    break reason;
                }
            }
            Err(problem) => {
                break format!(
                    "{} sent something that is not a framed JSON-RPC message: {problem}",
                    shared.label
                );
            }
        }
    };
    tracing::warn!(plugin = %shared.label, reason = %reason, "plugin channel closed");
    break_channel(&shared, reason);
}

/// Handles one message; `Some(reason)` when it breaks the protocol.
fn dispatch(shared: &Shared, message: Json, replies: &mpsc::Sender<Vec<u8>>) -> Option<String> {
    let Json::Object(object) = &message else {
        return Some(format!("{} sent a message that is not a JSON object", shared.label));
    };
    if object.get("jsonrpc") != Some(&Json::String("2.0".into())) {
        return Some(format!("{} sent a message without `\"jsonrpc\": \"2.0\"`", shared.label));
    }
    if let Some(method) = object.get("method").and_then(Json::as_str) {
        // A request or notification from the plugin: none is defined.
        // Requests are answered "method not found"; notifications ignored.
        if let Some(id) = object.get("id") {
            let answer = json!({"jsonrpc": "2.0", "id": id, "error": {"code": METHOD_NOT_FOUND, "message": format!("orchc has no method `{method}`")}});
            let body = serde_json::to_vec(&answer).expect("JSON");
            let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
            frame.extend_from_slice(&body);
            let _ = replies.send(frame);
        }
        return None;
    }
    let Some(id) = object.get("id").and_then(Json::as_u64) else {
        return Some(format!("{} sent an answer without a request id", shared.label));
    };
    let reply = if let Some(result) = object.get("result") {
        Ok(result.clone())
    } else if let Some(Json::Object(error)) = object.get("error") {
        Err(RpcError::Remote {
            code: error.get("code").and_then(Json::as_i64).unwrap_or(-32603),
            message: mask(
                shared,
                error.get("message").and_then(Json::as_str).unwrap_or("(no message)"),
            ),
            data: error.get("data").cloned(),
        })
    } else {
        return Some(format!("{} sent an answer with neither `result` nor `error`", shared.label));
    };
    let waiter = lock(&shared.pending).waiters.remove(&id);
    match waiter {
        Some(waiter) => waiter.send(reply),
        None => tracing::debug!(plugin = %shared.label, id, "answer to no request in flight"),
    }
    None
}

/// Reads one framed message: headers up to an empty line (`Content-Length`
/// required, others such as `Content-Type` ignored), then the body.
/// `Ok(None)` at the end of the output before a message starts.
fn read_message(reader: &mut impl BufRead) -> Result<Option<Json>, String> {
    let mut length: Option<usize> = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let read = reader
            .by_ref()
            .take(8 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return if first { Ok(None) } else { Err("the output ended inside a header".into()) };
        }
        first = false;
        if !line.ends_with(b"\r\n") {
            return Err(format!("a header line not ended by CRLF: {:?}", preview(&line)));
        }
        let line = &line[..line.len() - 2];
        if line.is_empty() {
            break;
        }
        let text =
            std::str::from_utf8(line).map_err(|_| "a header that is not UTF-8".to_string())?;
        let Some((name, value)) = text.split_once(':') else {
            return Err(format!("not a header: {:?}", preview(line)));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("a bad Content-Length: {:?}", value.trim()))?;
            if n > MAX_MESSAGE {
                return Err(format!("a message of {n} bytes is too large"));
            }
            length = Some(n);
        }
    }
    let length = length.ok_or("a message without Content-Length")?;
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).map_err(|_| "the output ended inside a message".to_string())?;
    serde_json::from_slice(&body).map(Some).map_err(|e| format!("a body that is not JSON: {e}"))
}

fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned()
}

fn log_loop(stderr: ChildStderr, shared: Arc<Shared>) {
    let reader = BufReader::new(stderr);
    for line in reader.split(b'\n') {
        let Ok(line) = line else { break };
        let text = mask(&shared, String::from_utf8_lossy(&line).trim_end());
        tracing::info!(target: "orch::plugin", plugin = %shared.label, "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_with_any_headers() {
        let input = b"Content-Length: 2\r\nContent-Type: application/json\r\n\r\n{}Content-Length: 4\r\n\r\nnull";
        let mut reader = BufReader::new(&input[..]);
        assert_eq!(read_message(&mut reader).unwrap(), Some(json!({})));
        assert_eq!(read_message(&mut reader).unwrap(), Some(Json::Null));
        assert_eq!(read_message(&mut reader).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error() {
        for input in [
            &b"hello\n"[..],
            b"Content-Length: x\r\n\r\n",
            b"Content-Length: 5\r\n\r\n{",
            b"\r\n{}",
        ] {
            let mut reader = BufReader::new(input);
            assert!(read_message(&mut reader).is_err(), "{input:?}");
        }
    }
}
