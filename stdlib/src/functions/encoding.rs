//! Encoding functions: `json_encode json_decode yaml_encode base64_encode
//! base64_decode`.
//!
//! Values map to JSON as follows: `none` is `null`, maps and records are
//! objects (keys in lexicographic order), durations are strings such as
//! `"5m"`. Decoding maps objects to maps, and numbers written without a
//! fraction or exponent that fit in 64 bits to ints, every other number to
//! floats.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use smol_str::SmolStr;

use super::support::{arg, arity, at_most, expect, str_arg};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::{Value, format_duration};

pub(super) const JSON_ENCODE: Function = Function {
    name: "json_encode",
    signature: "json_encode(value: any) -> string",
    doc: r#"Encodes a value as compact JSON text.

Maps and records become objects with their keys in lexicographic order,
`none` becomes `null`, durations become strings such as `"5m"`. A float
that is not finite cannot be encoded.

```orch
json_encode({ name = "api", ports = [80, 443] })   // "{\"name\":\"api\",\"ports\":[80,443]}"
```"#,
    check: check_json_encode,
    eval: eval_json_encode,
};

fn check_json_encode(args: &[Ty]) -> Result<Ty, String> {
    arity("json_encode", args, 1, 1, "value")?;
    Ok(Ty::String)
}

fn eval_json_encode(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("json_encode", args, 1)?;
    let json = to_json("json_encode", arg("json_encode", args, 0, "value")?)?;
    Ok(Value::string(json.to_string()))
}

pub(super) const JSON_DECODE: Function = Function {
    name: "json_decode",
    signature: "json_decode(text: string) -> any",
    doc: r#"Decodes JSON text into a value of type `any`.

Objects become maps, arrays lists, `null` is `none`. A number written
without a fraction or exponent that fits in 64 bits becomes an `int`; any
other number a `float`. The result is checked when used where a type is
expected. Invalid JSON is an error that gives its line and column.

```orch
let config = json_decode(file("./config.json"))
output port: int = config.port
```"#,
    check: check_json_decode,
    eval: eval_json_decode,
};

fn check_json_decode(args: &[Ty]) -> Result<Ty, String> {
    arity("json_decode", args, 1, 1, "text")?;
    expect("json_decode", args, 0, "text", &Ty::String, "a string")?;
    Ok(Ty::Any)
}

fn eval_json_decode(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("json_decode", args, 1)?;
    let text = str_arg("json_decode", args, 0, "text")?;
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| BuiltinError::new(format!("`json_decode`: invalid JSON: {error}")))?;
    Ok(from_json(json))
}

pub(super) const YAML_ENCODE: Function = Function {
    name: "yaml_encode",
    signature: "yaml_encode(value: any) -> string",
    doc: r#"Encodes a value as a YAML document (block style, ending with a newline).

Values map to YAML as they do to JSON for `json_encode`; strings that YAML
would read as something else (`"true"`, `"1.0"`, `"null"`) are quoted.

```orch
yaml_encode({ name = "api", ports = [80] })   // "name: api\nports:\n- 80\n"
```"#,
    check: check_yaml_encode,
    eval: eval_yaml_encode,
};

fn check_yaml_encode(args: &[Ty]) -> Result<Ty, String> {
    arity("yaml_encode", args, 1, 1, "value")?;
    Ok(Ty::String)
}

fn eval_yaml_encode(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("yaml_encode", args, 1)?;
    let json = to_json("yaml_encode", arg("yaml_encode", args, 0, "value")?)?;
    let text = serde_norway::to_string(&json)
        .map_err(|error| BuiltinError::new(format!("`yaml_encode`: {error}")))?;
    Ok(Value::string(text))
}

pub(super) const BASE64_ENCODE: Function = Function {
    name: "base64_encode",
    signature: "base64_encode(text: string) -> string",
    doc: r#"Encodes the UTF-8 bytes of a string in standard Base64, with padding.

```orch
base64_encode("héllo")   // "aMOpbGxv"
```"#,
    check: check_base64_encode,
    eval: eval_base64_encode,
};

fn check_base64_encode(args: &[Ty]) -> Result<Ty, String> {
    arity("base64_encode", args, 1, 1, "text")?;
    expect("base64_encode", args, 0, "text", &Ty::String, "a string")?;
    Ok(Ty::String)
}

