//! The local state backend on real folders, and the keys that seal
//! secrets. Cross-process behaviour (the lock, `kill -9`) is tested with
//! child processes: the test binary runs itself again with
//! `ORCH_TEST_CHILD` set, and the same test function then plays the child.
//! No test reads the real environment's key or the user's home: keys and
//! configuration folders are passed as values.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orch_runtime::codec::Sealer;
use orch_runtime::secrets::{self, KeyEnv, KeySource, StateKey};
use orch_runtime::state::local::{
    BACKUP_FILE, JOURNAL_FILE, LOCK_FILE, LocalBackend, LocalOptions, STATE_FILE,
};
use orch_runtime::state::{
    Backend, InstanceState, LockInfo, NO_WAIT, Operation, State, StateError,
};
use orch_stdlib::Value;
use smol_str::SmolStr;

/// Set in a child process to the folder it works in.
const CHILD_ENV: &str = "ORCH_TEST_CHILD";
const PLAINTEXT: &str = "correct-horse-battery-staple";

fn key(byte: u8) -> Arc<dyn Sealer> {
    Arc::new(StateKey::from_bytes(&[byte; 32]))
}

fn backend(dir: &Path, sealer: Option<Arc<dyn Sealer>>) -> LocalBackend {
    // Tests do not need durability against an OS crash.
    LocalBackend::with_options(
        dir.to_path_buf(),
        sealer,
        LocalOptions { sync: false, background: false },
    )
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::map(
        entries.iter().map(|(k, v)| (SmolStr::new(k), v.clone())).collect::<BTreeMap<_, _>>(),
    )
}

fn instance(index: usize) -> InstanceState {
    InstanceState {
        kind: "fs.file".into(),
        provider: "fs".into(),
        value: map(&[
            ("path", Value::string(format!("/srv/file-{index}"))),
            ("mode", Value::Int(0o644)),
            ("ratio", Value::Float(1.0)),
            ("timeout", Value::Duration(1500)),
            ("tags", Value::list(vec![Value::string("a"), Value::None, Value::Bool(true)])),
        ]),
        depends_on: vec![format!("fs.dir[\"{index}\"]")],
        tainted: index.is_multiple_of(3),
        protected: index.is_multiple_of(5),
        create_before_destroy: index.is_multiple_of(7),
        location: Some(format!("main.orch:{index}:1")),
    }
}

fn secret_instance() -> InstanceState {
    InstanceState {
        kind: "pg.role".into(),
        provider: "pg".into(),
        value: map(&[
            ("name", Value::string("app")),
            ("password", Value::secret(Value::string(PLAINTEXT))),
        ]),
        depends_on: Vec::new(),
        tainted: false,
        protected: false,
        create_before_destroy: false,
        location: None,
    }
}

fn address(index: usize) -> String {
    format!("fs.file[\"{index}\"]")
}

fn operation(address: &str, action: &str, planned: Value) -> Operation {
    Operation {
        address: address.to_string(),
        action: action.parse().expect("a step"),
        kind: "fs.file".into(),
        provider: "fs".into(),
        planned,
    }
}

/// A state with `count` instances and an output, as a run leaves it.
fn sample_state(count: usize) -> State {
    let mut state = State::new();
    for index in 0..count {
        state.instances.insert(address(index), instance(index));
    }
    state.serial = count as u64;
    state.outputs.insert("url".into(), Value::string("https://example.invalid"));
    state.outputs.insert("$odd".into(), map(&[("$duration", Value::Int(3))]));
    state
}

/// Every byte the backend wrote, file by file.
fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

fn assert_no_plaintext(dir: &Path) {
    let files = files_in(dir);
    assert!(!files.is_empty());
    for (path, bytes) in files {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PLAINTEXT),
            "{} holds the plaintext secret:\n{text}",
            path.display()
        );
    }
}

