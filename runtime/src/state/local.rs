//! The local state backend: a folder (`.orch/` beside the root module).
//!
//! The folder holds:
//!
//! - `state.json`: the snapshot written at the end of each run, atomically
//!   (temporary file, fsync, rename, fsync of the folder);
//! - `state.json.backup`: the snapshot before that one;
//! - `journal.jsonl`: one JSON line per operation started or finished since
//!   the snapshot, appended with a single `write` (and an `fdatasync`
//!   unless disabled), so that recording an operation costs the same
//!   whatever the size of the state, and a `kill -9` loses nothing that was
//!   recorded;
//! - `lock`: the file that the run holds an OS lock (`flock`) on, with the
//!   holder's details in it. The OS drops the lock when the process dies.
//!
//! Every journal line carries the state's lineage and a sequence number
//! that keeps growing across runs. The snapshot records the last sequence
//! number it includes (`journal_seq`), so that a crash between writing the
//! snapshot and emptying the journal replays nothing twice.
//!
//! Secrets are sealed before they reach a file ([`InstanceState::to_stored`],
//! [`encode_value`]); loading opens them only when the state holds one.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orch_stdlib::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::{
    Backend, FORMAT_VERSION, InstanceState, Loaded, LockInfo, Operation, State, StateError,
    StoredInstance, StoredValue, encode_value, storing,
};
use crate::codec::{Encoded, Sealer, Secrets};
use crate::secrets::sync_dir;

/// The folder of the local state, beside the root module.
pub const DEFAULT_DIR: &str = ".orch";
/// The snapshot.
pub const STATE_FILE: &str = "state.json";
/// The snapshot before the last one.
pub const BACKUP_FILE: &str = "state.json.backup";
/// Operations since the snapshot.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The file locked by the run that owns the state.
pub const LOCK_FILE: &str = "lock";

/// How often a waiting `lock` tries again.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// How long to wait for a holder that has just taken the lock to write its
/// details.
const HOLDER_DETAILS_WAIT: Duration = Duration::from_millis(500);

/// How the local backend writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOptions {
    /// `fdatasync` the journal after each line, so that a recorded
    /// operation survives a crash of the OS or a power cut, not only of
    /// the process, as soon as `begin` or `record` returns. Costs a few
    /// milliseconds per line on most disks. Without it, lines are made
    /// durable by [`Backend::sync`] (which the executor calls once per
    /// scheduling round, before the round's operations start: one
    /// `fdatasync` for all of them) and by `finish`.
    pub sync: bool,
    /// With `sync` off: [`Backend::sync`] hands the `fdatasync` to a
    /// background thread instead of waiting for it, so that operations are
    /// never held up by the disk. Lines are durable against a crash of the
    /// process as soon as they are written, and against a crash of the OS
    /// one `fdatasync` later (at most [`SYNC_INTERVAL`] plus the time of
    /// one `fdatasync`: a few milliseconds); an error of that
    /// `fdatasync` is reported by the next call. `orchc` runs this way.
    pub background: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions { sync: true, background: false }
    }
}

/// The least time between the starts of two background `fdatasync`s of
/// the journal: requests that arrive sooner wait and share the next one.
/// A line is durable against a crash of the operating system at most
/// this much later than without the wait; a run of short operations
/// (10,000 `exec.run { create = "true" }` with two slots: one round every
/// half millisecond) syncs a hundred times a second instead of at every
/// round, and the kernel's work for each sync no longer takes the CPU the
/// operations need.
const SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// A thread that `fdatasync`s the journal when asked, coalescing the
/// requests that arrive while it is syncing or waiting for
/// [`SYNC_INTERVAL`] to pass.
struct Syncer {
    requests: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    error: Arc<std::sync::Mutex<Option<String>>>,
}

