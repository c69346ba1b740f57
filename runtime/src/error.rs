//! Why a run could not go on, for failures that have no place in the
//! source: the state, its lock, saved plans, keys. Failures that do have a
//! place (configuration, plan, apply) are [`orch_lang::Diagnostic`]s.

use std::time::Duration;

use orch_lang::Diagnostic;

use crate::state::StateError;

/// A run that could not go on. The CLI renders it with [`RunError::code`]
/// and [`RunError::help`]; messages never hold a secret.
#[derive(Debug)]
pub enum RunError {
    /// The configuration, its evaluation or the plan has errors; they are
    /// diagnostics, rendered like those of `check`.
    Diagnostics(Vec<Diagnostic>),
    /// Evaluation cannot start: a required param has no value.
    MissingParams { file: String, names: Vec<String> },
    /// The root folder is a folder of single-file modules (some of its
    /// files are named alone by `module` or `import`) with more than one
    /// configuration among them.
    SeveralConfigurations { folder: String, files: Vec<String> },
    /// A `--state` value with a scheme no backend has.
    UnknownStateScheme { scheme: String },
    /// The state backend failed.
    State { context: &'static str, error: StateError },
    /// Another run holds the state's lock.
    Locked { location: String, holder: String, waited: Duration },
    /// `state` or `output` found no state.
    NoState { location: String },
    /// A saved plan no longer fits the state.
    StalePlan(StaleReason),
    /// A saved plan could not be read, or was given with what it fixes.
    PlanFile(String),
    /// A saved plan that is not as it was saved.
    TamperedPlan { file: String, how: crate::planfile::Tampering },
    /// A saved plan of the other kind (`apply` for `destroy`).
    WrongPlanKind { file: String, kind: crate::plan::PlanKind },
    /// The plan stores secrets in a shared state, and no key is set.
    NoKeyForSecrets { location: String, addresses: Vec<String> },
    /// An instance address that is not in the state.
    NoSuchInstance { address: String, location: String },
    /// `orchc import` into an address the state records already.
    AlreadyManaged { address: String, location: String },
    /// `state mv` onto an address that has an object of its own.
    MoveTargetTaken { from: String, to: String },
    /// A file could not be read or written.
    Io { context: String, message: String },
    /// A `--target`, `--exclude` or `--replace` address that is not one.
    BadAddress { flag: crate::targeting::AddressFlag, address: String, why: String },
    /// A `--target`, `--exclude` or `--replace` address that matches no
    /// instance of the configuration nor of the state (`in_state_only`:
    /// of the state, for a destroy).
    UnknownAddress {
        flag: crate::targeting::AddressFlag,
        address: String,
        closest: Option<String>,
        in_state_only: bool,
    },
    /// A `--replace` address that cannot be replaced.
    CannotReplace { address: String, why: crate::targeting::ReplaceRefusal },
}

/// Why a saved plan is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaleReason {
    /// The state changed since the plan was made.
    Serial { planned: u64, lineage: String, found: u64, found_lineage: String },
    /// A run was interrupted since.
    Interrupted,
}

