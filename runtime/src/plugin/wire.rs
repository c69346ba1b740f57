//! Values on the wire (PROVIDERS.md, "Values"): JSON, with
//! `{"$unknown": true}` for a value known only after apply,
//! `{"$secret": VALUE}` for a secret, and durations in their string form
//! (`"30s"`).

use std::collections::BTreeMap;

use orch_stdlib::value::format_duration;
use orch_stdlib::{KindSchema, Ty, Value};
use serde_json::{Map, Value as Json};
use smol_str::SmolStr;

/// `value` as the plugin receives it. Secrets are revealed inside their
/// `$secret` wrapper; each secret text is added to `secrets` (so that the
/// plugin's log and messages can be masked).
pub fn encode(value: &Value, secrets: &mut Vec<String>) -> Json {
    encode_in(value, secrets, false)
}

fn encode_in(value: &Value, secrets: &mut Vec<String>, in_secret: bool) -> Json {
    match value {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(n) => Json::from(*n),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::String(s) => {
            if in_secret {
                secrets.push(s.to_string());
            }
            Json::String(s.to_string())
        }
        Value::Duration(ms) => Json::String(format_duration(*ms)),
        Value::List(items) => {
            Json::Array(items.iter().map(|v| encode_in(v, secrets, in_secret)).collect())
        }
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), encode_in(v, secrets, in_secret)))
                .collect(),
        ),
        Value::Secret(inner) => {
            let mut object = Map::new();
            object.insert("$secret".into(), encode_in(inner, secrets, true));
            Json::Object(object)
        }
        Value::Unknown => {
            let mut object = Map::new();
            object.insert("$unknown".into(), Json::Bool(true));
            Json::Object(object)
        }
    }
}

/// An object from the plugin, read by its kind's schema: durations of
/// duration fields from their string form, `$secret` and `$unknown` anywhere.
pub fn decode_object(json: &Json, schema: Option<&KindSchema>) -> Result<Value, String> {
    let Json::Object(entries) = json else {
        if is_wrapper(json) {
            return decode(json, None);
        }
        return Err(format!("expected an object, found {}", describe(json)));
    };
    if is_wrapper(json) {
        return decode(json, None);
    }
    let mut out = BTreeMap::new();
    for (name, value) in entries {
        let ty = schema.and_then(|s| s.field(name)).map(|f| &f.ty);
        out.insert(SmolStr::new(name), decode(value, ty)?);
    }
    Ok(Value::map(out))
}

fn is_wrapper(json: &Json) -> bool {
    match json {
        Json::Object(entries) if entries.len() == 1 => {
            entries.contains_key("$secret") || entries.get("$unknown") == Some(&Json::Bool(true))
        }
        _ => false,
    }
}

/// A value from the plugin; `ty`, when known, turns duration strings into
/// durations.
pub fn decode(json: &Json, ty: Option<&Ty>) -> Result<Value, String> {
    let ty = ty.map(strip_optional);
    Ok(match json {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), ty) {
            (Some(i), Some(Ty::Float)) => Value::Float(i as f64),
            (Some(i), _) => Value::Int(i),
            (None, _) => {
                Value::Float(n.as_f64().ok_or_else(|| format!("the number {n} is out of range"))?)
            }
        },
        Json::String(s) => match ty {
            Some(Ty::Duration) => Value::Duration(
                parse_duration(s).ok_or_else(|| format!("`{s}` is not a duration"))?,
            ),
            _ => Value::string(s.as_str()),
        },
        Json::Array(items) => {
            let inner = match ty {
                Some(Ty::List(inner)) => Some(inner.as_ref()),
                _ => None,
            };
            Value::list(items.iter().map(|i| decode(i, inner)).collect::<Result<_, _>>()?)
        }
        Json::Object(entries) => {
            if entries.len() == 1 {
                if let Some(inner) = entries.get("$secret") {
                    let inner_ty = match ty {
                        Some(Ty::Secret(inner)) => Some(inner.as_ref()),
                        other => other,
                    };
                    return Ok(Value::secret(decode(inner, inner_ty)?));
                }
                if entries.get("$unknown") == Some(&Json::Bool(true)) {
                    return Ok(Value::Unknown);
                }
            }
            let mut out = BTreeMap::new();
            for (name, value) in entries {
                let field_ty = match ty {
                    Some(Ty::Map(inner)) => Some(inner.as_ref()),
                    Some(Ty::Record(record)) => {
                        record.fields.iter().find(|f| f.name == name.as_str()).map(|f| &f.ty)
                    }
                    _ => None,
                };
                out.insert(SmolStr::new(name), decode(value, field_ty)?);
            }
            Value::map(out)
        }
    })
}

fn strip_optional(ty: &Ty) -> &Ty {
    match ty {
        Ty::Optional(inner) => strip_optional(inner),
        Ty::Secret(inner) if !matches!(inner.as_ref(), Ty::Secret(_)) => ty,
        other => other,
    }
}

fn describe(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// `"30s"`, `"1m30s"`, `"250ms"`, `"2h"`, `"1d"` in milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (size, len) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                's' => (1_000, 1),
                'm' => (60_000, 1),
                'h' => (3_600_000, 1),
                'd' => (86_400_000, 1),
                _ => return None,
            }
        };
        total = total.checked_add(number.checked_mul(size)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_with_wrappers() {
        let mut entries = BTreeMap::new();
        entries.insert(SmolStr::new("password"), Value::secret(Value::string("hunter22")));
        entries.insert(SmolStr::new("id"), Value::Unknown);
        entries.insert(SmolStr::new("every"), Value::Duration(30_000));
        let value = Value::map(entries);
        let mut secrets = Vec::new();
        let json = encode(&value, &mut secrets);
        assert_eq!(
            json,
            serde_json::json!({"password": {"$secret": "hunter22"}, "id": {"$unknown": true}, "every": "30s"})
        );
        assert_eq!(secrets, vec!["hunter22".to_string()]);
        let back = decode(
            &json,
            Some(&Ty::record(
                None,
                vec![orch_stdlib::FieldTy {
                    name: "every".into(),
                    ty: Ty::Duration,
                    optional: false,
                }],
            )),
        )
        .unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1m30s"), Some(90_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("3x"), None);
    }
}
