//! Malformed messages over the real byte stream: each is answered with the
//! JSON-RPC error the specification asks for, and the server keeps serving
//! the messages that follow it.

use std::time::Duration;

use orch_lsp::framing::{MAX_HEADER, MAX_MESSAGE};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

const TIMEOUT: Duration = Duration::from_secs(30);

struct Raw {
    write: tokio::io::WriteHalf<DuplexStream>,
    read: BufReader<tokio::io::ReadHalf<DuplexStream>>,
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

fn request(id: i64, method: &str, params: Value) -> Vec<u8> {
    frame(
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            .to_string()
            .as_bytes(),
    )
}

impl Raw {
    fn start() -> Raw {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server);
        tokio::spawn(orch_lsp::serve(server_read, server_write, orch_lsp::keep_memory));
        let (read, write) = tokio::io::split(client);
        Raw { write, read: BufReader::new(read) }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("the server reads");
        self.write.flush().await.unwrap();
    }

    /// The next message from the server, `None` once its output ends.
    async fn next(&mut self) -> Option<Value> {
        tokio::time::timeout(TIMEOUT, async {
            let mut length = None;
            loop {
                let mut line = String::new();
                if self.read.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = Some(value.parse::<usize>().expect("a length"));
                }
            }
            let mut body = vec![0; length.expect("a Content-Length from the server")];
            self.read.read_exact(&mut body).await.ok()?;
            Some(serde_json::from_slice(&body).expect("JSON from the server"))
        })
        .await
        .expect("the server answers in time")
    }

    /// The response with `id` (notifications in between are skipped).
    async fn response(&mut self, id: &Value) -> Value {
        loop {
            let message = self.next().await.expect("the server is still running");
            if message.get("method").is_none() && &message["id"] == id {
                return message;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(&request(1, "initialize", json!({"capabilities": {}}))).await;
        let response = self.response(&json!(1)).await;
        assert_eq!(response["result"]["serverInfo"]["name"], "orch-lsp", "{response}");
        self.send(&frame(br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#)).await;
    }

    /// The server still works: a document opened now is analysed.
    async fn still_serves(&mut self, id: i64) {
        self.send(&request(id, "shutdown", Value::Null)).await;
        let response = self.response(&json!(id)).await;
        assert_eq!(response["result"], Value::Null, "{response}");
        assert!(response.get("error").is_none(), "{response}");
    }
}

/// Sends `bytes` to an initialised server and returns the error response
/// with id `null` it gets, checking that the server serves on.
async fn answer_to(bytes: &[u8]) -> Value {
    let mut raw = Raw::start();
    raw.initialize().await;
    raw.send(bytes).await;
    let response = raw.response(&Value::Null).await;
    raw.still_serves(50).await;
    response["error"].clone()
}

#[tokio::test]
async fn bodies_that_are_not_json_are_parse_errors() {
    let error = answer_to(&frame(b"{not json")).await;
    assert_eq!(error["code"], -32700, "{error}");
    assert!(error["message"].as_str().unwrap().contains("not JSON"), "{error}");

    let error = answer_to(&frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}")).await;
    assert_eq!(error["code"], -32700, "{error}");
    assert!(error["message"].as_str().unwrap().contains("UTF-8"), "{error}");

    // Cut short: the length counts more than the JSON has.
    let error = answer_to(&frame(b"{\"jsonrpc\":")).await;
    assert_eq!(error["code"], -32700, "{error}");
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_an_invalid_request() {
    for body in [
        "[]",
        "[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"shutdown\"}]",
        "{\"foo\":1}",
        "42",
        "\"text\"",
        "null",
        "{\"jsonrpc\":\"1.0\",\"method\":\"initialized\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":7}",
        "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"shutdown\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"shutdown\"}",
    ] {
        let error = answer_to(&frame(body.as_bytes())).await;
        assert_eq!(error["code"], -32600, "{body}: {error}");
    }
}

#[tokio::test]
async fn an_invalid_request_with_a_usable_id_is_answered_with_that_id() {
    let mut raw = Raw::start();
    raw.initialize().await;
    raw.send(&frame(br#"{"jsonrpc":"2.0","id":9}"#)).await;
    let response = raw.response(&json!(9)).await;
    assert_eq!(response["error"]["code"], -32600, "{response}");
    raw.send(&frame(br#"{"jsonrpc":"2.0","id":"ten","method":{"not":"a string"}}"#)).await;
    let response = raw.response(&json!("ten")).await;
    assert_eq!(response["error"]["code"], -32600, "{response}");
    raw.still_serves(11).await;
}

#[tokio::test]
async fn broken_headers_are_parse_errors_and_the_next_message_is_found() {
    // No Content-Length; its body then runs into the next message's header.
    let mut bytes = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}".to_vec();
    bytes.extend(request(20, "shutdown", Value::Null));
    let mut raw = Raw::start();
    raw.initialize().await;
    raw.send(&bytes).await;
    let error = raw.response(&Value::Null).await;
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("Content-Length"), "{error}");
    let response = raw.response(&json!(20)).await;
    assert!(response.get("error").is_none(), "the request after the junk is served: {response}");

    let error = answer_to(b"Content-Length: abc\r\n\r\n").await;
    assert_eq!(error["code"], -32700, "{error}");
    assert!(error["message"].as_str().unwrap().contains("`abc`"), "{error}");

    let error = answer_to(b"Content-Length: 99999999999999999999999\r\n\r\n").await;
    assert_eq!(error["code"], -32700, "{error}");

    let error = answer_to(b"this is not a header\r\n\r\n").await;
    assert_eq!(error["code"], -32700, "{error}");

    let long = format!("X-Padding: {}\r\n\r\n", "x".repeat(MAX_HEADER + 10));
    let error = answer_to(long.as_bytes()).await;
    assert_eq!(error["code"], -32700, "{error}");
    assert!(error["message"].as_str().unwrap().contains("header section"), "{error}");
}

#[tokio::test]
async fn a_message_over_the_limit_is_skipped_without_being_kept() {
    let mut raw = Raw::start();
    raw.initialize().await;
    let length = MAX_MESSAGE + 1;
    raw.send(format!("Content-Length: {length}\r\n\r\n").as_bytes()).await;
    let chunk = vec![b' '; 1 << 20];
    let mut left = length;
    while left > 0 {
        let n = left.min(chunk.len());
        raw.send(&chunk[..n]).await;
        left -= n;
    }
    let response = raw.response(&Value::Null).await;
    assert_eq!(response["error"]["code"], -32600, "{response}");
    assert!(response["error"]["message"].as_str().unwrap().contains("limit"), "{response}");
    raw.still_serves(30).await;
}

#[tokio::test]
async fn unknown_methods_and_requests_before_initialize_get_their_errors() {
    let mut raw = Raw::start();
    // Before `initialize`, a request is refused with ServerNotInitialized
    // (-32002) and a notification is dropped.
    raw.send(&frame(br#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{}}"#)).await;
    raw.send(&request(
        2,
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///x.orch"}, "position": {"line": 0, "character": 0}}),
    ))
    .await;
    let response = raw.response(&json!(2)).await;
    assert_eq!(response["error"]["code"], -32002, "{response}");

    raw.initialize().await;
    raw.send(&request(3, "orch/noSuchMethod", json!({}))).await;
    let response = raw.response(&json!(3)).await;
    assert_eq!(response["error"]["code"], -32601, "{response}");
    // Parameters of the wrong shape for a known method.
    raw.send(&request(4, "textDocument/hover", json!({"position": "here"}))).await;
    let response = raw.response(&json!(4)).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    // An unknown notification is ignored; the server serves on.
    raw.send(&frame(br#"{"jsonrpc":"2.0","method":"orch/whatever","params":[1]}"#)).await;
    raw.still_serves(5).await;
}

#[tokio::test]
async fn the_server_stops_at_exit_and_at_the_end_of_its_input() {
    let mut raw = Raw::start();
    raw.initialize().await;
    raw.still_serves(2).await;
    raw.send(&frame(br#"{"jsonrpc":"2.0","method":"exit"}"#)).await;
    // The client keeps its end open, yet the server's output ends.
    while raw.next().await.is_some() {}

    let mut raw = Raw::start();
    raw.initialize().await;
    raw.send(b"Content-Length: 100\r\n\r\n{\"jsonrpc\"").await;
    raw.write.shutdown().await.unwrap();
    while raw.next().await.is_some() {}
}
