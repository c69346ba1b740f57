//! The PostgreSQL state backend (`--state postgres://user@host/db?state=web`):
//! many machines and CI runners can share one state.
//!
//! Layout, in the schema `orch` (created on first use):
//!
//! - `orch.states`: one row per state: lineage, serial, format and Orch
//!   versions, the root module's outputs.
//! - `orch.instances`: one row per instance (`StoredInstance` as `jsonb`),
//!   keyed by state and address, so that recording one operation writes one
//!   row whatever the size of the state.
//! - `orch.journal`: operations begun and not yet recorded; what a crashed
//!   run leaves there is loaded as interrupted.
//! - `orch.locks`: the details of who holds each state's lock, for messages.
//!
//! The lock itself is a session advisory lock, taken by a connection kept
//! for that purpose until [`Backend::unlock`]; when the process dies, its
//! connection closes and PostgreSQL releases the lock, so a crash never
//! leaves a state locked. Every write is compare-and-set on the serial: a
//! writer whose view is stale gets [`StateError::Conflict`] and changes
//! nothing, even if it runs without the lock.
//!
//! Each `begin` and `record` is one committed statement. By default the
//! server flushes its write-ahead log before the call returns; with
//! [`PostgresOptions`]`{ sync: false }` the commits are asynchronous and
//! [`Backend::sync`] flushes them all at once, once per scheduling round.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, IsolationLevel, NoTls, Statement, Transaction};

use super::{
    Backend, FORMAT_VERSION, InstanceState, Loaded, LockInfo, Operation, State, StateError,
    StoredInstance, encode_value,
};
use crate::codec::{self, Sealer};

/// The lock key of a state: the first 8 bytes of the SHA-256 of its name,
/// big-endian, as a signed 64-bit integer. The same key in SQL:
/// `('x' || left(encode(sha256('NAME'::bytea), 'hex'), 16))::bit(64)::bigint`.
pub fn lock_key(state_name: &str) -> i64 {
    let digest = orch_stdlib::functions::sha256_hex(state_name);
    // The digest is 64 hexadecimal digits, so its first 16 always parse.
    u64::from_str_radix(&digest[..16], 16).expect("hexadecimal digest") as i64
}

/// How often a lock that someone else holds is tried again while waiting.
const LOCK_POLL: Duration = Duration::from_millis(200);

/// The default time to wait for the server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Instances written per statement when the whole state is written.
const FINISH_CHUNK: usize = 1000;

/// The key of the transaction-level advisory lock held while the schema is
/// created. It uses the two-integer form of the advisory-lock functions, a
/// key space apart from the one-integer state locks ("ORCH", 1).
const SCHEMA_LOCK: (i32, i32) = (0x4f52_4348, 1);

const SCHEMA: &str = r#"
CREATE SCHEMA IF NOT EXISTS orch;
CREATE TABLE IF NOT EXISTS orch.states (
    name text PRIMARY KEY,
    lineage text NOT NULL,
    serial bigint NOT NULL,
    format_version integer NOT NULL,
    orch_version text NOT NULL,
    outputs jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orch.instances (
    state text NOT NULL REFERENCES orch.states (name) ON DELETE CASCADE,
    address text NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (state, address)
);
CREATE TABLE IF NOT EXISTS orch.journal (
    state text NOT NULL REFERENCES orch.states (name) ON DELETE CASCADE,
    seq bigserial,
    address text NOT NULL,
    operation jsonb NOT NULL,
    PRIMARY KEY (state, seq)
);
CREATE INDEX IF NOT EXISTS journal_state_address ON orch.journal (state, address);
CREATE TABLE IF NOT EXISTS orch.locks (
    state text PRIMARY KEY,
    holder jsonb NOT NULL,
    backend_pid integer NOT NULL,
    locked_at timestamptz NOT NULL DEFAULT now()
);
"#;

/// How the PostgreSQL backend commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Wait for the server to flush its write-ahead log to disk at every
    /// `begin` and `record` (`synchronous_commit = on`), so that a recorded
    /// operation survives a crash of the server or its machine, not only of
    /// Orch, as soon as the call returns: one disk flush per call. Without
    /// it, their commits are asynchronous (`synchronous_commit = off`
    /// for the backend's connection: committed and visible at once, and
    /// safe from a crash of Orch, but a crash of the server could lose the
    /// last few hundred milliseconds), and [`Backend::sync`] (once per
    /// scheduling round) and `finish` make everything durable with one
    /// flush. The same choice as [`super::local::LocalOptions::sync`].
    pub sync: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { sync: true }
    }
}

