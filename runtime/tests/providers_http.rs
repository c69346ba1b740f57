//! The `http` provider against a small HTTP/1.1 server started by each
//! test on 127.0.0.1: requests sent, statuses checked and classified,
//! objects read back and deleted, secrets kept out, requests cancelled.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orch_runtime::provider::{Change, OpContext, Provider, ProviderError, field};
use orch_runtime::providers::builtin;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request the test server received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    /// Lower-case names.
    headers: BTreeMap<String, String>,
    body: String,
}

/// What the test server answers.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply { status, headers: Vec::new(), body: body.into() }
    }
}

type Handler = Arc<dyn Fn(&Received) -> Reply + Send + Sync>;

struct Server {
    /// `http://127.0.0.1:PORT`
    base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("not poisoned").clone()
    }

    fn count(&self, method: &str) -> usize {
        self.received().iter().filter(|r| r.method == method).count()
    }
}

/// Serves every connection with `handler`, one request per connection.
async fn serve(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let received = Arc::new(Mutex::new(Vec::new()));
    let handler: Handler = Arc::new(handler);
    tokio::spawn({
        let received = received.clone();
        async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, handler.clone(), received.clone()));
            }
        }
    });
    Server { base, received }
}

async fn answer(mut socket: TcpStream, handler: Handler, received: Arc<Mutex<Vec<Received>>>) {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize =
        headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or_default();
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buffer[..n]),
        }
    }
    let request =
        Received { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() };
    received.lock().expect("not poisoned").push(request.clone());
    let reply = handler(&request);
    let mut response = format!(
        "HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// A configuration of `kind`: the schema's defaults, then `fields`.
fn config(kind: &str, fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind(kind).expect("a known kind");
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

/// `object` with `name` set to `value`.
fn with(object: &Value, name: &str, value: Value) -> Value {
    let Value::Map(entries) = object else { unreachable!("an object is a map") };
    let mut entries = entries.to_map();
    entries.insert(name.into(), value);
    Value::map(entries)
}

fn http() -> Box<dyn Provider> {
    builtin("http").expect("the http provider")
}

/// A server keeping items: `POST /items` makes item 7, `GET` and `DELETE
/// /items/7` read and delete it.
async fn item_server() -> Server {
    let exists = Arc::new(Mutex::new(false));
    serve(move |request| {
        let mut exists = exists.lock().expect("not poisoned");
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/items") => {
                *exists = true;
                let auth = request.headers.get("authorization").cloned().unwrap_or_default();
                Reply {
                    status: 201,
                    headers: vec![("X-Item-Id", "7".to_string()), ("Set-Cookie", "a=1".into())],
                    body: format!("{{\"id\":\"7\",\"seen\":\"{auth}\"}}"),
                }
            }
            ("GET", "/items/7") if *exists => Reply::new(200, "{\"id\":\"7\"}"),
            ("DELETE", "/items/7") if *exists => {
                *exists = false;
                Reply::new(204, "")
            }
            _ => Reply::new(404, "not found"),
        }
    })
    .await
}

#[tokio::test]
async fn request_is_created_read_updated_and_deleted() {
    let server = item_server().await;
    let provider = http();
    let ctx = OpContext::new("/", "http.request.item");
    let config = config(
        "http.request",
        &[
            ("url", Value::string(format!("{}/items", server.base))),
            (
                "headers",
                strings(&[
                    ("Authorization", Value::secret(Value::string("Bearer tok-123"))),
                    ("Content-Type", Value::string("application/json")),
                ]),
            ),
            ("body", Value::string("{\"name\":\"a\"}")),
            ("read_url", Value::string(format!("{}/items/7", server.base))),
            ("destroy_url", Value::string(format!("{}/items/7", server.base))),
        ],
    );
    assert!(provider.validate("http.request", &config).is_empty());
    let created = provider
        .apply(&ctx, "http.request", Change::Create { config: &config })
        .await
        .expect("create")
        .expect("an object");
    assert_eq!(field(&created, "status"), &Value::Int(201));
    let headers = field(&created, "response_headers");
    assert_eq!(field(headers, "x-item-id"), &Value::string("7"));
    assert_eq!(field(headers, "set-cookie"), &Value::string("a=1"));
    let body = field(&created, "response_body").as_str().expect("text");
    assert_eq!(body, "{\"id\":\"7\",\"seen\":\"(secret)\"}", "an echoed secret is redacted");
    let sent = &server.received()[0];
    assert_eq!(sent.body, "{\"name\":\"a\"}");
    assert_eq!(sent.headers.get("authorization").map(String::as_str), Some("Bearer tok-123"));
    assert_eq!(sent.headers.get("content-type").map(String::as_str), Some("application/json"));

    let read = provider.read(&ctx, "http.request", &created).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created));

    // Only how the object is read changed: nothing is sent again.
    let bookkeeping = with(&config, "expect_status", Value::list(vec![Value::Int(201)]));
    let planned = provider.plan("http.request", Some(&created), &bookkeeping);
    assert_eq!(field(&planned.value, "status"), &Value::Int(201));
    let kept = provider
        .apply(&ctx, "http.request", Change::Update { prior: &created, config: &bookkeeping })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(server.count("POST"), 1);
    assert_eq!(field(&kept, "response_body"), field(&created, "response_body"));

    // A new body sends the request again.
    let changed = with(&bookkeeping, "body", Value::string("{\"name\":\"b\"}"));
    let planned = provider.plan("http.request", Some(&kept), &changed);
    assert!(planned.requires_replace.is_empty());
    assert_eq!(field(&planned.value, "status"), &Value::Unknown);
    provider
        .apply(&ctx, "http.request", Change::Update { prior: &kept, config: &changed })
        .await
        .expect("update");
    assert_eq!(server.count("POST"), 2);
    assert_eq!(server.received().last().expect("a request").body, "{\"name\":\"b\"}");

    let deleted = provider.apply(&ctx, "http.request", Change::Delete { prior: &kept }).await;
    assert_eq!(deleted, Ok(None));
    assert_eq!(server.count("DELETE"), 1);
    let read = provider.read(&ctx, "http.request", &kept).await.expect("read");
    assert_eq!(read, None, "a 404 at `read_url` means gone");
    let again = provider.apply(&ctx, "http.request", Change::Delete { prior: &kept }).await;
    assert_eq!(again, Ok(None), "a 404 on delete means already gone");
}

