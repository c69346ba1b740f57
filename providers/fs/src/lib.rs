//! The `fs` provider: files (`fs.file`) and folders (`fs.dir`) on the
//! machine that runs `orchc`, and text files read as data (`fs.read`).
//!
//! Relative paths are resolved against the root module's folder
//! ([`OpContext::resolve`]), never the process's working folder; objects
//! keep the path as the configuration wrote it. Files are written
//! atomically (a temporary file in the same folder, renamed over the
//! target), so a crash never leaves half a file. Reading a resource back
//! reports what is on disk, so an edit or a deletion by hand shows as
//! drift.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use orch_stdlib::Value;
use orch_stdlib::functions::sha256_hex;
use sha2::{Digest, Sha256};

use orch_provider::{
    Change, OpContext, Planned, Provider, ProviderError, default_plan, field, inputs_of,
    same_inputs,
};

mod kinds;

use orch_provider::{Builtin, KindTable};
use orch_stdlib::kinds::KindSchema;

/// The `fs` provider, as the registry (`orch-providers`) lists it.
pub const PROVIDER: Builtin = Builtin { name: "fs", kinds: &KINDS, new: || Box::new(FsProvider) };

/// The kinds of the `fs` provider ([`kinds`]).
static KINDS: KindTable = KindTable::new(kinds::kinds);

/// `fs.file`'s default permission bits (as in its schema).
const FILE_MODE: i64 = 0o644;
/// `fs.dir`'s default permission bits (as in its schema).
const DIR_MODE: i64 = 0o755;

#[derive(Debug, Default)]
pub struct FsProvider;

#[async_trait]
impl Provider for FsProvider {
    fn name(&self) -> &'static str {
        "fs"
    }

    fn schema(&self, kind: &str) -> Option<&'static KindSchema> {
        KINDS.get(kind)
    }

    fn validate(&self, kind: &str, config: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        if field(config, "path").as_str() == Some("") {
            problems.push("`path` must not be empty".to_string());
        }
        if matches!(kind, "fs.file" | "fs.dir")
            && let Some(mode) = field(config, "mode").as_int()
            && !(0..=0o7777).contains(&mode)
        {
            problems.push(format!(
                "`mode` must be permission bits between 0o0 and 0o7777, not {mode:#o}"
            ));
        }
        problems
    }

    async fn read(
        &self,
        ctx: &OpContext,
        kind: &str,
        prior: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        match kind {
            "fs.file" => read_file(ctx, prior).await,
            "fs.dir" => read_dir(ctx, prior).await,
            "fs.read" => read_data(ctx, prior).await.map(Some),
            _ => Err(unknown_kind(kind)),
        }
    }

    fn plan(&self, kind: &str, prior: Option<&Value>, config: &Value) -> Planned {
        let schema = self.schema(kind);
        let mut planned = default_plan(schema, prior, config);
        let unchanged = prior.is_some_and(|prior| same_inputs(schema, prior, config));
        // A new file's hash and size follow from its content; an unchanged
        // one keeps what was recorded.
        if kind == "fs.file"
            && !unchanged
            && let Some(content) = Content::of(config)
        {
            planned.value = with_fields(
                &planned.value,
                [
                    ("sha256", content.mark(Value::string(sha256_hex(&content.text)))),
                    ("size", content.mark(Value::Int(len_i64(content.text.len())))),
                ],
            );
        }
        planned
    }

    async fn apply(
        &self,
        ctx: &OpContext,
        kind: &str,
        change: Change<'_>,
    ) -> Result<Option<Value>, ProviderError> {
        match (kind, change) {
            ("fs.file", Change::Create { config }) => write_file(ctx, config, true).await.map(Some),
            ("fs.file", Change::Update { prior, config }) => {
                let content_changed =
                    !field(prior, "content").same_revealed(field(config, "content"));
                write_file(ctx, config, content_changed).await.map(Some)
            }
            ("fs.file", Change::Delete { prior }) => delete_file(ctx, prior).await.map(|()| None),
            ("fs.dir", Change::Create { config } | Change::Update { config, .. }) => {
                ensure_dir(ctx, config).await.map(Some)
            }
            ("fs.dir", Change::Delete { prior }) => delete_dir(ctx, prior).await.map(|()| None),
            ("fs.read", _) => {
                Err(ProviderError::new("fs.read is data: it is read, never created or changed"))
            }
            _ => Err(unknown_kind(kind)),
        }
    }

    /// Writing the same file or making the same folder twice gives the
    /// same result.
    fn create_is_idempotent(&self, kind: &str) -> bool {
        matches!(kind, "fs.file" | "fs.dir")
    }

    fn import_refusal(&self, kind: &str) -> Option<String> {
        match kind {
            "fs.file" | "fs.dir" => None,
            _ => Some(format!("{kind} is not a resource kind: there is no object to adopt")),
        }
    }

    async fn import(
        &self,
        ctx: &OpContext,
        kind: &str,
        id: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let prior = with_fields(&Value::map(Default::default()), [("path", Value::string(id))]);
        match kind {
            "fs.file" => read_file(ctx, &prior).await,
            "fs.dir" => read_dir(ctx, &prior).await,
            _ => Err(ProviderError::new(format!("{kind} objects cannot be imported"))),
        }
    }
}

