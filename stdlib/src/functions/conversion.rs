//! Conversion functions: `string int float`, and `reveal`, which removes
//! the secret mark.

use super::support::{arg, arity, at_most, mismatch, text_of, value_mismatch};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::{Value, format_float};

pub(super) const STRING: Function = Function {
    name: "string",
    signature: "string(value: string | int | float | bool | duration) -> string",
    doc: r#"Converts a scalar to its text, exactly as `"${value}"` would.

Floats always show a fraction (`2.0`), durations their largest exact unit
(`90s`). Lists, maps and `none` are refused: use `json_encode` for
collections, and `??` to replace `none`.

```orch
string(8080)   // "8080"
string(1.5)    // "1.5"
string(90s)    // "90s"
```"#,
    check: check_string,
    eval: eval_string,
};

fn check_string(args: &[Ty]) -> Result<Ty, String> {
    arity("string", args, 1, 1, "value")?;
    match args[0].reveal() {
        Ty::String
        | Ty::Enum(_)
        | Ty::Int
        | Ty::Float
        | Ty::Bool
        | Ty::Duration
        | Ty::Any
        | Ty::Error => Ok(Ty::String),
        Ty::List(_) | Ty::Map(_) | Ty::Record(_) => Err(format!(
            "`string` takes a string, number, bool or duration, found {}; use `json_encode` for collections",
            args[0]
        )),
        _ => Err(mismatch("string", args, 0, "value", "a string, number, bool or duration")),
    }
}

fn eval_string(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("string", args, 1)?;
    match arg("string", args, 0, "value")? {
        value @ (Value::String(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Bool(_)
        | Value::Duration(_)) => Ok(Value::string(text_of(value))),
        _ => Err(value_mismatch("string", args, 0, "value", "a string, number, bool or duration")),
    }
}

pub(super) const INT: Function = Function {
    name: "int",
    signature: "int(value: int | float | string) -> int",
    doc: r#"Converts a number or a decimal string to an int.

- A float is truncated toward zero; one too large for 64 bits, or not
  finite, is an error.
- A string must hold a decimal integer (optional sign, surrounding
  whitespace allowed).

```orch
int("42")    // 42
int(2.9)     // 2
int(-2.9)    // -2
```"#,
    check: check_int,
    eval: eval_int,
};

fn check_int(args: &[Ty]) -> Result<Ty, String> {
    arity("int", args, 1, 1, "value")?;
    match args[0].reveal() {
        Ty::Int | Ty::Float | Ty::String | Ty::Enum(_) | Ty::Any | Ty::Error => Ok(Ty::Int),
        _ => Err(mismatch("int", args, 0, "value", "a number or a string")),
    }
}

fn eval_int(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("int", args, 1)?;
    match arg("int", args, 0, "value")? {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Float(f) => {
            let truncated = f.trunc();
            // i64::MIN is exactly representable; i64::MAX rounds up to 2^63.
            if truncated.is_finite() && truncated >= -(2f64.powi(63)) && truncated < 2f64.powi(63) {
                Ok(Value::Int(truncated as i64))
            } else {
                Err(BuiltinError::new(format!(
                    "`int` cannot convert {} to an int: it is out of range",
                    format_float(*f)
                )))
            }
        }
        Value::String(text) => text.trim().parse::<i64>().map(Value::Int).map_err(|_| {
            BuiltinError::new(format!(
                "`int` cannot convert {text:?} to an int: it is not a decimal integer in range"
            ))
        }),
        _ => Err(value_mismatch("int", args, 0, "value", "a number or a string")),
    }
}

pub(super) const FLOAT: Function = Function {
    name: "float",
    signature: "float(value: int | float | string) -> float",
    doc: r#"Converts a number or a decimal string to a float.

A string must hold a finite decimal number such as `"1.5"`, `"-2"` or
`"1e3"` (surrounding whitespace allowed); `"NaN"` and `"inf"` are refused.

```orch
float(2)       // 2.0
float("1.5")   // 1.5
```"#,
    check: check_float,
    eval: eval_float,
};

fn check_float(args: &[Ty]) -> Result<Ty, String> {
    arity("float", args, 1, 1, "value")?;
    match args[0].reveal() {
        Ty::Int | Ty::Float | Ty::String | Ty::Enum(_) | Ty::Any | Ty::Error => Ok(Ty::Float),
        _ => Err(mismatch("float", args, 0, "value", "a number or a string")),
    }
}

fn eval_float(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("float", args, 1)?;
    match arg("float", args, 0, "value")? {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float)
            .ok_or_else(|| {
                BuiltinError::new(format!(
                    "`float` cannot convert {text:?} to a float: it is not a finite decimal number"
                ))
            }),
        _ => Err(value_mismatch("float", args, 0, "value", "a number or a string")),
    }
}

