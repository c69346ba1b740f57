//! The `fs` provider against a real temporary folder: files and folders
//! created, read back (drift), updated and deleted, relative paths
//! resolved against the root module's folder.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use orch_runtime::provider::{Change, OpContext, Provider, field};
use orch_runtime::providers::builtin;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;
use orch_stdlib::functions::sha256_hex;

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

fn fs_provider() -> Box<dyn Provider> {
    builtin("fs").expect("the fs provider")
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

async fn create(provider: &dyn Provider, ctx: &OpContext, kind: &str, config: &Value) -> Value {
    provider
        .apply(ctx, kind, Change::Create { config })
        .await
        .expect("create succeeds")
        .expect("create returns the object")
}

#[tokio::test]
async fn file_is_created_read_updated_and_deleted_relative_to_the_base_dir() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.greeting");
    let config = config(
        "fs.file",
        &[
            ("path", Value::string("greeting.txt")),
            ("content", Value::string("hello\n")),
            ("mode", Value::Int(0o600)),
        ],
    );

    let planned = provider.plan("fs.file", None, &config);
    assert_eq!(field(&planned.value, "sha256"), &Value::string(sha256_hex("hello\n")));
    assert_eq!(field(&planned.value, "size"), &Value::Int(6));

    let created = create(&*provider, &ctx, "fs.file", &config).await;
    let on_disk = base.path().join("greeting.txt");
    assert_eq!(fs::read_to_string(&on_disk).expect("the file"), "hello\n");
    assert_eq!(mode_of(&on_disk), 0o600);
    assert!(!Path::new("greeting.txt").exists(), "not written in the process's folder");
    assert_eq!(field(&created, "path"), &Value::string("greeting.txt"));
    assert_eq!(field(&created, "sha256"), &Value::string(sha256_hex("hello\n")));
    assert_eq!(field(&created, "size"), &Value::Int(6));
    assert_eq!(planned.value, created, "the plan predicted the whole object");

    let read = provider.read(&ctx, "fs.file", &created).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created));

    let changed = config.clone();
    let changed = with(&changed, "content", Value::string("bye"));
    let changed = with(&changed, "mode", Value::Int(0o640));
    let planned = provider.plan("fs.file", Some(&created), &changed);
    assert!(planned.requires_replace.is_empty());
    assert_eq!(field(&planned.value, "size"), &Value::Int(3));
    let updated = provider
        .apply(&ctx, "fs.file", Change::Update { prior: &created, config: &changed })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(fs::read_to_string(&on_disk).expect("the file"), "bye");
    assert_eq!(mode_of(&on_disk), 0o640);
    assert_eq!(field(&updated, "sha256"), &Value::string(sha256_hex("bye")));

    // A change of mode alone keeps the file (same inode) and chmods it.
    let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&on_disk).expect("metadata"));
    let chmodded = with(&changed, "mode", Value::Int(0o444));
    provider
        .apply(&ctx, "fs.file", Change::Update { prior: &updated, config: &chmodded })
        .await
        .expect("update");
    let metadata = fs::metadata(&on_disk).expect("metadata");
    assert_eq!(std::os::unix::fs::MetadataExt::ino(&metadata), inode);
    assert_eq!(mode_of(&on_disk), 0o444);

    let deleted = provider.apply(&ctx, "fs.file", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
    assert!(!on_disk.exists());
    let again = provider.apply(&ctx, "fs.file", Change::Delete { prior: &updated }).await;
    assert_eq!(again, Ok(None), "deleting a file already gone succeeds");
    let leftovers: Vec<_> = fs::read_dir(base.path()).expect("list").collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind: {leftovers:?}");
    assert!(provider.create_is_idempotent("fs.file"));
}

/// `object` with `name` set to `value`.
fn with(object: &Value, name: &str, value: Value) -> Value {
    let Value::Map(entries) = object else { panic!("an object is a map") };
    let mut entries = entries.to_map();
    entries.insert(name.into(), value);
    Value::map(entries)
}