#[tokio::test]
async fn a_finished_state_loads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let loaded = local.load().await.unwrap();
    assert!(loaded.created);
    assert!(loaded.interrupted.is_empty());
    assert!(!dir.path().join(STATE_FILE).exists(), "loading a missing state writes nothing");

    let state = sample_state(20);
    local.finish(&state).await.unwrap();
    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert_eq!(loaded.state, state);
    assert!(!loaded.created);
    assert!(!dir.path().join(BACKUP_FILE).exists(), "no previous snapshot, no backup");

    // A second run: the first snapshot becomes the backup.
    let first = std::fs::read(dir.path().join(STATE_FILE)).unwrap();
    let mut second = state.clone();
    second.instances.remove(&address(3));
    second.serial += 1;
    let mut local = backend(dir.path(), None);
    local.load().await.unwrap();
    local.finish(&second).await.unwrap();
    assert_eq!(backend(dir.path(), None).load().await.unwrap().state, second);
    assert_eq!(std::fs::read(dir.path().join(BACKUP_FILE)).unwrap(), first);

    let snapshot: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(STATE_FILE)).unwrap()).unwrap();
    assert_eq!(snapshot["format_version"], 1);
    assert_eq!(snapshot["lineage"], state.lineage.as_str());
    assert_eq!(snapshot["serial"], 21);
    assert_eq!(snapshot["instances"]["fs.file[\"1\"]"]["kind"], "fs.file");
    assert_eq!(snapshot["outputs"]["url"], "https://example.invalid");
}

#[tokio::test]
async fn records_survive_a_crash_and_replay_to_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let mut expected = local.load().await.unwrap().state;
    expected.outputs.clear();
    local.finish(&expected).await.unwrap();

    for index in 0..10 {
        local
            .begin(&operation(&address(index), "create", map(&[("path", Value::Unknown)])))
            .await
            .unwrap();
        expected.serial += 1;
        expected.instances.insert(address(index), instance(index));
        local.record(&address(index), Some(&instance(index)), expected.serial).await.unwrap();
    }
    local.begin(&operation(&address(4), "delete", instance(4).value)).await.unwrap();
    expected.serial += 1;
    expected.instances.remove(&address(4));
    local.record(&address(4), None, expected.serial).await.unwrap();
    let mut updated = instance(5);
    updated.tainted = true;
    local.begin(&operation(&address(5), "update", updated.value.clone())).await.unwrap();
    expected.serial += 1;
    expected.instances.insert(address(5), updated.clone());
    local.record(&address(5), Some(&updated), expected.serial).await.unwrap();
    // What the executor does between rounds: harmless, and the lines stay.
    local.sync().await.unwrap();
    local.sync().await.unwrap();
    // The crash: no `finish`.
    drop(local);

    let journal = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
    assert_eq!(journal.lines().count(), 24);
    let first: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(first["op"], "begin");
    assert_eq!(first["lineage"], expected.lineage.as_str());
    assert_eq!(first["address"], address(0).as_str());

    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert_eq!(loaded.state, expected);
    assert_eq!(loaded.state.serial, 12);
    assert!(loaded.interrupted.is_empty(), "{:?}", loaded.interrupted);
    assert!(!loaded.created);

    // The next run carries on from there and compacts.
    let mut local = backend(dir.path(), None);
    let state = local.load().await.unwrap().state;
    local.finish(&state).await.unwrap();
    assert_eq!(std::fs::read(dir.path().join(JOURNAL_FILE)).unwrap(), b"");
    assert_eq!(backend(dir.path(), None).load().await.unwrap().state, expected);
}

#[tokio::test]
async fn a_first_run_that_crashed_before_its_snapshot_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let lineage = local.load().await.unwrap().state.lineage;
    local.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    local.record(&address(1), Some(&instance(1)), 1).await.unwrap();
    drop(local);

    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert!(!loaded.created);
    assert_eq!(loaded.state.lineage, lineage);
    assert_eq!(loaded.state.serial, 1);
    assert_eq!(loaded.state.instances.get(&address(1)), Some(&instance(1)));
}

