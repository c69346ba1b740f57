//! Plans: what `apply` will do to each instance, and why.

use std::collections::{BTreeMap, BTreeSet};

use orch_compiler::eval::{InstanceOptions, InstanceRef};
use orch_lang::{Diagnostic, Span};
use orch_providers::lookup_kind;
use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
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
    /// Dropped from the state, its object left as it is (a `removed`
    /// block with `destroy = false`).
    Forget,
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
            Action::Forget => "forget",
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
            Action::Forget => "/",
        }
    }

    /// Whether the action changes something.
    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an instance gets its action. Messages are made from it at the
/// edge (`Display`); code decides on the variant, never on the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "reason", content = "field", rename_all = "snake_case")]
pub enum Reason {
    /// Not in the state: a new object.
    New,
    /// Recorded, but found gone by refresh.
    DeletedOutside,
    /// An earlier create failed or was interrupted.
    Tainted,
    /// A change of this field cannot be made in place.
    ForcesReplacement(String),
    /// The configuration changed this field.
    Changed(String),
    /// This field was changed outside Orch (drift to undo).
    ChangedOutside(String),
    /// The declaration is gone from the configuration.
    NoLongerInConfiguration,
    /// Set aside by a create-before-destroy replacement.
    Deposed,
    /// `orchc destroy`.
    Destroy,
    /// A data look-up that depends on changes made during apply.
    ReadAfterChanges,
    /// A data look-up whose inputs are known only during apply.
    ReadInputsUnknown,
    /// A `removed` block with `destroy = false`: forgotten, not deleted.
    RemovedKeepObject,
    /// The user asked for the replacement (`--replace`).
    ReplaceRequested,
}

impl Reason {
    /// Whether the reason forces a replacement by itself.
    pub fn forces_replacement(&self) -> bool {
        matches!(self, Reason::ForcesReplacement(_) | Reason::Tainted | Reason::ReplaceRequested)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::New => f.write_str("new"),
            Reason::DeletedOutside => f.write_str("deleted outside Orch"),
            Reason::Tainted => f.write_str("tainted: an earlier create failed or was interrupted"),
            Reason::ForcesReplacement(field) => write!(f, "`{field}` forces replacement"),
            Reason::Changed(field) => write!(f, "`{field}` changed"),
            Reason::ChangedOutside(field) => write!(f, "`{field}` changed outside Orch"),
            Reason::NoLongerInConfiguration => f.write_str("no longer in the configuration"),
            Reason::Deposed => f.write_str("set aside by a create-before-destroy replacement"),
            Reason::Destroy => f.write_str("destroy"),
            Reason::ReadAfterChanges => {
                f.write_str("read during apply: it depends on changes made then")
            }
            Reason::ReadInputsUnknown => {
                f.write_str("read during apply: its inputs are known only then")
            }
            Reason::RemovedKeepObject => {
                f.write_str("a `removed` block forgets it and leaves the object in place")
            }
            Reason::ReplaceRequested => f.write_str("replacement requested"),
        }
    }
}

/// Reasons joined for one line: `` `a` changed; `b` changed ``.
pub fn join_reasons(reasons: &[Reason]) -> String {
    reasons.iter().map(Reason::to_string).collect::<Vec<_>>().join("; ")
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Bring the objects to the configuration.
    #[default]
    Apply,
    /// Delete every recorded object.
    Destroy,
    /// Record in the state what refresh found (drift), changing no object
    /// (`--refresh-only`).
    Refresh,
}

impl PlanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanKind::Apply => "apply",
            PlanKind::Destroy => "destroy",
            PlanKind::Refresh => "refresh",
        }
    }
}

impl std::fmt::Display for PlanKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// Why: new, a field changed, tainted, ...
    pub reasons: Vec<Reason>,
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
    /// The instance in the configuration, to evaluate it again during
    /// apply; `None` for objects no longer in it.
    pub origin: Option<InstanceRef>,
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

/// An instance recorded at `from` that a `moved` block (or a chain of
/// them) sends to `to`: the state entry moves, the object is untouched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StateMove {
    pub from: String,
    pub to: String,
}

/// An existing object that an `import` block adopts: read through its
/// provider while planning, recorded at `address` before anything else is
/// applied. The plan's change for `address` is planned against it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateImport {
    pub address: String,
    pub kind: String,
    /// The provider configuration: `fs`, `pg.admin`.
    pub provider: String,
    /// The id it was imported by: a path, a name.
    pub id: String,
    /// The object as read (secrets marked).
    pub object: Value,
    /// Where it is declared: `main.orch:3:10`.
    pub location: Option<String>,
}

/// An object refresh found changed or gone, to record in the state as it
/// is (a refresh-only plan).
#[derive(Debug, Clone, PartialEq)]
pub struct StateRefresh {
    pub address: String,
    /// The object as read back; `None`: it is gone.
    pub object: Option<Value>,
}

