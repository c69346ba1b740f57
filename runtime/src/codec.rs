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
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// A value serialized as [`encode`] writes it, straight to the output: no
/// JSON tree is built in between (a state of 100,000 objects is written
/// this way). A secret that cannot be sealed is a serialization error
/// with the sealer's message.
pub struct Encoded<'a> {
    pub value: &'a Value,
    pub secrets: &'a Secrets<'a>,
}

impl serde::Serialize for Encoded<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        fn tagged<S: serde::Serializer, T: serde::Serialize + ?Sized>(
            serializer: S,
            tag: &str,
            inner: &T,
        ) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(tag, inner)?;
            map.end()
        }
        match self.value {
            Value::None => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => serializer.serialize_f64(*f),
            Value::Float(f) => tagged(serializer, "$float", f.to_string().as_str()),
            Value::String(text) => serializer.serialize_str(text),
            Value::Duration(ms) => tagged(serializer, "$duration", ms),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(&Encoded { value: item, secrets: self.secrets })?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let fields = EncodedMap { entries, secrets: self.secrets };
                if entries.keys().any(|k| k.starts_with('$')) {
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry("$map", &fields)?;
                    map.end()
                } else {
                    fields.serialize(serializer)
                }
            }
            Value::Secret(inner) => match self.secrets {
                Secrets::Redact => serializer.serialize_str(REDACTED),
                Secrets::Seal(sealer) => {
                    let plain = encode(inner, self.secrets).map_err(S::Error::custom)?;
                    let text = serde_json::to_vec(&plain).map_err(S::Error::custom)?;
                    let sealed = sealer.seal(&text).map_err(S::Error::custom)?;
                    tagged(serializer, "$secret", sealed.as_str())
                }
            },
            Value::Unknown => tagged(serializer, "$unknown", &true),
        }
    }
}

/// A map's fields, encoded.
struct EncodedMap<'a> {
    entries: &'a orch_stdlib::Fields,
    secrets: &'a Secrets<'a>,
}

impl serde::Serialize for EncodedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in self.entries {
            map.serialize_entry(key.as_str(), &Encoded { value, secrets: self.secrets })?;
        }
        map.end()
    }
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

/// [`decode`] of a value's JSON text, read straight into the value: no
/// JSON tree is built in between (a state of 100,000 objects is read
/// this way).
pub fn decode_text(text: &str, sealer: Option<&dyn Sealer>) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = ValueSeed { sealer }.deserialize(&mut deserializer).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// Reads one encoded value, as [`decode`] reads its JSON tree.
#[derive(Clone, Copy)]
struct ValueSeed<'a> {
    sealer: Option<&'a dyn Sealer>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The markers [`encode`] writes as the one key of an object.
const TAGS: [&str; 5] = ["$duration", "$float", "$unknown", "$secret", "$map"];

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an encoded value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::None)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        // As `Number::as_i64` then `as_f64`: too large for an int is a float.
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(Value::string(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::list(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let Some(first) = map.next_key_seed(KeySeed)? else {
            return Ok(Value::map(BTreeMap::new()));
        };
        if TAGS.contains(&first.as_str()) {
            // A marker only when it is the one key: its value is read as
            // JSON (it is small, but for `$map`) and decoded as before.
            let inner: Json = map.next_value()?;
            let Some(second) = map.next_key_seed(KeySeed)? else {
                let mut object = Map::new();
                object.insert(first.to_string(), inner);
                return decode(&Json::Object(object), self.sealer).map_err(de::Error::custom);
            };
            entries.push((first, decode(&inner, self.sealer).map_err(de::Error::custom)?));
            let value = map.next_value_seed(self)?;
            entries.push((second, value));
        } else {
            let value = map.next_value_seed(self)?;
            entries.push((first, value));
        }
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(self)?;
            entries.push((key, value));
        }
        Ok(Value::fields(orch_stdlib::Fields::from_entries(entries)))
    }
}

