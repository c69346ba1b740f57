//! Saved plans (`orchc plan --out FILE`): the plan, the state it was made
//! against (lineage and serial), and the configuration it came from (every
//! source file and the param values), so that `orchc apply FILE` applies
//! exactly that plan, or refuses it when the state changed since.
//!
//! Secrets are sealed like in state files; param values are sealed
//! whenever a key is available, since any of them may be a secret.

use std::collections::BTreeMap;

use orch_compiler::eval::{InstanceOptions, ParamInput};
use orch_stdlib::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::codec::{self, Sealer, Secrets};
use crate::plan::{Action, Change, Drift, Plan, PlanKind, Reason};
use crate::secrets::StateKey;

/// The format marker of a plan file.
pub const FORMAT: &str = "orch-plan";
pub const VERSION: u32 = 1;

/// A plan file as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub version: u32,
    pub orch_version: String,
    pub operation: PlanKind,
    pub lineage: String,
    pub serial: u64,
    /// The root module, as its path was given.
    pub root: String,
    /// The root module's folder, absolute.
    pub base_dir: String,
    /// Where the state is (`--state`), as given; `None` for the default.
    #[serde(default)]
    pub state: Option<String>,
    /// Every source file of the configuration, by path.
    pub sources: BTreeMap<String, String>,
    /// The policy files, by path (also in `sources`).
    #[serde(default)]
    pub policy_files: Vec<String>,
    /// Param values given (sealed when a key was available).
    pub params: BTreeMap<String, Json>,
    pub changes: Vec<StoredChange>,
    #[serde(default)]
    pub drift: Vec<Drift>,
    #[serde(default)]
    pub data_reads: BTreeMap<String, Json>,
    /// State entries moved by `moved` blocks, applied first.
    #[serde(default)]
    pub moves: Vec<crate::plan::StateMove>,
    /// Objects adopted by `import` blocks, recorded after the moves.
    #[serde(default)]
    pub imports: Vec<StoredImport>,
    /// How the plan is limited (`--target`, `--exclude`); absent: it
    /// covers the whole configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<crate::targeting::Partial>,
    /// The objects a refresh-only plan records as read (sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refreshed: Vec<StoredRefresh>,
    /// What binds the file to its content (absent only while it is being
    /// made): see [`PlanFile::bind`].
    #[serde(default)]
    pub integrity: Option<Integrity>,
}

/// An import of a saved plan: the object read while planning, sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredImport {
    pub address: String,
    pub kind: String,
    pub provider: String,
    pub id: String,
    pub object: Json,
    #[serde(default)]
    pub location: Option<String>,
}

/// The digest of a plan file's content and, when its state has a key, an
/// authentication tag made with it: a plan file is applied only as it was
/// saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrity {
    /// `sha256:` and the hex SHA-256 of the file's canonical content
    /// (everything but this record).
    pub digest: String,
    /// HMAC-SHA256 of the same content under a key derived from the state
    /// key, in base64.
    #[serde(default)]
    pub mac: Option<String>,
}

/// Why a plan file is refused as tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tampering {
    /// It has no integrity record.
    Unbound,
    /// Its content does not match its digest.
    Digest,
    /// Its content does not match its authentication tag.
    Mac,
    /// It is authenticated, and the key to check it is not available.
    NoKey,
    /// Its state has a key, and the file carries no authentication tag.
    Unauthenticated,
}

impl std::fmt::Display for Tampering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tampering::Unbound => "it carries no digest of its content, so it was edited or not made by `orchc plan --out`",
            Tampering::Digest => "its content no longer matches the digest it was saved with: it was changed after `orchc plan --out` wrote it",
            Tampering::Mac => "its content does not match the authentication tag made with the state's key: it was changed after it was saved, or it was made for another state",
            Tampering::NoKey => "it is authenticated with the state's key, and no key is available to check it",
            Tampering::Unauthenticated => "the state has a key, and the plan file carries no authentication tag made with it",
        })
    }
}

impl PlanFile {
    /// The bytes the integrity record covers: the file without it.
    fn canonical(&self) -> Vec<u8> {
        let mut bare = self.clone();
        bare.integrity = None;
        serde_json::to_vec(&bare).expect("a plan file is JSON")
    }

    /// Records the digest of the content and, with `key`, its
    /// authentication tag.
    pub fn bind(&mut self, key: Option<&StateKey>) {
        let content = self.canonical();
        self.integrity = Some(Integrity {
            digest: digest(&content),
            mac: key.map(|k| k.authenticate(&content)),
        });
    }

    /// Checks the integrity record against the content and, where the
    /// state has a key (`key`), the authentication tag.
    pub fn verify(&self, key: Option<&StateKey>) -> Result<(), Tampering> {
        let Some(integrity) = &self.integrity else { return Err(Tampering::Unbound) };
        let content = self.canonical();
        if integrity.digest != digest(&content) {
            return Err(Tampering::Digest);
        }
        match (&integrity.mac, key) {
            (Some(tag), Some(key)) if key.verify(&content, tag) => Ok(()),
            (Some(_), Some(_)) => Err(Tampering::Mac),
            (Some(_), None) => Err(Tampering::NoKey),
            (None, Some(_)) => Err(Tampering::Unauthenticated),
            (None, None) => Ok(()),
        }
    }
}

