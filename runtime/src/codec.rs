//! Values in JSON, for state files, plan files and events.
//!
//! The encoding keeps every distinction the language makes: integers and
//! floats stay apart (`1` and `1.0`), durations are `{"$duration": ms}`,
//! values unknown until apply are `{"$unknown": true}` (plan files only),
//! and secrets are sealed: `{"$secret": "<base64 of nonce and ciphertext>"}`
//! in state and plan files, or `"(secret)"` where a value is only shown.
//! A map whose keys could be mistaken for these markers is wrapped as
//! `{"$map": {...}}`.

use std::collections::BTreeMap;

use orch_stdlib::Value;
use serde_json::{Map, Number, Value as Json};
use smol_str::SmolStr;

/// Encrypts and decrypts secret values for storage.
pub trait Sealer: Send + Sync {
    /// The sealed form of a secret's plaintext (its JSON encoding).
    fn seal(&self, plaintext: &[u8]) -> Result<String, String>;
    /// The plaintext of a sealed secret.
    fn open(&self, sealed: &str) -> Result<Vec<u8>, String>;
}

/// How secrets are written by [`encode`].
pub enum Secrets<'a> {
    /// Encrypted with a key: state and plan files.
    Seal(&'a dyn Sealer),
    /// Replaced by the text `(secret)`: output, events, messages.
    Redact,
}

/// The text shown in place of a secret.
pub use orch_provider::REDACTED;

