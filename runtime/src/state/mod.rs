//! Recorded state: what Orch made, with what inputs, and in what order it
//! depends on other objects. Backends persist it durably after every
//! operation: the local backend (a folder, `.orch/` by default) and the
//! PostgreSQL backend (`postgres://...`).

pub mod local;
pub mod postgres;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use orch_stdlib::Value;
use serde::{Deserialize, Serialize};

use crate::codec::{self, Sealer, Secrets};

/// The version of the state format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// The state of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Made once when the state is created; a plan file records it so that
    /// it is never applied to another state.
    pub lineage: String,
    /// One more for each persisted change.
    pub serial: u64,
    /// Instances by address (`conf["api"]`).
    pub instances: BTreeMap<String, InstanceState>,
    /// The root module's outputs after the last apply.
    pub outputs: BTreeMap<String, Value>,
}

impl State {
    /// Counts one more persisted change and returns its serial. At the
    /// largest serial it is an error, never a wrap to 0: a serial that
    /// went back would make stale plans and journals look current. (No run
    /// reaches it by counting; only an edited or corrupt state holds it.)
    pub fn advance_serial(&mut self) -> Result<u64, StateError> {
        self.serial = self.serial.checked_add(1).ok_or(StateError::SerialExhausted)?;
        Ok(self.serial)
    }

    /// An empty state with a new lineage.
    pub fn new() -> State {
        State {
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            instances: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// One object Orch manages.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceState {
    /// The resource kind: `fs.file`.
    pub kind: String,
    /// The provider configuration that manages it: `fs`, or `pg.admin` for
    /// an aliased configuration.
    pub provider: String,
    /// The object: its input and output fields; secrets marked.
    pub value: Value,
    /// Addresses of the instances it depended on when it was last applied:
    /// deletion walks these in reverse without the configuration.
    pub depends_on: Vec<String>,
    /// A create failed half-way or was interrupted: the next apply
    /// replaces the object.
    pub tainted: bool,
    /// `@prevent_destroy`: no plan may delete or replace it, even after its
    /// declaration is removed, until the mark is removed from state.
    pub protected: bool,
    /// `@create_before_destroy`, remembered for a replacement or deletion
    /// planned without the declaration.
    pub create_before_destroy: bool,
    /// Where it was declared (`main.orch:12:10`), for messages about an
    /// object whose declaration is gone.
    pub location: Option<String>,
}

/// The JSON form of an instance, as backends store it. Read from a large
/// file, the value is kept as its JSON text (`Box<RawValue>`) and
/// decoded straight into a [`Value`] ([`StoredValue`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredInstance<V = serde_json::Value> {
    pub kind: String,
    pub provider: String,
    pub value: V,
    /// Paths of the encrypted values inside `value`, for readers of the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tainted: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_before_destroy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl InstanceState {
    /// The stored form, secrets sealed with `sealer`. Without a sealer, a
    /// secret cannot be stored: the error says so.
    pub fn to_stored(&self, sealer: Option<&dyn Sealer>) -> Result<StoredInstance, StateError> {
        Ok(self.to_stored_as(encode_value(&self.value, sealer)?))
    }

    /// The stored form with `value` as the form of its value (made from
    /// `self.value`, secrets sealed).
    pub fn to_stored_as<V>(&self, value: V) -> StoredInstance<V> {
        StoredInstance {
            kind: self.kind.clone(),
            provider: self.provider.clone(),
            value,
            sensitive_paths: codec::secret_paths(&self.value),
            depends_on: self.depends_on.clone(),
            tainted: self.tainted,
            protected: self.protected,
            create_before_destroy: self.create_before_destroy,
            location: self.location.clone(),
        }
    }

    pub fn from_stored<V: StoredValue>(
        stored: StoredInstance<V>,
        sealer: Option<&dyn Sealer>,
    ) -> Result<InstanceState, StateError> {
        Ok(InstanceState {
            value: stored.value.decode(sealer).map_err(StateError::Corrupt)?,
            kind: stored.kind,
            provider: stored.provider,
            depends_on: stored.depends_on,
            tainted: stored.tainted,
            protected: stored.protected,
            create_before_destroy: stored.create_before_destroy,
            location: stored.location,
        })
    }
}

/// A stored value's JSON: a tree, or its text.
pub trait StoredValue {
    /// The value it encodes ([`codec::decode`]).
    fn decode(&self, sealer: Option<&dyn Sealer>) -> Result<Value, String>;
}

impl StoredValue for serde_json::Value {
    fn decode(&self, sealer: Option<&dyn Sealer>) -> Result<Value, String> {
        codec::decode(self, sealer)
    }
}

impl StoredValue for Box<serde_json::value::RawValue> {
    fn decode(&self, sealer: Option<&dyn Sealer>) -> Result<Value, String> {
        codec::decode_text(self.get(), sealer)
    }
}

/// How a value is stored with `sealer`: sealed with it, or, without one,
/// as it is when it holds no secret (else the error says that a key is
/// needed).
pub fn storing<'s>(
    value: &Value,
    sealer: Option<&'s dyn Sealer>,
) -> Result<Secrets<'s>, StateError> {
    match sealer {
        Some(sealer) => Ok(Secrets::Seal(sealer)),
        None if value.contains_secret() => Err(StateError::NoKey),
        None => Ok(Secrets::Redact),
    }
}

