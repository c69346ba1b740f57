//! The vocabulary of resource and data kinds (LANGUAGE.md §7): each
//! field's type, default, whether it is required, computed by the provider
//! (`out`), forces replacement when changed, or is sensitive, and its
//! documentation.
//!
//! The kinds themselves live with their providers (`providers/<name>/src/
//! kinds.rs`), and the registry that serves them, built-in and plugin kinds
//! alike, is the `orch-providers` crate. Fields keep the order in which
//! they are documented (inputs first, required ones leading), which is the
//! order hovers and help list them in.

use std::collections::BTreeMap;

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
    /// Takes a secret as well as a plain value, and keeps it secret: the
    /// provider treats a secret value (and what it computes from it) as
    /// secret, so it is sealed in state and shown as `(secret)`, while a
    /// plain value stays visible (`fs.file.content`).
    pub keeps_secrets: bool,
    /// How the field's value is written where people read it (plans,
    /// `orchc state show`, policy messages).
    pub display: FieldDisplay,
}

/// How a field's value is shown to people.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldDisplay {
    /// As the value is: `3`, `"text"`.
    #[default]
    Plain,
    /// An integer in octal with its `0o` prefix (`0o644`): permission bits.
    Octal,
}

impl FieldDisplay {
    /// `value` as this hint writes it; `None` when the hint does not apply
    /// to the value (an octal hint on a string), which is then shown plainly.
    pub fn format(self, value: &Value) -> Option<String> {
        match (self, value) {
            (FieldDisplay::Octal, Value::Int(n)) if *n >= 0 => Some(format!("0o{n:o}")),
            _ => None,
        }
    }
}

impl FieldSchema {
    /// An input the configuration must set.
    pub fn required(name: &'static str, ty: Ty, doc: &'static str) -> FieldSchema {
        FieldSchema {
            name,
            ty,
            doc,
            required: true,
            default: None,
            output: false,
            forces_replacement: false,
            sensitive: false,
            keeps_secrets: false,
            display: FieldDisplay::Plain,
        }
    }

    /// An input that may be left out, and is then absent (`none`): its
    /// type in an instance is optional.
    pub fn optional(name: &'static str, ty: Ty, doc: &'static str) -> FieldSchema {
        FieldSchema { required: false, ..FieldSchema::required(name, ty, doc) }
    }

    /// An input that takes `default` when left out.
    pub fn defaulted(name: &'static str, ty: Ty, default: Value, doc: &'static str) -> FieldSchema {
        FieldSchema { default: Some(default), ..FieldSchema::optional(name, ty, doc) }
    }

    /// A field the provider computes.
    pub fn output(name: &'static str, ty: Ty, doc: &'static str) -> FieldSchema {
        FieldSchema { output: true, ..FieldSchema::optional(name, ty, doc) }
    }

    /// Marks the field as replacing the object when it changes.
    pub fn forcing_replacement(self) -> FieldSchema {
        FieldSchema { forces_replacement: true, ..self }
    }

    /// Marks the field sensitive: its value is secret.
    pub fn marked_sensitive(self) -> FieldSchema {
        FieldSchema { sensitive: true, ..self }
    }

    /// Shows the field's integer value in octal (`0o644`).
    pub fn shown_in_octal(self) -> FieldSchema {
        FieldSchema { display: FieldDisplay::Octal, ..self }
    }

    /// Lets the field take a secret, which the provider keeps secret.
    pub fn keeping_secrets(self) -> FieldSchema {
        FieldSchema { keeps_secrets: true, ..self }
    }

    /// An input that is neither required nor defaulted: absent when left
    /// out.
    pub fn is_optional_input(&self) -> bool {
        !self.output && !self.required && self.default.is_none()
    }
}

/// The provider of a kind: the first segment of its dotted name (`fs` for
/// `fs.file`).
pub fn provider_of(kind: &str) -> &str {
    kind.split('.').next().unwrap_or(kind)
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
    /// The input fields that name the object, together with the provider
    /// configuration (a file's `path`, a database's `name`): two instances
    /// with the same values are the same object. Empty for kinds whose
    /// objects have no such name (`exec.run`, `http.request`): they cannot
    /// be imported, and identity conflicts are not looked for.
    pub identity: &'static [&'static str],
}

impl KindSchema {
    /// The fields that name the object (see [`KindSchema::identity`]).
    pub fn with_identity(mut self, fields: &'static [&'static str]) -> KindSchema {
        self.identity = fields;
        self
    }

    /// A managed resource kind.
    pub fn resource(name: &'static str, doc: &'static str, fields: Vec<FieldSchema>) -> KindSchema {
        KindSchema { name, data: false, doc, fields, identity: &[] }
    }

    /// A data kind: a read-only look-up.
    pub fn data(name: &'static str, doc: &'static str, fields: Vec<FieldSchema>) -> KindSchema {
        KindSchema { name, data: true, doc, fields, identity: &[] }
    }

    /// The provider that implements the kind (`fs` for `fs.file`).
    pub fn provider(&self) -> &'static str {
        provider_of(self.name)
    }

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

/// `{}`: the default of map fields.
pub fn empty_map() -> Value {
    Value::map(BTreeMap::new())
}

/// `[]`: the default of list fields.
pub fn empty_list() -> Value {
    Value::list(Vec::new())
}