#[tokio::test]
async fn an_operation_begun_without_an_outcome_is_reported_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let state = local.load().await.unwrap().state;
    local.finish(&state).await.unwrap();
    let planned = map(&[("path", Value::string("/srv/a")), ("id", Value::Unknown)]);
    local.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    local.record(&address(1), Some(&instance(1)), 1).await.unwrap();
    local.begin(&operation(&address(2), "create", planned.clone())).await.unwrap();
    local.begin(&operation(&address(3), "delete", instance(3).value)).await.unwrap();
    drop(local);

    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert_eq!(
        loaded.interrupted,
        vec![
            operation(&address(2), "create", planned),
            operation(&address(3), "delete", instance(3).value)
        ]
    );
    assert_eq!(loaded.state.instances.len(), 1);
    assert_eq!(loaded.state.serial, 1);

    // Once the state is written again, nothing is pending any more.
    let mut local = backend(dir.path(), None);
    let state = local.load().await.unwrap().state;
    local.finish(&state).await.unwrap();
    assert!(backend(dir.path(), None).load().await.unwrap().interrupted.is_empty());
}

#[tokio::test]
async fn a_torn_last_journal_line_is_ignored_and_cut_before_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let state = local.load().await.unwrap().state;
    local.finish(&state).await.unwrap();
    local.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    local.record(&address(1), Some(&instance(1)), 1).await.unwrap();
    drop(local);
    let journal = dir.path().join(JOURNAL_FILE);
    let complete = std::fs::read(&journal).unwrap();
    // Half of a line, as a process killed in the middle of a write leaves.
    let torn = format!(
        r#"{{"lineage":"{}","seq":3,"op":"set","address":"fs.file[\"2\"]","ser"#,
        state.lineage
    );
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(torn.as_bytes())
        .unwrap();

    let mut local = backend(dir.path(), None);
    let loaded = local.load().await.unwrap();
    assert_eq!(loaded.state.serial, 1);
    assert_eq!(loaded.state.instances.keys().collect::<Vec<_>>(), vec![&address(1)]);

    // The next line starts on a line of its own.
    local.begin(&operation(&address(2), "create", Value::None)).await.unwrap();
    local.record(&address(2), Some(&instance(2)), 2).await.unwrap();
    drop(local);
    let repaired = std::fs::read(&journal).unwrap();
    assert!(repaired.starts_with(&complete));
    assert_eq!(repaired.iter().filter(|&&b| b == b'\n').count(), 4);
    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert_eq!(loaded.state.serial, 2);
    assert_eq!(loaded.state.instances.len(), 2);
}

