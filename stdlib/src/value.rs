//! Runtime values, shared by check-time evaluation and the runtime.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use smol_str::SmolStr;

use crate::fields::Fields;
use crate::ty::{FieldTy, Ty};

/// A value. Maps and records are both `Map` (string keys in lexicographic
/// order). `Unknown` is a value that only exists after apply; every
/// operation on it yields `Unknown`. `Secret` marks a value that must not be
/// shown; operations on it yield secrets.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(SmolStr),
    /// Milliseconds.
    Duration(i64),
    List(Arc<Vec<Value>>),
    Map(Arc<Fields>),
    Secret(Arc<Value>),
    Unknown,
}

impl Value {
    pub fn string(text: impl Into<SmolStr>) -> Value {
        Value::String(text.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    pub fn map(entries: BTreeMap<SmolStr, Value>) -> Value {
        Value::Map(Arc::new(Fields::from(entries)))
    }

    pub fn fields(fields: Fields) -> Value {
        Value::Map(Arc::new(fields))
    }

    /// Marks a value secret (once).
    pub fn secret(value: Value) -> Value {
        match value {
            Value::Secret(_) | Value::Unknown => value,
            other => Value::Secret(Arc::new(other)),
        }
    }

    /// The value of a field that a schema marks sensitive: secret, unless
    /// nothing is in it (`none`, an empty list or map). Such a value
    /// reveals nothing, so storing it needs no key: a `pg.role` without a
    /// password or an `exec.run` without `env` can live in a shared state
    /// that has no `ORCH_STATE_KEY`.
    pub fn sensitive(value: Value) -> Value {
        match &value {
            Value::None => value,
            Value::List(items) if items.is_empty() => value,
            Value::Map(entries) if entries.is_empty() => value,
            _ => Value::secret(value),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_))
    }

    /// Whether the value, or anything inside it, is unknown until apply.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(entries) => entries.values().all(Value::is_known),
            Value::Secret(inner) => inner.is_known(),
            _ => true,
        }
    }

    /// Whether the value contains a secret anywhere.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(items) => items.iter().any(Value::contains_secret),
            Value::Map(entries) => entries.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// The value without its secret mark, and whether it had one.
    pub fn reveal(&self) -> (&Value, bool) {
        match self {
            Value::Secret(inner) => (inner, true),
            other => (other, false),
        }
    }

    /// Whether two values are equal once every secret mark is removed:
    /// `a.reveal_all() == b.reveal_all()`, without building either.
    pub fn same_revealed(&self, other: &Value) -> bool {
        let (a, b) = (self.reveal_nested(), other.reveal_nested());
        match (a, b) {
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.same_revealed(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((ka, va), (kb, vb))| ka == kb && va.same_revealed(vb))
            }
            (a, b) => a == b,
        }
    }

    /// The value inside any number of secret marks.
    fn reveal_nested(&self) -> &Value {
        let mut value = self;
        while let Value::Secret(inner) = value {
            value = inner;
        }
        value
    }

    /// The value with every secret mark removed, recursively.
    pub fn reveal_all(&self) -> Value {
        match self {
            Value::Secret(inner) => inner.reveal_all(),
            Value::List(items) => Value::list(items.iter().map(Value::reveal_all).collect()),
            Value::Map(entries) => {
                Value::map(entries.iter().map(|(k, v)| (k.clone(), v.reveal_all())).collect())
            }
            other => other.clone(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.reveal().0 {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self.reveal().0 {
            Value::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.reveal().0 {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }

    /// A short name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::None => "none",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Duration(_) => "duration",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Secret(inner) => inner.kind_name(),
            Value::Unknown => "unknown",
        }
    }

    /// The text that `"${value}"` produces. Secrets and unknowns are never
    /// turned into text here: the caller decides how to show them.
    pub fn to_interpolated(&self) -> Option<String> {
        Some(match self {
            Value::None => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::String(s) => s.to_string(),
            Value::Duration(ms) => format_duration(*ms),
            Value::List(_) | Value::Map(_) => self.to_json_text()?,
            Value::Secret(_) | Value::Unknown => return None,
        })
    }

    /// The most precise type of a value: a map is a record of its entries
    /// (which is assignable to `map<T>` when every entry fits `T`), a list
    /// has the common type of its items (`any` when they have none, or when
    /// it is empty), an unknown is `any`.
    pub fn type_of(&self) -> Ty {
        match self {
            Value::None => Ty::None,
            Value::Bool(_) => Ty::Bool,
            Value::Int(_) => Ty::Int,
            Value::Float(_) => Ty::Float,
            Value::String(_) => Ty::String,
            Value::Duration(_) => Ty::Duration,
            Value::List(items) => {
                let mut types = items.iter().map(Value::type_of);
                let element = match types.next() {
                    None => Ty::Any,
                    Some(first) => {
                        types.try_fold(first, |a, b| Ty::unify(&a, &b)).unwrap_or(Ty::Any)
                    }
                };
                Ty::list(element)
            }
            Value::Map(entries) => Ty::record(
                None,
                entries
                    .iter()
                    .map(|(name, value)| FieldTy {
                        name: name.clone(),
                        ty: value.type_of(),
                        optional: false,
                    })
                    .collect(),
            ),
            Value::Secret(inner) => Ty::secret(inner.type_of()),
            Value::Unknown => Ty::Any,
        }
    }

    /// JSON text of a value without secrets or unknowns.
    pub fn to_json_text(&self) -> Option<String> {
        let mut out = String::new();
        write_json(self, &mut out)?;
        Some(out)
    }
}

fn write_json(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::None => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => write_json_string(s, out),
        Value::Duration(ms) => write_json_string(&format_duration(*ms), out),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(item, out)?;
            }
            out.push('}');
        }
        Value::Secret(_) | Value::Unknown => return None,
    }
    Some(())
}

fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A float as Orch prints it: always with a fraction or exponent.
pub fn format_float(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

/// A duration in the largest unit that divides it exactly (`90s`, `5m`).
pub fn format_duration(ms: i64) -> String {
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

impl fmt::Display for Value {
    /// Shows a value for people: secrets as `(secret)`, unknowns as
    /// `(known after apply)`, strings quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Secret(_) => write!(f, "(secret)"),
            Value::Unknown => write!(f, "(known after apply)"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Value::Map(entries) => {
                write!(f, "{{")?;
                for (i, (key, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, " {key} = {item}")?;
                }
                write!(f, " }}")
            }
            other => write!(f, "{}", other.to_interpolated().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_secret_unless_empty() {
        assert_eq!(Value::sensitive(Value::None), Value::None);
        assert_eq!(Value::sensitive(Value::list(vec![])), Value::list(vec![]));
        assert_eq!(Value::sensitive(Value::map(BTreeMap::new())), Value::map(BTreeMap::new()));
        assert!(Value::sensitive(Value::string("")).is_secret());
        assert!(Value::sensitive(Value::string("hunter2")).is_secret());
        let env = Value::map([("A".into(), Value::string("x"))].into());
        assert!(Value::sensitive(env).is_secret());
        assert_eq!(Value::sensitive(Value::Unknown), Value::Unknown);
    }

    #[test]
    fn secrets_and_unknowns_are_never_shown() {
        let secret = Value::secret(Value::string("hunter2"));
        assert_eq!(secret.to_string(), "(secret)");
        assert_eq!(secret.to_interpolated(), None);
        let list = Value::list(vec![Value::Int(1), secret]);
        assert!(!list.to_string().contains("hunter2"));
        assert_eq!(list.to_json_text(), None);
        assert_eq!(Value::Unknown.to_string(), "(known after apply)");
    }

    #[test]
    fn types_of_values() {
        assert_eq!(Value::Int(1).type_of(), Ty::Int);
        assert_eq!(
            Value::list(vec![Value::Int(1), Value::Float(2.0)]).type_of(),
            Ty::list(Ty::Float)
        );
        assert_eq!(
            Value::list(vec![Value::Int(1), Value::string("a")]).type_of(),
            Ty::list(Ty::Any)
        );
        assert_eq!(Value::list(vec![]).type_of(), Ty::list(Ty::Any));
        let mut m = BTreeMap::new();
        m.insert(SmolStr::new("a"), Value::string("x"));
        let record = Value::map(m).type_of();
        assert_eq!(record.to_string(), "{ a: string }");
        assert!(record.assignable_to(&Ty::map(Ty::String)));
        assert!(!record.assignable_to(&Ty::map(Ty::Int)));
        assert!(Value::map(BTreeMap::new()).type_of().assignable_to(&Ty::map(Ty::Int)));
        assert_eq!(Value::secret(Value::Bool(true)).type_of(), Ty::secret(Ty::Bool));
        assert_eq!(Value::Unknown.type_of(), Ty::Any);
    }

    #[test]
    fn same_revealed_agrees_with_comparing_revealed_copies() {
        let secret = |v: Value| Value::secret(v);
        let map = |entries: &[(&str, Value)]| {
            Value::map(entries.iter().map(|(k, v)| (SmolStr::new(k), v.clone())).collect())
        };
        let values = vec![
            Value::None,
            Value::Int(1),
            Value::Float(1.0),
            Value::Float(f64::NAN),
            Value::string("a"),
            secret(Value::string("a")),
            Value::Unknown,
            Value::list(vec![Value::Int(1), secret(Value::Int(2))]),
            Value::list(vec![Value::Int(1), Value::Int(2)]),
            Value::list(vec![Value::Int(1)]),
            map(&[("a", Value::Int(1)), ("b", secret(Value::string("x")))]),
            map(&[("a", Value::Int(1)), ("b", Value::string("x"))]),
            map(&[("a", Value::Int(1)), ("c", Value::string("x"))]),
            map(&[("a", Value::Int(1))]),
            secret(map(&[("a", Value::Int(1)), ("b", Value::string("x"))])),
            map(&[("a", map(&[("b", secret(Value::list(vec![Value::Bool(true)])))]))]),
            map(&[("a", map(&[("b", Value::list(vec![Value::Bool(true)]))]))]),
            map(&[("a", map(&[("b", Value::list(vec![Value::Bool(false)]))]))]),
        ];
        let mut equal_pairs = 0;
        for a in &values {
            for b in &values {
                let expected = a.reveal_all() == b.reveal_all();
                assert_eq!(a.same_revealed(b), expected, "{a:?} against {b:?}");
                equal_pairs += usize::from(expected);
            }
        }
        // Each value equals itself (but NaN), and the secret-marked copies
        // equal their plain twins both ways: the string, the list, the
        // nested map, and the three spellings of one map (six pairs).
        assert_eq!(equal_pairs, values.len() - 1 + 2 + 2 + 2 + 6);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_duration(90_000), "90s");
        assert_eq!(format_duration(300_000), "5m");
        assert_eq!(format_duration(1_500), "1500ms");
        assert_eq!(format_float(2.0), "2.0");
        let mut m = BTreeMap::new();
        m.insert(SmolStr::new("b"), Value::Int(2));
        m.insert(SmolStr::new("a"), Value::string("x\"y"));
        assert_eq!(Value::map(m).to_json_text().as_deref(), Some(r#"{"a":"x\"y","b":2}"#));
    }
}