/// A value in its stored form, secrets sealed.
pub fn encode_value(
    value: &Value,
    sealer: Option<&dyn Sealer>,
) -> Result<serde_json::Value, StateError> {
    codec::encode(value, &storing(value, sealer)?).map_err(StateError::Crypto)
}

/// An operation about to be attempted, as written to the journal before
/// it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub address: String,
    /// Create, update or delete.
    pub action: crate::events::Step,
    pub kind: String,
    pub provider: String,
    /// The configuration being applied (outputs unknown), or the prior
    /// object for a delete.
    pub planned: Value,
}

/// Who holds a state's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub user: String,
    /// `apply`, `destroy`, `state rm`.
    pub operation: String,
    /// RFC 3339.
    pub since: String,
    pub orch_version: String,
}

impl LockInfo {
    /// This process, about to run `operation`.
    pub fn current(operation: &str) -> LockInfo {
        LockInfo {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user: current_user(),
            operation: operation.to_string(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            orch_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

pub use orch_provider::current_user;

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} by {}@{} (pid {}) since {}",
            self.operation, self.user, self.host, self.pid, self.since
        )
    }
}

/// What a backend found when it loaded the state.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub state: State,
    /// Operations that were started but whose outcome was never recorded
    /// (a crash, `kill -9`, a timeout): their objects must be read back.
    pub interrupted: Vec<Operation>,
    /// No state existed: this is a new one.
    pub created: bool,
}

/// A state backend failure.
#[derive(Debug, Clone, PartialEq)]
pub enum StateError {
    /// Someone else holds the lock.
    Locked(Box<LockInfo>),
    /// The state could not be read or written.
    Io(String),
    /// The stored state is not what this build can read.
    Corrupt(String),
    /// Another writer changed the state since it was loaded.
    Conflict { expected: u64, found: u64 },
    /// A secret must be stored but no key is available.
    NoKey,
    /// A secret could not be sealed or opened (a wrong key).
    Crypto(String),
    /// The serial is at its largest value: no change can be counted.
    SerialExhausted,
}

