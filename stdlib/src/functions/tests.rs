//! Helpers for the families' tests, and tests over the whole table.

use std::collections::BTreeMap;

use smol_str::SmolStr;

use super::{BuiltinError, Function, Host, MemoryHost, NoFiles, functions, lookup_function};
use crate::ty::Ty;
use crate::value::Value;

pub(crate) fn check(function: &Function, args: &[Ty]) -> Result<Ty, String> {
    (function.check)(args)
}

pub(crate) fn eval_with(
    function: &Function,
    args: &[Value],
    host: &dyn Host,
) -> Result<Value, BuiltinError> {
    (function.eval)(args, host)
}

#[track_caller]
pub(crate) fn eval(function: &Function, args: &[Value]) -> Value {
    match (function.eval)(args, &NoFiles) {
        Ok(value) => value,
        Err(error) => panic!("`{}` failed: {}", function.name, error.message),
    }
}

#[track_caller]
pub(crate) fn eval_err(function: &Function, args: &[Value]) -> String {
    match (function.eval)(args, &NoFiles) {
        Ok(value) => panic!("`{}` succeeded with {value:?}", function.name),
        Err(error) => error.message,
    }
}

pub(crate) fn s(text: impl Into<SmolStr>) -> Value {
    Value::String(text.into())
}

pub(crate) fn list(items: Vec<Value>) -> Value {
    Value::list(items)
}

pub(crate) fn ints(items: &[i64]) -> Value {
    Value::list(items.iter().map(|i| Value::Int(*i)).collect())
}

pub(crate) fn map(entries: &[(&str, Value)]) -> Value {
    Value::map(
        entries.iter().map(|(k, v)| (SmolStr::new(k), v.clone())).collect::<BTreeMap<_, _>>(),
    )
}

/// LANGUAGE.md §7's minimum.
const REQUIRED: &[&str] = &[
    "length",
    "upper",
    "lower",
    "trim",
    "split",
    "join",
    "replace",
    "starts_with",
    "ends_with",
    "contains",
    "substr",
    "regex_match",
    "format",
    "keys",
    "values",
    "concat",
    "merge",
    "flatten",
    "distinct",
    "sort",
    "reverse",
    "range",
    "zipmap",
    "lookup",
    "sum",
    "min",
    "max",
    "json_encode",
    "json_decode",
    "yaml_encode",
    "base64_encode",
    "base64_decode",
    "sha256",
    "sha1",
    "md5",
    "file",
    "template",
    "cidr_subnet",
    "cidr_host",
    "string",
    "int",
    "float",
    "reveal",
];

#[test]
fn table_is_sorted_unique_and_complete() {
    let names: Vec<&str> = functions().iter().map(|f| f.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "FUNCTIONS must be sorted by name, without duplicates");
    for name in REQUIRED {
        assert!(lookup_function(name).is_some(), "missing `{name}`");
    }
    assert_eq!(names.len(), REQUIRED.len(), "a function beyond §7 needs adding to REQUIRED");
    assert!(lookup_function("nope").is_none());
}

#[test]
fn every_function_is_documented() {
    for function in functions() {
        let name = function.name;
        assert!(function.signature.starts_with(&format!("{name}(")), "{name}: signature");
        assert!(function.signature.contains(") -> "), "{name}: signature shows the result");
        let summary = function.doc.split("\n\n").next().unwrap_or_default();
        assert!(
            summary.ends_with('.') && !summary.contains('\n'),
            "{name}: the doc starts with a one-line summary sentence"
        );
        assert!(function.doc.contains("```orch\n"), "{name}: the doc has an example");
        assert!(function.doc.ends_with("```"), "{name}: the doc ends with its example");
    }
}

/// Types every function meets in the exhaustive tests below.
fn sample_types() -> Vec<Ty> {
    vec![
        Ty::String,
        Ty::Int,
        Ty::Float,
        Ty::Bool,
        Ty::Duration,
        Ty::Any,
        Ty::None,
        Ty::Error,
        Ty::list(Ty::String),
        Ty::list(Ty::list(Ty::Int)),
        Ty::map(Ty::Int),
        Ty::optional(Ty::String),
        Ty::Enum(vec![SmolStr::new("a")].into()),
        Ty::record(None, vec![]),
    ]
}

#[test]
fn error_and_any_arguments_are_accepted() {
    for function in functions() {
        let accepts = |ty: &Ty| (0..=4).any(|n| (function.check)(&vec![ty.clone(); n]).is_ok());
        assert!(accepts(&Ty::Error), "`{}` rejects error types at every arity", function.name);
        assert!(accepts(&Ty::Any), "`{}` rejects `any` at every arity", function.name);
        for n in 0..=4 {
            if let Err(message) = (function.check)(&vec![Ty::Error; n]) {
                assert!(message.contains("argument"), "`{}`: {message}", function.name);
            }
        }
    }
}