/// A state kept in a PostgreSQL database.
pub struct PostgresBackend {
    context: Context,
    options: PostgresOptions,
    /// The data connection.
    client: Client,
    /// Asynchronous commits were made since the last flush.
    unsynced: bool,
    /// The connection that holds the advisory lock, while it is held.
    lock: Option<Client>,
    /// What this backend knows is stored: set by `load`, kept up to date by
    /// every write, and the base of every compare-and-set.
    known: Option<Known>,
}

/// What every request needs besides a connection (kept apart from the
/// connection so that both can be borrowed during a transaction).
struct Context {
    url: ConnectionUrl,
    name: String,
    key: i64,
    sealer: Option<Arc<dyn Sealer>>,
    statements: Statements,
}

/// The stored state as this backend last saw or wrote it.
#[derive(Clone)]
struct Known {
    lineage: String,
    serial: u64,
    /// The row in `orch.states` exists.
    stored: bool,
}

/// The statements of the data connection, prepared once.
struct Statements {
    create_state: Statement,
    record_write: Statement,
    record_delete: Statement,
    finish_state: Statement,
    sync_state: Statement,
    current_state: Statement,
    upsert_instances: Statement,
    delete_other_instances: Statement,
    insert_journal: Statement,
    clear_journal: Statement,
    load_state: Statement,
    load_instances: Statement,
    load_journal: Statement,
}

/// The journal's form of an [`Operation`].
#[derive(Serialize, Deserialize)]
struct StoredOperation {
    address: String,
    action: crate::events::Step,
    kind: String,
    provider: String,
    planned: serde_json::Value,
}

impl PostgresBackend {
    /// Connects to the database of `url`, creating the `orch` schema if it
    /// is missing. The state is named by the URL's `state` parameter, or
    /// else `default_name`. `sealer` seals and opens secrets; without it, a
    /// secret cannot be stored. Every `begin` and `record` is flushed to
    /// disk ([`PostgresOptions::default`]).
    pub async fn connect(
        url: &str,
        default_name: &str,
        sealer: Option<Arc<dyn Sealer>>,
    ) -> Result<PostgresBackend, StateError> {
        Self::connect_with_options(url, default_name, sealer, PostgresOptions::default()).await
    }

    /// [`PostgresBackend::connect`] with the given options.
    pub async fn connect_with_options(
        url: &str,
        default_name: &str,
        sealer: Option<Arc<dyn Sealer>>,
        options: PostgresOptions,
    ) -> Result<PostgresBackend, StateError> {
        let (url, state_param) = ConnectionUrl::parse(url)?;
        let name = state_param.unwrap_or_else(|| default_name.to_string());
        if name.is_empty() {
            return Err(StateError::Io(format!(
                "the state at {} has an empty name: give one with `?state=NAME`",
                url.shown
            )));
        }
        let client = url.connect().await?;
        create_schema(&client, &url).await?;
        // Explicit either way, whatever the server's or the role's default.
        let commit = if options.sync { "on" } else { "off" };
        client
            .batch_execute(&format!("SET synchronous_commit = {commit}"))
            .await
            .map_err(|e| url.error(&e))?;
        let statements = Statements::prepare(&client).await.map_err(|e| url.error(&e))?;
        Ok(PostgresBackend {
            context: Context { key: lock_key(&name), url, name, sealer, statements },
            options,
            client,
            unsynced: false,
            lock: None,
            known: None,
        })
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.context.name
    }

    /// Refuses to write once the connection that held the lock is gone:
    /// PostgreSQL has released the lock, and another run may hold it now.
    fn check_lock(&self) -> Result<(), StateError> {
        match &self.lock {
            Some(lock) if lock.is_closed() => Err(StateError::Io(format!(
                "the connection that held the lock on state `{}` at {} was lost; \
                 another run may have taken the lock",
                self.context.name, self.context.url.shown
            ))),
            _ => Ok(()),
        }
    }

    /// What was loaded, which every write builds on.
    fn known(&self) -> Result<Known, StateError> {
        self.known.clone().ok_or_else(|| {
            StateError::Io(format!(
                "state `{}` at {} was written before it was loaded (a bug in Orch)",
                self.context.name, self.context.url.shown
            ))
        })
    }
}

impl Context {
    fn sealer(&self) -> Option<&dyn Sealer> {
        self.sealer.as_deref()
    }

    fn error(&self, error: &tokio_postgres::Error) -> StateError {
        self.url.error(error)
    }