async fn create_error(server: &Server, path: &str) -> ProviderError {
    let config =
        config("http.request", &[("url", Value::string(format!("{}{path}", server.base)))]);
    http()
        .apply(
            &OpContext::new("/", "http.request.x"),
            "http.request",
            Change::Create { config: &config },
        )
        .await
        .expect_err("an unexpected status")
}

#[tokio::test]
async fn unexpected_statuses_fail_and_server_errors_are_transient() {
    let server = serve(|request| match request.path.as_str() {
        "/bad" => Reply::new(400, "name is missing"),
        "/busy" => Reply::new(503, "try later"),
        "/slow-down" => Reply::new(429, ""),
        _ => Reply::new(200, "ok"),
    })
    .await;
    let bad = create_error(&server, "/bad").await;
    assert!(!bad.transient);
    assert_eq!(bad.partial, None);
    assert_eq!(
        bad.message,
        format!(
            "the POST request to {}/bad returned status 400 (expected 200, 201, 204): \
             name is missing",
            server.base
        )
    );
    let busy = create_error(&server, "/busy").await;
    assert!(busy.transient, "{}", busy.message);
    assert!(busy.message.contains("status 503"));
    let slow = create_error(&server, "/slow-down").await;
    assert!(slow.transient, "{}", slow.message);

    let with_password = server.base.replace("http://", "http://user:pa55word@");
    let config = config("http.request", &[("url", Value::string(format!("{with_password}/bad")))]);
    let error = http()
        .apply(
            &OpContext::new("/", "http.request.x"),
            "http.request",
            Change::Create { config: &config },
        )
        .await
        .expect_err("an unexpected status");
    assert!(!error.message.contains("pa55word"), "{}", error.message);
}

/// An address on which nothing listens.
async fn refusing_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    format!("http://{address}")
}

#[tokio::test]
async fn refused_connections_are_transient_and_name_the_url() {
    let base = refusing_address().await;
    let provider = http();
    let ctx = OpContext::new("/", "http.request.down");
    let config = config("http.request", &[("url", Value::string(format!("{base}/items")))]);
    let error = provider
        .apply(&ctx, "http.request", Change::Create { config: &config })
        .await
        .expect_err("refused");
    assert!(error.transient, "{}", error.message);
    assert!(error.message.starts_with(&format!("the POST request to {base}/items failed")));
    assert_eq!(error.partial, None);

    let get = self::config("http.get", &[("url", Value::string(format!("{base}/")))]);
    let error = provider.read(&ctx, "http.get", &get).await.expect_err("refused");
    assert!(error.transient, "{}", error.message);

    let secret = self::config(
        "http.get",
        &[("url", Value::secret(Value::string(format!("{base}/token/abc123"))))],
    );
    let error = provider.read(&ctx, "http.get", &secret).await.expect_err("refused");
    assert!(!error.message.contains("abc123"), "{}", error.message);
}

#[tokio::test]
async fn http_get_returns_any_status_and_the_body() {
    let server = serve(|request| match request.path.as_str() {
        "/hello" => Reply::new(200, format!("hi {}", request.headers["x-name"])),
        _ => Reply::new(404, "nothing here"),
    })
    .await;
    let provider = http();
    let ctx = OpContext::new("/", "data.http.get.hello");
    let config = config(
        "http.get",
        &[
            ("url", Value::string(format!("{}/hello", server.base))),
            ("headers", strings(&[("X-Name", Value::string("orch"))])),
        ],
    );
    let read = provider.read(&ctx, "http.get", &config).await.expect("read").expect("a value");
    assert_eq!(field(&read, "status"), &Value::Int(200));
    assert_eq!(field(&read, "body"), &Value::string("hi orch"));
    assert_eq!(field(&read, "url"), field(&config, "url"));

    let missing = with(&config, "url", Value::string(format!("{}/missing", server.base)));
    let read = provider.read(&ctx, "http.get", &missing).await.expect("read").expect("a value");
    assert_eq!(field(&read, "status"), &Value::Int(404));
    assert_eq!(field(&read, "body"), &Value::string("nothing here"));
}

#[tokio::test]
async fn cancellation_abandons_a_request() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let provider = http();
    let ctx = OpContext::new("/", "http.request.stuck");
    let config = config("http.request", &[("url", Value::string(format!("{base}/items")))]);
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let error = provider
        .apply(&ctx, "http.request", Change::Create { config: &config })
        .await
        .expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(error.message, format!("the POST request to {base}/items was cancelled"));
}

#[test]
fn validation_checks_methods_and_urls() {
    let provider = http();
    let config = config(
        "http.request",
        &[("url", Value::string("ftp://example.com/x")), ("method", Value::string("post"))],
    );
    let problems = provider.validate("http.request", &config);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("did you mean \"POST\"")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("http or https")), "{problems:?}");
}