#[tokio::test]
async fn a_damaged_line_inside_the_journal_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    local.load().await.unwrap();
    local.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    drop(local);
    let journal = dir.path().join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&journal).unwrap();
    std::fs::write(&journal, format!("{{not json\n{text}")).unwrap();
    match backend(dir.path(), None).load().await {
        Err(StateError::Corrupt(message)) => {
            assert!(message.contains("journal.jsonl line 1"), "{message}")
        }
        other => panic!("expected a corrupt journal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_journal_of_another_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let state = local.load().await.unwrap().state;
    local.finish(&state).await.unwrap();
    let mut stranger = backend(other.path(), None);
    let stranger_lineage = stranger.load().await.unwrap().state.lineage;
    stranger.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    std::fs::copy(other.path().join(JOURNAL_FILE), dir.path().join(JOURNAL_FILE)).unwrap();

    match backend(dir.path(), None).load().await {
        Err(StateError::Corrupt(message)) => {
            assert!(message.contains("another state"), "{message}");
            assert!(message.contains(&stranger_lineage), "{message}");
        }
        other => panic!("expected a lineage mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_crash_between_the_snapshot_and_emptying_the_journal_replays_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), None);
    let mut state = local.load().await.unwrap().state;
    local.begin(&operation(&address(1), "create", Value::None)).await.unwrap();
    local.record(&address(1), Some(&instance(1)), 1).await.unwrap();
    local.begin(&operation(&address(2), "create", Value::None)).await.unwrap();
    let journal = std::fs::read(dir.path().join(JOURNAL_FILE)).unwrap();
    // The run ends with a state that no longer has the instance
    // (`state rm`) and a later serial.
    state.serial = 5;
    local.finish(&state).await.unwrap();
    drop(local);
    // The crash: the journal was never emptied.
    std::fs::write(dir.path().join(JOURNAL_FILE), &journal).unwrap();

    let mut local = backend(dir.path(), None);
    let loaded = local.load().await.unwrap();
    assert_eq!(loaded.state, state);
    assert!(loaded.interrupted.is_empty());
    // New lines follow the old ones' numbers and are replayed.
    local.begin(&operation(&address(3), "create", Value::None)).await.unwrap();
    local.record(&address(3), Some(&instance(3)), 6).await.unwrap();
    let loaded = backend(dir.path(), None).load().await.unwrap();
    assert_eq!(loaded.state.serial, 6);
    assert_eq!(loaded.state.instances.keys().collect::<Vec<_>>(), vec![&address(3)]);
}

#[tokio::test]
async fn a_state_from_a_newer_orch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(STATE_FILE),
        r#"{"format_version": 9, "orch_version": "9.0.0", "lineage": "x", "serial": 1, "instances": [1]}"#,
    )
    .unwrap();
    match backend(dir.path(), None).load().await {
        Err(StateError::Corrupt(message)) => assert!(message.contains("upgrade Orch"), "{message}"),
        other => panic!("expected a newer format, got {other:?}"),
    }
}

#[tokio::test]
async fn secrets_are_never_written_in_plaintext_and_need_the_right_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), Some(key(1)));
    let mut state = local.load().await.unwrap().state;
    state.instances.insert("pg.role[\"app\"]".into(), secret_instance());
    state.outputs.insert("password".into(), Value::secret(Value::string(PLAINTEXT)));
    state.serial = 1;
    local.finish(&state).await.unwrap();
    local.finish(&state).await.unwrap();
    // The journal too: a begin with the planned secret and its record.
    let planned = secret_instance().value;
    local.begin(&operation("pg.role[\"other\"]", "create", planned.clone())).await.unwrap();
    local.record("pg.role[\"other\"]", Some(&secret_instance()), 2).await.unwrap();
    local.begin(&operation("pg.role[\"third\"]", "create", planned.clone())).await.unwrap();
    drop(local);
    assert!(dir.path().join(BACKUP_FILE).exists());
    assert_no_plaintext(dir.path());
    let snapshot = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
    assert!(snapshot.contains("\"$secret\""), "{snapshot}");
    assert!(snapshot.contains("\"sensitive_paths\""), "{snapshot}");

    let loaded = backend(dir.path(), Some(key(1))).load().await.unwrap();
    assert_eq!(loaded.state.instances["pg.role[\"app\"]"], secret_instance());
    assert_eq!(loaded.state.instances["pg.role[\"other\"]"], secret_instance());
    assert_eq!(loaded.state.outputs["password"], Value::secret(Value::string(PLAINTEXT)));
    assert_eq!(loaded.interrupted, vec![operation("pg.role[\"third\"]", "create", planned)]);

    match backend(dir.path(), Some(key(2))).load().await {
        Err(StateError::Crypto(message)) => {
            assert_eq!(message, "cannot decrypt a secret in the state: wrong ORCH_STATE_KEY?")
        }
        other => panic!("expected a wrong key, got {other:?}"),
    }
    match backend(dir.path(), None).load().await {
        Err(error @ StateError::NoKey) => assert!(error.to_string().contains("ORCH_STATE_KEY")),
        other => panic!("expected no key, got {other:?}"),
    }
}

#[tokio::test]
async fn a_state_without_secrets_needs_no_key_and_a_secret_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = backend(dir.path(), Some(key(1)));
    let state = sample_state(3);
    local.finish(&state).await.unwrap();
    let mut keyless = backend(dir.path(), None);
    assert_eq!(keyless.load().await.unwrap().state, state);

    assert_eq!(
        keyless.record("pg.role[\"app\"]", Some(&secret_instance()), 4).await,
        Err(StateError::NoKey)
    );
    let planned = secret_instance().value;
    assert_eq!(
        keyless.begin(&operation("pg.role[\"app\"]", "create", planned)).await,
        Err(StateError::NoKey)
    );
    let mut with_secret = state.clone();
    with_secret.instances.insert("pg.role[\"app\"]".into(), secret_instance());
    assert_eq!(keyless.finish(&with_secret).await, Err(StateError::NoKey));
    // Nothing was written by the refused calls.
    assert_eq!(backend(dir.path(), None).load().await.unwrap().state, state);
    assert_no_plaintext(dir.path());
}