#[test]
fn check_never_panics_and_names_the_function() {
    let types = sample_types();
    for function in functions() {
        let mut calls: Vec<Vec<Ty>> = vec![vec![]];
        for a in &types {
            calls.push(vec![a.clone()]);
            for b in &types {
                calls.push(vec![a.clone(), b.clone()]);
                for c in &types {
                    calls.push(vec![a.clone(), b.clone(), c.clone()]);
                }
            }
        }
        for args in calls {
            if let Err(message) = (function.check)(&args) {
                assert!(
                    message.contains(&format!("`{}`", function.name)),
                    "`{}` with {args:?}: {message}",
                    function.name
                );
            }
        }
    }
}

fn sample_values() -> Vec<Value> {
    vec![
        Value::None,
        Value::Bool(true),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(3),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Float(1.5),
        Value::Float(f64::NAN),
        s(""),
        s("a,b"),
        s("10.0.0.0/8"),
        s("t.tpl"),
        Value::Duration(1_000),
        ints(&[3, 1]),
        list(vec![s("b"), s("a")]),
        list(vec![ints(&[1]), ints(&[])]),
        map(&[("x", Value::Int(1))]),
        Value::secret(s("hunter2")),
    ]
}

#[test]
fn eval_never_panics() {
    let host = MemoryHost::new([("t.tpl", "${x} $${x} ${x.y}")]);
    let values = sample_values();
    let mut successes = 0;
    for function in functions() {
        let mut calls: Vec<Vec<Value>> = vec![vec![]];
        for a in &values {
            calls.push(vec![a.clone()]);
            for b in &values {
                calls.push(vec![a.clone(), b.clone()]);
                for c in &values {
                    calls.push(vec![a.clone(), b.clone(), c.clone()]);
                }
            }
        }
        for args in calls {
            match (function.eval)(&args, &host) {
                Ok(_) => successes += 1,
                Err(error) => assert!(!error.message.is_empty()),
            }
        }
    }
    assert!(successes > 1_000, "the samples should reach past the argument checks");
}

#[test]
fn call_applies_the_conventions() {
    let upper = lookup_function("upper").expect("upper exists");
    assert_eq!(upper.call(&[Value::Unknown], &NoFiles), Ok(Value::Unknown));
    assert_eq!(upper.call(&[list(vec![Value::Unknown])], &NoFiles), Ok(Value::Unknown));
    assert_eq!(upper.call(&[Value::secret(s("pw"))], &NoFiles), Ok(Value::secret(s("PW"))));
    let join = lookup_function("join").expect("join exists");
    assert_eq!(
        join.call(&[s(""), list(vec![Value::secret(s("a")), s("b")])], &NoFiles),
        Ok(Value::secret(s("ab")))
    );
    let int = lookup_function("int").expect("int exists");
    let error = int.call(&[Value::secret(s("hunter2"))], &NoFiles).unwrap_err();
    assert!(!error.message.contains("hunter2"), "{}", error.message);
    assert!(error.message.contains("secret"));
    let reveal = lookup_function("reveal").expect("reveal exists");
    assert!(reveal.is_reveal() && !upper.is_reveal());
    assert_eq!(reveal.call(&[Value::secret(s("pw"))], &NoFiles), Ok(s("pw")));
    assert_eq!(upper.call(&[s("a")], &NoFiles), Ok(s("A")));
}

#[test]
fn length_and_keys_read_only_the_shape() {
    use super::ArgumentUse;
    let length = lookup_function("length").expect("length exists");
    let keys = lookup_function("keys").expect("keys exists");
    let join = lookup_function("join").expect("join exists");
    assert_eq!(length.argument_use(), ArgumentUse::Shape);
    assert_eq!(keys.argument_use(), ArgumentUse::Shape);
    assert_eq!(join.argument_use(), ArgumentUse::Contents);
    // A collection holding secrets or unknown values has a plain, known
    // length and keys.
    let holding = list(vec![Value::secret(s("pw")), Value::Unknown, s("b")]);
    assert_eq!(length.call(std::slice::from_ref(&holding), &NoFiles), Ok(Value::Int(3)));
    let record = map(&[("password", Value::secret(s("pw"))), ("user", Value::Unknown)]);
    assert_eq!(
        keys.call(std::slice::from_ref(&record), &NoFiles),
        Ok(list(vec![s("password"), s("user")]))
    );
    // A secret itself has a secret length; an unknown one an unknown length.
    assert_eq!(
        length.call(&[Value::secret(s("hunter2"))], &NoFiles),
        Ok(Value::secret(Value::Int(7)))
    );
    assert_eq!(
        length.call(&[Value::secret(ints(&[1, 2]))], &NoFiles),
        Ok(Value::secret(Value::Int(2)))
    );
    assert_eq!(length.call(&[Value::Unknown], &NoFiles), Ok(Value::Unknown));
    // The checker's side of the same rule.
    assert!(length.secret_argument(&Ty::secret(Ty::String)));
    assert!(!length.secret_argument(&Ty::list(Ty::secret(Ty::String))));
    assert!(join.secret_argument(&Ty::list(Ty::secret(Ty::String))));
}
