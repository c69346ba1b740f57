//! Where a state is, and opening it: a local folder or a shared
//! PostgreSQL state, chosen from `--state`, `ORCH_STATE` or the default
//! (`.orch/` in the root module's folder), as CLI.md says.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::Sealer;
use crate::error::RunError;
use crate::keys::LazyKey;
use crate::secrets::KeyEnv;
use crate::state::local::{LocalBackend, LocalOptions};
use crate::state::postgres::{PostgresBackend, PostgresOptions};
use crate::state::{Backend, LockInfo, StateError};

/// The name of a shared state whose URL names none (`?state=NAME`): the
/// same URL is the same state from any folder and any command.
pub const DEFAULT_SHARED_NAME: &str = "default";

/// The URL schemes of state backends, for messages.
pub const SCHEMES: &[&str] = &["postgres://", "postgresql://"];

/// Where a state is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// A folder of the local backend.
    Local(PathBuf),
    /// A PostgreSQL database shared by a team (the URL as given; it may
    /// hold a password, so it is never shown as is).
    Postgres(String),
}

impl StateLocation {
    /// Parses a `--state` or `ORCH_STATE` value: a `postgres://` URL, or a
    /// folder. Any other `scheme://` is an error rather than a folder of
    /// that name, so that a typo cannot start an empty state.
    pub fn parse(text: &str) -> Result<StateLocation, RunError> {
        if SCHEMES.iter().any(|scheme| text.starts_with(scheme)) {
            return Ok(StateLocation::Postgres(text.to_string()));
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(RunError::UnknownStateScheme { scheme: scheme.to_string() });
        }
        Ok(StateLocation::Local(PathBuf::from(text)))
    }

    /// The state of a run: `explicit` (`--state`), else `ORCH_STATE`, else
    /// `.orch/` in `root_dir`, the root module's folder.
    pub fn resolve(explicit: Option<&str>, root_dir: &Path) -> Result<StateLocation, RunError> {
        if let Some(text) = explicit {
            return StateLocation::parse(text);
        }
        if let Ok(text) = std::env::var("ORCH_STATE")
            && !text.is_empty()
        {
            return StateLocation::parse(&text);
        }
        let dir = if root_dir.as_os_str().is_empty() { Path::new(".") } else { root_dir };
        Ok(StateLocation::Local(dir.join(".orch")))
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, StateLocation::Postgres(_))
    }

    /// Opens the backend (connecting to a shared one) without locking it.
    pub async fn open(&self) -> Result<OpenState, RunError> {
        self.open_with(false).await
    }

    /// Opens the backend to read what it records, not its secrets: a
    /// shared state is listed without `ORCH_STATE_KEY`, its secrets shown
    /// as `(secret)`. Nothing read so may be written back.
    pub async fn open_to_list(&self) -> Result<OpenState, RunError> {
        self.open_with(true).await
    }

    async fn open_with(&self, list_only: bool) -> Result<OpenState, RunError> {
        let key = Arc::new(LazyKey::new(KeyEnv::from_process(), !self.is_shared()));
        let sealer: Arc<dyn Sealer> = if list_only && self.is_shared() && !key.available() {
            Arc::new(Unopened)
        } else {
            key.clone()
        };
        let backend: Box<dyn Backend> = match self {
            StateLocation::Postgres(url) => {
                // Commits are asynchronous and made durable once per
                // scheduling round (`Backend::sync`), as for the local
                // backend.
                let backend = PostgresBackend::connect_with_options(
                    url,
                    DEFAULT_SHARED_NAME,
                    Some(sealer),
                    PostgresOptions { sync: false },
                )
                .await
                .map_err(|error| RunError::State { context: "cannot open the state", error })?;
                Box::new(backend)
            }
            StateLocation::Local(dir) => {
                // Journal lines are written one by one (durable against a
                // crash of the process) and synced once per scheduling
                // round by the executor, not one `fdatasync` per line.
                Box::new(LocalBackend::with_options(
                    dir.clone(),
                    Some(sealer),
                    LocalOptions { sync: false, background: true },
                ))
            }
        };
        let description = backend.describe();
        Ok(OpenState { backend, key, description, shared: self.is_shared() })
    }
}

/// Opens no secret: each reads as the text `(secret)`, still marked
/// secret. For listing a shared state without its key.
struct Unopened;

impl Sealer for Unopened {
    fn seal(&self, _plaintext: &[u8]) -> Result<String, String> {
        Err("this state was opened for listing only: set ORCH_STATE_KEY to change it".into())
    }

    fn open(&self, _sealed: &str) -> Result<Vec<u8>, String> {
        Ok(format!("\"{}\"", crate::codec::REDACTED).into_bytes())
    }
}

/// An opened state backend and the key of its secrets.
pub struct OpenState {
    pub backend: Box<dyn Backend>,
    pub key: Arc<LazyKey>,
    /// Where it is, for messages (a URL without its password).
    pub description: String,
    /// A shared backend: secrets need `ORCH_STATE_KEY`.
    pub shared: bool,
}

impl OpenState {
    /// Takes the state's lock for `operation`, waiting up to `wait`.
    pub async fn lock(&mut self, operation: &str, wait: Duration) -> Result<(), RunError> {
        let started = std::time::Instant::now();
        tracing::debug!(state = %self.description, operation, wait_ms = wait.as_millis() as u64, "taking the state lock");
        let result = self.backend.lock(&LockInfo::current(operation), wait).await;
        tracing::debug!(
            state = %self.description,
            waited_ms = started.elapsed().as_millis() as u64,
            ok = result.is_ok(),
            "state lock"
        );
        match result {
            Ok(()) => Ok(()),
            Err(StateError::Locked(holder)) => Err(RunError::Locked {
                location: self.description.clone(),
                holder: holder.to_string(),
                waited: wait,
            }),
            Err(error) => Err(RunError::State { context: "cannot lock the state", error }),
        }
    }

    /// Releases the lock; a failure is harmless (the lock dies with the
    /// process or the connection).
    pub async fn unlock(&mut self) {
        let _ = self.backend.unlock().await;
    }

    /// Whether a secret may be stored: a key exists, or (local backend)
    /// one may be generated.
    pub fn can_store_secrets(&self) -> bool {
        !self.shared || self.key.available()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_folders_and_unknown_schemes() {
        assert_eq!(
            StateLocation::parse("postgres://u@h/db").unwrap(),
            StateLocation::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(
            StateLocation::parse("state/here").unwrap(),
            StateLocation::Local(PathBuf::from("state/here"))
        );
        for typo in ["postgress://h/db", "s3://bucket/key", "file://x"] {
            let error = StateLocation::parse(typo).unwrap_err();
            let help = error.help().unwrap_or_default();
            assert!(help.contains("postgres://"), "{help}");
            assert!(error.to_string().contains("is not a kind of state"), "{error}");
            assert!(matches!(error, RunError::UnknownStateScheme { .. }));
        }
    }

    #[test]
    fn default_is_beside_the_root_module() {
        let location = StateLocation::resolve(None, Path::new("")).unwrap();
        // ORCH_STATE may be set by whoever runs the tests.
        if std::env::var("ORCH_STATE").is_err() {
            assert_eq!(location, StateLocation::Local(PathBuf::from("./.orch")));
            assert_eq!(
                StateLocation::resolve(None, Path::new("a/b")).unwrap(),
                StateLocation::Local(PathBuf::from("a/b/.orch"))
            );
        }
    }
}