/// Spawns this test binary to run `test` as a child working in `dir`.
fn spawn_child(test: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reads the child's output until a line with `prefix` (the test harness
/// may print the test's name before it on the same line).
fn wait_for_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    prefix: &str,
) -> String {
    for line in lines {
        let line = line.unwrap();
        if let Some(start) = line.find(prefix) {
            return line[start..].to_string();
        }
    }
    panic!("the child process ended before printing `{prefix}`");
}

#[tokio::test]
async fn a_lock_held_by_another_process_is_refused_until_that_process_is_killed() {
    const TEST: &str = "a_lock_held_by_another_process_is_refused_until_that_process_is_killed";
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: take the lock, say so, and hold it until killed
        // (bounded, in case the parent died).
        let mut local = backend(Path::new(&dir), None);
        local.lock(&LockInfo::current("apply"), NO_WAIT).await.unwrap();
        println!("LOCKED");
        std::io::stdout().flush().unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child(TEST, dir.path());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_for_line(&mut lines, "LOCKED");

    let me = LockInfo::current("plan");
    let mut local = backend(dir.path(), None);
    match local.lock(&me, NO_WAIT).await {
        Err(StateError::Locked(holder)) => {
            assert_eq!(holder.pid, child.id());
            assert_eq!(holder.operation, "apply");
            assert_eq!(holder.host, me.host);
            assert_eq!(holder.user, me.user);
            let message = holder.to_string();
            assert!(message.contains(&format!("pid {}", child.id())), "{message}");
        }
        other => panic!("expected the child's lock, got {other:?}"),
    }
    let started = Instant::now();
    assert!(matches!(
        local.lock(&me, Duration::from_millis(300)).await,
        Err(StateError::Locked(_))
    ));
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Waiting: the holder is killed (SIGKILL) while this run waits.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        child.kill().unwrap();
        child.wait().unwrap()
    });
    let started = Instant::now();
    local
        .lock(&me, Duration::from_secs(30))
        .await
        .expect("the lock is free once its holder is dead");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let status = killer.join().unwrap();
    #[cfg(unix)]
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9));
    let details: LockInfo =
        serde_json::from_slice(&std::fs::read(dir.path().join(LOCK_FILE)).unwrap()).unwrap();
    assert_eq!(details, me);
    local.unlock().await.unwrap();
}