impl Syncer {
    fn start(file: File) -> Syncer {
        let (requests, receiver) = std::sync::mpsc::channel::<()>();
        let error = Arc::new(std::sync::Mutex::new(None));
        let failed = error.clone();
        let thread = std::thread::Builder::new()
            .name("orch-journal-sync".into())
            .spawn(move || {
                let mut last: Option<std::time::Instant> = None;
                while receiver.recv().is_ok() {
                    if let Some(wait) = last.and_then(|at| SYNC_INTERVAL.checked_sub(at.elapsed()))
                    {
                        std::thread::sleep(wait);
                    }
                    while receiver.try_recv().is_ok() {}
                    last = Some(std::time::Instant::now());
                    if let Err(e) = file.sync_data()
                        && let Ok(mut slot) = failed.lock()
                    {
                        *slot = Some(e.to_string());
                    }
                }
            })
            .ok();
        Syncer { requests: Some(requests), thread, error }
    }

    /// Asks for a sync; the error of an earlier one, if any.
    fn request(&self) -> Result<(), String> {
        if let Some(error) = self.error.lock().ok().and_then(|mut e| e.take()) {
            return Err(error);
        }
        match &self.requests {
            Some(requests) if requests.send(()).is_ok() => Ok(()),
            _ => Err("the journal's sync thread has stopped".into()),
        }
    }