/// The JSON form of a value.
pub fn encode(value: &Value, secrets: &Secrets<'_>) -> Result<Json, String> {
    Ok(match value {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Float(f) => match Number::from_f64(*f) {
            Some(number) => Json::Number(number),
            None => tagged("$float", Json::String(f.to_string())),
        },
        Value::String(text) => Json::String(text.to_string()),
        Value::Duration(ms) => tagged("$duration", Json::Number((*ms).into())),
        Value::List(items) => {
            Json::Array(items.iter().map(|v| encode(v, secrets)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => {
            let mut object = Map::new();
            for (key, value) in entries.iter() {
                object.insert(key.to_string(), encode(value, secrets)?);
            }
            if entries.keys().any(|k| k.starts_with('$')) {
                tagged("$map", Json::Object(object))
            } else {
                Json::Object(object)
            }
        }
        Value::Secret(inner) => match secrets {
            Secrets::Redact => Json::String(REDACTED.to_string()),
            Secrets::Seal(sealer) => {
                // The inner value is encoded with the same rules, so that
                // nested secrets inside it are sealed as well.
                let plain = encode(inner, secrets)?;
                let text = serde_json::to_vec(&plain).map_err(|e| e.to_string())?;
                tagged("$secret", Json::String(sealer.seal(&text)?))
            }
        },
        Value::Unknown => tagged("$unknown", Json::Bool(true)),
    })
}

/// The value a JSON form written by [`encode`] stands for. A redacted
/// secret cannot be read back; it decodes as the text `(secret)` marked
/// secret.
pub fn decode(json: &Json, sealer: Option<&dyn Sealer>) -> Result<Value, String> {
    Ok(match json {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(number) => match number.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(text) => Value::string(text.as_str()),
        Json::Array(items) => {
            Value::list(items.iter().map(|v| decode(v, sealer)).collect::<Result<_, _>>()?)
        }
        Json::Object(object) => {
            if object.len() == 1 {
                let (tag, inner) = object.iter().next().expect("one entry");
                match tag.as_str() {
                    "$duration" => {
                        return inner
                            .as_i64()
                            .map(Value::Duration)
                            .ok_or_else(|| "a duration must be an integer".to_string());
                    }
                    "$float" => {
                        let text = inner.as_str().unwrap_or_default();
                        return text
                            .parse::<f64>()
                            .map(Value::Float)
                            .map_err(|_| format!("`{text}` is not a float"));
                    }
                    "$unknown" => return Ok(Value::Unknown),
                    "$secret" => {
                        let sealed = inner.as_str().ok_or("a sealed secret must be a string")?;
                        let sealer = sealer.ok_or(
                            "the state holds an encrypted secret but no key was given to open it",
                        )?;
                        let plain = sealer.open(sealed)?;
                        let json: Json = serde_json::from_slice(&plain)
                            .map_err(|e| format!("a decrypted secret is not JSON: {e}"))?;
                        return Ok(Value::secret(decode(&json, Some(sealer))?));
                    }
                    "$map" => {
                        let Json::Object(entries) = inner else {
                            return Err("`$map` must hold an object".into());
                        };
                        return decode_map(entries, sealer);
                    }
                    _ => {}
                }
            }
            decode_map(object, sealer)?
        }
    })
}

fn decode_map(object: &Map<String, Json>, sealer: Option<&dyn Sealer>) -> Result<Value, String> {
    let mut entries = BTreeMap::new();
    for (key, value) in object {
        entries.insert(SmolStr::new(key), decode(value, sealer)?);
    }
    Ok(Value::map(entries))
}

fn tagged(tag: &str, inner: Json) -> Json {
    let mut object = Map::new();
    object.insert(tag.to_string(), inner);
    Json::Object(object)
}

/// The JSON form of a value for display: secrets redacted, unknowns as
/// `"(known after apply)"`, durations as text.
pub fn display_json(value: &Value) -> Json {
    match value {
        Value::Unknown => Json::String("(known after apply)".into()),
        Value::Duration(ms) => Json::String(orch_stdlib::value::format_duration(*ms)),
        Value::List(items) => Json::Array(items.iter().map(display_json).collect()),
        Value::Map(entries) => {
            Json::Object(entries.iter().map(|(k, v)| (k.to_string(), display_json(v))).collect())
        }
        other => encode(other, &Secrets::Redact).unwrap_or(Json::Null),
    }
}

/// The paths (`a.b[0]`) of the secrets inside a value.
pub fn secret_paths(value: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &mut String, out: &mut Vec<String>) {
        match value {
            Value::Secret(_) => out.push(path.clone()),
            Value::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            Value::Map(entries) => {
                for (key, item) in entries.iter() {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(item, path, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sealer for tests that only reverses and hex-encodes: enough to
    /// show that the plaintext is not written as is.
    struct Reverse;
    impl Sealer for Reverse {
        fn seal(&self, plaintext: &[u8]) -> Result<String, String> {
            Ok(plaintext.iter().rev().map(|b| format!("{b:02x}")).collect())
        }
        fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
            let mut bytes: Vec<u8> = (0..sealed.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&sealed[i..i + 2], 16).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
            bytes.reverse();
            Ok(bytes)
        }
    }

    fn sample() -> Value {
        let mut inner = BTreeMap::new();
        inner.insert(SmolStr::new("$odd"), Value::Int(1));
        let mut map = BTreeMap::new();
        map.insert(SmolStr::new("int"), Value::Int(3));
        map.insert(SmolStr::new("float"), Value::Float(3.0));
        map.insert(SmolStr::new("dur"), Value::Duration(1500));
        map.insert(SmolStr::new("none"), Value::None);
        map.insert(SmolStr::new("odd"), Value::map(inner));
        map.insert(SmolStr::new("pw"), Value::secret(Value::string("hunter2")));
        map.insert(SmolStr::new("list"), Value::list(vec![Value::Bool(true), Value::Unknown]));
        Value::map(map)
    }

    #[test]
    fn round_trips_every_kind_of_value() {
        let value = sample();
        let json = encode(&value, &Secrets::Seal(&Reverse)).unwrap();
        let text = serde_json::to_string(&json).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        let back = decode(&serde_json::from_str(&text).unwrap(), Some(&Reverse)).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn redaction_hides_secrets_and_names_their_paths() {
        let value = sample();
        let text = serde_json::to_string(&encode(&value, &Secrets::Redact).unwrap()).unwrap();
        assert!(!text.contains("hunter2"));
        assert!(text.contains(REDACTED));
        assert_eq!(secret_paths(&value), vec!["pw".to_string()]);
    }

    #[test]
    fn a_sealed_secret_without_a_key_is_an_error() {
        let json = encode(&sample(), &Secrets::Seal(&Reverse)).unwrap();
        assert!(decode(&json, None).unwrap_err().contains("no key"));
    }
}