pub(super) const REVEAL: Function = Function {
    name: "reveal",
    signature: "reveal(value: secret<T>) -> T",
    doc: r#"Removes the secret mark from a value, so that it may be shown and flow anywhere.

Use it only for values that are not really secret, such as the length of a
generated password or a hash of a secret that is safe to publish. Every use
is a deliberate, visible decision in the configuration.

The caller special-cases `reveal`: it is the one function whose result is
not marked secret when its argument is (its `check` therefore returns the
argument type unchanged, and its `eval` removes every mark, nested ones
included).

```orch
resource pw: random.password { length = 32 }
output pw_hash: string = sha256(reveal(pw.result))
```"#,
    check: check_reveal,
    eval: eval_reveal,
};

fn check_reveal(args: &[Ty]) -> Result<Ty, String> {
    arity("reveal", args, 1, 1, "value")?;
    Ok(args[0].reveal().clone())
}

fn eval_reveal(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("reveal", args, 1)?;
    let value = args
        .first()
        .ok_or_else(|| BuiltinError::new("`reveal` takes 1 argument (value), found 0"))?;
    Ok(value.reveal_all())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, ints, list, s};
    use super::*;

    #[test]
    fn to_string() {
        assert_eq!(eval(&STRING, &[Value::Int(8080)]), s("8080"));
        assert_eq!(eval(&STRING, &[Value::Float(2.0)]), s("2.0"));
        assert_eq!(eval(&STRING, &[Value::Duration(90_000)]), s("90s"));
        assert_eq!(eval(&STRING, &[Value::Bool(false)]), s("false"));
        assert_eq!(eval(&STRING, &[s("x")]), s("x"));
        assert_eq!(
            eval_err(&STRING, &[ints(&[1])]),
            "`string` takes a string, number, bool or duration, found list"
        );
        assert_eq!(
            eval_err(&STRING, &[Value::None]),
            "`string` takes a string, number, bool or duration, found none"
        );
        assert_eq!(check(&STRING, &[Ty::Duration]), Ok(Ty::String));
        assert!(check(&STRING, &[Ty::list(Ty::Int)]).unwrap_err().contains("json_encode"));
        assert_eq!(
            check(&STRING, &[Ty::optional(Ty::Int)]),
            Err("`string` takes a string, number, bool or duration, found int?".into())
        );
    }

    #[test]
    fn to_int() {
        assert_eq!(eval(&INT, &[s("42")]), Value::Int(42));
        assert_eq!(eval(&INT, &[s(" -7 ")]), Value::Int(-7));
        assert_eq!(eval(&INT, &[Value::Float(2.9)]), Value::Int(2));
        assert_eq!(eval(&INT, &[Value::Float(-2.9)]), Value::Int(-2));
        assert_eq!(eval(&INT, &[Value::Float(i64::MIN as f64)]), Value::Int(i64::MIN));
        assert_eq!(
            eval_err(&INT, &[Value::Float(2f64.powi(63))]),
            "`int` cannot convert 9223372036854776000 to an int: it is out of range"
        );
        assert!(eval_err(&INT, &[Value::Float(f64::NAN)]).contains("out of range"));
        assert_eq!(
            eval_err(&INT, &[s("1.5")]),
            "`int` cannot convert \"1.5\" to an int: it is not a decimal integer in range"
        );
        assert!(eval_err(&INT, &[s("99999999999999999999")]).contains("not a decimal integer"));
        assert_eq!(
            eval_err(&INT, &[Value::Bool(true)]),
            "`int` takes a number or a string, found bool"
        );
        assert_eq!(check(&INT, &[Ty::String]), Ok(Ty::Int));
        assert_eq!(
            check(&INT, &[Ty::Bool]),
            Err("`int` takes a number or a string, found bool".into())
        );
    }

    #[test]
    fn to_float() {
        assert_eq!(eval(&FLOAT, &[Value::Int(2)]), Value::Float(2.0));
        assert_eq!(eval(&FLOAT, &[s("1.5")]), Value::Float(1.5));
        assert_eq!(eval(&FLOAT, &[s("1e3")]), Value::Float(1000.0));
        assert_eq!(
            eval_err(&FLOAT, &[s("NaN")]),
            "`float` cannot convert \"NaN\" to a float: it is not a finite decimal number"
        );
        assert!(eval_err(&FLOAT, &[s("inf")]).contains("not a finite"));
        assert_eq!(check(&FLOAT, &[Ty::Int]), Ok(Ty::Float));
        assert!(check(&FLOAT, &[Ty::Duration]).is_err());
    }

    #[test]
    fn revealing() {
        let secret = Value::secret(s("hunter2"));
        assert_eq!(eval(&REVEAL, std::slice::from_ref(&secret)), s("hunter2"));
        assert_eq!(eval(&REVEAL, &[list(vec![secret])]), list(vec![s("hunter2")]));
        assert_eq!(check(&REVEAL, &[Ty::String]), Ok(Ty::String));
        assert_eq!(check(&REVEAL, &[Ty::secret(Ty::Int)]), Ok(Ty::Int));
        assert!(check(&REVEAL, &[]).is_err());
    }
}
