//! The RabbitMQ server of the tests that need one, and the rule they all
//! follow: the server's management API is `ORCH_TEST_RABBITMQ_URL`, with the
//! credentials in the URL (by default the local server,
//! `http://guest:guest@127.0.0.1:15672`); when it cannot be reached the test
//! fails, saying how to start it or skip; with `ORCH_TEST_SKIP_RABBITMQ=1`
//! the tests are skipped, and each says so.
//!
//! The runtime's tests and the command line's tests
//! (`cli/tests/common/mod.rs`) include this file. Drift is made, and the
//! server's catalogue read, through the same management API.

use std::sync::OnceLock;
use std::time::Duration;

/// The server when `ORCH_TEST_RABBITMQ_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "http://guest:guest@127.0.0.1:15672";

/// The management API of the test server.
#[derive(Clone, Debug)]
pub(crate) struct Rabbit {
    /// Without credentials, without a trailing `/`.
    pub(crate) endpoint: String,
    pub(crate) username: String,
    pub(crate) password: String,
}

/// The test server, checked once per test binary; `None` (after printing
/// that the test is skipped) when `ORCH_TEST_SKIP_RABBITMQ=1`.
///
/// # Panics
///
/// When the server cannot be reached and skipping was not asked for.
pub(crate) fn server() -> Option<Rabbit> {
    if std::env::var("ORCH_TEST_SKIP_RABBITMQ").is_ok_and(|value| value == "1") {
        println!("skipped: ORCH_TEST_SKIP_RABBITMQ=1 (this test needs RabbitMQ)");
        return None;
    }
    let url = std::env::var("ORCH_TEST_RABBITMQ_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let rabbit = parse(&url).unwrap_or_else(|error| panic!("ORCH_TEST_RABBITMQ_URL: {error}"));
    static REACHED: OnceLock<Result<(), String>> = OnceLock::new();
    let reached = REACHED.get_or_init(|| {
        rabbit.call("GET", "/api/whoami", None).and_then(|(status, body)| match status {
            200 => Ok(()),
            _ => Err(format!("GET /api/whoami answered {status}: {body}")),
        })
    });
    if let Err(error) = reached {
        panic!(
            "the RabbitMQ management API is not reachable at {}: {error}\n\
             Start RabbitMQ with its management plugin (`rabbitmq-plugins enable \
             rabbitmq_management`), point ORCH_TEST_RABBITMQ_URL at another server \
             (http://USER:PASSWORD@HOST:15672), or set ORCH_TEST_SKIP_RABBITMQ=1 to skip the \
             tests that need RabbitMQ.",
            rabbit.endpoint
        );
    }
    Some(rabbit)
}

fn parse(url: &str) -> Result<Rabbit, String> {
    let mut parsed = reqwest::Url::parse(url).map_err(|error| error.to_string())?;
    let username = match parsed.username() {
        "" => "guest".to_string(),
        name => name.to_string(),
    };
    let password = parsed.password().unwrap_or("guest").to_string();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    let endpoint = parsed.as_str().trim_end_matches('/').to_string();
    Ok(Rabbit { endpoint, username, password })
}

impl Rabbit {
    /// `METHOD ENDPOINT+PATH` with `body`: the status and the body's text.
    /// Runs on a thread of its own, so that callers may be inside a runtime.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<(u16, String), String> {
        let this = self.clone();
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let url = format!("{}{path}", self.endpoint);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .map_err(|error| error.to_string())?;
                let mut request =
                    client.request(method, &url).basic_auth(&this.username, Some(&this.password));
                if let Some(body) = body {
                    request =
                        request.header("content-type", "application/json").body(body.to_string());
                }
                let response = request.send().await.map_err(|error| error.to_string())?;
                let status = response.status().as_u16();
                let text = response.text().await.map_err(|error| error.to_string())?;
                Ok((status, text))
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the request panicked".to_string()))
    }

    /// GET `path`: the JSON body, or `None` for 404.
    pub(crate) fn get(&self, path: &str) -> Option<serde_json::Value> {
        let (status, body) = self.call("GET", path, None).unwrap_or_else(|e| panic!("{e}"));
        match status {
            404 => None,
            200 => Some(serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))),
            _ => panic!("GET {path}: {status} {body}"),
        }
    }

    /// A request that must succeed (2xx).
    pub(crate) fn send(&self, method: &str, path: &str, body: Option<serde_json::Value>) {
        let (status, text) = self.call(method, path, body).unwrap_or_else(|e| panic!("{e}"));
        assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
    }

    pub(crate) fn exists(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// Whether `user` can log in with `password`.
    pub(crate) fn can_log_in(&self, user: &str, password: &str) -> bool {
        let other = Rabbit { username: user.into(), password: password.into(), ..self.clone() };
        matches!(other.call("GET", "/api/whoami", None), Ok((200, _)))
    }

    /// Deletes a virtual host and a user if they exist: a test's cleanup.
    pub(crate) fn remove(&self, vhost: &str, users: &[&str]) {
        let _ = self.call("DELETE", &format!("/api/vhosts/{}", encode(vhost)), None);
        for user in users {
            let _ = self.call("DELETE", &format!("/api/users/{}", encode(user)), None);
        }
    }
}

/// A path segment percent-encoded (`/` as `%2F`).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A name unique to one test run: `PREFIX_1a2b3c4d`.
pub(crate) fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{prefix}_{:08x}", hasher.finish() as u32)
}