    /// Who holds the lock on this state, as seen from `client`: the
    /// details its holder recorded, or what PostgreSQL knows of a session
    /// that recorded none. `None` when nobody holds it.
    async fn holder(&self, client: &Client) -> Result<Option<LockInfo>, StateError> {
        let row = client
            .query_opt(
                "SELECT l.pid, k.holder::text, a.usename::text, host(a.client_addr), \
                        a.application_name, \
                        to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
                 FROM pg_locks l \
                 LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
                 LEFT JOIN orch.locks k ON k.state = $2 AND k.backend_pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND l.classid::bigint = ($1::bigint >> 32) & 4294967295 \
                   AND l.objid::bigint = $1::bigint & 4294967295 \
                 LIMIT 1",
                &[&self.key, &self.name],
            )
            .await
            .map_err(|e| self.error(&e))?;
        let Some(row) = row else { return Ok(None) };
        if let Some(holder) = row.get::<_, Option<String>>(1) {
            return serde_json::from_str(&holder).map(Some).map_err(|e| {
                StateError::Corrupt(format!("the lock holder of state `{}`: {e}", self.name))
            });
        }
        // A session holds the lock but left no details: an Orch process
        // between taking the lock and recording itself, or another program.
        let server_pid: i32 = row.get(0);
        let application: Option<String> = row.get(4);
        let application = match application.as_deref() {
            None | Some("") => "an unnamed program".to_string(),
            Some(name) => format!("`{name}`"),
        };
        Ok(Some(LockInfo {
            pid: u32::try_from(server_pid).unwrap_or(0),
            host: row.get::<_, Option<String>>(3).unwrap_or_else(|| "unknown host".into()),
            user: row.get::<_, Option<String>>(2).unwrap_or_else(|| "unknown user".into()),
            operation: format!(
                "a session of {application} that recorded no details \
                 (pid of its PostgreSQL server process)"
            ),
            since: row.get::<_, Option<String>>(5).unwrap_or_else(|| "unknown".into()),
            orch_version: "unknown".into(),
        }))
    }

    /// Inserts the state's row with serial 0 unless it is `known` to be
    /// stored. If another run stored a state of the same name meanwhile,
    /// with another lineage, that is a conflict: `expected` is the serial
    /// the caller builds on.
    async fn ensure_stored(
        &self,
        transaction: &Transaction<'_>,
        known: &Known,
        lineage: &str,
        expected: u64,
    ) -> Result<(), StateError> {
        if known.stored {
            return Ok(());
        }
        let inserted = transaction
            .execute(
                &self.statements.create_state,
                &[&self.name, &lineage, &(FORMAT_VERSION as i32), &env!("CARGO_PKG_VERSION")],
            )
            .await
            .map_err(|e| self.error(&e))?;
        if inserted == 1 {
            return Ok(());
        }
        // The serial is checked by the caller's compare-and-set.
        let (found_lineage, found_serial) = self.current(transaction).await?;
        if found_lineage == lineage {
            Ok(())
        } else {
            Err(StateError::Conflict { expected, found: found_serial })
        }
    }

    /// The stored lineage and serial (none and 0 for a missing state).
    async fn current(&self, client: &impl GenericClient) -> Result<(String, u64), StateError> {
        let row = client
            .query_opt(&self.statements.current_state, &[&self.name])
            .await
            .map_err(|e| self.error(&e))?;
        match row {
            Some(row) => Ok((row.get(0), from_sql_serial(row.get(1))?)),
            None => Ok((String::new(), 0)),
        }
    }

    /// The conflict to report after a compare-and-set from `expected`
    /// changed no row.
    async fn conflict(&self, client: &impl GenericClient, expected: u64) -> StateError {
        match self.current(client).await {
            Ok((_, found)) => StateError::Conflict { expected, found },
            Err(error) => error,
        }
    }

    fn decode_instance(&self, address: &str, data: &str) -> Result<InstanceState, StateError> {
        let stored: StoredInstance = serde_json::from_str(data).map_err(|e| {
            StateError::Corrupt(format!("instance `{address}` of state `{}`: {e}", self.name))
        })?;
        InstanceState::from_stored(stored, self.sealer())
    }

    fn decode_operation(&self, data: &str) -> Result<Operation, StateError> {
        let stored: StoredOperation = serde_json::from_str(data).map_err(|e| {
            StateError::Corrupt(format!("the journal of state `{}`: {e}", self.name))
        })?;
        Ok(Operation {
            planned: codec::decode(&stored.planned, self.sealer()).map_err(StateError::Corrupt)?,
            address: stored.address,
            action: stored.action,
            kind: stored.kind,
            provider: stored.provider,
        })
    }