fn digest(content: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(content);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// One change as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredChange {
    pub address: String,
    pub kind: String,
    pub provider: String,
    pub action: Action,
    pub reasons: Vec<Reason>,
    #[serde(default)]
    pub changed: Vec<String>,
    #[serde(default)]
    pub forces_replacement: Vec<String>,
    pub before: Option<Json>,
    pub after: Json,
    pub config: Json,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub options: StoredOptions,
    #[serde(default)]
    pub data: bool,
    pub location: Option<String>,
}

/// An object of a refresh-only plan as stored: `None` when it was found
/// gone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRefresh {
    pub address: String,
    pub object: Option<Json>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredOptions {
    #[serde(default)]
    pub prevent_destroy: bool,
    #[serde(default)]
    pub create_before_destroy: bool,
    #[serde(default)]
    pub ignore_changes: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<i64>,
    #[serde(default)]
    pub retry: Option<(i64, i64)>,
    #[serde(default)]
    pub provider_alias: Option<String>,
}

fn seal(value: &Value, sealer: Option<&dyn Sealer>) -> Result<Json, String> {
    match sealer {
        Some(sealer) => codec::encode(value, &Secrets::Seal(sealer)),
        None if value.contains_secret() => {
            Err("the plan holds a secret but no encryption key is available: set ORCH_STATE_KEY"
                .into())
        }
        None => codec::encode(value, &Secrets::Redact),
    }
}

/// What the plan file records besides the plan.
pub struct Origin<'a> {
    pub root: &'a str,
    pub base_dir: &'a str,
    pub state: Option<&'a str>,
    pub sources: BTreeMap<String, String>,
    pub policy_files: Vec<String>,
    pub params: &'a std::collections::HashMap<String, ParamInput>,
}

/// The stored form of a plan.
pub fn save(
    plan: &Plan,
    origin: Origin<'_>,
    sealer: Option<&dyn Sealer>,
) -> Result<PlanFile, String> {
    let mut params = BTreeMap::new();
    for (name, input) in origin.params {
        // Every param value is sealed when possible: any may be secret.
        let value = match sealer {
            Some(_) => Value::secret(input.to_value()),
            None => input.to_value(),
        };
        params.insert(name.clone(), seal(&value, sealer)?);
    }
    let mut changes = Vec::new();
    for change in &plan.changes {
        changes.push(StoredChange {
            address: change.address.clone(),
            kind: change.kind.clone(),
            provider: change.provider.clone(),
            action: change.action,
            reasons: change.reasons.clone(),
            changed: change.changed.clone(),
            forces_replacement: change.forces_replacement.clone(),
            before: change.before.as_ref().map(|b| seal(b, sealer)).transpose()?,
            after: seal(&change.after, sealer)?,
            config: seal(&change.config, sealer)?,
            depends_on: change.depends_on.clone(),
            options: StoredOptions {
                prevent_destroy: change.options.prevent_destroy,
                create_before_destroy: change.options.create_before_destroy,
                ignore_changes: change.options.ignore_changes.clone(),
                timeout_ms: change.options.timeout_ms,
                retry: change.options.retry,
                provider_alias: change.options.provider_alias.clone(),
            },
            data: change.data,
            location: change.location.clone(),
        });
    }
    let mut data_reads = BTreeMap::new();
    for (address, value) in &plan.data_reads {
        data_reads.insert(address.clone(), seal(value, sealer)?);
    }
    let mut imports = Vec::new();
    for import in &plan.imports {
        imports.push(StoredImport {
            address: import.address.clone(),
            kind: import.kind.clone(),
            provider: import.provider.clone(),
            id: import.id.clone(),
            object: seal(&import.object, sealer)?,
            location: import.location.clone(),
        });
    }
    let mut refreshed = Vec::new();
    for entry in &plan.refreshed {
        refreshed.push(StoredRefresh {
            address: entry.address.clone(),
            object: entry.object.as_ref().map(|o| seal(o, sealer)).transpose()?,
        });
    }
    Ok(PlanFile {
        format: FORMAT.into(),
        version: VERSION,
        orch_version: env!("CARGO_PKG_VERSION").into(),
        operation: plan.operation,
        lineage: plan.lineage.clone(),
        serial: plan.serial,
        root: origin.root.into(),
        base_dir: origin.base_dir.into(),
        state: origin.state.map(str::to_string),
        sources: origin.sources,
        policy_files: origin.policy_files,
        params,
        changes,
        drift: plan.drift.clone(),
        data_reads,
        moves: plan.moves.clone(),
        imports,
        partial: plan.partial.clone(),
        refreshed,
        integrity: None,
    })
}