#[tokio::test]
async fn file_edited_chmodded_or_deleted_by_hand_shows_as_drift() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.drift");
    let config = config(
        "fs.file",
        &[("path", Value::string("drift.txt")), ("content", Value::string("managed"))],
    );
    let created = create(&*provider, &ctx, "fs.file", &config).await;
    let on_disk = base.path().join("drift.txt");

    fs::write(&on_disk, "edited by hand").expect("edit");
    fs::set_permissions(&on_disk, fs::Permissions::from_mode(0o600)).expect("chmod");
    let read = provider.read(&ctx, "fs.file", &created).await.expect("read").expect("present");
    assert_eq!(field(&read, "content"), &Value::string("edited by hand"));
    assert_eq!(field(&read, "sha256"), &Value::string(sha256_hex("edited by hand")));
    assert_eq!(field(&read, "size"), &Value::Int(14));
    assert_eq!(field(&read, "mode"), &Value::Int(0o600));

    // Planning from what was read rewrites the file in place.
    let planned = provider.plan("fs.file", Some(&read), &config);
    assert!(planned.requires_replace.is_empty());
    assert_eq!(field(&planned.value, "sha256"), &Value::string(sha256_hex("managed")));
    provider
        .apply(&ctx, "fs.file", Change::Update { prior: &read, config: &config })
        .await
        .expect("update");
    assert_eq!(fs::read_to_string(&on_disk).expect("the file"), "managed");
    assert_eq!(mode_of(&on_disk), 0o644);

    // Bytes that are not UTF-8 read as text that differs from the content.
    fs::write(&on_disk, b"managed\xff").expect("edit");
    let read = provider.read(&ctx, "fs.file", &created).await.expect("read").expect("present");
    assert_ne!(field(&read, "content"), &Value::string("managed"));
    assert_eq!(field(&read, "size"), &Value::Int(8));
    assert_ne!(field(&read, "sha256"), field(&created, "sha256"));

    fs::remove_file(&on_disk).expect("delete by hand");
    let read = provider.read(&ctx, "fs.file", &created).await.expect("read");
    assert_eq!(read, None, "a file deleted by hand is gone");
}

#[tokio::test]
async fn file_without_its_folder_fails_clearly_and_changes_nothing() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.orphan");
    let config = config("fs.file", &[("path", Value::string("missing/orphan.txt"))]);
    let error = provider
        .apply(&ctx, "fs.file", Change::Create { config: &config })
        .await
        .expect_err("no folder");
    let folder = base.path().join("missing");
    assert!(
        error.message.contains(&format!("the folder {} does not exist", folder.display())),
        "{}",
        error.message
    );
    assert_eq!(error.partial, None);
    assert!(!error.transient);
    assert!(!folder.exists());
}

#[tokio::test]
async fn a_folder_that_takes_no_files_is_not_called_missing() {
    // `/proc` exists but is a virtual file system: no new file goes there.
    let provider = fs_provider();
    let ctx = OpContext::new(Path::new("/"), "fs.file.virtual");
    let config = config("fs.file", &[("path", Value::string("/proc/orch-test-file"))]);
    let error = provider
        .apply(&ctx, "fs.file", Change::Create { config: &config })
        .await
        .expect_err("/proc takes no files");
    assert!(!error.message.contains("does not exist"), "{}", error.message);
    assert!(
        error.message.starts_with(
            "cannot write /proc/orch-test-file: the folder /proc does not take new files"
        ),
        "{}",
        error.message
    );
    assert!(error.message.contains("choose a path elsewhere"), "{}", error.message);
}

#[tokio::test]
async fn folder_in_place_of_a_file_is_an_error_on_read() {
    let base = tempfile::tempdir().expect("a temporary folder");
    fs::create_dir(base.path().join("taken")).expect("a folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.taken");
    let prior = config("fs.file", &[("path", Value::string("taken"))]);
    let error = provider.read(&ctx, "fs.file", &prior).await.expect_err("a folder");
    assert!(error.message.contains("is a folder"), "{}", error.message);
}

#[tokio::test]
async fn secret_content_stays_secret_in_outputs_and_when_read_back() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.secret");
    let config = config(
        "fs.file",
        &[
            ("path", Value::string("token")),
            ("content", Value::secret(Value::string("hunter2"))),
            ("mode", Value::Int(0o600)),
        ],
    );
    let created = create(&*provider, &ctx, "fs.file", &config).await;
    assert_eq!(fs::read_to_string(base.path().join("token")).expect("the file"), "hunter2");
    assert!(field(&created, "content").is_secret());
    assert!(field(&created, "sha256").is_secret());
    let read = provider.read(&ctx, "fs.file", &created).await.expect("read").expect("present");
    assert!(field(&read, "content").is_secret());
    assert_eq!(read.reveal_all(), created.reveal_all());
}