    fn encode_instance(
        &self,
        address: &str,
        instance: &InstanceState,
    ) -> Result<String, StateError> {
        let stored = instance.to_stored(self.sealer())?;
        serde_json::to_string(&stored)
            .map_err(|e| StateError::Io(format!("encoding instance `{address}`: {e}")))
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    fn describe(&self) -> String {
        format!("{} (state `{}`)", self.context.url.shown, self.context.name)
    }

    async fn lock(&mut self, holder: &LockInfo, wait: Duration) -> Result<(), StateError> {
        if self.lock.as_ref().is_some_and(|lock| !lock.is_closed()) {
            return Ok(());
        }
        self.lock = None;
        let context = &self.context;
        let holder_json = serde_json::to_string(holder)
            .map_err(|e| StateError::Io(format!("encoding the lock holder's details: {e}")))?;
        let client = context.url.connect().await?;
        let deadline = Instant::now() + wait;
        // Nobody may appear to hold the lock when its holder releases it
        // between our attempt and our look: then try again at once.
        let mut vanished_holders = 0;
        loop {
            let row = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&context.key])
                .await
                .map_err(|e| context.error(&e))?;
            if row.get::<_, bool>(0) {
                // A row left by a holder that died is replaced.
                client
                    .execute(
                        "INSERT INTO orch.locks (state, holder, backend_pid, locked_at) \
                         VALUES ($1, $2::text::jsonb, pg_backend_pid(), now()) \
                         ON CONFLICT (state) DO UPDATE SET holder = EXCLUDED.holder, \
                         backend_pid = EXCLUDED.backend_pid, locked_at = EXCLUDED.locked_at",
                        &[&context.name, &holder_json],
                    )
                    .await
                    .map_err(|e| context.error(&e))?;
                self.lock = Some(client);
                return Ok(());
            }
            let current = context.holder(&client).await?;
            let now = Instant::now();
            match current {
                None if vanished_holders < 3 => {
                    vanished_holders += 1;
                    continue;
                }
                None if now >= deadline => {
                    return Err(StateError::Io(format!(
                        "the lock on state `{}` at {} is taken and released too often to be \
                         taken",
                        context.name, context.url.shown
                    )));
                }
                Some(current) if now >= deadline => {
                    return Err(StateError::Locked(Box::new(current)));
                }
                _ => {}
            }
            tokio::time::sleep(LOCK_POLL.min(deadline - now)).await;
        }
    }

    async fn unlock(&mut self) -> Result<(), StateError> {
        let Some(lock) = self.lock.take() else { return Ok(()) };
        if lock.is_closed() {
            // PostgreSQL released the lock with the session.
            return Ok(());
        }
        let context = &self.context;
        lock.execute(
            "DELETE FROM orch.locks WHERE state = $1 AND backend_pid = pg_backend_pid()",
            &[&context.name],
        )
        .await
        .map_err(|e| context.error(&e))?;
        lock.execute("SELECT pg_advisory_unlock($1)", &[&context.key])
            .await
            .map_err(|e| context.error(&e))?;
        // Dropping the client closes the dedicated connection.
        Ok(())
    }

    fn adopt_lineage(&mut self, lineage: &str) -> Result<(), StateError> {
        match &mut self.known {
            Some(known) if !known.stored => {
                known.lineage = lineage.to_string();
                Ok(())
            }
            _ => Err(StateError::Io(format!(
                "state `{}` was already written when a plan's lineage was given to it (a bug in Orch)",
                self.context.name
            ))),
        }
    }

    async fn load(&mut self) -> Result<Loaded, StateError> {
        self.check_lock()?;
        let context = &self.context;
        let statements = &context.statements;
        // One snapshot, so that a concurrent writer cannot show us half of
        // its change.
        let transaction = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| context.error(&e))?;
        let state_row = transaction
            .query_opt(&statements.load_state, &[&context.name])
            .await
            .map_err(|e| context.error(&e))?;
        let instance_rows = transaction
            .query(&statements.load_instances, &[&context.name])
            .await
            .map_err(|e| context.error(&e))?;
        let journal_rows = transaction
            .query(&statements.load_journal, &[&context.name])
            .await
            .map_err(|e| context.error(&e))?;
        transaction.commit().await.map_err(|e| context.error(&e))?;

        let created = state_row.is_none();
        let mut state = State::new();
        if let Some(row) = state_row {
            let format_version: i32 = row.get(2);
            if i64::from(format_version) > i64::from(FORMAT_VERSION) {
                return Err(StateError::Corrupt(format!(
                    "state `{}` was written by a newer Orch ({}, state format {format_version}); \
                     this one reads format {FORMAT_VERSION}",
                    context.name,
                    row.get::<_, String>(4)
                )));
            }
            state.lineage = row.get(0);
            state.serial = from_sql_serial(row.get(1))?;
            let outputs: BTreeMap<String, serde_json::Value> = serde_json::from_str(row.get(3))
                .map_err(|e| {
                    StateError::Corrupt(format!("the outputs of state `{}`: {e}", context.name))
                })?;
            for (name, value) in outputs {
                let value = codec::decode(&value, context.sealer()).map_err(StateError::Corrupt)?;
                state.outputs.insert(name, value);
            }
        }
        for row in instance_rows {
            let address: String = row.get(0);
            let instance = context.decode_instance(&address, row.get(1))?;
            state.instances.insert(address, instance);
        }
        let interrupted = journal_rows
            .iter()
            .map(|row| context.decode_operation(row.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        self.known =
            Some(Known { lineage: state.lineage.clone(), serial: state.serial, stored: !created });
        Ok(Loaded { state, interrupted, created })
    }

    async fn begin(&mut self, operation: &Operation) -> Result<(), StateError> {
        self.check_lock()?;
        let known = self.known()?;
        let context = &self.context;
        // Encode first: a secret without a key changes nothing.
        let stored = StoredOperation {
            address: operation.address.clone(),
            action: operation.action,
            kind: operation.kind.clone(),
            provider: operation.provider.clone(),
            planned: encode_value(&operation.planned, context.sealer())?,
        };
        let text = serde_json::to_string(&stored)
            .map_err(|e| StateError::Io(format!("encoding an operation: {e}")))?;
        let journal_row: [&(dyn ToSql + Sync); 3] = [&context.name, &operation.address, &text];
        if known.stored {
            self.client
                .execute(&context.statements.insert_journal, &journal_row)
                .await
                .map_err(|e| context.error(&e))?;
            self.unsynced = !self.options.sync;
            return Ok(());
        }
        // The first write of a new state: its row comes first (the journal
        // refers to it).
        let transaction = self.client.transaction().await.map_err(|e| context.error(&e))?;
        context.ensure_stored(&transaction, &known, &known.lineage, known.serial).await?;
        transaction
            .execute(&context.statements.insert_journal, &journal_row)
            .await
            .map_err(|e| context.error(&e))?;
        transaction.commit().await.map_err(|e| context.error(&e))?;
        self.known = Some(Known { stored: true, ..known });
        self.unsynced = !self.options.sync;
        Ok(())
    }

    async fn record(
        &mut self,
        address: &str,
        instance: Option<&InstanceState>,
        serial: u64,
    ) -> Result<(), StateError> {
        self.check_lock()?;
        let known = self.known()?;
        let context = &self.context;
        // Encode first: a secret without a key changes nothing.
        let data =
            instance.map(|instance| context.encode_instance(address, instance)).transpose()?;
        let Some(expected) = serial.checked_sub(1) else {
            return Err(StateError::Io(format!(
                "state `{}`: an operation was recorded with serial 0 (a bug in Orch)",
                context.name
            )));
        };
        let new_serial = to_sql_serial(serial)?;
        let expected_serial = to_sql_serial(expected)?;
        let name = &context.name;
        let statements = &context.statements;
        // One statement: the compare-and-set, the instance's row and the
        // journal, atomic without a transaction block and sent in one round
        // trip; nothing is written unless the serial matched.
        let (statement, params): (&Statement, Vec<&(dyn ToSql + Sync)>) = match &data {
            Some(data) => (
                &statements.record_write,
                vec![name, &known.lineage, &new_serial, &expected_serial, &address, data],
            ),
            None => (
                &statements.record_delete,
                vec![name, &known.lineage, &new_serial, &expected_serial, &address],
            ),
        };
        let advanced: i64 = if known.stored {
            let row = self.client.query_one(statement, &params).await;
            let advanced = row.map_err(|e| context.error(&e))?.get(0);
            if advanced == 0 {
                return Err(context.conflict(&self.client, expected).await);
            }
            advanced
        } else {
            // The first write of a new state: its row comes first.
            let transaction = self.client.transaction().await.map_err(|e| context.error(&e))?;
            context.ensure_stored(&transaction, &known, &known.lineage, expected).await?;
            let row = transaction.query_one(statement, &params).await;
            let advanced = row.map_err(|e| context.error(&e))?.get(0);
            if advanced == 0 {
                // Dropping the transaction rolls it back.
                return Err(context.conflict(&transaction, expected).await);
            }
            transaction.commit().await.map_err(|e| context.error(&e))?;
            advanced
        };
        debug_assert_eq!(advanced, 1, "one row per state name");
        self.known = Some(Known { lineage: known.lineage, serial, stored: true });
        self.unsynced = !self.options.sync;
        Ok(())
    }

    async fn sync(&mut self) -> Result<(), StateError> {
        if !self.unsynced {
            return Ok(());
        }
        self.client
            .query_one(&self.context.statements.sync_state, &[&self.context.name])
            .await
            .map_err(|e| self.context.error(&e))?;
        self.unsynced = false;
        Ok(())
    }

    async fn finish(&mut self, state: &State) -> Result<(), StateError> {
        self.check_lock()?;
        let known = self.known()?;
        let context = &self.context;
        let expected = known.serial;
        if state.serial < expected {
            return Err(StateError::Io(format!(
                "state `{}` would go back from serial {expected} to {} (a bug in Orch)",
                context.name, state.serial
            )));
        }
        // Encode everything before writing anything.
        let mut outputs = serde_json::Map::new();
        for (name, value) in &state.outputs {
            outputs.insert(name.clone(), encode_value(value, context.sealer())?);
        }
        let outputs = serde_json::Value::Object(outputs).to_string();
        let mut addresses = Vec::with_capacity(state.instances.len());
        let mut data = Vec::with_capacity(state.instances.len());
        for (address, instance) in &state.instances {
            addresses.push(address.as_str());
            data.push(context.encode_instance(address, instance)?);
        }
        let new_serial = to_sql_serial(state.serial)?;
        let expected_serial = to_sql_serial(expected)?;
        let name = &context.name;
        let statements = &context.statements;

        let transaction = self.client.transaction().await.map_err(|e| context.error(&e))?;
        if !self.options.sync {
            // The end of a run is durable on return, and so is everything
            // committed before it.
            transaction
                .batch_execute("SET LOCAL synchronous_commit = on")
                .await
                .map_err(|e| context.error(&e))?;
        }
        context.ensure_stored(&transaction, &known, &state.lineage, expected).await?;
        let advanced = transaction
            .execute(
                &statements.finish_state,
                &[
                    name,
                    &state.lineage,
                    &new_serial,
                    &expected_serial,
                    &outputs,
                    &(FORMAT_VERSION as i32),
                    &env!("CARGO_PKG_VERSION"),
                ],
            )
            .await
            .map_err(|e| context.error(&e))?;
        if advanced == 0 {
            return Err(context.conflict(&transaction, expected).await);
        }
        transaction
            .execute(&statements.delete_other_instances, &[name, &addresses])
            .await
            .map_err(|e| context.error(&e))?;
        for (addresses, data) in addresses.chunks(FINISH_CHUNK).zip(data.chunks(FINISH_CHUNK)) {
            transaction
                .execute(&statements.upsert_instances, &[name, &addresses, &data])
                .await
                .map_err(|e| context.error(&e))?;
        }
        transaction
            .execute(&statements.clear_journal, &[name])
            .await
            .map_err(|e| context.error(&e))?;
        transaction.commit().await.map_err(|e| context.error(&e))?;
        self.known =
            Some(Known { lineage: state.lineage.clone(), serial: state.serial, stored: true });
        self.unsynced = false;
        Ok(())
    }
}

