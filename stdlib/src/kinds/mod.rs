//! Resource and data kinds (LANGUAGE.md §7): each field's type, default,
//! whether it is required, computed by the provider (`out`), forces
//! replacement when changed, or is sensitive, and its documentation.

use std::sync::OnceLock;

use crate::ty::{FieldTy, Ty};
use crate::value::Value;

/// One field of a kind.
#[derive(Debug, Clone)]
pub struct FieldSchema {
    pub name: &'static str,
    pub ty: Ty,
    /// Markdown documentation shown by hover and completion.
    pub doc: &'static str,
    /// An input the configuration must set.
    pub required: bool,
    /// The value an omitted input takes.
    pub default: Option<Value>,
    /// Computed by the provider on apply; may not be assigned.
    pub output: bool,
    /// A change to this input replaces the object instead of updating it.
    pub forces_replacement: bool,
    /// Never shown; its value is secret.
    pub sensitive: bool,
}

/// A resource or data kind.
#[derive(Debug, Clone)]
pub struct KindSchema {
    /// Dotted name: `fs.file`.
    pub name: &'static str,
    /// A `data` kind (read-only look-up) rather than a `resource` kind.
    pub data: bool,
    pub doc: &'static str,
    pub fields: Vec<FieldSchema>,
}

impl KindSchema {
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn inputs(&self) -> impl Iterator<Item = &FieldSchema> {
        self.fields.iter().filter(|f| !f.output)
    }

    pub fn outputs(&self) -> impl Iterator<Item = &FieldSchema> {
        self.fields.iter().filter(|f| f.output)
    }

    /// The type of an instance: a record of every input and output field.
    /// An input that is neither required nor defaulted is optional;
    /// sensitive fields are secret.
    pub fn instance_type(&self) -> Ty {
        let fields = self
            .fields
            .iter()
            .map(|f| {
                let ty = if f.sensitive { Ty::secret(f.ty.clone()) } else { f.ty.clone() };
                let optional = !f.output && !f.required && f.default.is_none();
                FieldTy { name: f.name.into(), ty, optional }
            })
            .collect();
        Ty::record(Some(self.name), fields)
    }
}

/// Every kind, sorted by name.
pub fn kinds() -> &'static [KindSchema] {
    static KINDS: OnceLock<Vec<KindSchema>> = OnceLock::new();
    KINDS.get_or_init(all_kinds)
}

pub fn lookup_kind(name: &str) -> Option<&'static KindSchema> {
    kinds().iter().find(|k| k.name == name)
}

fn all_kinds() -> Vec<KindSchema> {
    Vec::new()
}