fn unknown_kind(kind: &str) -> ProviderError {
    ProviderError::new(format!("the fs provider has no kind {kind}"))
}

/// A configured `content`, revealed, and whether it was secret (its hash
/// and size are then secret too, as `sha256(secret)` is).
struct Content {
    text: String,
    secret: bool,
}

impl Content {
    /// `None` while the content is unknown. A missing `content` is the
    /// schema's default, the empty text.
    fn of(object: &Value) -> Option<Content> {
        let (value, secret) = field(object, "content").reveal();
        match value {
            Value::None => Some(Content { text: String::new(), secret }),
            Value::String(text) => Some(Content { text: text.to_string(), secret }),
            _ => None,
        }
    }

    fn mark(&self, value: Value) -> Value {
        if self.secret { Value::secret(value) } else { value }
    }
}

/// The configured path, as written, and resolved against the root module.
fn paths(ctx: &OpContext, object: &Value, kind: &str) -> Result<(Value, PathBuf), ProviderError> {
    let written = field(object, "path");
    match written.as_str() {
        Some(text) if !text.is_empty() => Ok((written.clone(), ctx.resolve(text))),
        _ => Err(ProviderError::new(format!("{kind} needs a non-empty `path`"))),
    }
}

/// The configured permission bits, checked.
fn mode_of(object: &Value, default: i64) -> Result<u32, ProviderError> {
    let mode = match field(object, "mode") {
        Value::None => default,
        value => value
            .as_int()
            .ok_or_else(|| ProviderError::new("`mode` must be an integer, such as 0o644"))?,
    };
    u32::try_from(mode).ok().filter(|mode| *mode <= 0o7777).ok_or_else(|| {
        ProviderError::new(format!(
            "`mode` must be permission bits between 0o0 and 0o7777, not {mode:#o}"
        ))
    })
}

async fn read_file(ctx: &OpContext, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let (written, path) = paths(ctx, prior, "fs.file")?;
    let found = blocking({
        let path = path.clone();
        move || -> io::Result<Option<(Vec<u8>, u32)>> {
            let metadata = match fs::metadata(&path) {
                Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
                metadata => metadata?,
            };
            if metadata.is_dir() {
                return Err(io::Error::new(ErrorKind::IsADirectory, "it is a folder, not a file"));
            }
            match fs::read(&path) {
                Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
                bytes => Ok(Some((bytes?, metadata.permissions().mode()))),
            }
        }
    })
    .await?
    .map_err(|error| io_error("cannot read", &path, &error))?;
    let Some((bytes, mode)) = found else { return Ok(None) };

    let configured = Content::of(prior);
    let sha256 = sha256_of(&bytes);
    let size = len_i64(bytes.len());
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            // Not UTF-8, so not what any configuration wrote: the lossy
            // text must differ from the configured content so that the
            // plan rewrites the file.
            let mut text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            if configured.as_ref().is_some_and(|c| c.text == text) {
                text.push(char::REPLACEMENT_CHARACTER);
            }
            text
        }
    };
    // What was secret when written stays secret when read back.
    let mark = |value| match &configured {
        Some(content) => content.mark(value),
        None => value,
    };
    Ok(Some(object([
        ("path", written),
        ("content", mark(Value::string(text))),
        ("mode", Value::Int(i64::from(mode & 0o7777))),
        ("sha256", mark(Value::string(sha256))),
        ("size", mark(Value::Int(size))),
    ])))
}