impl Statements {
    async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        Ok(Statements {
            create_state: client
                .prepare(
                    "INSERT INTO orch.states \
                     (name, lineage, serial, format_version, orch_version, outputs, updated_at) \
                     VALUES ($1, $2, 0, $3, $4, '{}', now()) ON CONFLICT (name) DO NOTHING",
                )
                .await?,
            record_write: client.prepare(&record_statement(RECORD_WRITE)).await?,
            record_delete: client.prepare(&record_statement(RECORD_DELETE)).await?,
            finish_state: client
                .prepare(
                    "UPDATE orch.states SET serial = $3, outputs = $5::text::jsonb, \
                     format_version = $6, orch_version = $7, updated_at = now() \
                     WHERE name = $1 AND lineage = $2 AND serial = $4",
                )
                .await?,
            // A synchronous commit flushes the write-ahead log up to its own
            // commit record, and so every asynchronous commit before it; but
            // only a transaction that wrote something waits for the flush,
            // hence the update of `updated_at`. `set_config(.., true)` lasts
            // until the end of the statement's own transaction, whose commit
            // is the one that waits.
            sync_state: client
                .prepare(
                    "WITH touched AS (UPDATE orch.states SET updated_at = now() \
                     WHERE name = $1 RETURNING 1) \
                     SELECT set_config('synchronous_commit', 'on', true), count(*) FROM touched",
                )
                .await?,
            current_state: client
                .prepare("SELECT lineage, serial FROM orch.states WHERE name = $1")
                .await?,
            // Rows whose data did not change are left alone (no new row
            // version, no write-ahead log).
            upsert_instances: client
                .prepare(
                    "INSERT INTO orch.instances (state, address, data) \
                     SELECT $1, address, data::jsonb \
                     FROM unnest($2::text[], $3::text[]) AS given (address, data) \
                     ON CONFLICT (state, address) DO UPDATE SET data = EXCLUDED.data \
                     WHERE orch.instances.data IS DISTINCT FROM EXCLUDED.data",
                )
                .await?,
            // An anti-join, not `<> ALL($2)`, so that it stays linear.
            delete_other_instances: client
                .prepare(
                    "DELETE FROM orch.instances AS i WHERE i.state = $1 AND NOT EXISTS \
                     (SELECT 1 FROM unnest($2::text[]) AS kept (address) \
                      WHERE kept.address = i.address)",
                )
                .await?,
            insert_journal: client
                .prepare(
                    "INSERT INTO orch.journal (state, address, operation) \
                     VALUES ($1, $2, $3::text::jsonb)",
                )
                .await?,
            clear_journal: client.prepare("DELETE FROM orch.journal WHERE state = $1").await?,
            load_state: client
                .prepare(
                    "SELECT lineage, serial, format_version, outputs::text, orch_version \
                     FROM orch.states WHERE name = $1",
                )
                .await?,
            load_instances: client
                .prepare("SELECT address, data::text FROM orch.instances WHERE state = $1")
                .await?,
            load_journal: client
                .prepare("SELECT operation::text FROM orch.journal WHERE state = $1 ORDER BY seq")
                .await?,
        })
    }
}

