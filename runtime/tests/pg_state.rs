//! The PostgreSQL state backend against a real server: `ORCH_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); the tests fail
//! when it cannot be reached, unless `ORCH_TEST_SKIP_PG=1`
//! (`common/pg.rs`). Each one uses states of its own, named after it with a
//! random suffix, and removes them when it passes.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_runtime::codec::Sealer;
use orch_runtime::state::postgres::{PostgresBackend, PostgresOptions, lock_key};
use orch_runtime::state::{
    Backend, InstanceState, LockInfo, NO_WAIT, Operation, State, StateError,
};
use orch_stdlib::Value;
use smol_str::SmolStr;
use tokio_postgres::{Client, NoTls};

/// The server's URL, or `None` (and a note) when the tests are skipped.
fn server_url() -> Option<String> {
    common::pg::server()
}

/// A state name no other test (or earlier run) uses.
fn unique_name(test: &str) -> String {
    format!("test-{test}-{}", uuid::Uuid::new_v4())
}

/// A sealer for tests: XOR with a fixed key, in hexadecimal. Enough to
/// show that plaintext never reaches the table and that the backend seals
/// and opens through it; the real cipher is tested in `secrets.rs`.
struct XorSealer;

impl Sealer for XorSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<String, String> {
        Ok(plaintext.iter().map(|byte| format!("{:02x}", byte ^ 0x5a)).collect())
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        (0..sealed.len())
            .step_by(2)
            .map(|i| {
                sealed
                    .get(i..i + 2)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .map(|byte| byte ^ 0x5a)
                    .ok_or_else(|| "not a sealed value".to_string())
            })
            .collect()
    }
}

fn sealer() -> Option<Arc<dyn Sealer>> {
    Some(Arc::new(XorSealer))
}

/// `url` with a `state` parameter.
fn with_state(url: &str, name: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}state={name}")
}

/// `url` naming another database on the same server.
fn with_database(url: &str, database: &str) -> String {
    let (location, query) = match url.split_once('?') {
        Some((location, query)) => (location, format!("?{query}")),
        None => (url, String::new()),
    };
    let server =
        match location.strip_prefix("postgres://").or(location.strip_prefix("postgresql://")) {
            Some(rest) if rest.contains('/') => &location[..location.rfind('/').expect("a slash")],
            _ => location,
        };
    format!("{server}/{database}{query}")
}

async fn backend(url: &str, name: &str) -> PostgresBackend {
    PostgresBackend::connect(&with_state(url, name), "unused-default", sealer())
        .await
        .expect("connect")
}