fn eval_base64_encode(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("base64_encode", args, 1)?;
    let text = str_arg("base64_encode", args, 0, "text")?;
    Ok(Value::string(STANDARD.encode(text.as_bytes())))
}

pub(super) const BASE64_DECODE: Function = Function {
    name: "base64_decode",
    signature: "base64_decode(encoded: string) -> string",
    doc: r#"Decodes standard Base64 (with padding) into a string.

The decoded bytes must be UTF-8 text: Orch strings cannot hold arbitrary
bytes. Invalid Base64 is an error that gives the offset of the first bad
character.

```orch
base64_decode("aMOpbGxv")   // "héllo"
```"#,
    check: check_base64_decode,
    eval: eval_base64_decode,
};

fn check_base64_decode(args: &[Ty]) -> Result<Ty, String> {
    arity("base64_decode", args, 1, 1, "encoded")?;
    expect("base64_decode", args, 0, "encoded", &Ty::String, "a string")?;
    Ok(Ty::String)
}

fn eval_base64_decode(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("base64_decode", args, 1)?;
    let encoded = str_arg("base64_decode", args, 0, "encoded")?;
    let bytes = STANDARD.decode(encoded).map_err(|error| {
        let reason = match error {
            base64::DecodeError::InvalidByte(offset, byte) => {
                format!("invalid character {:?} at offset {offset}", char::from(byte))
            }
            base64::DecodeError::InvalidLength(_) => {
                "its length is not valid (missing or extra characters)".to_owned()
            }
            base64::DecodeError::InvalidLastSymbol { offset, symbol, .. } => {
                format!("invalid last character {:?} at offset {offset}", char::from(symbol))
            }
            base64::DecodeError::InvalidPadding => "its `=` padding is missing or wrong".to_owned(),
        };
        BuiltinError::new(format!("`base64_decode`: not valid Base64: {reason}"))
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        BuiltinError::new(format!(
            "`base64_decode`: the decoded bytes are not UTF-8 text (invalid byte at offset {}); Orch strings hold text only",
            error.utf8_error().valid_up_to()
        ))
    })?;
    Ok(Value::string(text))
}

/// A value as JSON. Secret marks are removed (the caller decides whether
/// the result is secret); unknowns and non-finite floats are errors.
pub(crate) fn to_json(name: &str, value: &Value) -> Result<serde_json::Value, BuiltinError> {
    Ok(match value {
        Value::None => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map(serde_json::Value::Number).ok_or_else(|| {
                BuiltinError::new(format!("`{name}` cannot encode the float {f}: it is not finite"))
            })?
        }
        Value::String(text) => serde_json::Value::String(text.to_string()),
        Value::Duration(ms) => serde_json::Value::String(format_duration(*ms)),
        Value::List(items) => serde_json::Value::Array(
            items.iter().map(|item| to_json(name, item)).collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|(key, item)| Ok((key.to_string(), to_json(name, item)?)))
                .collect::<Result<_, BuiltinError>>()?,
        ),
        Value::Secret(inner) => to_json(name, inner)?,
        Value::Unknown => {
            return Err(BuiltinError::new(format!(
                "`{name}` cannot encode a value that is known only after apply"
            )));
        }
    })
}

