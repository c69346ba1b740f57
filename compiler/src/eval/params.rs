//! Param values given from outside: `--var NAME=VALUE` (VALUE read as an
//! Orch expression of literals, else as a string), `--var-file` (JSON) and
//! `ORCH_VAR_NAME`. The caller merges them by priority; here each is
//! converted to the param's declared type.

use std::collections::BTreeMap;

use orch_lang::ast::{ExprKind, ItemKind, UnaryOp};
use orch_lang::{FileId, parse};
use orch_stdlib::{Ty, Value};
use smol_str::SmolStr;

/// A param value from outside the configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamInput {
    /// From `--var` or the environment: an Orch literal, or else a string.
    Text(String),
    /// From a `--var-file` (already converted from JSON).
    Value(Value),
}

impl ParamInput {
    /// The value the input denotes.
    pub fn to_value(&self) -> Value {
        match self {
            ParamInput::Value(value) => value.clone(),
            ParamInput::Text(text) => literal(text).unwrap_or_else(|| Value::string(text.as_str())),
        }
    }
}

/// Reads `text` as an Orch expression made only of literals (numbers,
/// strings without interpolation, booleans, `none`, durations, lists and
/// objects of those).
fn literal(text: &str) -> Option<Value> {
    let source = format!("let value = {text}");
    let parsed = parse(FileId(u32::MAX), &source);
    if parsed.has_errors() || parsed.file.items.len() != 1 {
        return None;
    }
    let ItemKind::Let(decl) = &parsed.file.items[0].kind else { return None };
    literal_value(&decl.value)
}

fn literal_value(expr: &orch_lang::ast::Expr) -> Option<Value> {
    Some(match &expr.kind {
        ExprKind::Int(value) => Value::Int(*value),
        ExprKind::Float(value) => Value::Float(*value),
        ExprKind::Duration { value, unit } => Value::Duration(value.checked_mul(unit.millis())?),
        ExprKind::Bool(value) => Value::Bool(*value),
        ExprKind::None => Value::None,
        ExprKind::Str(lit) => Value::string(lit.as_plain()?),
        ExprKind::Unary { op: UnaryOp::Neg, operand } => match literal_value(operand)? {
            Value::Int(value) => Value::Int(value.checked_neg()?),
            Value::Float(value) => Value::Float(-value),
            _ => return None,
        },
        ExprKind::List(items) => {
            Value::list(items.iter().map(literal_value).collect::<Option<Vec<_>>>()?)
        }
        ExprKind::Object(fields) => {
            let mut map = BTreeMap::new();
            for field in fields {
                let key: SmolStr = match &field.key {
                    orch_lang::ast::FieldKey::Name(name) => name.name.clone(),
                    orch_lang::ast::FieldKey::Quoted(lit) => lit.as_plain()?.into(),
                };
                map.insert(key, literal_value(&field.value)?);
            }
            Value::map(map)
        }
        ExprKind::Paren(inner) => literal_value(inner)?,
        _ => return None,
    })
}

/// Converts `value` to `ty`, or says why it does not fit.
pub fn conform(value: Value, ty: &Ty) -> Result<Value, String> {
    match (ty, value) {
        (Ty::Error | Ty::Any, value) => Ok(value),
        (Ty::Secret(inner), value) => conform(value, inner).map(Value::secret),
        (Ty::Optional(_), Value::None) => Ok(Value::None),
        (Ty::Optional(inner), value) => conform(value, inner),
        (Ty::String, Value::String(text)) => Ok(Value::String(text)),
        // A bare word or number given for a string param is its text.
        (Ty::String, value @ (Value::Int(_) | Value::Float(_) | Value::Bool(_))) => {
            Ok(Value::string(value.to_interpolated().unwrap_or_default()))
        }
        (Ty::Int, Value::Int(value)) => Ok(Value::Int(value)),
        (Ty::Float, Value::Int(value)) => Ok(Value::Float(value as f64)),
        (Ty::Float, Value::Float(value)) => Ok(Value::Float(value)),
        (Ty::Bool, Value::Bool(value)) => Ok(Value::Bool(value)),
        (Ty::Duration, Value::Duration(value)) => Ok(Value::Duration(value)),
        (Ty::Enum(members), Value::String(text)) => {
            if members.contains(&text) {
                Ok(Value::String(text))
            } else {
                let names: Vec<String> = members.iter().map(|m| format!("{m:?}")).collect();
                Err(format!("{text:?} is not one of {}", names.join(", ")))
            }
        }
        (Ty::List(inner), Value::List(items)) => Ok(Value::list(
            items
                .iter()
                .cloned()
                .map(|item| conform(item, inner))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        (Ty::Map(inner), Value::Map(entries)) => {
            let mut out = BTreeMap::new();
            for (key, item) in entries.iter() {
                out.insert(
                    key.clone(),
                    conform(item.clone(), inner).map_err(|e| format!("`{key}`: {e}"))?,
                );
            }
            Ok(Value::map(out))
        }
        (Ty::Record(record), Value::Map(entries)) => {
            let mut out = BTreeMap::new();
            for field in &record.fields {
                match entries.get(&field.name) {
                    Some(item) => {
                        let item = conform(item.clone(), &field.ty)
                            .map_err(|e| format!("`{}`: {e}", field.name))?;
                        out.insert(field.name.clone(), item);
                    }
                    None if field.optional => {
                        out.insert(field.name.clone(), Value::None);
                    }
                    None => return Err(format!("missing field `{}`", field.name)),
                }
            }
            if let Some(extra) = entries.keys().find(|k| record.field(k).is_none()) {
                return Err(format!("unknown field `{extra}`"));
            }
            Ok(Value::map(out))
        }
        (ty, value) => Err(format!("expected `{ty}`, found a {}", value.kind_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_a_literal_or_a_string() {
        assert_eq!(ParamInput::Text("3".into()).to_value(), Value::Int(3));
        assert_eq!(
            ParamInput::Text("[1, 2]".into()).to_value(),
            Value::list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(ParamInput::Text("prod".into()).to_value(), Value::string("prod"));
        assert_eq!(ParamInput::Text("\"a b\"".into()).to_value(), Value::string("a b"));
        assert_eq!(ParamInput::Text("hello world".into()).to_value(), Value::string("hello world"));
        assert_eq!(ParamInput::Text("5m".into()).to_value(), Value::Duration(300_000));
    }

    #[test]
    fn values_conform_to_types() {
        let e = Ty::Enum(vec![SmolStr::new("dev"), SmolStr::new("prod")].into());
        assert!(conform(Value::string("dev"), &e).is_ok());
        assert!(conform(Value::string("qa"), &e).unwrap_err().contains("not one of"));
        assert_eq!(conform(Value::Int(2), &Ty::Float), Ok(Value::Float(2.0)));
        assert!(conform(Value::string("x"), &Ty::Int).is_err());
    }
}
