//! Plans: what `apply` will do to each instance, and why.

use std::collections::{BTreeMap, BTreeSet};

use orch_compiler::eval::InstanceOptions;
use orch_lang::Span;
use orch_lang::diagnostic::Code;
use orch_stdlib::kinds::KindSchema;
use orch_stdlib::{Value, lookup_kind};
use serde::Serialize;

use crate::provider::field;

/// What happens to one instance.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    /// A data look-up that can only run during apply.
    Read,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Read => "read",
        }
    }

    /// The sign shown before the address in plan output.
    pub fn sign(self, create_before_destroy: bool) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace if create_before_destroy => "+/-",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Read => "<=",
        }
    }

    /// Whether the action changes something.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

/// The planned change of one instance.
#[derive(Debug, Clone)]
pub struct Change {
    pub address: String,
    /// The resource or data kind: `fs.file`.
    pub kind: String,
    /// The provider configuration: `fs`, or `pg.admin`.
    pub provider: String,
    pub action: Action,
    /// Why, in words: `new`, `` `content` changed ``, `tainted`.
    pub reasons: Vec<String>,
    /// The fields that change (for an update or replace).
    pub changed: Vec<String>,
    /// The fields whose change forces the replacement.
    pub forces_replacement: Vec<String>,
    /// The object as it is now (refreshed), for updates, replacements and
    /// deletions.
    pub before: Option<Value>,
    /// The object as planned: outputs unknown until apply where the
    /// provider cannot predict them. For a delete, `none`.
    pub after: Value,
    /// The configuration given to the provider: the inputs (ignored
    /// fields as they are now), outputs unknown.
    pub config: Value,
    /// The instances it depends on (from the configuration, or from state
    /// for a deletion).
    pub depends_on: Vec<String>,
    pub options: InstanceOptions,
    /// A data look-up rather than a resource.
    pub data: bool,
    /// Where it is declared: `main.orch:3:10`.
    pub location: Option<String>,
    /// The declaration's name, when it is in the configuration.
    pub span: Option<Span>,
}

/// An object that changed outside Orch since the last apply.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Drift {
    pub address: String,
    pub kind: String,
    /// Gone altogether.
    pub deleted: bool,
    /// The fields that differ from the recorded state.
    pub fields: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A reason the plan cannot be applied.
#[derive(Debug, Clone)]
pub struct PlanError {
    /// `E0902` for a protected object, `E0903` for a failed read or an
    /// unusable configuration, or the code of an evaluation diagnostic.
    pub code: &'static Code,
    pub message: String,
    pub help: Option<String>,
    pub span: Option<Span>,
    pub location: Option<String>,
}

/// A plan for `apply` or `destroy`.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// `apply` or `destroy`.
    pub operation: String,
    /// The state the plan was made against.
    pub lineage: String,
    pub serial: u64,
    /// Every instance, in evaluation order, then the deletions. No-ops
    /// included, so that the executor can keep ordering through them.
    pub changes: Vec<Change>,
    pub drift: Vec<Drift>,
    pub errors: Vec<PlanError>,
    pub warnings: Vec<String>,
    /// The root module's outputs as planned.
    pub outputs: BTreeMap<String, Value>,
    /// Data look-ups done while planning, by address.
    pub data_reads: BTreeMap<String, Value>,
}

impl Plan {
    /// The changes that do something.
    pub fn effective(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action.is_change())
    }

    pub fn has_changes(&self) -> bool {
        self.effective().next().is_some()
    }

    /// How many of each action: create, update, replace, delete, read.
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut counts = BTreeMap::new();
        for change in self.effective() {
            *counts.entry(change.action).or_default() += 1;
        }
        counts
    }

    /// `Plan: 2 to create, 1 to update, 0 to replace, 1 to delete.`
    pub fn summary(&self) -> String {
        let counts = self.counts();
        let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
        let mut text = format!(
            "{} to create, {} to update, {} to replace, {} to delete",
            n(Action::Create),
            n(Action::Update),
            n(Action::Replace),
            n(Action::Delete)
        );
        if n(Action::Read) > 0 {
            text.push_str(&format!(", {} to read during apply", n(Action::Read)));
        }
        text
    }
}

/// A value's fields in a map, for comparisons.
fn entries(value: &Value) -> BTreeMap<smol_str::SmolStr, Value> {
    match value {
        Value::Map(entries) => (**entries).clone(),
        _ => BTreeMap::new(),
    }
}

/// Whether two field values differ, looking through secret marks. An
/// unknown value differs from everything.
pub fn differs(a: &Value, b: &Value) -> bool {
    if !a.is_known() || !b.is_known() {
        return true;
    }
    a.reveal_all() != b.reveal_all()
}

/// The input fields of `kind` that differ between `before` and `after`,
/// leaving out the ignored ones.
pub fn changed_inputs(
    schema: Option<&KindSchema>,
    before: &Value,
    after: &Value,
    ignored: &[String],
) -> Vec<String> {
    let names: BTreeSet<String> = match schema {
        Some(schema) => schema.inputs().map(|f| f.name.to_string()).collect(),
        None => {
            entries(before).keys().chain(entries(after).keys()).map(|k| k.to_string()).collect()
        }
    };
    names
        .into_iter()
        .filter(|name| !ignored.contains(name))
        .filter(|name| differs(field(before, name), field(after, name)))
        .collect()
}

/// The fields (inputs and outputs) of a recorded object that differ from
/// the object as read back: drift.
pub fn drifted_fields(recorded: &Value, current: &Value, ignored: &[String]) -> Vec<String> {
    let names: BTreeSet<smol_str::SmolStr> =
        entries(recorded).into_keys().chain(entries(current).into_keys()).collect();
    names
        .into_iter()
        .map(|n| n.to_string())
        .filter(|name| !ignored.contains(name))
        .filter(|name| {
            let (a, b) = (field(recorded, name), field(current, name));
            // An output the provider cannot read back stays as recorded.
            b.is_known() && a.reveal_all() != b.reveal_all()
        })
        .collect()
}

/// `config` with the ignored fields taken from `current`.
pub fn with_ignored(config: &Value, current: &Value, ignored: &[String]) -> Value {
    if ignored.is_empty() {
        return config.clone();
    }
    let mut fields = entries(config);
    for name in ignored {
        let value = field(current, name).clone();
        fields.insert(name.as_str().into(), value);
    }
    Value::map(fields)
}

/// Marks the schema's sensitive fields of an object secret (those with
/// something in them: [`Value::sensitive`]).
pub fn mark_sensitive(kind: &str, value: Value) -> Value {
    let Some(schema) = lookup_kind(kind) else { return value };
    let Value::Map(fields) = &value else { return value };
    if !schema.fields.iter().any(|f| f.sensitive) {
        return value;
    }
    let mut fields = (**fields).clone();
    for schema_field in schema.fields.iter().filter(|f| f.sensitive) {
        if let Some(entry) = fields.get_mut(schema_field.name) {
            *entry = Value::sensitive(entry.clone());
        }
    }
    Value::map(fields)
}

/// Whether every input of an object or configuration is known (its
/// outputs may not be).
pub fn inputs_known(kind: &str, value: &Value) -> bool {
    crate::provider::inputs_of(lookup_kind(kind), value).is_known()
}
