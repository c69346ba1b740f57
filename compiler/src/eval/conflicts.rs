//! Instances that would undo each other on every apply (`E0604`): a
//! PostgreSQL grant keeps its set of privileges exact, revoking what it does
//! not list, so two `pg.grant`s of one role on one object (or on objects
//! that overlap: every table of a schema and one of its tables) each revoke
//! what the other grants. The same holds for two `pg.default_privileges` of
//! one role on one owner's new objects of one type in one place, and for two
//! `pg.grant_role` of one membership (deleting one revokes the other's), and
//! for a `pg.grant_role` of a member whose `pg.role` sets `roles` (kept
//! exact, it revokes the membership).
//!
//! Only instances whose identifying fields are all known are compared, under
//! the same provider configuration (`@provider`).

use orch_lang::Diagnostic;
use orch_lang::diagnostic::codes;
use orch_stdlib::Value;

use super::Instance;

/// The conflicts among `instances`, one diagnostic per pair, at the later
/// declaration with a label on the earlier.
pub(crate) fn conflicting_grants(instances: &[Instance]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let scopes: Vec<(usize, Scope)> = instances
        .iter()
        .enumerate()
        .filter_map(|(i, instance)| Some((i, scope(instance)?)))
        .collect();
    for (n, (i, a)) in scopes.iter().enumerate() {
        for (j, b) in &scopes[n + 1..] {
            if !a.overlaps(b) {
                continue;
            }
            let (first, second) = (&instances[*i], &instances[*j]);
            let message = format!(
                "`{}` and `{}` both manage {}: each apply would undo the other",
                first.address,
                second.address,
                b.describe()
            );
            let help = match b.kind {
                GrantKind::Membership => "keep one of the two declarations".to_string(),
                _ => "keep the privileges in one declaration, or grant on objects that do not \
                      overlap"
                    .to_string(),
            };
            diagnostics.push(
                Diagnostic::new(&codes::E0604, second.span, message)
                    .with_label(first.span, format!("`{}` is declared here", first.address))
                    .with_help(help),
            );
        }
    }
    diagnostics.extend(memberships_of_exact_roles(instances));
    diagnostics
}

/// A `pg.grant_role` of a member whose `pg.role` sets `roles`: the role
/// keeps its memberships exact, revoking the one the grant makes (or, when
/// listed there too, the grant's deletion revokes the role's).
fn memberships_of_exact_roles(instances: &[Instance]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for role in instances.iter().filter(|i| i.resource_kind == "pg.role") {
        let (Ok(Some(name)), Value::List(_)) =
            (text(&role.value, "name"), field(&role.value, "roles"))
        else {
            continue;
        };
        for grant in instances.iter().filter(|i| i.resource_kind == "pg.grant_role") {
            if grant.options.provider_alias != role.options.provider_alias
                || text(&grant.value, "role") != Ok(Some(name.clone()))
            {
                continue;
            }
            let group = text(&grant.value, "grant_role").ok().flatten().unwrap_or_default();
            diagnostics.push(
                Diagnostic::new(
                    &codes::E0604,
                    grant.span,
                    format!(
                        "`{}` and `{}` both manage the memberships of {name}: `roles` keeps them \
                         exact, so each apply would undo the other's membership in {group}",
                        role.address, grant.address
                    ),
                )
                .with_label(role.span, format!("`{}` sets `roles` here", role.address))
                .with_help(
                    "manage the role's memberships in one place: list them in `roles`, or leave \
                     `roles` out and use `pg.grant_role`",
                ),
            );
        }
    }
    diagnostics
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GrantKind {
    Grant,
    DefaultPrivileges,
    Membership,
}

/// What a grant-like instance manages.
#[derive(Debug)]
struct Scope {
    kind: GrantKind,
    provider: Option<String>,
    /// The fields that must be equal: role, database, schema, object type
    /// (and owner); role and granted role for a membership.
    key: Vec<Option<String>>,
    /// A grant's objects; empty is every object of the type in the schema.
    objects: Vec<String>,
    /// A column grant's columns.
    columns: Vec<String>,
}

fn text(value: &Value, name: &str) -> Result<Option<String>, ()> {
    match field(value, name) {
        Value::None => Ok(None),
        Value::String(text) => Ok(Some(text.to_string())),
        _ => Err(()),
    }
}

fn field<'v>(value: &'v Value, name: &str) -> &'v Value {
    match value.reveal().0 {
        Value::Map(fields) => fields.get(name).map_or(&Value::None, |v| v.reveal().0),
        _ => &Value::None,
    }
}