#[tokio::test]
async fn folder_is_created_with_parents_and_deleted_only_when_empty() {
    let base = tempfile::tempdir().expect("a temporary folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.dir.nested");
    let config = config("fs.dir", &[("path", Value::string("a/b/c")), ("mode", Value::Int(0o750))]);
    let created = create(&*provider, &ctx, "fs.dir", &config).await;
    let on_disk = base.path().join("a/b/c");
    assert!(on_disk.is_dir());
    assert_eq!(mode_of(&on_disk), 0o750);
    assert_eq!(created, config);
    let read = provider.read(&ctx, "fs.dir", &created).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created));

    let changed = with(&config, "mode", Value::Int(0o700));
    let updated = provider
        .apply(&ctx, "fs.dir", Change::Update { prior: &created, config: &changed })
        .await
        .expect("update")
        .expect("an object");
    assert_eq!(mode_of(&on_disk), 0o700);
    fs::set_permissions(&on_disk, fs::Permissions::from_mode(0o755)).expect("chmod by hand");
    let read = provider.read(&ctx, "fs.dir", &updated).await.expect("read").expect("present");
    assert_eq!(field(&read, "mode"), &Value::Int(0o755), "a mode changed by hand is drift");

    // Holding a file Orch does not manage, it stays.
    fs::write(on_disk.join("precious"), "keep me").expect("a file");
    let deleted = provider.apply(&ctx, "fs.dir", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
    assert!(on_disk.join("precious").exists());

    fs::remove_file(on_disk.join("precious")).expect("tidy");
    let deleted = provider.apply(&ctx, "fs.dir", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
    assert!(!on_disk.exists());
    assert!(base.path().join("a/b").exists(), "only the folder itself is deleted");
    let read = provider.read(&ctx, "fs.dir", &updated).await.expect("read");
    assert_eq!(read, None, "a missing folder is gone");

    fs::write(&on_disk, "a file now").expect("a file");
    let read = provider.read(&ctx, "fs.dir", &updated).await.expect("read");
    assert_eq!(read, None, "a file is not the folder");
    let deleted = provider.apply(&ctx, "fs.dir", Change::Delete { prior: &updated }).await;
    assert_eq!(deleted, Ok(None));
    assert!(on_disk.is_file(), "a file in the folder's place is left alone");
}

#[tokio::test]
async fn fs_read_reads_relative_to_the_base_dir_and_names_a_missing_file() {
    let base = tempfile::tempdir().expect("a temporary folder");
    fs::write(base.path().join("input.txt"), "data\n").expect("a file");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "data.fs.read.input");
    let config = config("fs.read", &[("path", Value::string("input.txt"))]);
    let read = provider.read(&ctx, "fs.read", &config).await.expect("read").expect("a value");
    assert_eq!(field(&read, "path"), &Value::string("input.txt"));
    assert_eq!(field(&read, "content"), &Value::string("data\n"));
    assert_eq!(field(&read, "sha256"), &Value::string(sha256_hex("data\n")));

    let missing = with(&config, "path", Value::string("nowhere.txt"));
    let error = provider.read(&ctx, "fs.read", &missing).await.expect_err("missing");
    let resolved = base.path().join("nowhere.txt");
    assert!(error.message.contains(&resolved.display().to_string()), "{}", error.message);

    fs::write(base.path().join("binary"), b"\xff\xfe").expect("a file");
    let binary = with(&config, "path", Value::string("binary"));
    let error = provider.read(&ctx, "fs.read", &binary).await.expect_err("binary");
    assert!(error.message.contains("not UTF-8"), "{}", error.message);
}

#[tokio::test]
async fn files_and_folders_are_imported_by_path() {
    let base = tempfile::tempdir().expect("a temporary folder");
    fs::write(base.path().join("existing.txt"), "old").expect("a file");
    fs::create_dir(base.path().join("existing")).expect("a folder");
    let provider = fs_provider();
    let ctx = OpContext::new(base.path(), "fs.file.imported");

    let file = provider.import(&ctx, "fs.file", "existing.txt").await.expect("import");
    let file = file.expect("found");
    assert_eq!(field(&file, "path"), &Value::string("existing.txt"));
    assert_eq!(field(&file, "content"), &Value::string("old"));
    assert_eq!(field(&file, "size"), &Value::Int(3));

    let dir = provider.import(&ctx, "fs.dir", "existing").await.expect("import");
    assert_eq!(field(&dir.expect("found"), "path"), &Value::string("existing"));

    let none = provider.import(&ctx, "fs.file", "absent.txt").await.expect("import");
    assert_eq!(none, None);
}

#[test]
fn validation_catches_bad_modes_and_empty_paths() {
    let provider = fs_provider();
    let bad = config("fs.file", &[("path", Value::string("")), ("mode", Value::Int(0o100_000))]);
    let problems = provider.validate("fs.file", &bad);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let good = config("fs.dir", &[("path", Value::string("ok"))]);
    assert!(provider.validate("fs.dir", &good).is_empty());
}