/// How `record` changes the instance's row, given the state's row as
/// `advanced` (empty when the compare-and-set failed); `$5` is the address
/// and `$6` the stored instance.
const RECORD_WRITE: &str = "INSERT INTO orch.instances (state, address, data) \
     SELECT name, $5, $6::text::jsonb FROM advanced \
     ON CONFLICT (state, address) DO UPDATE SET data = EXCLUDED.data";
const RECORD_DELETE: &str =
    "DELETE FROM orch.instances AS i USING advanced AS a WHERE i.state = a.name AND i.address = $5";

/// The statement of `record`: the compare-and-set on the serial (`$1`
/// name, `$2` lineage, `$3` new serial, `$4` expected serial), then the
/// instance's row and the address's journal entries, written only if it
/// matched. Data-modifying `WITH` clauses all run, once, whether or not the
/// final `SELECT` reads them.
fn record_statement(write: &str) -> String {
    format!(
        "WITH advanced AS (\
             UPDATE orch.states SET serial = $3, updated_at = now() \
             WHERE name = $1 AND lineage = $2 AND serial = $4 RETURNING name), \
         written AS ({write} RETURNING 1), \
         cleared AS (DELETE FROM orch.journal AS j USING advanced AS a \
             WHERE j.state = a.name AND j.address = $5 RETURNING 1) \
         SELECT count(*) FROM advanced"
    )
}