/// Writes the configured file (or only sets its mode, when the content is
/// unchanged and the file is still there) and returns the object.
async fn write_file(
    ctx: &OpContext,
    config: &Value,
    rewrite: bool,
) -> Result<Value, ProviderError> {
    let (_, path) = paths(ctx, config, "fs.file")?;
    let mode = mode_of(config, FILE_MODE)?;
    let content = Content::of(config)
        .ok_or_else(|| ProviderError::new("the content of fs.file is not known yet"))?;
    let bytes = content.text.clone().into_bytes();
    blocking({
        let path = path.clone();
        move || {
            if !rewrite {
                match fs::set_permissions(&path, Permissions::from_mode(mode)) {
                    // Deleted since it was read: write it again.
                    Err(error) if error.kind() == ErrorKind::NotFound => {}
                    done => return done,
                }
            }
            write_atomically(&path, &bytes, mode)
        }
    })
    .await?
    .map_err(|error| write_error(&path, &error))?;
    Ok(with_fields(
        &inputs_of(KINDS.get("fs.file"), config),
        [
            ("sha256", content.mark(Value::string(sha256_hex(&content.text)))),
            ("size", content.mark(Value::Int(len_i64(content.text.len())))),
        ],
    ))
}

async fn delete_file(ctx: &OpContext, prior: &Value) -> Result<(), ProviderError> {
    let (_, path) = paths(ctx, prior, "fs.file")?;
    blocking({
        let path = path.clone();
        move || match fs::symlink_metadata(&path) {
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
            Ok(metadata) if metadata.is_dir() => {
                Err(io::Error::new(ErrorKind::IsADirectory, "it is a folder, not a file"))
            }
            Ok(_) => match fs::remove_file(&path) {
                Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
                done => done,
            },
        }
    })
    .await?
    .map_err(|error| io_error("cannot delete", &path, &error))
}

async fn read_dir(ctx: &OpContext, prior: &Value) -> Result<Option<Value>, ProviderError> {
    let (written, path) = paths(ctx, prior, "fs.dir")?;
    let metadata = blocking({
        let path = path.clone();
        move || fs::metadata(path)
    })
    .await?;
    match metadata {
        Ok(metadata) if metadata.is_dir() => Ok(Some(object([
            ("path", written),
            ("mode", Value::Int(i64::from(metadata.permissions().mode() & 0o7777))),
        ]))),
        // A file where the folder was is not the folder: it is gone.
        Ok(_) => Ok(None),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error("cannot read", &path, &error)),
    }
}

/// Creates the folder with its missing parents if needed, and sets its
/// mode. Parents created on the way get the default mode (0o777 less the
/// umask), as `mkdir -p` gives them.
async fn ensure_dir(ctx: &OpContext, config: &Value) -> Result<Value, ProviderError> {
    let (_, path) = paths(ctx, config, "fs.dir")?;
    let mode = mode_of(config, DIR_MODE)?;
    let object = inputs_of(KINDS.get("fs.dir"), config);
    let (created, result) = blocking({
        let path = path.clone();
        move || {
            let existed = match fs::metadata(&path) {
                Ok(metadata) if metadata.is_dir() => true,
                Ok(_) => {
                    let error = io::Error::new(ErrorKind::AlreadyExists, "it is not a folder");
                    return (false, Err(error));
                }
                Err(_) => false,
            };
            if let Err(error) = fs::create_dir_all(&path) {
                return (false, Err(error));
            }
            (!existed, fs::set_permissions(&path, Permissions::from_mode(mode)))
        }
    })
    .await?;
    match result {
        Ok(()) => Ok(object),
        Err(error) => {
            let error = io_error("cannot create", &path, &error);
            // The folder exists now but does not have its mode: it is
            // there to be fixed (or replaced) by the next apply.
            Err(if created { error.with_partial(object) } else { error })
        }
    }
}