/// A plan for `apply` or `destroy`.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub operation: PlanKind,
    /// The state the plan was made against.
    pub lineage: String,
    pub serial: u64,
    /// Every instance, in evaluation order, then the deletions. No-ops
    /// included, so that the executor can keep ordering through them.
    pub changes: Vec<Change>,
    pub drift: Vec<Drift>,
    /// Why the plan cannot be applied: at the declaration's span, or
    /// for objects no longer in the configuration at their recorded place.
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<String>,
    /// The root module's outputs as planned.
    pub outputs: BTreeMap<String, Value>,
    /// The root module's outputs recorded by the last apply, so that a
    /// plan can show how they change (empty for a saved plan).
    pub outputs_before: BTreeMap<String, Value>,
    /// Data look-ups done while planning, by address.
    pub data_reads: BTreeMap<String, Value>,
    /// State entries to move before anything else is applied; `changes`
    /// use the new addresses.
    pub moves: Vec<StateMove>,
    /// Objects to record, as `import` blocks adopt them, after the moves
    /// and before any change.
    pub imports: Vec<StateImport>,
    /// How the plan is limited (`--target`, `--exclude`); `None`: it
    /// covers the whole configuration.
    pub partial: Option<crate::targeting::Partial>,
    /// The objects a refresh-only plan records as they were read.
    pub refreshed: Vec<StateRefresh>,
}

impl Plan {
    /// The changes that do something.
    pub fn effective(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action.is_change())
    }

    /// Gives the changes of a saved plan their places in the
    /// configuration it carries: spans for messages, and origins for
    /// evaluating values known only during apply.
    pub fn attach(&mut self, evaluation: &orch_compiler::eval::Evaluation) {
        let by_address: std::collections::HashMap<&str, &orch_compiler::eval::Instance> =
            evaluation.instances.iter().map(|i| (i.address.as_str(), i)).collect();
        for change in &mut self.changes {
            if let Some(instance) = by_address.get(change.address.as_str()) {
                change.span = Some(instance.span);
                change.origin = Some(instance.origin.clone());
            }
        }
    }

    pub fn has_changes(&self) -> bool {
        self.effective().next().is_some()
            || !self.moves.is_empty()
            || !self.imports.is_empty()
            || !self.refreshed.is_empty()
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
        if self.operation == PlanKind::Refresh {
            let n = self.refreshed.len();
            return format!(
                "{n} object{} to record in the state as found, no object to change",
                if n == 1 { "" } else { "s" }
            );
        }
        let counts = self.counts();
        let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
        let mut text = format!(
            "{} to create, {} to update, {} to replace, {} to delete",
            n(Action::Create),
            n(Action::Update),
            n(Action::Replace),
            n(Action::Delete)
        );
        if !self.imports.is_empty() {
            text.push_str(&format!(", {} to import", self.imports.len()));
        }
        if !self.moves.is_empty() {
            text.push_str(&format!(", {} to move", self.moves.len()));
        }
        if n(Action::Forget) > 0 {
            text.push_str(&format!(", {} to forget", n(Action::Forget)));
        }
        if n(Action::Read) > 0 {
            text.push_str(&format!(", {} to read during apply", n(Action::Read)));
        }
        text
    }
}

/// A value's field names, in order (none unless it is a map).
fn names(value: &Value) -> impl Iterator<Item = &smol_str::SmolStr> {
    let entries = match value {
        Value::Map(entries) => Some(entries.keys()),
        _ => None,
    };
    entries.into_iter().flatten()
}

/// Whether two field values differ, looking through secret marks. An
/// unknown value differs from everything.
pub fn differs(a: &Value, b: &Value) -> bool {
    if !a.is_known() || !b.is_known() {
        return true;
    }
    !a.same_revealed(b)
}

/// The input fields of `kind` that differ between `before` and `after`,
/// leaving out the ignored ones.
pub fn changed_inputs(
    schema: Option<&KindSchema>,
    before: &Value,
    after: &Value,
    ignored: &[String],
) -> Vec<String> {
    let differ = |name: &str| {
        !ignored.iter().any(|i| i == name) && differs(field(before, name), field(after, name))
    };
    match schema {
        Some(schema) => {
            let mut changed: Vec<String> = schema
                .inputs()
                .map(|f| f.name)
                .filter(|name| differ(name))
                .map(str::to_string)
                .collect();
            changed.sort();
            changed.dedup();
            changed
        }
        None => {
            let names: BTreeSet<&smol_str::SmolStr> = names(before).chain(names(after)).collect();
            names.into_iter().filter(|name| differ(name)).map(|n| n.to_string()).collect()
        }
    }
}

/// The fields (inputs and outputs) of a recorded object that differ from
/// the object as read back: drift.
pub fn drifted_fields(recorded: &Value, current: &Value, ignored: &[String]) -> Vec<String> {
    let names: BTreeSet<&smol_str::SmolStr> = names(recorded).chain(names(current)).collect();
    names
        .into_iter()
        .filter(|name| !ignored.iter().any(|i| i == name.as_str()))
        .filter(|name| {
            let (a, b) = (field(recorded, name), field(current, name));
            // An output the provider cannot read back stays as recorded.
            b.is_known() && !a.same_revealed(b)
        })
        .map(|n| n.to_string())
        .collect()
}

/// `config` with the ignored fields taken from `current`.
pub fn with_ignored(config: &Value, current: &Value, ignored: &[String]) -> Value {
    if ignored.is_empty() {
        return config.clone();
    }
    let mut fields = match config {
        Value::Map(entries) => entries.to_map(),
        _ => BTreeMap::new(),
    };
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
    let mut fields = fields.to_map();
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