/// Creates the `orch` schema and its tables unless they all exist. Two
/// processes starting at once on an empty database would both try, and one
/// would fail on the catalog's unique index; a transaction-level advisory
/// lock makes them take turns.
async fn create_schema(client: &Client, url: &ConnectionUrl) -> Result<(), StateError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('orch.states') IS NOT NULL \
               AND to_regclass('orch.instances') IS NOT NULL \
               AND to_regclass('orch.journal') IS NOT NULL \
               AND to_regclass('orch.locks') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| url.error(&e))?
        .get(0);
    if exists {
        // Creating nothing needs no privilege to create.
        return Ok(());
    }
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({}, {}); {SCHEMA} COMMIT;",
            SCHEMA_LOCK.0, SCHEMA_LOCK.1
        ))
        .await
        .map_err(|e| {
            let error = url.error(&e);
            match error {
                StateError::Io(message) => StateError::Io(format!(
                    "creating the schema `orch` for Orch's state: {message}"
                )),
                other => other,
            }
        })?;
    Ok(())
}

fn to_sql_serial(serial: u64) -> Result<i64, StateError> {
    i64::try_from(serial).map_err(|_| StateError::Corrupt(format!("serial {serial} is too large")))
}

fn from_sql_serial(serial: i64) -> Result<u64, StateError> {
    u64::try_from(serial).map_err(|_| StateError::Corrupt(format!("negative serial {serial}")))
}

/// A connection URL split into what is given to the server and what is
/// shown in messages (no password).
#[derive(Debug, Clone, PartialEq)]
struct ConnectionUrl {
    /// The URL without the `state` parameter.
    connect: String,
    /// The URL without the `state` parameter or any password.
    shown: String,
}