impl RunError {
    /// A stable code, as the `orchc::…` codes of the command line.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::Diagnostics(_) => "orchc::configuration",
            RunError::MissingParams { .. } => "orchc::params",
            RunError::SeveralConfigurations { .. } => "orchc::root",
            RunError::UnknownStateScheme { .. } => "orchc::state_location",
            RunError::State { .. }
            | RunError::NoState { .. }
            | RunError::NoSuchInstance { .. }
            | RunError::AlreadyManaged { .. }
            | RunError::MoveTargetTaken { .. } => "orchc::state",
            RunError::Locked { .. } => "orchc::state_locked",
            RunError::StalePlan(_) => "orchc::stale_plan",
            RunError::TamperedPlan { .. } => "orchc::tampered_plan",
            RunError::PlanFile(_) | RunError::WrongPlanKind { .. } => "orchc::plan_file",
            RunError::NoKeyForSecrets { .. } => "orchc::state_key",
            RunError::Io { .. } => "orchc::io",
            RunError::BadAddress { .. }
            | RunError::UnknownAddress { .. }
            | RunError::CannotReplace { .. } => "orchc::address",
        }
    }

    /// What to do next.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            RunError::Diagnostics(_) | RunError::Io { .. } | RunError::PlanFile(_) => return None,
            RunError::MissingParams { .. } => {
                "pass them with --var NAME=VALUE, --var-file FILE or ORCH_VAR_NAME".into()
            }
            RunError::SeveralConfigurations { .. } => {
                "name the one to run (`orchc plan FILE`), or give each configuration a folder of its own".into()
            }
            RunError::UnknownStateScheme { .. } => format!(
                "a state is a folder (local) or one of {} (shared)",
                crate::location::SCHEMES.join(", ")
            ),
            RunError::State { error, .. } => return error.help(),
            RunError::Locked { waited, .. } if waited.is_zero() => "wait for that run to finish, or pass --lock-timeout (e.g. 2m) to wait for it; a run that died releases the lock by itself".into(),
            RunError::Locked { .. } => "that run still holds the lock; wait longer with a larger --lock-timeout, or find out why it runs so long".into(),
            RunError::NoState { .. } => {
                "run `orchc apply` first, or pass --state to name the state".into()
            }
            RunError::StalePlan(_) => "make a new plan with `orchc plan --out FILE`".into(),
            RunError::TamperedPlan { how: crate::planfile::Tampering::NoKey, .. } => "set ORCH_STATE_KEY to the key of the state the plan was made against, or make a new plan with `orchc plan --out FILE`".into(),
            RunError::TamperedPlan { .. } => "a saved plan is applied only as `orchc plan --out` wrote it: make a new plan with `orchc plan --out FILE` and review it".into(),
            RunError::WrongPlanKind { kind, .. } => match kind {
                crate::plan::PlanKind::Apply | crate::plan::PlanKind::Refresh => {
                    "apply it with `orchc apply PLANFILE`".into()
                }
                crate::plan::PlanKind::Destroy => {
                    "apply it with `orchc destroy PLANFILE` (or `orchc apply PLANFILE`)".into()
                }
            },
            RunError::NoKeyForSecrets { .. } => "a shared state never generates a key: set ORCH_STATE_KEY to the team's key (the same on every machine), e.g. one made with `openssl rand -base64 32`".into(),
            RunError::NoSuchInstance { .. } => "`orchc state list` lists the recorded addresses".into(),
            RunError::AlreadyManaged { address, .. } => format!("`orchc state show '{address}'` shows the object recorded; to adopt another one there, forget it first with `orchc state rm '{address}'`"),
            RunError::MoveTargetTaken { to, .. } => format!("move it to a free address, or forget the object at `{to}` first (`orchc state rm '{to}'`)"),
            RunError::BadAddress { .. } => "write addresses as plans show them: `files`, `files[\"x\"]`, `shard[0]`, `db.role` (quoted for the shell)".into(),
            RunError::UnknownAddress { closest: Some(closest), .. } => format!("did you mean `{closest}`?"),
            RunError::UnknownAddress { in_state_only: true, .. } => "`orchc state list` lists the recorded addresses".into(),
            RunError::UnknownAddress { .. } => "`orchc plan` lists the addresses of what changes, `orchc state list` the recorded ones".into(),
            RunError::CannotReplace { .. } => "name an instance that is both in the configuration and recorded in the state".into(),
        })
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Diagnostics(diagnostics) => {
                let n = diagnostics.iter().filter(|d| d.is_error()).count();
                write!(f, "{n} error{} in the configuration", if n == 1 { "" } else { "s" })
            }
            RunError::MissingParams { file, names } => write!(
                f,
                "cannot plan {file}: no value for the required param{} {}",
                if names.len() == 1 { "" } else { "s" },
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            RunError::SeveralConfigurations { folder, files } => write!(
                f,
                "`{folder}` holds {} configurations, not one module: {}",
                files.len(),
                files.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
            RunError::UnknownStateScheme { scheme } => {
                write!(f, "`{scheme}://` is not a kind of state: no backend stores state there")
            }
            RunError::State { context, error } => write!(f, "{context}: {error}"),
            RunError::Locked { location, holder, waited } if waited.is_zero() => {
                write!(f, "the state at {location} is locked by {holder}")
            }
            RunError::Locked { location, holder, waited } => write!(
                f,
                "the state at {location} is still locked by {holder} after waiting {}",
                humantime::format_duration(*waited)
            ),
            RunError::NoState { location } => write!(f, "there is no state at {location}"),
            RunError::StalePlan(StaleReason::Serial { planned, lineage, found, found_lineage }) => {
                write!(
                    f,
                    "the plan is stale: it was made against the state at serial {planned} (lineage {lineage}), and the state is now at serial {found} (lineage {found_lineage})"
                )
            }
            RunError::StalePlan(StaleReason::Interrupted) => {
                f.write_str("the plan is stale: a run was interrupted since it was made")
            }
            RunError::PlanFile(message) => f.write_str(message),
            RunError::TamperedPlan { file, how } => {
                write!(f, "the plan file {file} is refused: {how}")
            }
            RunError::WrongPlanKind { file, kind } => {
                write!(f, "{file} is a saved {kind} plan")
            }
            RunError::NoKeyForSecrets { location, addresses } => {
                let shown: Vec<&str> = addresses.iter().take(5).map(String::as_str).collect();
                let more = addresses.len().saturating_sub(shown.len());
                write!(
                    f,
                    "the plan stores secrets in the shared state at {location} ({}{}), but ORCH_STATE_KEY is not set; nothing was changed",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                )
            }
            RunError::NoSuchInstance { address, location } => {
                write!(f, "there is no `{address}` in the state at {location}")
            }
            RunError::AlreadyManaged { address, location } => write!(
                f,
                "`{address}` is in the state at {location} already: there is nothing to import"
            ),
            RunError::MoveTargetTaken { from, to } => {
                write!(
                    f,
                    "`{from}` cannot move to `{to}`: `{to}` has an object of its own in the state"
                )
            }
            RunError::Io { context, message } => write!(f, "{context}: {message}"),
            RunError::BadAddress { flag, address, why } => {
                write!(f, "`{flag} {address}` is not an instance address: {why}")
            }
            RunError::UnknownAddress { flag, address, in_state_only, .. } => write!(
                f,
                "`{flag} {address}` matches no instance {}; nothing was planned or changed",
                if *in_state_only { "in the state" } else { "of the configuration or the state" }
            ),
            RunError::CannotReplace { address, why } => {
                write!(
                    f,
                    "`--replace {address}` cannot be done: {why}; nothing was planned or changed"
                )
            }
        }
    }
}

impl std::error::Error for RunError {}
