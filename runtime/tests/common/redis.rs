//! The Redis server of the tests that need one: `ORCH_TEST_REDIS_URL` (by
//! default `redis://127.0.0.1:6379`). When it cannot be reached the test
//! fails, saying how to start it or skip; with `ORCH_TEST_SKIP_REDIS=1` the
//! tests are skipped, and each says so. The runtime's tests and the command
//! line's tests include this file.

use std::sync::OnceLock;

/// The server when `ORCH_TEST_REDIS_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The URL of the test server, checked once per test binary; `None` (after
/// printing that the test is skipped) when `ORCH_TEST_SKIP_REDIS=1`.
///
/// # Panics
///
/// When the server cannot be reached and skipping was not asked for.
pub(crate) fn server() -> Option<String> {
    if std::env::var("ORCH_TEST_SKIP_REDIS").is_ok_and(|value| value == "1") {
        println!("skipped: ORCH_TEST_SKIP_REDIS=1 (this test needs Redis)");
        return None;
    }
    let url = std::env::var("ORCH_TEST_REDIS_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    static REACHED: OnceLock<Result<(), String>> = OnceLock::new();
    let reached = REACHED.get_or_init(|| {
        let probe = url.clone();
        std::thread::spawn(move || reach(&probe))
            .join()
            .unwrap_or_else(|_| Err("the connection attempt panicked".to_string()))
    });
    if let Err(error) = reached {
        panic!(
            "Redis is not reachable at {url}: {error}\n\
             Start it (`redis-server --daemonize yes`), point ORCH_TEST_REDIS_URL at another \
             server, or set ORCH_TEST_SKIP_REDIS=1 to skip the tests that need Redis."
        );
    }
    Some(url)
}

/// Connects to `url` and sends `PING`.
fn reach(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|error| format!("not a Redis URL: {error}"))?;
    let mut connection = client
        .get_connection_with_timeout(std::time::Duration::from_secs(10))
        .map_err(|error| error.to_string())?;
    redis::cmd("PING").query::<String>(&mut connection).map(drop).map_err(|error| error.to_string())
}

/// `redis-cli -u URL ARGS`, the server's own client, for tests that change
/// the server behind Orch's back: the reply's lines.
///
/// # Panics
///
/// When `redis-cli` cannot be run or the server answers with an error.
pub(crate) fn cli(url: &str, args: &[&str]) -> Vec<String> {
    let output = std::process::Command::new("redis-cli")
        .args(["-u", url])
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run redis-cli: {error}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let refused = text.starts_with("ERR") || text.starts_with("(error)");
    assert!(output.status.success() && !refused, "redis-cli {args:?}: {text}");
    text.lines().map(str::to_string).collect()
}

/// Runs `args` as one command on the server at `url`, for tests that look
/// at or change the server behind Orch's back.
pub(crate) fn command<T: redis::FromRedisValue>(url: &str, args: &[&str]) -> T {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_connection_with_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|error| panic!("Redis at {url} cannot be reached: {error}"));
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(&mut connection).unwrap_or_else(|error| panic!("{args:?}: {error}"))
}