fn texts(value: &Value, name: &str) -> Result<Vec<String>, ()> {
    match field(value, name) {
        Value::None => Ok(Vec::new()),
        Value::List(items) => items
            .iter()
            .map(|item| match item.reveal().0 {
                Value::String(text) => Ok(text.to_string()),
                _ => Err(()),
            })
            .collect(),
        _ => Err(()),
    }
}

/// The scope of a `pg.grant`, `pg.default_privileges` or `pg.grant_role`
/// instance whose identifying fields are known.
fn scope(instance: &Instance) -> Option<Scope> {
    let value = &instance.value;
    let (kind, key_fields): (GrantKind, &[&str]) = match instance.resource_kind.as_str() {
        "pg.grant" => (GrantKind::Grant, &["role", "database", "schema", "object_type"]),
        "pg.default_privileges" => {
            (GrantKind::DefaultPrivileges, &["role", "database", "schema", "owner", "object_type"])
        }
        "pg.grant_role" => (GrantKind::Membership, &["role", "grant_role"]),
        _ => return None,
    };
    let key = key_fields.iter().map(|name| text(value, name)).collect::<Result<_, _>>().ok()?;
    let (objects, columns) = match kind {
        GrantKind::Grant => (texts(value, "objects").ok()?, texts(value, "columns").ok()?),
        _ => (Vec::new(), Vec::new()),
    };
    Some(Scope { kind, provider: instance.options.provider_alias.clone(), key, objects, columns })
}

impl Scope {
    fn object_type(&self) -> Option<&str> {
        match self.kind {
            GrantKind::Grant => self.key[3].as_deref(),
            _ => None,
        }
    }

    fn overlaps(&self, other: &Scope) -> bool {
        if self.kind != other.kind || self.provider != other.provider || self.key != other.key {
            return false;
        }
        if self.kind != GrantKind::Grant {
            return true;
        }
        if self.object_type() == Some("column") {
            return self.objects == other.objects
                && self.columns.iter().any(|column| other.columns.contains(column));
        }
        let routines = matches!(self.object_type(), Some("function" | "procedure" | "routine"));
        self.objects.is_empty()
            || other.objects.is_empty()
            || self
                .objects
                .iter()
                .any(|a| other.objects.iter().any(|b| same_object(a, b, routines)))
    }

    /// `table privileges of app on db.s.{a, b}`.
    fn describe(&self) -> String {
        let part = |i: usize| self.key.get(i).cloned().flatten().unwrap_or_default();
        match self.kind {
            GrantKind::Membership => format!("the membership of {} in {}", part(0), part(1)),
            GrantKind::DefaultPrivileges => {
                let place = match self.key[2].as_deref() {
                    Some(schema) => format!("{}.{schema}", part(1)),
                    None => part(1),
                };
                format!(
                    "the default {} privileges of {} on objects of {} in {place}",
                    part(4),
                    part(0),
                    part(3)
                )
            }
            GrantKind::Grant => {
                let mut place = part(1);
                if let Some(schema) = self.key[2].as_deref() {
                    place = format!("{place}.{schema}");
                }
                if !self.objects.is_empty() {
                    place = format!("{place}.{{{}}}", self.objects.join(", "));
                }
                if !self.columns.is_empty() {
                    place = format!("{place}({})", self.columns.join(", "));
                }
                format!("{} privileges of {} on {place}", part(3), part(0))
            }
        }
    }
}

/// Whether two object names name a common object: equal, or for routines
/// a plain name (every overload) and one of its overloads (`f(integer)`).
fn same_object(a: &str, b: &str, routines: bool) -> bool {
    if a == b {
        return true;
    }
    if !routines {
        return false;
    }
    let name = |text: &str| text.split('(').next().unwrap_or(text).trim().to_string();
    (!a.contains('(') || !b.contains('(')) && name(a) == name(b)
}

#[cfg(test)]
mod tests {
    use super::same_object;

    #[test]
    fn a_plain_routine_name_is_every_overload() {
        assert!(same_object("f", "f(integer)", true));
        assert!(!same_object("f(text)", "f(integer)", true));
        assert!(!same_object("f", "f(integer)", false));
    }
}