/// Removes the folder if it is empty. A folder that holds anything, or a
/// path that is no longer a folder, is left alone: what Orch does not
/// manage is never lost.
async fn delete_dir(ctx: &OpContext, prior: &Value) -> Result<(), ProviderError> {
    let (_, path) = paths(ctx, prior, "fs.dir")?;
    let result = blocking({
        let path = path.clone();
        move || fs::remove_dir(path)
    })
    .await?;
    match result {
        Ok(()) => Ok(()),
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::NotFound
                    | ErrorKind::DirectoryNotEmpty
                    | ErrorKind::AlreadyExists
                    | ErrorKind::NotADirectory
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(io_error("cannot delete", &path, &error)),
    }
}

async fn read_data(ctx: &OpContext, config: &Value) -> Result<Value, ProviderError> {
    let (written, path) = paths(ctx, config, "fs.read")?;
    let bytes = blocking({
        let path = path.clone();
        move || fs::read(path)
    })
    .await?
    .map_err(|error| io_error("cannot read", &path, &error))?;
    let sha256 = sha256_of(&bytes);
    let text = String::from_utf8(bytes).map_err(|_| {
        ProviderError::new(format!("cannot read {}: it is not UTF-8 text", path.display()))
    })?;
    Ok(object([
        ("path", written),
        ("content", Value::string(text)),
        ("sha256", Value::string(sha256)),
    ]))
}

/// Replaces the file at `path` with `bytes` and `mode` in one step: the
/// content goes to a new file in the same folder, which is flushed to disk
/// and renamed over the target. A failure leaves the old file as it was.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let folder = parent_of(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "the path names no file"))?
        .to_string_lossy();
    let (temp, mut file) = loop {
        let temp = folder.join(format!(".{name}.orch-{:016x}.tmp", rand::random::<u64>()));
        match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp) {
            Ok(file) => break (temp, file),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    };
    let written = file
        .write_all(bytes)
        // `set_permissions` rather than the `mode` of `open`: the umask
        // does not apply to it.
        .and_then(|()| file.set_permissions(Permissions::from_mode(mode)))
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    // Makes the rename itself durable. The file is in place already, so a
    // failure here is not worth failing the operation for.
    if let Ok(folder) = File::open(folder) {
        let _ = folder.sync_all();
    }
    Ok(())
}

/// The folder that holds `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Runs blocking file system work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ProviderError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ProviderError::new(format!("a file system operation failed: {error}")))
}

/// Why a file could not be written, and what to do about it. A folder that
/// exists but refuses new files (`/proc`, a read-only mount) is told apart
/// from a missing one.
fn write_error(path: &Path, error: &io::Error) -> ProviderError {
    let folder = parent_of(path);
    let message = match error.kind() {
        ErrorKind::NotFound if !folder.exists() => format!(
            "cannot write {}: the folder {} does not exist; declare it with an fs.dir resource (and make the file depend on it), or fix the path",
            path.display(),
            folder.display()
        ),
        ErrorKind::NotFound | ErrorKind::Unsupported | ErrorKind::ReadOnlyFilesystem => format!(
            "cannot write {}: the folder {} does not take new files ({error}); it is on a virtual or read-only file system: choose a path elsewhere",
            path.display(),
            folder.display()
        ),
        ErrorKind::PermissionDenied => format!(
            "cannot write {}: permission denied in {}; choose a folder this user ({}) may write to, or change its permissions",
            path.display(),
            folder.display(),
            orch_provider::current_user()
        ),
        _ => format!("cannot write {}: {error}", path.display()),
    };
    ProviderError::new(message)
}

fn io_error(action: &str, path: &Path, error: &io::Error) -> ProviderError {
    ProviderError::new(format!("{action} {}: {error}", path.display()))
}

/// The SHA-256 of `bytes` in lowercase hexadecimal, as `sha256_hex` gives
/// it for text.
fn sha256_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::map(fields.into_iter().map(|(name, value)| (name.into(), value)).collect())
}

/// `base` (a map) with `fields` set.
fn with_fields<const N: usize>(base: &Value, fields: [(&str, Value); N]) -> Value {
    let mut entries = match base {
        Value::Map(entries) => entries.to_map(),
        _ => Default::default(),
    };
    for (name, value) in fields {
        entries.insert(name.into(), value);
    }
    Value::map(entries)
}
