//! Values and calls shared by the provider tests (`providers_*.rs`):
//! strings and lists, a kind's configuration with its schema's defaults, a
//! field replaced, unique names, an operation context.

use std::collections::BTreeMap;

use orch_runtime::provider::OpContext;
use orch_runtime::providers::lookup_kind;
use orch_stdlib::Value;

pub(crate) fn s(text: &str) -> Value {
    Value::string(text)
}

pub(crate) fn list(items: &[&str]) -> Value {
    Value::list(items.iter().map(|item| s(item)).collect())
}

/// A configuration of `kind`: the schema's defaults, then `fields`.
///
/// # Panics
///
/// When no provider has `kind`.
pub(crate) fn config(kind: &str, fields: &[(&str, Value)]) -> Value {
    let schema = lookup_kind(kind).unwrap_or_else(|| panic!("no kind {kind}"));
    let mut entries: BTreeMap<_, _> =
        schema.fields.iter().filter_map(|f| Some((f.name.into(), f.default.clone()?))).collect();
    for (name, value) in fields {
        entries.insert((*name).into(), value.clone());
    }
    Value::map(entries)
}

/// `value` (an object) with `name` set to `to`.
///
/// # Panics
///
/// When `value` is not a map.
pub(crate) fn with(value: &Value, name: &str, to: Value) -> Value {
    let Value::Map(entries) = value else { panic!("an object is a map: {value:?}") };
    let mut entries = entries.to_map();
    entries.insert(name.into(), to);
    Value::map(entries)
}

/// `prefix` with a random suffix, so tests running at once never share a
/// name: `prefix_1a2b3c4d`.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

/// An operation context for the instance `address`.
pub(crate) fn ctx(address: &str) -> OpContext {
    OpContext::new(std::env::temp_dir(), address)
}

/// Whether the objects `a` and `b` of `kind` hold the same value in every
/// field of its schema (a field left out is none), secrets compared by what
/// they hold: the plan's test for "no change".
pub(crate) fn same_fields(kind: &str, a: &Value, b: &Value) -> bool {
    let schema = lookup_kind(kind).unwrap_or_else(|| panic!("no kind {kind}"));
    schema.fields.iter().all(|f| {
        orch_runtime::provider::field(a, f.name).reveal_all()
            == orch_runtime::provider::field(b, f.name).reveal_all()
    })
}
