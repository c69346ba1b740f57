//! The NATS JetStream server of the tests that need one:
//! `ORCH_TEST_NATS_URL` (by default `nats://127.0.0.1:4222`). When it cannot
//! be reached the test fails, saying how to start it or skip; with
//! `ORCH_TEST_SKIP_NATS=1` the tests are skipped, and each says so. The
//! runtime's tests and the command line's tests include this file.

use std::sync::OnceLock;
use std::time::Duration;

/// The server when `ORCH_TEST_NATS_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// The URL of the test server, checked once per test binary; `None` (after
/// printing that the test is skipped) when `ORCH_TEST_SKIP_NATS=1`.
///
/// # Panics
///
/// When the server cannot be reached, or has no JetStream, and skipping was
/// not asked for.
pub(crate) fn server() -> Option<String> {
    if std::env::var("ORCH_TEST_SKIP_NATS").is_ok_and(|value| value == "1") {
        println!("skipped: ORCH_TEST_SKIP_NATS=1 (this test needs NATS JetStream)");
        return None;
    }
    let url = std::env::var("ORCH_TEST_NATS_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    static REACHED: OnceLock<Result<(), String>> = OnceLock::new();
    let reached = REACHED.get_or_init(|| {
        let probe = url.clone();
        std::thread::spawn(move || {
            block_on(async move {
                // The account's JetStream information, as plain JSON: the
                // typed reply of the client differs between server versions.
                let js = connect(&probe).await?;
                let reply: serde_json::Value = js
                    .request("INFO".to_string(), &serde_json::json!({}))
                    .await
                    .map_err(|error| error.to_string())?;
                match reply.get("error") {
                    Some(error) => Err(format!("JetStream: {error}")),
                    None => Ok(()),
                }
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the connection attempt panicked".to_string()))
    });
    if let Err(error) = reached {
        panic!(
            "NATS JetStream is not reachable at {url}: {error}\n\
             Start it (`nats-server -js -a 127.0.0.1 &`), point ORCH_TEST_NATS_URL at another \
             server, or set ORCH_TEST_SKIP_NATS=1 to skip the tests that need NATS."
        );
    }
    Some(url)
}

/// A JetStream context on the server at `url`.
pub(crate) async fn connect(url: &str) -> Result<async_nats::jetstream::Context, String> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|error| error.to_string())?;
    Ok(async_nats::jetstream::new(client))
}

/// Runs `work` on a runtime of its own.
pub(crate) fn block_on<T>(work: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work)
}

/// A JetStream API request (`STREAM.INFO.X`) on the server at `url`: the
/// reply as JSON, errors included (`{"error": …}`).
pub(crate) fn api(url: &str, subject: &str, payload: serde_json::Value) -> serde_json::Value {
    let url = url.to_string();
    let subject = subject.to_string();
    std::thread::spawn(move || {
        block_on(async move {
            let js = connect(&url).await.unwrap_or_else(|error| panic!("NATS at {url}: {error}"));
            let reply: serde_json::Value = js
                .request(subject.clone(), &payload)
                .await
                .unwrap_or_else(|error| panic!("{subject}: {error}"));
            reply
        })
    })
    .join()
    .expect("the request thread")
}