/// Reads an object key (short ones need no allocation).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = SmolStr;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<SmolStr, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = SmolStr;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SmolStr, E> {
        Ok(SmolStr::new(text))
    }
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
    fn decoding_the_text_agrees_with_decoding_the_tree() {
        let sealed =
            serde_json::to_string(&encode(&sample(), &Secrets::Seal(&Reverse)).unwrap()).unwrap();
        let texts = [
            sealed.as_str(),
            "null",
            "[1, 1.0, -3, 18446744073709551615, 1e400, \"a\\u00e9\"]",
            r#"{"$duration": 90000}"#,
            r#"{"$float": "NaN"}"#,
            r#"{"$unknown": true}"#,
            r#"{"$map": {"$duration": 5, "b": [true]}}"#,
            // A marker among other keys is an ordinary field.
            r#"{"$duration": 5, "b": {"$unknown": true}}"#,
            r#"{"a": 1, "$secret": "00"}"#,
            r#"{"b": 1, "a": 2, "b": 3}"#,
            r#"{"nested": {"deeper": [{"$duration": 1}, {}]}}"#,
            // Errors: the same ones, whichever way the text is read (the
            // direct read adds where).
            r#"{"$duration": "soon"}"#,
            r#"{"$map": [1]}"#,
            r#"{"$secret": 5}"#,
        ];
        for text in texts {
            let tree = serde_json::from_str::<Json>(text)
                .map_err(|e| e.to_string())
                .and_then(|json| decode(&json, Some(&Reverse)));
            let direct = decode_text(text, Some(&Reverse));
            match (&tree, &direct) {
                (Ok(a), Ok(b)) => assert!(
                    a == b || format!("{a:?}") == format!("{b:?}"),
                    "{text}: {a:?} against {b:?}"
                ),
                (Err(a), Err(b)) => assert!(b.starts_with(a.as_str()), "{text}: {a} against {b}"),
                _ => panic!("{text}: {tree:?} against {direct:?}"),
            }
        }
        assert_eq!(decode_text(&sealed, Some(&Reverse)).unwrap(), sample());
        assert!(decode_text(&sealed, None).unwrap_err().contains("no key"));
        assert!(decode_text("[1] 2", None).is_err(), "trailing text is refused");
    }

    #[test]
    fn writing_directly_gives_the_text_of_the_tree() {
        let mut odd = BTreeMap::new();
        odd.insert(SmolStr::new("$secret"), Value::string("not one"));
        odd.insert(SmolStr::new("x"), Value::Float(f64::NAN));
        let values = [
            sample(),
            Value::map(odd),
            Value::list(vec![
                Value::Float(f64::INFINITY),
                Value::Float(-0.5),
                Value::Int(i64::MIN),
            ]),
            Value::secret(Value::list(vec![Value::secret(Value::Int(1))])),
            Value::map(BTreeMap::new()),
            Value::list(vec![]),
        ];
        for value in &values {
            for secrets in [Secrets::Seal(&Reverse), Secrets::Redact] {
                let tree = encode(value, &secrets).unwrap();
                let direct = Encoded { value, secrets: &secrets };
                assert_eq!(
                    serde_json::to_string_pretty(&direct).unwrap(),
                    serde_json::to_string_pretty(&tree).unwrap()
                );
                assert_eq!(serde_json::to_string(&direct).unwrap(), tree.to_string());
            }
        }
        struct Refuses;
        impl Sealer for Refuses {
            fn seal(&self, _: &[u8]) -> Result<String, String> {
                Err("the key is gone".into())
            }
            fn open(&self, _: &str) -> Result<Vec<u8>, String> {
                Err("the key is gone".into())
            }
        }
        let refused =
            serde_json::to_string(&Encoded { value: &sample(), secrets: &Secrets::Seal(&Refuses) });
        assert_eq!(refused.unwrap_err().to_string(), "the key is gone");
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