impl ConnectionUrl {
    /// Splits `url`, returning the `state` parameter apart. It follows the
    /// parser of `tokio-postgres` exactly, so that whatever it takes as the
    /// password is what is hidden: the credentials end at the first `@`, the
    /// host at the next `/` or `?`, the database name at the next `?`.
    fn parse(url: &str) -> Result<(ConnectionUrl, Option<String>), StateError> {
        let Some((scheme, rest)) = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme).map(|rest| (*scheme, rest)))
        else {
            return Err(StateError::Io(
                "a PostgreSQL state must be given as a URL: postgres://user@host:port/database"
                    .into(),
            ));
        };
        let (credentials, rest) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let user = credentials.map(|credentials| match credentials.find(':') {
            Some(colon) => &credentials[..colon],
            None => credentials,
        });
        let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let path_end = match rest[host_end..].find('?') {
            Some(question) => host_end + question,
            None => rest.len(),
        };
        let location = &rest[..path_end];
        let query = rest.get(path_end + 1..).unwrap_or("");

        let mut state = None;
        let mut connect_params = Vec::new();
        let mut shown_params = Vec::new();
        for param in query.split('&').filter(|param| !param.is_empty()) {
            let key = param.split('=').next().unwrap_or_default();
            match key {
                "state" => {
                    let value = param.get("state=".len()..).unwrap_or("");
                    state = Some(percent_decode(value).ok_or_else(|| {
                        StateError::Io(format!(
                            "the `state` parameter `{value}` is not valid UTF-8"
                        ))
                    })?);
                }
                "password" => connect_params.push(param),
                _ => {
                    connect_params.push(param);
                    shown_params.push(param);
                }
            }
        }
        let join = |credentials: Option<&str>, params: &[&str]| {
            let mut text = scheme.to_string();
            if let Some(credentials) = credentials {
                text.push_str(credentials);
                text.push('@');
            }
            text.push_str(location);
            if !params.is_empty() {
                text.push('?');
                text.push_str(&params.join("&"));
            }
            text
        };
        Ok((
            ConnectionUrl {
                connect: join(credentials, &connect_params),
                shown: join(user, &shown_params),
            },
            state,
        ))
    }

    /// Opens a connection and drives it on a task of its own; dropping the
    /// client closes it.
    async fn connect(&self) -> Result<Client, StateError> {
        let mut config: tokio_postgres::Config = self.connect.parse().map_err(|e| {
            StateError::Io(format!("{} is not a valid PostgreSQL URL: {}", self.shown, message(&e)))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("orch");
        }
        let (client, connection) = config.connect(NoTls).await.map_err(|e| {
            StateError::Io(format!(
                "cannot connect to the PostgreSQL state at {}: {}",
                self.shown,
                message(&e)
            ))
        })?;
        tokio::spawn(async move {
            // The connection ends with an error when the server goes away;
            // the client's next request reports it.
            let _ = connection.await;
        });
        Ok(client)
    }

    fn error(&self, error: &tokio_postgres::Error) -> StateError {
        StateError::Io(format!("PostgreSQL state at {}: {}", self.shown, message(error)))
    }
}

/// The server's message, or the client's and its causes.
fn message(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = db.message().to_string();
        if let Some(detail) = db.detail() {
            text.push_str(" (");
            text.push_str(detail);
            text.push(')');
        }
        if let Some(hint) = db.hint() {
            text.push_str("; hint: ");
            text.push_str(hint);
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `%XX` escapes decoded; `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (ConnectionUrl, Option<String>) {
        ConnectionUrl::parse(url).expect("a valid URL")
    }

    #[test]
    fn the_state_parameter_names_the_state_and_is_not_sent() {
        let (url, state) = parse("postgres://orch@db.example:5433/infra?state=web&sslmode=disable");
        assert_eq!(state.as_deref(), Some("web"));
        assert_eq!(url.connect, "postgres://orch@db.example:5433/infra?sslmode=disable");
        assert_eq!(url.shown, "postgres://orch@db.example:5433/infra?sslmode=disable");

        let (url, state) = parse("postgresql://db/infra?state=team%2Fweb%20prod");
        assert_eq!(state.as_deref(), Some("team/web prod"));
        assert_eq!(url.connect, "postgresql://db/infra");

        let (url, state) = parse("postgres://localhost");
        assert_eq!(state, None);
        assert_eq!(url.connect, "postgres://localhost");
    }

    #[test]
    fn passwords_are_never_shown() {
        let (url, state) = parse("postgres://orch:s3cr%40t@db:5432/infra?state=web");
        assert_eq!(state.as_deref(), Some("web"));
        assert_eq!(url.connect, "postgres://orch:s3cr%40t@db:5432/infra");
        assert_eq!(url.shown, "postgres://orch@db:5432/infra");

        let (url, _) = parse("postgres://orch@db/infra?password=hunter2&application_name=x");
        assert_eq!(url.connect, "postgres://orch@db/infra?password=hunter2&application_name=x");
        assert_eq!(url.shown, "postgres://orch@db/infra?application_name=x");

        // A raw `/` or `?` in a password: tokio-postgres still ends the
        // credentials at the first `@`, and so does the shown form.
        let (url, _) = parse("postgres://orch:a/b?c@db/infra");
        assert_eq!(url.shown, "postgres://orch@db/infra");
    }

    #[test]
    fn only_urls_are_accepted() {
        let error = ConnectionUrl::parse("host=db dbname=infra").unwrap_err();
        assert!(error.to_string().contains("postgres://"), "{error}");
    }

    #[test]
    fn lock_keys_are_stable() {
        // As PostgreSQL computes them with
        // `('x' || left(encode(sha256(NAME::bytea), 'hex'), 16))::bit(64)::bigint`.
        assert_eq!(lock_key("web"), 5430874918674711225);
        assert_eq!(lock_key("staging"), -1650103811848959420);
    }
}