/// A plain connection for looking at the tables.
async fn inspector(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn remove_state(url: &str, name: &str) {
    let client = inspector(url).await;
    client.execute("DELETE FROM orch.states WHERE name = $1", &[&name]).await.expect("delete");
    client.execute("DELETE FROM orch.locks WHERE state = $1", &[&name]).await.expect("delete");
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::map(
        entries
            .iter()
            .map(|(key, value)| (SmolStr::new(key), value.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn file(path: &str, content: &str) -> InstanceState {
    InstanceState {
        kind: "fs.file".into(),
        provider: "fs".into(),
        value: map(&[
            ("path", Value::string(path)),
            ("content", Value::string(content)),
            ("mode", Value::Int(0o644)),
            ("timeout", Value::Duration(1500)),
            ("ratio", Value::Float(1.0)),
        ]),
        depends_on: vec!["fs.dir[\"root\"]".into()],
        tainted: false,
        protected: true,
        create_before_destroy: true,
        location: Some("main.orch:3:1".into()),
    }
}

fn operation(address: &str, planned: Value) -> Operation {
    Operation {
        address: address.into(),
        action: orch_runtime::events::Step::Create,
        kind: "fs.file".into(),
        provider: "fs".into(),
        planned,
    }
}

fn holder(operation: &str, pid: u32) -> LockInfo {
    LockInfo {
        pid,
        host: "ci-runner-7".into(),
        user: "deploy".into(),
        operation: operation.into(),
        since: "2025-01-02T03:04:05Z".into(),
        orch_version: "0.1.0".into(),
    }
}

#[tokio::test]
async fn recorded_operations_load_back() {
    let Some(url) = server_url() else { return };
    let name = unique_name("record");
    let mut backend = backend(&url, &name).await;
    let first = backend.load().await.unwrap();
    assert!(first.created);
    assert_eq!(first.state.serial, 0);
    assert!(first.interrupted.is_empty());

    let api = file("/srv/api.conf", "port = 80");
    let web = file("/srv/web.conf", "root = /srv");
    backend.record("fs.file[\"api\"]", Some(&api), 1).await.unwrap();
    backend.record("fs.file[\"web\"]", Some(&web), 2).await.unwrap();
    let mut updated = api.clone();
    updated.tainted = true;
    backend.record("fs.file[\"api\"]", Some(&updated), 3).await.unwrap();
    backend.record("fs.file[\"web\"]", None, 4).await.unwrap();

    // A fresh connection sees exactly what was recorded.
    let mut other = self::backend(&url, &name).await;
    let loaded = other.load().await.unwrap();
    assert!(!loaded.created);
    assert_eq!(loaded.state.lineage, first.state.lineage);
    assert_eq!(loaded.state.serial, 4);
    assert_eq!(loaded.state.instances.len(), 1);
    assert_eq!(loaded.state.instances["fs.file[\"api\"]"], updated);
    assert!(loaded.interrupted.is_empty());
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn a_new_state_is_not_written_by_loading_it() {
    let Some(url) = server_url() else { return };
    let name = unique_name("new");
    let mut backend = backend(&url, &name).await;
    let first = backend.load().await.unwrap();
    let second = backend.load().await.unwrap();
    assert!(first.created && second.created);
    let rows = inspector(&url)
        .await
        .query("SELECT 1 FROM orch.states WHERE name = $1", &[&name])
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn finished_state_loads_back_with_outputs() {
    let Some(url) = server_url() else { return };
    let name = unique_name("finish");
    let mut backend = backend(&url, &name).await;
    let mut state = backend.load().await.unwrap().state;
    let lineage = state.lineage.clone();
    for index in 0..3 {
        let address = format!("fs.file[\"{index}\"]");
        let instance = file(&format!("/srv/{index}"), "x");
        backend.record(&address, Some(&instance), index + 1).await.unwrap();
        state.instances.insert(address, instance);
        state.serial = index + 1;
    }
    backend.begin(&operation("fs.file[\"late\"]", Value::string("planned"))).await.unwrap();

    // The end of the run: one instance forgotten (as `state rm` does), an
    // output, one more serial.
    state.instances.remove("fs.file[\"1\"]");
    state.outputs.insert("url".into(), Value::string("http://localhost"));
    state.outputs.insert("ports".into(), Value::list(vec![Value::Int(80), Value::Int(443)]));
    state.serial = 4;
    backend.finish(&state).await.unwrap();

    let loaded = self::backend(&url, &name).await.load().await.unwrap();
    assert_eq!(loaded.state, state);
    assert_eq!(loaded.state.lineage, lineage);
    assert!(loaded.interrupted.is_empty(), "finish clears the journal");

    // Finishing again with the same serial (nothing changed) is allowed.
    backend.finish(&state).await.unwrap();
    // A finish that writes many instances at once, then forgets them all.
    let mut big = state.clone();
    for index in 0..2500 {
        big.instances.insert(format!("fs.file[\"many-{index}\"]"), file("/many", "y"));
    }
    big.serial = 5;
    backend.finish(&big).await.unwrap();
    assert_eq!(self::backend(&url, &name).await.load().await.unwrap().state, big);
    let mut empty = State { serial: 6, ..big.clone() };
    empty.instances.clear();
    empty.outputs.clear();
    backend.finish(&empty).await.unwrap();
    assert_eq!(self::backend(&url, &name).await.load().await.unwrap().state, empty);
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn begun_operations_without_an_outcome_load_as_interrupted() {
    let Some(url) = server_url() else { return };
    let name = unique_name("journal");
    let mut backend = backend(&url, &name).await;
    let lineage = backend.load().await.unwrap().state.lineage;
    let planned = map(&[("path", Value::string("/srv/a")), ("size", Value::Unknown)]);
    let first = operation("fs.file[\"a\"]", planned.clone());
    let second = Operation {
        action: orch_runtime::events::Step::Delete,
        ..operation("fs.file[\"b\"]", Value::None)
    };
    // The first write of a new state is a begin: the state row comes with it.
    backend.begin(&first).await.unwrap();
    backend.begin(&second).await.unwrap();
    // A crash here: a new process finds both, in order.
    drop(backend);

    let mut next = self::backend(&url, &name).await;
    let loaded = next.load().await.unwrap();
    assert!(!loaded.created);
    assert_eq!(loaded.state.lineage, lineage);
    assert_eq!(loaded.interrupted, vec![first.clone(), second.clone()]);

    // Recording an outcome removes its operation from the journal.
    next.record("fs.file[\"a\"]", Some(&file("/srv/a", "")), 1).await.unwrap();
    let loaded = next.load().await.unwrap();
    assert_eq!(loaded.interrupted, vec![second]);
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn a_second_run_is_refused_with_the_holders_details() {
    let Some(url) = server_url() else { return };
    let name = unique_name("lock");
    let mut first = backend(&url, &name).await;
    let mut second = backend(&url, &name).await;
    let first_holder = holder("apply", 4242);
    first.lock(&first_holder, NO_WAIT).await.unwrap();
    // Taking it again in the same run is harmless.
    first.lock(&first_holder, NO_WAIT).await.unwrap();

    let error = second.lock(&holder("destroy", 1), NO_WAIT).await.unwrap_err();
    assert_eq!(error, StateError::Locked(Box::new(first_holder.clone())));
    assert_eq!(
        error.to_string(),
        "the state is locked: apply by deploy@ci-runner-7 (pid 4242) since 2025-01-02T03:04:05Z"
    );

    // Another state is not locked.
    let mut unrelated = self::backend(&url, &unique_name("lock-other")).await;
    unrelated.lock(&holder("apply", 1), NO_WAIT).await.unwrap();
    unrelated.unlock().await.unwrap();

    first.unlock().await.unwrap();
    let second_holder = holder("destroy", 5151);
    second.lock(&second_holder, NO_WAIT).await.unwrap();
    assert_eq!(
        first.lock(&first_holder, NO_WAIT).await.unwrap_err(),
        StateError::Locked(Box::new(second_holder))
    );
    second.unlock().await.unwrap();
    let rows = inspector(&url)
        .await
        .query("SELECT 1 FROM orch.locks WHERE state = $1", &[&name])
        .await
        .unwrap();
    assert!(rows.is_empty(), "unlock removes the holder's details");
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn waiting_for_the_lock_succeeds_once_it_is_released() {
    let Some(url) = server_url() else { return };
    let name = unique_name("wait");
    let mut first = backend(&url, &name).await;
    let mut second = backend(&url, &name).await;
    first.lock(&holder("apply", 1), NO_WAIT).await.unwrap();

    let started = Instant::now();
    let waiter = tokio::spawn(async move {
        let result = second.lock(&holder("apply", 2), Duration::from_secs(20)).await;
        (second, result, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiter.is_finished(), "the second run waits");
    first.unlock().await.unwrap();
    let (mut second, result, waited) = waiter.await.unwrap();
    result.unwrap();
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(
        first.lock(&holder("apply", 1), NO_WAIT).await.unwrap_err(),
        StateError::Locked(Box::new(holder("apply", 2)))
    );
    second.unlock().await.unwrap();
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn waiting_for_the_lock_gives_up_at_the_deadline() {
    let Some(url) = server_url() else { return };
    let name = unique_name("deadline");
    let mut first = backend(&url, &name).await;
    let mut second = backend(&url, &name).await;
    first.lock(&holder("apply", 1), NO_WAIT).await.unwrap();
    let started = Instant::now();
    let error = second.lock(&holder("apply", 2), Duration::from_millis(600)).await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error, StateError::Locked(Box::new(holder("apply", 1))));
    assert!(waited >= Duration::from_millis(600), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    first.unlock().await.unwrap();
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn a_dropped_backend_releases_its_lock() {
    let Some(url) = server_url() else { return };
    let name = unique_name("drop");
    let mut first = backend(&url, &name).await;
    first.lock(&holder("apply", 1), NO_WAIT).await.unwrap();
    drop(first);
    // The connection closes in the background; the server then releases.
    let mut second = backend(&url, &name).await;
    second.lock(&holder("apply", 2), Duration::from_secs(10)).await.unwrap();
    second.unlock().await.unwrap();
    remove_state(&url, &name).await;
}

/// Kills the child when the test ends, whatever happens.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_holder_killed_with_sigkill_releases_the_lock() {
    let Some(url) = server_url() else { return };
    let name = unique_name("sigkill");
    let key = lock_key(&name);
    // A separate process takes the same advisory lock and then sits idle
    // on its connection, as an Orch run does between operations.
    let mut child = KillOnDrop(
        Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url])
            .env("PGAPPNAME", "lock-holder-test")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("psql runs"),
    );
    let mut stdin = child.0.stdin.take().expect("piped");
    writeln!(stdin, "SELECT pg_advisory_lock({key});").unwrap();
    stdin.flush().unwrap();

    let mut backend = backend(&url, &name).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let refusal = loop {
        match backend.lock(&holder("apply", 1), NO_WAIT).await {
            Err(StateError::Locked(found)) => break found,
            Ok(()) => {
                // We were faster than psql: let it take the lock.
                backend.unlock().await.unwrap();
            }
            Err(other) => panic!("{other}"),
        }
        assert!(Instant::now() < deadline, "psql never took the lock");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // psql recorded no details: what PostgreSQL knows of its session.
    assert!(refusal.operation.contains("`lock-holder-test`"), "{refusal:?}");
    assert_eq!(refusal.orch_version, "unknown");

    // SIGKILL: no chance to unlock. The server sees the connection close.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(stdin);
    backend.lock(&holder("apply", 1), Duration::from_secs(10)).await.unwrap();
    backend.unlock().await.unwrap();
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn stale_writers_get_a_conflict_and_change_nothing() {
    let Some(url) = server_url() else { return };
    let name = unique_name("cas");
    let mut first = backend(&url, &name).await;
    let mut second = backend(&url, &name).await;
    first.load().await.unwrap();
    second.load().await.unwrap();

    first.record("fs.file[\"a\"]", Some(&file("/a", "first")), 1).await.unwrap();
    // The second writer also believes it writes serial 1.
    let error = second.record("fs.file[\"b\"]", Some(&file("/b", "second")), 1).await.unwrap_err();
    assert_eq!(error, StateError::Conflict { expected: 0, found: 1 });
    assert_eq!(error.to_string(), "the state was changed by another run (serial 1, expected 0)");
    first.record("fs.file[\"a\"]", Some(&file("/a", "first again")), 2).await.unwrap();
    assert_eq!(
        second.record("fs.file[\"a\"]", None, 2).await.unwrap_err(),
        StateError::Conflict { expected: 1, found: 2 }
    );
    // A finish built on the stale load is refused too.
    let mut stale = State::new();
    stale.serial = 1;
    assert_eq!(
        second.finish(&stale).await.unwrap_err(),
        StateError::Conflict { expected: 0, found: 2 }
    );

    let loaded = first.load().await.unwrap();
    assert_eq!(loaded.state.serial, 2);
    assert_eq!(loaded.state.instances.len(), 1);
    assert_eq!(loaded.state.instances["fs.file[\"a\"]"], file("/a", "first again"));

    // Reloading makes the second writer current again.
    let mut state = second.load().await.unwrap().state;
    state.serial = 3;
    second.finish(&state).await.unwrap();
    // A refused record keeps the instance and its journal entry.
    let begun = operation("fs.file[\"a\"]", Value::None);
    first.begin(&begun).await.unwrap();
    assert_eq!(
        first.record("fs.file[\"a\"]", None, 3).await.unwrap_err(),
        StateError::Conflict { expected: 2, found: 3 }
    );
    let loaded = second.load().await.unwrap();
    assert_eq!(loaded.state.serial, 3);
    assert_eq!(loaded.state.instances["fs.file[\"a\"]"], file("/a", "first again"));
    assert_eq!(loaded.interrupted, vec![begun]);
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn two_new_states_of_the_same_name_conflict() {
    let Some(url) = server_url() else { return };
    let name = unique_name("lineage");
    let mut first = backend(&url, &name).await;
    let mut second = backend(&url, &name).await;
    assert!(first.load().await.unwrap().created);
    assert!(second.load().await.unwrap().created);
    first.record("fs.file[\"a\"]", Some(&file("/a", "")), 1).await.unwrap();
    // The second run made a lineage of its own: it must not write into the
    // first one's state.
    assert_eq!(
        second.record("fs.file[\"b\"]", Some(&file("/b", "")), 1).await.unwrap_err(),
        StateError::Conflict { expected: 0, found: 1 }
    );
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn a_hundred_records_leave_a_consistent_state() {
    let Some(url) = server_url() else { return };
    let name = unique_name("hundred");
    let mut backend = backend(&url, &name).await;
    backend.load().await.unwrap();
    for serial in 1..=100u64 {
        let address = format!("fs.file[\"{}\"]", serial % 40);
        let instance = file(&format!("/srv/{serial}"), "x");
        backend.begin(&operation(&address, instance.value.clone())).await.unwrap();
        // Every seventh operation deletes its instance.
        let outcome = (serial % 7 != 0).then_some(&instance);
        backend.record(&address, outcome, serial).await.unwrap();
    }
    let loaded = self::backend(&url, &name).await.load().await.unwrap();
    assert_eq!(loaded.state.serial, 100);
    assert!(loaded.interrupted.is_empty());
    // The last operation on each address decides whether it exists.
    let mut expected = BTreeMap::new();
    for serial in 1..=100u64 {
        let address = format!("fs.file[\"{}\"]", serial % 40);
        if serial % 7 == 0 {
            expected.remove(&address);
        } else {
            expected.insert(address, file(&format!("/srv/{serial}"), "x"));
        }
    }
    assert_eq!(loaded.state.instances, expected);
    let client = inspector(&url).await;
    let serial: i64 = client
        .query_one("SELECT serial FROM orch.states WHERE name = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    let rows: i64 = client
        .query_one("SELECT count(*) FROM orch.instances WHERE state = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    let journal: i64 = client
        .query_one("SELECT count(*) FROM orch.journal WHERE state = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert_eq!((serial, rows, journal), (100, expected.len() as i64, 0));
    remove_state(&url, &name).await;
}

/// Whether everything written to the write-ahead log before `lsn` is on
/// disk.
async fn flushed(client: &Client, lsn: &str) -> bool {
    client
        .query_one("SELECT pg_current_wal_flush_lsn() >= $1::text::pg_lsn", &[&lsn])
        .await
        .unwrap()
        .get(0)
}

async fn insert_lsn(client: &Client) -> String {
    client.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn without_sync_on_each_call_the_round_sync_flushes() {
    let Some(url) = server_url() else { return };
    let name = unique_name("round-sync");
    let client = inspector(&url).await;
    let options = PostgresOptions { sync: false };
    let mut backend = PostgresBackend::connect_with_options(
        &with_state(&url, &name),
        "unused",
        sealer(),
        options,
    )
    .await
    .unwrap();
    backend.load().await.unwrap();
    let instance = file("/srv/a", "x");
    backend.begin(&operation("fs.file[\"a\"]", instance.value.clone())).await.unwrap();
    backend.record("fs.file[\"a\"]", Some(&instance), 1).await.unwrap();
    // Committed, so visible to others (and safe from a crash of Orch) at
    // once, flushed or not.
    let loaded = self::backend(&url, &name).await.load().await.unwrap();
    assert_eq!(loaded.state.serial, 1);
    assert_eq!(loaded.state.instances["fs.file[\"a\"]"], instance);
    // The round's sync puts everything written before it on disk.
    let written = insert_lsn(&client).await;
    backend.sync().await.unwrap();
    assert!(flushed(&client, &written).await);
    // Nothing to flush: no commit at all.
    backend.sync().await.unwrap();

    // With the default options, each call is flushed before it returns.
    let mut durable = self::backend(&url, &name).await;
    durable.load().await.unwrap();
    // (Other sessions write too: what was inserted before the record is
    // what its flush must have covered.)
    let before = insert_lsn(&client).await;
    durable.record("fs.file[\"a\"]", None, 2).await.unwrap();
    assert!(flushed(&client, &before).await);
    remove_state(&url, &name).await;
}

#[tokio::test]
async fn secrets_are_sealed_and_refused_without_a_key() {
    let Some(url) = server_url() else { return };
    let name = unique_name("secret");
    let password = "hunter2-plaintext";
    let mut instance = file("/etc/db.conf", "x");
    instance.value = map(&[
        ("path", Value::string("/etc/db.conf")),
        ("content", Value::secret(Value::string(password))),
    ]);

    let mut backend = backend(&url, &name).await;
    let mut state = backend.load().await.unwrap().state;
    backend.begin(&operation("fs.file[\"db\"]", instance.value.clone())).await.unwrap();
    let client = inspector(&url).await;
    let journal: String = client
        .query_one("SELECT operation::text FROM orch.journal WHERE state = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert!(!journal.contains(password) && journal.contains("$secret"), "{journal}");

    backend.record("fs.file[\"db\"]", Some(&instance), 1).await.unwrap();
    state.instances.insert("fs.file[\"db\"]".into(), instance.clone());
    state.outputs.insert("password".into(), Value::secret(Value::string(password)));
    state.serial = 2;
    backend.finish(&state).await.unwrap();

    let stored: String = client
        .query_one("SELECT data::text FROM orch.instances WHERE state = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert!(!stored.contains(password), "{stored}");
    assert!(stored.contains("$secret") && stored.contains("\"sensitive_paths\": [\"content\"]"));
    let outputs: String = client
        .query_one("SELECT outputs::text FROM orch.states WHERE name = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert!(!outputs.contains(password) && outputs.contains("$secret"), "{outputs}");
    assert_eq!(self::backend(&url, &name).await.load().await.unwrap().state, state);

    // Without a key, secrets can neither be read nor written, and a refused
    // write changes nothing.
    let mut keyless =
        PostgresBackend::connect(&with_state(&url, &name), "unused", None).await.unwrap();
    let error = keyless.load().await.unwrap_err();
    assert!(matches!(error, StateError::Corrupt(_)), "{error:?}");
    assert!(error.to_string().contains("no key"), "{error}");

    let fresh = unique_name("secret-nokey");
    let mut keyless =
        PostgresBackend::connect(&with_state(&url, &fresh), "unused", None).await.unwrap();
    keyless.load().await.unwrap();
    let error = keyless.record("fs.file[\"db\"]", Some(&instance), 1).await.unwrap_err();
    assert_eq!(error, StateError::NoKey);
    assert!(error.to_string().contains("ORCH_STATE_KEY"), "{error}");
    assert_eq!(
        keyless.begin(&operation("fs.file[\"db\"]", instance.value.clone())).await.unwrap_err(),
        StateError::NoKey
    );
    let mut with_secret_output = State::new();
    with_secret_output.outputs.insert("pw".into(), Value::secret(Value::string(password)));
    with_secret_output.serial = 1;
    assert_eq!(keyless.finish(&with_secret_output).await.unwrap_err(), StateError::NoKey);
    let rows = client.query("SELECT 1 FROM orch.states WHERE name = $1", &[&fresh]).await.unwrap();
    assert!(rows.is_empty(), "nothing was written");
    // Values without secrets need no key.
    keyless.record("fs.file[\"plain\"]", Some(&file("/plain", "x")), 1).await.unwrap();
    remove_state(&url, &name).await;
    remove_state(&url, &fresh).await;
}

#[tokio::test]
async fn the_state_is_named_by_the_url_or_the_default() {
    let Some(url) = server_url() else { return };
    let default = unique_name("default");
    let backend = PostgresBackend::connect(&url, &default, None).await.unwrap();
    assert_eq!(backend.name(), default);
    let named =
        PostgresBackend::connect(&with_state(&url, "team%2Fweb"), &default, None).await.unwrap();
    assert_eq!(named.name(), "team/web");
    assert!(named.describe().contains("team/web"), "{}", named.describe());
    assert!(!named.describe().contains("state="), "{}", named.describe());
}

#[tokio::test]
async fn connection_errors_name_the_url_without_its_password() {
    // No server listens on port 1.
    let error = PostgresBackend::connect(
        "postgres://orch:topsecret@127.0.0.1:1/infra?state=web&connect_timeout=5",
        "main",
        None,
    )
    .await
    .err()
    .expect("refused");
    let StateError::Io(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("postgres://orch@127.0.0.1:1/infra"), "{message}");
    assert!(!message.contains("topsecret"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");

    // A server's own message comes through.
    let Some(url) = server_url() else { return };
    let missing = with_database(&url, "orch_no_such_database");
    let error = PostgresBackend::connect(&missing, "main", None).await.err().expect("refused");
    assert!(
        error.to_string().contains("database \"orch_no_such_database\" does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn processes_starting_at_once_on_an_empty_database_create_the_schema_once() {
    let Some(url) = server_url() else { return };
    let database = format!("orch_test_{}", uuid::Uuid::new_v4().simple());
    let admin = inspector(&url).await;
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await.unwrap();
    let fresh = with_database(&url, &database);
    let connections: Vec<_> = (0..8)
        .map(|index| {
            let url = fresh.clone();
            tokio::spawn(async move {
                let mut backend =
                    PostgresBackend::connect(&url, &format!("state-{index}"), None).await?;
                backend.load().await?;
                backend.record("fs.file[\"a\"]", Some(&file("/a", "x")), 1).await
            })
        })
        .collect();
    let results: Vec<_> = futures_join(connections).await;
    admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await.unwrap();
    for result in results {
        result.unwrap();
    }
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await.expect("the task ran"));
    }
    results
}