/// A JSON value as an Orch value.
pub(crate) fn from_json(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(i) => Value::Int(i),
            // Without serde_json's `arbitrary_precision`, every number is
            // an i64, a u64 or an f64, so this is never NaN.
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::string(text),
        serde_json::Value::Array(items) => Value::list(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(entries) => Value::map(
            entries
                .into_iter()
                .map(|(key, item)| (SmolStr::new(key), from_json(item)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, ints, list, map, s};
    use super::*;

    #[test]
    fn json_round_trip() {
        let value = map(&[("name", s("api")), ("ports", ints(&[80, 443])), ("tls", Value::None)]);
        let text = eval(&JSON_ENCODE, std::slice::from_ref(&value));
        assert_eq!(text, s(r#"{"name":"api","ports":[80,443],"tls":null}"#));
        assert_eq!(eval(&JSON_DECODE, &[text]), value);
        assert_eq!(eval(&JSON_ENCODE, &[Value::Float(2.0)]), s("2.0"));
        assert_eq!(eval(&JSON_ENCODE, &[Value::Duration(300_000)]), s("\"5m\""));
        assert_eq!(eval(&JSON_ENCODE, &[Value::secret(s("x"))]), s("\"x\""));
        assert_eq!(
            eval_err(&JSON_ENCODE, &[Value::Float(f64::NAN)]),
            "`json_encode` cannot encode the float NaN: it is not finite"
        );
        assert_eq!(check(&JSON_ENCODE, &[Ty::map(Ty::Int)]), Ok(Ty::String));
        assert!(check(&JSON_ENCODE, &[]).is_err());
    }

    #[test]
    fn json_numbers() {
        assert_eq!(eval(&JSON_DECODE, &[s("3")]), Value::Int(3));
        assert_eq!(eval(&JSON_DECODE, &[s("-3")]), Value::Int(-3));
        assert_eq!(eval(&JSON_DECODE, &[s("3.0")]), Value::Float(3.0));
        assert_eq!(eval(&JSON_DECODE, &[s("1e3")]), Value::Float(1000.0));
        assert_eq!(
            eval(&JSON_DECODE, &[s("18446744073709551615")]),
            Value::Float(1.8446744073709552e19)
        );
        assert_eq!(
            eval(&JSON_DECODE, &[s(r#"[true, "é", {"b": 1, "a": []}]"#)]),
            list(vec![
                Value::Bool(true),
                s("é"),
                map(&[("a", list(vec![])), ("b", Value::Int(1))])
            ])
        );
    }

    #[test]
    fn json_errors() {
        assert_eq!(
            eval_err(&JSON_DECODE, &[s("{\"a\": }")]),
            "`json_decode`: invalid JSON: expected value at line 1 column 7"
        );
        let deep = "[".repeat(10_000);
        assert!(eval_err(&JSON_DECODE, &[s(deep)]).contains("recursion limit"));
        assert_eq!(check(&JSON_DECODE, &[Ty::String]), Ok(Ty::Any));
        assert_eq!(
            check(&JSON_DECODE, &[Ty::Int]),
            Err("`json_decode` takes a string, found int".into())
        );
    }

    #[test]
    fn yaml() {
        let value = map(&[("name", s("api")), ("ports", ints(&[80]))]);
        assert_eq!(eval(&YAML_ENCODE, &[value]), s("name: api\nports:\n- 80\n"));
        assert_eq!(
            eval(&YAML_ENCODE, &[list(vec![s("true"), s("1.0"), s("null"), s("x")])]),
            s("- 'true'\n- '1.0'\n- 'null'\n- x\n")
        );
        assert_eq!(eval(&YAML_ENCODE, &[map(&[])]), s("{}\n"));
        assert_eq!(eval(&YAML_ENCODE, &[s("multi\nline")]), s("|-\n  multi\n  line\n"));
        assert_eq!(check(&YAML_ENCODE, &[Ty::Any]), Ok(Ty::String));
        assert!(eval_err(&YAML_ENCODE, &[Value::Float(f64::INFINITY)]).contains("not finite"));
    }

    #[test]
    fn base64() {
        assert_eq!(eval(&BASE64_ENCODE, &[s("héllo")]), s("aMOpbGxv"));
        assert_eq!(eval(&BASE64_DECODE, &[s("aMOpbGxv")]), s("héllo"));
        assert_eq!(eval(&BASE64_ENCODE, &[s("")]), s(""));
        assert_eq!(
            eval_err(&BASE64_DECODE, &[s("aGk!")]),
            "`base64_decode`: not valid Base64: invalid character '!' at offset 3"
        );
        assert_eq!(
            eval_err(&BASE64_DECODE, &[s("aGk")]),
            "`base64_decode`: not valid Base64: its `=` padding is missing or wrong"
        );
        assert!(eval_err(&BASE64_DECODE, &[s("aGkx=")]).contains("not valid Base64"));
        assert_eq!(
            eval_err(&BASE64_DECODE, &[s("/w==")]),
            "`base64_decode`: the decoded bytes are not UTF-8 text (invalid byte at offset 0); Orch strings hold text only"
        );
        assert_eq!(check(&BASE64_DECODE, &[Ty::String]), Ok(Ty::String));
        assert!(check(&BASE64_ENCODE, &[Ty::list(Ty::String)]).is_err());
    }
}