impl StateError {
    /// What to do next, when there is something to say beyond the message.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            StateError::Locked(_) => return None,
            StateError::Io(_) => {
                "check that the state's folder (or database) is reachable, readable and writable, then run the command again".into()
            }
            StateError::Corrupt(_) => {
                "Orch leaves a state it cannot read untouched: restore it from a backup, or pass --state to use another state".into()
            }
            StateError::Conflict { .. } => {
                "run the command again: it plans against the state as the other run left it".into()
            }
            StateError::NoKey => {
                "set ORCH_STATE_KEY to the state's key (a shared state), or let Orch create its key file (a local state)".into()
            }
            StateError::Crypto(_) => {
                "set ORCH_STATE_KEY (or the key file) to the key the state's secrets were sealed with".into()
            }
            StateError::SerialExhausted => {
                "the state counts no more changes: start a new state (`--state` elsewhere) and import its objects".into()
            }
        })
    }
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Locked(holder) => write!(f, "the state is locked: {holder}"),
            StateError::Io(message) => write!(f, "{message}"),
            StateError::Corrupt(message) => {
                write!(f, "{message} (not a state this version of Orch reads)")
            }
            StateError::Conflict { expected, found } => write!(
                f,
                "the state was changed by another run (serial {found}, expected {expected})"
            ),
            StateError::NoKey => write!(
                f,
                "a secret must be stored in the state, but no encryption key is set: set ORCH_STATE_KEY"
            ),
            StateError::Crypto(message) => write!(f, "{message}"),
            StateError::SerialExhausted => write!(
                f,
                "the state's serial is at its largest value ({}) and cannot count another \
                 change; the state was edited by hand or is corrupt",
                u64::MAX
            ),
        }
    }
}

impl std::error::Error for StateError {}

/// Where state lives. Every method persists before it returns.
#[async_trait]
pub trait Backend: Send {
    /// Where the state is, for messages: a folder or a URL without its
    /// password.
    fn describe(&self) -> String;

    /// Takes the lock for `holder`'s operation, waiting up to `wait`;
    /// refused with [`StateError::Locked`] and the holder's details.
    async fn lock(&mut self, holder: &LockInfo, wait: Duration) -> Result<(), StateError>;

    /// Releases the lock (also released when the process dies).
    async fn unlock(&mut self) -> Result<(), StateError>;

    /// The state, with the operations a crashed run left unfinished. A
    /// missing state loads as a new, empty one (not yet written).
    async fn load(&mut self) -> Result<Loaded, StateError>;

    /// Gives a new state, loaded and not yet written, the lineage
    /// `lineage`: a saved plan made against no state carries the lineage
    /// its first apply gives the state. An error once anything was
    /// written.
    fn adopt_lineage(&mut self, lineage: &str) -> Result<(), StateError>;

    /// Records that an operation is about to start. Costs the same
    /// whatever the size of the state.
    async fn begin(&mut self, operation: &Operation) -> Result<(), StateError>;

    /// Records an operation's outcome: the instance as it now is, or
    /// `None` when it is gone. `serial` is the state's new serial (one more
    /// than before). Costs the same whatever the size of the state.
    async fn record(
        &mut self,
        address: &str,
        instance: Option<&InstanceState>,
        serial: u64,
    ) -> Result<(), StateError>;

    /// Makes every line written so far durable against a crash of the
    /// operating system (`begin` and `record` are durable against a crash of
    /// the process when they return). The executor calls it once per
    /// scheduling round, before the operations of the round start: one
    /// `fdatasync` for many operations.
    async fn sync(&mut self) -> Result<(), StateError> {
        Ok(())
    }

    /// Writes the whole state (outputs included) as the new base and
    /// drops the journal: the end of a run, and `state rm`.
    async fn finish(&mut self, state: &State) -> Result<(), StateError>;
}

/// How long to wait for a lock by default: not at all.
pub const NO_WAIT: Duration = Duration::ZERO;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serial_counts_up_and_stops_at_its_largest_value() {
        let mut state = State::new();
        assert_eq!(state.advance_serial(), Ok(1));
        assert_eq!(state.serial, 1);
        state.serial = u64::MAX - 1;
        assert_eq!(state.advance_serial(), Ok(u64::MAX));
        assert_eq!(state.advance_serial(), Err(StateError::SerialExhausted));
        assert_eq!(state.serial, u64::MAX, "never wraps to 0");
    }
}