#[tokio::test]
async fn a_second_backend_in_the_same_process_is_refused_until_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = backend(dir.path(), None);
    let mut second = backend(dir.path(), None);
    first.lock(&LockInfo::current("apply"), NO_WAIT).await.unwrap();
    // Taking it again is harmless and records the new operation.
    first.lock(&LockInfo::current("destroy"), NO_WAIT).await.unwrap();
    match second.lock(&LockInfo::current("plan"), NO_WAIT).await {
        Err(StateError::Locked(holder)) => assert_eq!(holder.operation, "destroy"),
        other => panic!("expected the first lock, got {other:?}"),
    }
    let waiting = tokio::spawn(async move {
        second.lock(&LockInfo::current("plan"), Duration::from_secs(30)).await.map(|()| second)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.unlock().await.unwrap();
    let mut second = waiting.await.unwrap().expect("taken after unlock");
    second.unlock().await.unwrap();
    first.lock(&LockInfo::current("apply"), NO_WAIT).await.unwrap();
    drop(first);
    // Dropping the backend releases the lock too.
    backend(dir.path(), None).lock(&LockInfo::current("apply"), NO_WAIT).await.unwrap();
}

#[tokio::test]
async fn a_run_killed_while_recording_loses_no_recorded_operation() {
    const TEST: &str = "a_run_killed_while_recording_loses_no_recorded_operation";
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: a run that records as fast as it can until killed,
        // durably (fdatasync), as `orchc apply` does by default.
        let mut local = LocalBackend::new(PathBuf::from(dir), Some(key(7)));
        local.lock(&LockInfo::current("apply"), NO_WAIT).await.unwrap();
        let mut state = local.load().await.unwrap().state;
        for index in 0..100_000 {
            let address = address(index);
            let mut instance = instance(index);
            instance.value = map(&[
                ("n", Value::Int(index as i64)),
                ("pw", Value::secret(Value::string(PLAINTEXT))),
            ]);
            local.begin(&operation(&address, "create", instance.value.clone())).await.unwrap();
            state.serial += 1;
            local.record(&address, Some(&instance), state.serial).await.unwrap();
            println!("RECORDED {index}");
        }
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let mut child = spawn_child(TEST, dir.path());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_for_line(&mut lines, "RECORDED 100");
    child.kill().unwrap();
    child.wait().unwrap();
    // Every line printed before the kill was recorded before it.
    let last_seen: usize = lines
        .map_while(Result::ok)
        .filter_map(|line| line.split("RECORDED ").nth(1).and_then(|n| n.parse().ok()))
        .last()
        .unwrap_or(100);

    let mut local = backend(dir.path(), Some(key(7)));
    local.lock(&LockInfo::current("apply"), NO_WAIT).await.expect("no stale lock after kill -9");
    let loaded = local.load().await.unwrap();
    assert!(loaded.interrupted.len() <= 1, "{:?}", loaded.interrupted);
    assert_eq!(loaded.state.serial, loaded.state.instances.len() as u64);
    for index in 0..=last_seen {
        let instance = &loaded.state.instances[&address(index)];
        assert_eq!(
            instance.value,
            map(&[
                ("n", Value::Int(index as i64)),
                ("pw", Value::secret(Value::string(PLAINTEXT)))
            ])
        );
    }
    assert_no_plaintext(dir.path());
}

fn env_with_config_dir(dir: &Path) -> KeyEnv {
    KeyEnv { config_dir: Some(dir.to_path_buf()), ..KeyEnv::default() }
}

#[test]
fn a_key_file_is_generated_once_outside_the_state_with_private_permissions() {
    let config = tempfile::tempdir().unwrap();
    let env = KeyEnv {
        config_dir: Some(config.path().join("nested").join("orch")),
        // Never consulted when ORCH_CONFIG_DIR is set.
        home: Some(PathBuf::from("/nonexistent-home")),
        ..KeyEnv::default()
    };
    assert!(secrets::state_key_in(&env, false).unwrap().is_none(), "no key and no file: none");
    let path = config.path().join("nested").join("orch").join("state.key");
    assert!(!path.exists());

    let (first, source) = secrets::state_key_in(&env, true).unwrap().unwrap();
    assert_eq!(source, KeySource::Generated(path.clone()));
    assert!(source.to_string().contains(&path.display().to_string()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let folder = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(StateKey::from_text(&text).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left");

    // The next run reads the same key, with or without `generate`.
    for generate in [true, false] {
        let (second, source) = secrets::state_key_in(&env, generate).unwrap().unwrap();
        assert_eq!(source, KeySource::File(path.clone()));
        let sealed = first.seal(PLAINTEXT.as_bytes()).unwrap();
        assert_eq!(second.open(&sealed).unwrap(), PLAINTEXT.as_bytes());
    }
    // A key from another file cannot open it, and says which file to check.
    let other = tempfile::tempdir().unwrap();
    let (stranger, _) =
        secrets::state_key_in(&env_with_config_dir(other.path()), true).unwrap().unwrap();
    let message = stranger.open(&first.seal(b"x").unwrap()).unwrap_err();
    assert!(message.starts_with("cannot decrypt a secret in the state: wrong key?"), "{message}");
    assert!(message.contains("ORCH_STATE_KEY"), "{message}");

    std::fs::write(&path, "not a key\n").unwrap();
    let message = secrets::state_key_in(&env, true).unwrap_err();
    assert!(
        message.contains("not a valid key") && message.contains(&path.display().to_string()),
        "{message}"
    );
}

#[test]
fn the_key_file_is_in_the_configuration_folder() {
    let all = KeyEnv {
        state_key: None,
        config_dir: Some(PathBuf::from("/c")),
        xdg_config_home: Some(PathBuf::from("/x")),
        home: Some(PathBuf::from("/h")),
    };
    assert_eq!(all.key_file(), Some(PathBuf::from("/c/state.key")));
    let xdg = KeyEnv { config_dir: None, ..all.clone() };
    assert_eq!(xdg.key_file(), Some(PathBuf::from("/x/orch/state.key")));
    let relative_xdg = KeyEnv { xdg_config_home: Some(PathBuf::from("x")), ..xdg.clone() };
    assert_eq!(relative_xdg.key_file(), Some(PathBuf::from("/h/.config/orch/state.key")));
    let home = KeyEnv { xdg_config_home: None, ..xdg };
    assert_eq!(home.key_file(), Some(PathBuf::from("/h/.config/orch/state.key")));
    let nothing = KeyEnv::default();
    assert_eq!(nothing.key_file(), None);
    assert!(secrets::state_key_in(&nothing, false).unwrap().is_none());
    assert!(secrets::state_key_in(&nothing, true).unwrap_err().contains("openssl rand -base64 32"));
}

#[test]
fn orch_state_key_is_base64_or_hex_and_anything_else_says_how_to_make_one() {
    let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
    let reference = StateKey::from_bytes(&bytes);
    let sealed = reference.seal(PLAINTEXT.as_bytes()).unwrap();
    let base64 = "AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dw=";
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    for text in [
        base64.to_string(),
        format!("  {base64}\n"),
        base64.trim_end_matches('=').to_string(),
        hex.clone(),
        hex.to_uppercase(),
    ] {
        let key = StateKey::from_text(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(key.open(&sealed).unwrap(), PLAINTEXT.as_bytes(), "{text:?}");
    }

    // Through the environment: `ORCH_STATE_KEY` wins over the key file.
    let config = tempfile::tempdir().unwrap();
    let env = KeyEnv { state_key: Some(hex.clone()), ..env_with_config_dir(config.path()) };
    let (key, source) = secrets::state_key_in(&env, true).unwrap().unwrap();
    assert_eq!(source, KeySource::Env);
    assert_eq!(key.open(&sealed).unwrap(), PLAINTEXT.as_bytes());
    assert!(!config.path().join("state.key").exists(), "no key file when the variable is set");

    let short = "c2hvcnQga2V5";
    for bad in [
        "",
        "hunter2-hunter2-hunter2",
        short,
        &hex[..62],
        &format!("{hex}00"),
        "zz".repeat(32).as_str(),
    ] {
        let env = KeyEnv { state_key: Some(bad.to_string()), ..env_with_config_dir(config.path()) };
        let message = secrets::state_key_in(&env, true).unwrap_err();
        assert!(message.starts_with("ORCH_STATE_KEY is not a valid key"), "{message}");
        assert!(message.contains("openssl rand -base64 32"), "{message}");
        assert!(bad.len() < 4 || !message.contains(bad), "the message quotes the key: {message}");
    }
    assert!(format!("{reference:?}").contains(".."));
}

#[test]
fn sealing_is_randomised_and_tampering_is_detected() {
    let key = StateKey::from_bytes(&[9; 32]);
    let first = key.seal(PLAINTEXT.as_bytes()).unwrap();
    let second = key.seal(PLAINTEXT.as_bytes()).unwrap();
    assert_ne!(first, second, "a fresh nonce for every value");
    assert_eq!(key.open(&second).unwrap(), PLAINTEXT.as_bytes());

    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(&first).unwrap();
    assert_eq!(bytes.len(), 24 + PLAINTEXT.len() + 16);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(key.open(&engine.encode(&bytes)).unwrap_err().contains("cannot decrypt"));
    assert!(key.open("not base64!").unwrap_err().contains("damaged"));
    assert!(key.open(&engine.encode([0u8; 10])).unwrap_err().contains("too short"));
}
