//! A language client for tests: it runs the server in process on a pair of
//! in-memory pipes and speaks the real protocol to it, `Content-Length`
//! framing included.

#![allow(dead_code, reason = "each test file uses a different part of the client")]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

/// How long any single exchange may take before the test fails.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

type Pending = Arc<Mutex<HashMap<i64, oneshot::Sender<Value>>>>;

pub(crate) struct Client {
    outgoing: mpsc::UnboundedSender<Value>,
    pending: Pending,
    notifications: mpsc::UnboundedReceiver<Value>,
    next_id: AtomicI64,
}

/// The folder of the test fixtures.
pub(crate) fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(path)
}

/// The `file://` URI of a path.
pub(crate) fn uri(path: &Path) -> String {
    format!("file://{}", path.display()).replace(' ', "%20")
}

/// The protocol position (0-based line, UTF-16 column) of byte `offset`.
pub(crate) fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": character })
}

/// The position of the `nth` byte of the first occurrence of `needle`.
pub(crate) fn position_of(text: &str, needle: &str, nth: usize) -> Value {
    let start = text.find(needle).unwrap_or_else(|| panic!("`{needle}` is not in the text"));
    position(text, start + nth)
}

impl Client {
    /// Starts a server and initialises it with `workspace` as its only
    /// folder (or none).
    pub(crate) async fn start(workspace: Option<&Path>) -> Client {
        let (client_end, server_end) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server_end);
        tokio::spawn(orch_lsp::serve(server_read, server_write, orch_lsp::keep_memory));

        let (read, mut write) = tokio::io::split(client_end);
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Value>();
        tokio::spawn(async move {
            while let Some(message) = to_send.recv().await {
                let body = message.to_string();
                let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
                if write.write_all(frame.as_bytes()).await.is_err() {
                    return;
                }
            }
        });

        let pending: Pending = Arc::default();
        let (notify, notifications) = mpsc::unbounded_channel();
        let replies = outgoing.clone();
        let waiting = pending.clone();
        tokio::spawn(async move {
            let mut read = BufReader::new(read);
            while let Some(message) = read_message(&mut read).await {
                let id = message.get("id").and_then(Value::as_i64);
                let is_request = message.get("method").is_some();
                match (id, is_request) {
                    // The server asks something of the client: say yes.
                    (Some(_), true) => {
                        let id = message["id"].clone();
                        let _ = replies.send(json!({"jsonrpc": "2.0", "id": id, "result": null}));
                    }
                    (Some(id), false) => {
                        if let Some(sender) = waiting.lock().unwrap().remove(&id) {
                            let _ = sender.send(message);
                        }
                    }
                    (None, _) => {
                        let _ = notify.send(message);
                    }
                }
            }
        });

        let client = Client { outgoing, pending, notifications, next_id: AtomicI64::new(1) };
        let folders = match workspace {
            Some(path) => json!([{ "uri": uri(path), "name": "workspace" }]),
            None => Value::Null,
        };
        let result = client
            .request("initialize", json!({ "capabilities": {}, "workspaceFolders": folders }))
            .await
            .expect("initialize succeeds");
        assert_eq!(result["capabilities"]["textDocumentSync"]["change"], 2, "incremental sync");
        client.notify("initialized", json!({}));
        client
    }

    /// Sends a request and waits for its response: `Ok(result)` or
    /// `Err(error)`.
    pub(crate) async fn request(&self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (sender, receiver) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, sender);
        let message = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.outgoing.send(message).expect("the writer runs");
        let response = tokio::time::timeout(TIMEOUT, receiver)
            .await
            .unwrap_or_else(|_| panic!("no answer to `{method}` in {TIMEOUT:?}"))
            .expect("the reader runs");
        match response.get("error") {
            Some(error) => Err(error.clone()),
            None => Ok(response["result"].clone()),
        }
    }

    pub(crate) fn notify(&self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.outgoing.send(message).expect("the writer runs");
    }

    pub(crate) fn open(&self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": "orch", "version": version, "text": text,
            }}),
        );
    }

    /// Replaces `range` (`[start, end]` positions) with `text`.
    pub(crate) fn edit(&self, uri: &str, version: i64, start: Value, end: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": { "start": start, "end": end }, "text": text }],
            }),
        );
    }

    /// Waits for the diagnostics of `uri` published for `version`,
    /// skipping any others.
    pub(crate) async fn diagnostics(&mut self, uri: &str, version: Option<i64>) -> Vec<Value> {
        loop {
            let message = tokio::time::timeout(TIMEOUT, self.notifications.recv())
                .await
                .unwrap_or_else(|_| panic!("no diagnostics for {uri} {version:?} in {TIMEOUT:?}"))
                .expect("the reader runs");
            if message["method"] != "textDocument/publishDiagnostics" {
                continue;
            }
            let params = &message["params"];
            if params["uri"] == uri && params["version"].as_i64() == version {
                return params["diagnostics"].as_array().cloned().unwrap_or_default();
            }
        }
    }

    /// Waits until the diagnostics published for `uri` satisfy `done`, and
    /// returns them.
    pub(crate) async fn diagnostics_until(
        &mut self,
        uri: &str,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        loop {
            let message = tokio::time::timeout(TIMEOUT, self.notifications.recv())
                .await
                .unwrap_or_else(|_| panic!("no matching diagnostics for {uri} in {TIMEOUT:?}"))
                .expect("the reader runs");
            let params = &message["params"];
            if message["method"] == "textDocument/publishDiagnostics" && params["uri"] == uri {
                let diagnostics = params["diagnostics"].as_array().cloned().unwrap_or_default();
                if done(&diagnostics) {
                    return diagnostics;
                }
            }
        }
    }

    /// The Markdown of a hover, empty when there is none.
    pub(crate) async fn hover(&self, uri: &str, at: Value) -> String {
        let params = json!({ "textDocument": { "uri": uri }, "position": at });
        let result = self.request("textDocument/hover", params).await.expect("hover succeeds");
        result["contents"]["value"].as_str().unwrap_or_default().to_string()
    }

    pub(crate) async fn definition(&self, uri: &str, at: Value) -> Value {
        let params = json!({ "textDocument": { "uri": uri }, "position": at });
        self.request("textDocument/definition", params).await.expect("definition succeeds")
    }

    /// The completion items, in the order of their `sortText`, from a list
    /// or from an array.
    pub(crate) async fn completion(&self, uri: &str, at: Value) -> Vec<Value> {
        let params = json!({ "textDocument": { "uri": uri }, "position": at });
        let result =
            self.request("textDocument/completion", params).await.expect("completion succeeds");
        let items = result.get("items").unwrap_or(&result);
        let mut items = items.as_array().cloned().unwrap_or_default();
        items.sort_by_key(|item| item["sortText"].as_str().unwrap_or_default().to_string());
        items
    }

    /// Every notification received so far, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(message) = self.notifications.try_recv() {
            out.push(message);
        }
        out
    }
}

/// Reads one framed message; `None` at the end of the stream.
async fn read_message<R: tokio::io::AsyncBufRead + Unpin>(read: &mut R) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    read.read_exact(&mut body).await.ok()?;
    serde_json::from_slice(&body).ok()
}