/// The plan and param values of a plan file.
pub fn load(
    file: &PlanFile,
    sealer: Option<&dyn Sealer>,
) -> Result<(Plan, std::collections::HashMap<String, ParamInput>), String> {
    if file.format != FORMAT {
        return Err("this is not an Orch plan file".into());
    }
    if file.version != VERSION {
        return Err(format!("plan files of version {} cannot be read by this build", file.version));
    }
    let open = |json: &Json| codec::decode(json, sealer);
    let mut params = std::collections::HashMap::new();
    for (name, json) in &file.params {
        let value = open(json)?;
        let value = match value {
            Value::Secret(inner) => (*inner).clone(),
            other => other,
        };
        params.insert(name.clone(), ParamInput::Value(value));
    }
    let mut changes = Vec::new();
    for stored in &file.changes {
        changes.push(Change {
            address: stored.address.clone(),
            kind: stored.kind.clone(),
            provider: stored.provider.clone(),
            action: stored.action,
            reasons: stored.reasons.clone(),
            changed: stored.changed.clone(),
            forces_replacement: stored.forces_replacement.clone(),
            before: stored.before.as_ref().map(open).transpose()?,
            after: open(&stored.after)?,
            config: open(&stored.config)?,
            depends_on: stored.depends_on.clone(),
            options: InstanceOptions {
                prevent_destroy: stored.options.prevent_destroy,
                create_before_destroy: stored.options.create_before_destroy,
                ignore_changes: stored.options.ignore_changes.clone(),
                timeout_ms: stored.options.timeout_ms,
                retry: stored.options.retry,
                provider_alias: stored.options.provider_alias.clone(),
            },
            data: stored.data,
            location: stored.location.clone(),
            // Both come back from the configuration the plan carries
            // (`Plan::attach`).
            span: None,
            origin: None,
        });
    }
    let mut data_reads = BTreeMap::new();
    for (address, json) in &file.data_reads {
        data_reads.insert(address.clone(), open(json)?);
    }
    let mut imports = Vec::new();
    for stored in &file.imports {
        imports.push(crate::plan::StateImport {
            address: stored.address.clone(),
            kind: stored.kind.clone(),
            provider: stored.provider.clone(),
            id: stored.id.clone(),
            object: open(&stored.object)?,
            location: stored.location.clone(),
        });
    }
    let mut refreshed = Vec::new();
    for stored in &file.refreshed {
        refreshed.push(crate::plan::StateRefresh {
            address: stored.address.clone(),
            object: stored.object.as_ref().map(open).transpose()?,
        });
    }
    let plan = Plan {
        operation: file.operation,
        lineage: file.lineage.clone(),
        serial: file.serial,
        changes,
        drift: file.drift.clone(),
        errors: Vec::new(),
        warnings: Vec::new(),
        outputs: BTreeMap::new(),
        outputs_before: BTreeMap::new(),
        data_reads,
        moves: file.moves.clone(),
        imports,
        partial: file.partial.clone(),
        refreshed,
    };
    Ok((plan, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> PlanFile {
        PlanFile {
            format: FORMAT.into(),
            version: VERSION,
            orch_version: "test".into(),
            operation: PlanKind::Apply,
            lineage: "lineage".into(),
            serial: 3,
            root: "main.orch".into(),
            base_dir: "/x".into(),
            state: None,
            sources: BTreeMap::from([("main.orch".into(), "resource v: core.value {}".into())]),
            policy_files: Vec::new(),
            params: BTreeMap::new(),
            changes: Vec::new(),
            drift: Vec::new(),
            data_reads: BTreeMap::new(),
            moves: Vec::new(),
            imports: Vec::new(),
            partial: None,
            refreshed: Vec::new(),
            integrity: None,
        }
    }

    #[test]
    fn an_edit_with_a_recomputed_digest_still_fails_the_tag() {
        let key = StateKey::from_bytes(&[7; 32]);
        let mut saved = file();
        saved.bind(Some(&key));
        assert_eq!(saved.verify(Some(&key)), Ok(()));
        // Through JSON and back: what apply reads is what plan wrote.
        let text = serde_json::to_string_pretty(&saved).unwrap();
        let read: PlanFile = serde_json::from_str(&text).unwrap();
        assert_eq!(read.verify(Some(&key)), Ok(()));

        let mut edited = read.clone();
        edited.serial = 4;
        assert_eq!(edited.verify(Some(&key)), Err(Tampering::Digest));
        // Whoever edits can recompute the digest, not the tag.
        let mac = edited.integrity.as_ref().unwrap().mac.clone();
        edited.bind(None);
        edited.integrity.as_mut().unwrap().mac = mac;
        assert_eq!(edited.verify(Some(&key)), Err(Tampering::Mac));
        // Another state's key does not accept it either.
        assert_eq!(read.verify(Some(&StateKey::from_bytes(&[8; 32]))), Err(Tampering::Mac));
        assert_eq!(read.verify(None), Err(Tampering::NoKey));
    }

    #[test]
    fn without_a_key_the_digest_binds_and_a_later_key_wants_a_tag() {
        let mut saved = file();
        saved.bind(None);
        assert_eq!(saved.verify(None), Ok(()));
        assert_eq!(
            saved.verify(Some(&StateKey::from_bytes(&[7; 32]))),
            Err(Tampering::Unauthenticated)
        );
        let mut unbound = file();
        unbound.integrity = None;
        assert_eq!(unbound.verify(None), Err(Tampering::Unbound));
    }
}
