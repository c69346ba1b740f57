//! `orchc lsp` end to end: the real binary over standard input and output.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Project;
use serde_json::{Value, json};

fn frame(message: &Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Reads framed messages from `stdout` until it closes.
fn read_messages(stdout: impl Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = value.parse().expect("a length");
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let _ = sender.send(serde_json::from_slice(&body).expect("JSON from the server"));
        }
    });
    receiver
}

#[test]
fn serves_diagnostics_over_stdio_and_exits_cleanly() {
    let project = Project::new();
    let main = project.write("main.orch", "output o: string = \"é ${missing}\"\n");
    let uri = format!("file://{}", main.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchc"))
        .args(["lsp", "--stdio"])
        .current_dir(project.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start orchc lsp");
    let mut stdin = child.stdin.take().expect("piped standard input");
    let messages = read_messages(child.stdout.take().expect("piped standard output"));
    let root = format!("file://{}", project.path().display());
    let next = |what: &str| {
        messages.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("no {what}"))
    };

    stdin
        .write_all(&frame(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"capabilities": {}, "rootUri": root}})))
        .unwrap();
    let response = next("initialize response");
    assert_eq!(response["id"], 1);
    assert_eq!(response["result"]["serverInfo"]["name"], "orch-lsp");
    stdin
        .write_all(&frame(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}})))
        .unwrap();

    // Malformed messages are answered with their JSON-RPC errors (and
    // logged on standard error); the server serves on.
    stdin.write_all(b"Content-Length: 9\r\n\r\n{not json").unwrap();
    stdin.write_all(b"Content-Length: 2\r\n\r\n[]").unwrap();
    stdin.write_all(b"Content-Length: nine\r\n\r\n").unwrap();
    let mut errors = Vec::new();
    // The file on disk is analysed as part of the workspace, without being
    // opened; `missing` starts after `é` (one UTF-16 unit, two bytes).
    let diagnostics = loop {
        let message = next("diagnostics");
        if message["id"] == Value::Null && message.get("error").is_some() {
            errors.push(message["error"]["code"].clone());
        }
        if message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == uri
        {
            break message["params"]["diagnostics"].clone();
        }
    };
    assert_eq!(diagnostics[0]["code"], "E0101", "{diagnostics}");
    assert_eq!(diagnostics[0]["range"]["start"], json!({"line": 0, "character": 24}));

    stdin.write_all(&frame(&json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))).unwrap();
    loop {
        let message = next("shutdown response");
        if message["id"] == Value::Null && message.get("error").is_some() {
            errors.push(message["error"]["code"].clone());
        }
        if message["id"] == 2 {
            break;
        }
    }
    errors.sort_by_key(|code| code.as_i64());
    assert_eq!(errors, [json!(-32700), json!(-32700), json!(-32600)]);
    stdin.write_all(&frame(&json!({"jsonrpc": "2.0", "method": "exit"}))).unwrap();
    let status = child.wait().expect("orchc lsp exits");
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child.stderr.take().expect("piped standard error").read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("not JSON") && stderr.contains("`nine`"), "{stderr}");
}
