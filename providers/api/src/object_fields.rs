//! Reading and building the objects of a kind, for the service providers
//! (`redis`, `nats`): an object's fields with the schema's defaults for those
//! it lacks, and an object map from field values.

use orch_stdlib::Value;
use orch_stdlib::kinds::KindSchema;
use smol_str::SmolStr;

use crate::{ProviderError, field};

/// An object's fields, with the kind's defaults for those it lacks.
#[derive(Clone, Copy)]
pub struct Fields<'v> {
    pub schema: &'static KindSchema,
    pub value: &'v Value,
}

impl<'v> Fields<'v> {
    pub fn new(schema: &'static KindSchema, value: &'v Value) -> Fields<'v> {
        Fields { schema, value }
    }

    /// The field's value (revealed when secret), or its default.
    pub fn get(&self, name: &str) -> &'v Value {
        match field(self.value, name).reveal().0 {
            Value::None => {
                self.schema.field(name).and_then(|f| f.default.as_ref()).unwrap_or(&Value::None)
            }
            value => value,
        }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).as_str().map(str::to_string)
    }

    pub fn required_text(&self, name: &str) -> Result<String, ProviderError> {
        self.text(name).ok_or_else(|| {
            ProviderError::new(format!("{}: `{name}` must be a known string", self.schema.name))
        })
    }

    pub fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).as_bool()
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).as_int()
    }

    /// A duration in milliseconds.
    pub fn duration(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Value::Duration(ms) => Some(*ms),
            _ => None,
        }
    }

    pub fn texts(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Value::List(items) => {
                items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// An object map from `(field, value)` pairs.
pub fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::map(entries.into_iter().map(|(name, value)| (SmolStr::new(name), value)).collect())
}

/// A list of strings.
pub fn strings(items: &[String]) -> Value {
    Value::list(items.iter().map(|item| Value::string(item.as_str())).collect())
}

/// `server`'s items in the order of `prior` when both hold the same items:
/// a list the server keeps in its own order reads back as configured.
pub fn ordered_like(server: Vec<String>, prior: &[String]) -> Vec<String> {
    let mut a = server.clone();
    let mut b = prior.to_vec();
    a.sort();
    b.sort();
    if a == b { prior.to_vec() } else { server }
}

/// An object of `schema` with its defaults and `entries`: what an import
/// reads back from.
pub fn with_defaults(schema: &KindSchema, entries: Vec<(&str, Value)>) -> Value {
    let mut map: std::collections::BTreeMap<SmolStr, Value> =
        schema.inputs().filter_map(|f| Some((SmolStr::new(f.name), f.default.clone()?))).collect();
    for (name, value) in entries {
        map.insert(SmolStr::new(name), value);
    }
    Value::map(map)
}
