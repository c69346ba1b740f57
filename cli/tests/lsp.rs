//! `orchc lsp` end to end: the real binary over standard input and output.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
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

/// Starts `orchc lsp --stdio` in `project`: the process, its standard
/// input, and the messages it writes.
fn start_server(project: &Project) -> (Child, ChildStdin, mpsc::Receiver<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_orchc"))
        .args(["lsp", "--stdio"])
        .current_dir(project.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start orchc lsp");
    let stdin = child.stdin.take().expect("piped standard input");
    let messages = read_messages(child.stdout.take().expect("piped standard output"));
    (child, stdin, messages)
}

#[test]
fn serves_diagnostics_over_stdio_and_exits_cleanly() {
    let project = Project::new();
    let main = project.write("main.orch", "output o: string = \"é ${missing}\"\n");
    let uri = format!("file://{}", main.display());
    let (mut child, mut stdin, messages) = start_server(&project);
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

/// The resident memory of process `pid`, in KiB (`VmRSS` in `/proc`).
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// A valid configuration of about `bytes` bytes: values that reference
/// each other, interpolate and loop, so that its analysis holds far more
/// memory than its text.
fn large_configuration(bytes: usize) -> String {
    let mut text = String::from("param names: list<string> = [\"a\", \"b\", \"c\"]\n");
    let mut i = 0;
    while text.len() < bytes {
        let previous = if i == 0 { "\"start\"".to_string() } else { format!("v{}.output", i - 1) };
        text.push_str(&format!(
            "resource v{i}: core.value {{\n  input = \"item-{i}-${{{previous}}}\"\n}}\n\
             for name in names {{\n  resource each{i}: core.value {{ input = \"${{name}}-{i}\" }}\n}}\n\
             output o{i}: string = v{i}.output\n"
        ));
        i += 1;
    }
    text
}

/// The server's memory follows the documents open now: after a document
/// of about 0.9 MB is edited back to a few lines, the memory its analysis
/// took is handed back to the system once the server is idle, not kept
/// for the life of the editor session (issue 17: 0.7 GB stayed).
#[test]
fn memory_is_returned_after_a_large_document_is_reverted() {
    let project = Project::new();
    let main = project.path().join("main.orch");
    let uri = format!("file://{}", main.display());
    let (mut child, mut stdin, messages) = start_server(&project);
    let pid = child.id();
    let root = format!("file://{}", project.path().display());
    let mut send = |message: Value| stdin.write_all(&frame(&message)).expect("write to the server");
    // Waits for the diagnostics of `version` of the document.
    let diagnostics_of = |version: i64| loop {
        let message = messages
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no diagnostics for version {version}"));
        if message["method"] == "textDocument/publishDiagnostics"
            && message["params"]["uri"] == uri
            && message["params"]["version"] == version
        {
            return message["params"]["diagnostics"].clone();
        }
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}, "rootUri": root}}));
    while messages.recv_timeout(Duration::from_secs(30)).expect("the initialize response")["id"]
        != 1
    {}
    send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));

    let small = "resource a: core.value {\n  input = \"x\"\n}\n";
    let change = |version: i64, text: &str| {
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": text}]}})
    };
    send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "orch", "version": 1, "text": small}}}));
    assert_eq!(diagnostics_of(1), json!([]));
    std::thread::sleep(Duration::from_millis(300));
    let before = resident_kib(pid);

    let large = large_configuration(900_000);
    send(change(2, &large));
    let diagnostics = diagnostics_of(2);
    assert!(
        diagnostics.as_array().is_some_and(Vec::is_empty),
        "the large document is valid: {}",
        diagnostics[0]
    );
    let during = resident_kib(pid);
    assert!(
        during > before + 50 * 1024,
        "the large document's analysis takes memory: {before} KiB, then {during} KiB"
    );

    send(change(3, small));
    assert_eq!(diagnostics_of(3), json!([]));
    // What the large analysis took is freed and handed back as soon as
    // the server is idle (mimalloc on its own gives it back only about ten
    // seconds later, at its next purge); at most a quarter of it may stay
    // with the allocator.
    let allowed = before + (during - before) / 4;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut after = resident_kib(pid);
    while after > allowed && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = resident_kib(pid);
    }
    assert!(
        after <= allowed,
        "the server kept {after} KiB after the document was reverted \
         ({before} KiB before it grew, {during} KiB with it; at most {allowed} KiB expected)"
    );
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    send(json!({"jsonrpc": "2.0", "method": "exit"}));
    let status = child.wait().expect("orchc lsp exits");
    assert!(status.success(), "{status}");
}
