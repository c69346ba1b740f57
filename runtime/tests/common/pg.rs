//! The PostgreSQL server of the tests that need one, and the rule they all
//! follow: the server is `ORCH_TEST_PG_URL` (by default the local one,
//! `postgres://postgres@127.0.0.1:5432/postgres`); when it cannot be
//! reached the test fails, saying how to start it or skip; with
//! `ORCH_TEST_SKIP_PG=1` the tests are skipped, and each says so.
//!
//! The one place this rule is written: the runtime's tests and benchmarks
//! and the command line's tests (`cli/tests/common/mod.rs`) include this
//! file.

use std::sync::OnceLock;

/// The server when `ORCH_TEST_PG_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The URL of the test server, checked once per test binary; `None` (after
/// printing that the test is skipped) when `ORCH_TEST_SKIP_PG=1`.
///
/// # Panics
///
/// When the server cannot be reached and skipping was not asked for: a
/// test that needs a server and has none fails.
pub(crate) fn server() -> Option<String> {
    if std::env::var("ORCH_TEST_SKIP_PG").is_ok_and(|value| value == "1") {
        println!("skipped: ORCH_TEST_SKIP_PG=1 (this test needs PostgreSQL)");
        return None;
    }
    let url = std::env::var("ORCH_TEST_PG_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    static REACHED: OnceLock<Result<(), String>> = OnceLock::new();
    let reached = REACHED.get_or_init(|| {
        let probe = url.clone();
        // Its own thread and runtime: callers may be inside a runtime.
        std::thread::spawn(move || reach(&probe))
            .join()
            .unwrap_or_else(|_| Err("the connection attempt panicked".to_string()))
    });
    if let Err(error) = reached {
        panic!(
            "PostgreSQL is not reachable at {url}: {error}\n\
             Start it (`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), \
             point ORCH_TEST_PG_URL at another server, or set ORCH_TEST_SKIP_PG=1 to skip the \
             tests that need PostgreSQL."
        );
    }
    Some(url)
}

/// Connects to `url` and runs `SELECT 1`.
fn reach(url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start a runtime: {error}"))?;
    runtime.block_on(async {
        let config: tokio_postgres::Config =
            url.parse().map_err(|error| format!("not a connection URL: {error}"))?;
        let connect = config.connect(tokio_postgres::NoTls);
        let (client, connection) =
            tokio::time::timeout(std::time::Duration::from_secs(10), connect)
                .await
                .map_err(|_| "no answer within 10 s".to_string())?
                .map_err(|error| with_causes(&error))?;
        let driver = tokio::spawn(connection);
        let answer = client.simple_query("SELECT 1").await.map_err(|error| with_causes(&error));
        drop(client);
        let _ = driver.await;
        answer.map(drop)
    })
}

/// An error with its causes: `error connecting to server: Connection refused`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    text
}