    /// Waits for the syncs asked for so far.
    fn stop(mut self) -> Result<(), String> {
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match self.error.lock().ok().and_then(|mut e| e.take()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The state in a folder.
pub struct LocalBackend {
    dir: PathBuf,
    sealer: Option<Arc<dyn Sealer>>,
    options: LocalOptions,
    /// The locked lock file, while the lock is held.
    lock: Option<File>,
    /// The journal, opened for appending on the first line of this run.
    journal: Option<Journal>,
    /// The lineage and the last sequence number, known once the state is
    /// loaded (or written): journal lines need both.
    position: Option<Position>,
    /// The background `fdatasync` of `LocalOptions::background`.
    syncer: Option<Syncer>,
}

struct Journal {
    file: File,
    /// Its length after the last complete line, to cut a line that
    /// failed half-way.
    len: u64,
    /// Lines were written since the last `fdatasync`.
    unsynced: bool,
}

#[derive(Debug, Clone)]
struct Position {
    lineage: String,
    seq: u64,
}

/// `state.json`.
#[derive(Serialize, Deserialize)]
struct Snapshot<V = Json> {
    format_version: u32,
    orch_version: String,
    lineage: String,
    serial: u64,
    /// The last journal line this snapshot includes.
    #[serde(default)]
    journal_seq: u64,
    #[serde(default)]
    instances: std::collections::BTreeMap<String, StoredInstance<V>>,
    #[serde(default)]
    outputs: std::collections::BTreeMap<String, V>,
}

/// One line of `journal.jsonl`.
#[derive(Serialize, Deserialize)]
struct JournalLine {
    lineage: String,
    seq: u64,
    #[serde(flatten)]
    entry: Entry,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Entry {
    /// An operation is about to start.
    Begin {
        address: String,
        action: crate::events::Step,
        kind: String,
        provider: String,
        planned: Json,
    },
    /// An operation left this instance.
    Set { address: String, serial: u64, instance: StoredInstance },
    /// An operation deleted the instance.
    Remove { address: String, serial: u64 },
}

impl LocalBackend {
    /// The state in `dir`, created on the first write. `sealer` seals and
    /// opens secrets; without it, a state that holds a secret can be
    /// neither written nor loaded.
    pub fn new(dir: PathBuf, sealer: Option<Arc<dyn Sealer>>) -> LocalBackend {
        LocalBackend::with_options(dir, sealer, LocalOptions::default())
    }

    pub fn with_options(
        dir: PathBuf,
        sealer: Option<Arc<dyn Sealer>>,
        options: LocalOptions,
    ) -> LocalBackend {
        LocalBackend {
            dir,
            sealer,
            options,
            lock: None,
            journal: None,
            position: None,
            syncer: None,
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io_error(&self, what: &str, name: &str, e: std::io::Error) -> StateError {
        StateError::Io(format!("cannot {what} {}: {e}", self.path(name).display()))
    }

    fn create_dir(&self) -> Result<(), StateError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(|e| {
            StateError::Io(format!("cannot create the state folder {}: {e}", self.dir.display()))
        })?;
        if self.options.sync
            && let Some(parent) = self.dir.parent().filter(|p| !p.as_os_str().is_empty())
        {
            sync_dir(parent)
                .map_err(|e| StateError::Io(format!("cannot save {}: {e}", parent.display())))?;
        }
        Ok(())
    }

    /// Appends one line to the journal: one `write` on a file opened with
    /// `O_APPEND`, then `fdatasync` when [`LocalOptions::sync`] is set.
    fn append(&mut self, entry: Entry) -> Result<(), StateError> {
        let Some(position) = &self.position else {
            return Err(StateError::Io(
                "the local state must be loaded before operations are recorded (this is a bug in Orch)".into(),
            ));
        };
        let line = JournalLine { lineage: position.lineage.clone(), seq: position.seq + 1, entry };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| StateError::Io(e.to_string()))?;
        bytes.push(b'\n');
        if self.journal.is_none() {
            self.journal = Some(self.open_journal()?);
        }
        let sync = self.options.sync;
        let journal = self.journal.as_mut().expect("opened above");
        let written = journal
            .file
            .write_all(&bytes)
            .and_then(|()| if sync { journal.file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            // Cut a partial line so that the next one starts on a line of
            // its own; if even that fails, loading ignores a torn last
            // line, and the next run cuts it before appending.
            let _ = journal.file.set_len(journal.len);
            return Err(self.io_error("write", JOURNAL_FILE, e));
        }
        journal.len += bytes.len() as u64;
        journal.unsynced = !sync;
        if let Some(position) = &mut self.position {
            position.seq += 1;
        }
        Ok(())
    }

    /// Opens the journal for appending, cutting the torn last line that a
    /// crash in the middle of a write may have left, so that the next line
    /// is not glued to it.
    fn open_journal(&self) -> Result<Journal, StateError> {
        self.create_dir()?;
        let path = self.path(JOURNAL_FILE);
        let existed = path.exists();
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| self.io_error("open", JOURNAL_FILE, e))?;
        let len = file.metadata().map_err(|e| self.io_error("read", JOURNAL_FILE, e))?.len();
        let mut complete = len;
        if len > 0 {
            let mut last = [0u8];
            file.seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map_err(|e| self.io_error("read", JOURNAL_FILE, e))?;
            if last[0] != b'\n' {
                // Rare (after a crash): the whole file is read once.
                let mut bytes = Vec::new();
                file.seek(SeekFrom::Start(0))
                    .and_then(|_| file.read_to_end(&mut bytes))
                    .map_err(|e| self.io_error("read", JOURNAL_FILE, e))?;
                complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i as u64 + 1);
                file.set_len(complete)
                    .and_then(|()| file.sync_data())
                    .map_err(|e| self.io_error("repair", JOURNAL_FILE, e))?;
            }
        }
        if !existed && self.options.sync {
            sync_dir(&self.dir).map_err(|e| self.io_error("save", JOURNAL_FILE, e))?;
        }
        Ok(Journal { file, len: complete, unsynced: false })
    }

    /// The snapshot, each value kept as its JSON text until it is decoded.
    fn read_snapshot(&self) -> Result<Option<Snapshot<Box<RawValue>>>, StateError> {
        let bytes = match fs::read(self.path(STATE_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("read", STATE_FILE, e)),
        };
        let corrupt = |message: String| {
            StateError::Corrupt(format!("{}: {message}", self.path(STATE_FILE).display()))
        };
        match serde_json::from_slice::<Snapshot<Box<RawValue>>>(&bytes) {
            Ok(snapshot) if snapshot.format_version > FORMAT_VERSION => {
                Err(newer_format(&snapshot, corrupt))
            }
            Ok(snapshot) => Ok(Some(snapshot)),
            Err(e) => {
                // A newer format may not even parse: say so rather than
                // which field is unexpected.
                #[derive(Deserialize)]
                struct Header {
                    format_version: u32,
                    #[serde(default)]
                    orch_version: String,
                }
                match serde_json::from_slice::<Header>(&bytes) {
                    Ok(header) if header.format_version > FORMAT_VERSION => Err(corrupt(format!(
                        "it was written by Orch {} in format {}, newer than this build reads ({FORMAT_VERSION}): \
                         upgrade Orch",
                        header.orch_version, header.format_version
                    ))),
                    _ => Err(corrupt(e.to_string())),
                }
            }
        }
    }

    /// The complete lines of the journal, with their line numbers; a torn
    /// last line (no newline yet) is left out.
    fn read_journal(&self) -> Result<Vec<(usize, JournalLine)>, StateError> {
        let bytes = match fs::read(self.path(JOURNAL_FILE)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io_error("read", JOURNAL_FILE, e)),
        };
        let complete = match bytes.iter().rposition(|&b| b == b'\n') {
            Some(end) => &bytes[..end],
            None => &[][..],
        };
        let mut lines = Vec::new();
        for (index, line) in complete.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = serde_json::from_slice::<JournalLine>(line).map_err(|e| {
                StateError::Corrupt(format!(
                    "{} line {}: {e}",
                    self.path(JOURNAL_FILE).display(),
                    index + 1
                ))
            })?;
            lines.push((index + 1, line));
        }
        Ok(lines)
    }

    /// The last sequence number on disk, for a `finish` without `load`.
    fn seq_on_disk(&self) -> Result<u64, StateError> {
        let snapshot_seq = self.read_snapshot()?.map_or(0, |s| s.journal_seq);
        Ok(self.read_journal()?.iter().map(|(_, line)| line.seq).fold(snapshot_seq, u64::max))
    }

    /// Writes `state.json` atomically, keeping the previous one as the
    /// backup.
    fn write_snapshot(&self, bytes: &[u8]) -> Result<(), StateError> {
        let state_path = self.path(STATE_FILE);
        let temporary = self.dir.join(format!(".{STATE_FILE}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&temporary);
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temporary);
            return Err(self.io_error("write", STATE_FILE, e));
        }
        // The backup is a second name for the current snapshot, so that
        // `state.json` itself is never missing: a rename to the backup
        // would leave a moment without it.
        if state_path.exists() {
            let backup = self.path(BACKUP_FILE);
            match fs::remove_file(&backup) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    return Err(self.io_error("replace", BACKUP_FILE, e));
                }
                _ => {}
            }
            if fs::hard_link(&state_path, &backup).is_err() {
                fs::copy(&state_path, &backup)
                    .map_err(|e| self.io_error("write", BACKUP_FILE, e))?;
            }
        }
        if let Err(e) = fs::rename(&temporary, &state_path) {
            let _ = fs::remove_file(&temporary);
            return Err(self.io_error("replace", STATE_FILE, e));
        }
        sync_dir(&self.dir).map_err(|e| self.io_error("save", STATE_FILE, e))
    }

    /// Empties the journal once the snapshot includes it.
    fn empty_journal(&mut self) -> Result<(), StateError> {
        if let Some(journal) = &mut self.journal {
            // Opened with `O_APPEND`: the next line goes to the new end.
            let emptied = journal.file.set_len(0).and_then(|()| journal.file.sync_data());
            journal.len = 0;
            journal.unsynced = false;
            return emptied.map_err(|e| self.io_error("empty", JOURNAL_FILE, e));
        }
        let file = match OpenOptions::new().write(true).open(self.path(JOURNAL_FILE)) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(self.io_error("open", JOURNAL_FILE, e)),
        };
        file.set_len(0)
            .and_then(|()| file.sync_data())
            .map_err(|e| self.io_error("empty", JOURNAL_FILE, e))
    }

    /// The holder's details in the lock file. A holder that has just taken
    /// the lock may not have written them yet: wait for them a little.
    async fn read_holder(&self) -> LockInfo {
        let deadline = Instant::now() + HOLDER_DETAILS_WAIT;
        loop {
            let details = fs::read(self.path(LOCK_FILE)).ok();
            if let Some(holder) =
                details.and_then(|bytes| serde_json::from_slice::<LockInfo>(&bytes).ok())
            {
                return holder;
            }
            if Instant::now() >= deadline {
                return LockInfo {
                    pid: 0,
                    host: "unknown".into(),
                    user: "unknown".into(),
                    operation: "an unknown operation".into(),
                    since: "unknown".into(),
                    orch_version: "unknown".into(),
                };
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn newer_format<V>(snapshot: &Snapshot<V>, corrupt: impl Fn(String) -> StateError) -> StateError {
    corrupt(format!(
        "it was written by Orch {} in format {}, newer than this build reads ({FORMAT_VERSION}): upgrade Orch",
        snapshot.orch_version, snapshot.format_version
    ))
}

/// Opens the secrets of a state being loaded, and remembers why it could
/// not, so that a missing or wrong key is reported as such rather than as
/// a damaged file.
struct Opener<'a> {
    sealer: Option<&'a dyn Sealer>,
    failure: Mutex<Option<StateError>>,
}

impl<'a> Opener<'a> {
    fn new(sealer: Option<&'a dyn Sealer>) -> Opener<'a> {
        Opener { sealer, failure: Mutex::new(None) }
    }

    /// The key's failure if there was one, else `error`.
    fn explain(&self, error: StateError) -> StateError {
        self.failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().unwrap_or(error)
    }

    fn value(&self, json: &impl StoredValue, context: &str) -> Result<Value, StateError> {
        json.decode(Some(self))
            .map_err(|e| self.explain(StateError::Corrupt(format!("{context}: {e}"))))
    }

    fn instance<V: StoredValue>(
        &self,
        stored: StoredInstance<V>,
        address: &str,
    ) -> Result<InstanceState, StateError> {
        InstanceState::from_stored(stored, Some(self)).map_err(|e| {
            let e = match e {
                StateError::Corrupt(message) => {
                    StateError::Corrupt(format!("instance {address}: {message}"))
                }
                other => other,
            };
            self.explain(e)
        })
    }
}

impl Sealer for Opener<'_> {
    fn seal(&self, _plaintext: &[u8]) -> Result<String, String> {
        Err("secrets are not sealed while a state is loaded".into())
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let failure = match self.sealer {
            None => StateError::NoKey,
            Some(sealer) => match sealer.open(sealed) {
                Ok(plaintext) => return Ok(plaintext),
                Err(message) => StateError::Crypto(message),
            },
        };
        let message = failure.to_string();
        *self.failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(failure);
        Err(message)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    async fn lock(&mut self, holder: &LockInfo, wait: Duration) -> Result<(), StateError> {
        let details = serde_json::to_vec(holder).map_err(|e| StateError::Io(e.to_string()))?;
        if let Some(file) = &self.lock {
            // Held already: only the operation changes.
            return write_holder(file, &details).map_err(|e| self.io_error("write", LOCK_FILE, e));
        }
        self.create_dir()?;
        let deadline = Instant::now() + wait;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        let file =
            options.open(self.path(LOCK_FILE)).map_err(|e| self.io_error("open", LOCK_FILE, e))?;
        loop {
            // `flock`: held by this open file, released when the process
            // ends however it ends. Called through the trait because
            // `File::try_lock` is newer than the minimum Rust version.
            let taken = fs4::fs_std::FileExt::try_lock_exclusive(&file)
                .map_err(|e| self.io_error("lock", LOCK_FILE, e))?;
            if taken {
                write_holder(&file, &details).map_err(|e| self.io_error("write", LOCK_FILE, e))?;
                self.lock = Some(file);
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StateError::Locked(Box::new(self.read_holder().await)));
            }
            tokio::time::sleep(LOCK_POLL.min(deadline - now)).await;
        }
    }

    async fn unlock(&mut self) -> Result<(), StateError> {
        let Some(file) = self.lock.take() else {
            return Ok(());
        };
        // The details go first: once unlocked, they may be the next
        // holder's.
        let _ = file.set_len(0);
        fs4::fs_std::FileExt::unlock(&file).map_err(|e| self.io_error("unlock", LOCK_FILE, e))
    }

    fn adopt_lineage(&mut self, lineage: &str) -> Result<(), StateError> {
        match &mut self.position {
            Some(position) if self.journal.is_none() && position.seq == 0 => {
                position.lineage = lineage.to_string();
                Ok(())
            }
            _ => Err(StateError::Io(format!(
                "the state at {} was already written when a plan's lineage was given to it (a bug in Orch)",
                self.dir.display()
            ))),
        }
    }

    async fn load(&mut self) -> Result<Loaded, StateError> {
        let opener = Opener::new(self.sealer.as_deref());
        let snapshot = self.read_snapshot()?;
        let lines = self.read_journal()?;
        let created = snapshot.is_none() && lines.is_empty();
        let (mut state, journal_seq) = match snapshot {
            Some(snapshot) => {
                let mut state = State {
                    lineage: snapshot.lineage,
                    serial: snapshot.serial,
                    instances: Default::default(),
                    outputs: Default::default(),
                };
                for (address, stored) in snapshot.instances {
                    let instance = opener.instance(stored, &address)?;
                    state.instances.insert(address, instance);
                }
                for (name, json) in &snapshot.outputs {
                    let value = opener.value(json, &format!("output {name}"))?;
                    state.outputs.insert(name.clone(), value);
                }
                (state, snapshot.journal_seq)
            }
            None => {
                let mut state = State::new();
                // A first run that crashed before its snapshot: the
                // journal says which state it was.
                if let Some((_, first)) = lines.first() {
                    state.lineage = first.lineage.clone();
                }
                (state, 0)
            }
        };
        let mut seq = journal_seq;
        let mut interrupted: Vec<Operation> = Vec::new();
        for (number, line) in lines {
            if line.seq <= journal_seq {
                // Already in the snapshot: a crash came between writing it
                // and emptying the journal.
                continue;
            }
            if line.lineage != state.lineage {
                return Err(StateError::Corrupt(format!(
                    "{} line {number} belongs to another state (lineage {}, but the state's is {})",
                    self.path(JOURNAL_FILE).display(),
                    line.lineage,
                    state.lineage
                )));
            }
            seq = seq.max(line.seq);
            match line.entry {
                Entry::Begin { address, action, kind, provider, planned } => {
                    let planned = opener.value(&planned, &format!("the operation on {address}"))?;
                    interrupted.push(Operation { address, action, kind, provider, planned });
                }
                Entry::Set { address, serial, instance } => {
                    let instance = opener.instance(instance, &address)?;
                    finished(&mut interrupted, &address);
                    state.instances.insert(address, instance);
                    state.serial = serial;
                }
                Entry::Remove { address, serial } => {
                    finished(&mut interrupted, &address);
                    state.instances.remove(&address);
                    state.serial = serial;
                }
            }
        }
        self.position = Some(Position { lineage: state.lineage.clone(), seq });
        Ok(Loaded { state, interrupted, created })
    }

    async fn begin(&mut self, operation: &Operation) -> Result<(), StateError> {
        let planned = encode_value(&operation.planned, self.sealer.as_deref())?;
        self.append(Entry::Begin {
            address: operation.address.clone(),
            action: operation.action,
            kind: operation.kind.clone(),
            provider: operation.provider.clone(),
            planned,
        })
    }

    async fn record(
        &mut self,
        address: &str,
        instance: Option<&InstanceState>,
        serial: u64,
    ) -> Result<(), StateError> {
        let address = address.to_string();
        let entry = match instance {
            Some(instance) => Entry::Set {
                address,
                serial,
                instance: instance.to_stored(self.sealer.as_deref())?,
            },
            None => Entry::Remove { address, serial },
        };
        self.append(entry)
    }

    async fn sync(&mut self) -> Result<(), StateError> {
        let Some(journal) = self.journal.as_mut().filter(|journal| journal.unsynced) else {
            return Ok(());
        };
        if self.options.background && !self.options.sync {
            if self.syncer.is_none() {
                let file = journal
                    .file
                    .try_clone()
                    .map_err(|e| StateError::Io(format!("cannot sync the journal: {e}")))?;
                self.syncer = Some(Syncer::start(file));
            }
            journal.unsynced = false;
            let requested = self.syncer.as_ref().map_or(Ok(()), Syncer::request);
            return requested.map_err(|e| StateError::Io(format!("cannot save the journal: {e}")));
        }
        let synced = journal.file.sync_data();
        // After a failed `fdatasync`, Linux may have dropped the dirty
        // pages and forgotten the error: the lines are not known durable
        // and the caller must not start operations on them.
        journal.unsynced = synced.is_err();
        synced.map_err(|e| self.io_error("save", JOURNAL_FILE, e))
    }

    async fn finish(&mut self, state: &State) -> Result<(), StateError> {
        if let Some(syncer) = self.syncer.take() {
            syncer.stop().map_err(|e| StateError::Io(format!("cannot save the journal: {e}")))?;
        }
        let sealer = self.sealer.as_deref();
        // Each value is written straight from the state (`Encoded`): no
        // JSON tree of the whole state is built.
        let secrets = match sealer {
            Some(sealer) => Secrets::Seal(sealer),
            None => Secrets::Redact,
        };
        for value in state.instances.values().map(|i| &i.value).chain(state.outputs.values()) {
            storing(value, sealer)?;
        }
        let encoded = |value| Encoded { value, secrets: &secrets };
        let instances = state
            .instances
            .iter()
            .map(|(address, instance)| {
                (address.clone(), instance.to_stored_as(encoded(&instance.value)))
            })
            .collect();
        let outputs =
            state.outputs.iter().map(|(name, value)| (name.clone(), encoded(value))).collect();
        let seq = match &self.position {
            Some(position) => position.seq,
            None => self.seq_on_disk()?,
        };
        let snapshot = Snapshot {
            format_version: FORMAT_VERSION,
            orch_version: env!("CARGO_PKG_VERSION").to_string(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            journal_seq: seq,
            instances,
            outputs,
        };
        // Writing to memory fails only when a secret cannot be sealed.
        let mut bytes =
            serde_json::to_vec_pretty(&snapshot).map_err(|e| StateError::Crypto(e.to_string()))?;
        bytes.push(b'\n');
        self.create_dir()?;
        self.write_snapshot(&bytes)?;
        self.position = Some(Position { lineage: state.lineage.clone(), seq });
        self.empty_journal()
    }
}

/// Marks the oldest unfinished operation on `address` finished.
fn finished(interrupted: &mut Vec<Operation>, address: &str) {
    if let Some(index) = interrupted.iter().position(|op| op.address == address) {
        interrupted.remove(index);
    }
}

/// Replaces the lock file's content with the holder's details. They are
/// written over the old ones before the file is cut to their length, so
/// that a reader never finds it empty.
fn write_holder(mut file: &File, details: &[u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(0))?;
    file.write_all(details)?;
    file.set_len(details.len() as u64)
}
