//! Helpers shared by the function families: arity and type checks whose
//! messages speak the user's terms, argument access for `eval`, and value
//! equality and ordering.

use std::cmp::Ordering;

use super::BuiltinError;
use crate::ty::Ty;
use crate::value::Value;

/// "first", "second", … for messages about an argument's position.
pub(super) fn ordinal(index: usize) -> String {
    match index {
        0 => "first".to_owned(),
        1 => "second".to_owned(),
        2 => "third".to_owned(),
        3 => "fourth".to_owned(),
        4 => "fifth".to_owned(),
        n => format!("{}th", n + 1),
    }
}

/// Checks the number of arguments. `max` is `usize::MAX` for a function
/// that takes any number of trailing arguments; `params` names them for
/// the message, e.g. `"text, substring, replacement"`.
pub(super) fn arity(
    name: &str,
    args: &[Ty],
    min: usize,
    max: usize,
    params: &str,
) -> Result<(), String> {
    arity_message(name, args.len(), min, max, params).map_or(Ok(()), Err)
}

fn arity_message(name: &str, found: usize, min: usize, max: usize, params: &str) -> Option<String> {
    if (min..=max).contains(&found) {
        return None;
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let takes = if max == usize::MAX {
        format!("at least {min} {}", plural(min))
    } else if min == max {
        format!("{min} {}", plural(min))
    } else if max == min + 1 {
        format!("{min} or {max} arguments")
    } else {
        format!("{min} to {max} arguments")
    };
    Some(format!("`{name}` takes {takes} ({params}), found {found}"))
}

/// The message for an argument of the wrong type: "`upper` takes a string,
/// found int" for a lone argument, otherwise naming the argument.
pub(super) fn mismatch(
    name: &str,
    args: &[Ty],
    index: usize,
    param: &str,
    expected: &str,
) -> String {
    let found = args.get(index).map(ToString::to_string).unwrap_or_else(|| "nothing".to_owned());
    described_mismatch(name, args.len(), index, param, expected, &found)
}

fn described_mismatch(
    name: &str,
    count: usize,
    index: usize,
    param: &str,
    expected: &str,
    found: &str,
) -> String {
    if count == 1 {
        format!("`{name}` takes {expected}, found {found}")
    } else {
        format!(
            "`{name}` takes {expected} as its {} argument `{param}`, found {found}",
            ordinal(index)
        )
    }
}

/// Requires `args[index]` to be assignable to `expected` (`any` and error
/// types always are).
pub(super) fn expect(
    name: &str,
    args: &[Ty],
    index: usize,
    param: &str,
    expected: &Ty,
    described: &str,
) -> Result<(), String> {
    match args.get(index) {
        Some(ty) if ty.assignable_to(expected) => Ok(()),
        _ => Err(mismatch(name, args, index, param, described)),
    }
}

/// The element type of a list type; `any` and error types stand for
/// themselves. `None` when the type is not a list.
pub(super) fn list_element(ty: &Ty) -> Option<Ty> {
    match ty.reveal() {
        Ty::List(inner) => Some((**inner).clone()),
        Ty::Any => Some(Ty::Any),
        Ty::Error => Some(Ty::Error),
        _ => None,
    }
}

/// The type of the values of a map or record type: a record's field types
/// unified, or `any` when they have nothing in common. `None` when the type
/// is neither.
pub(super) fn map_element(ty: &Ty) -> Option<Ty> {
    match ty.reveal() {
        Ty::Map(inner) => Some((**inner).clone()),
        Ty::Record(record) => {
            let mut fields = record.fields.iter();
            let Some(first) = fields.next() else {
                return Some(Ty::Any);
            };
            let mut element = first.ty.clone();
            for field in fields {
                match Ty::unify(&element, &field.ty) {
                    Some(unified) => element = unified,
                    None => return Some(Ty::Any),
                }
            }
            Some(element)
        }
        Ty::Any => Some(Ty::Any),
        Ty::Error => Some(Ty::Error),
        _ => None,
    }
}

/// The argument at `index`, or an error naming what is missing. The
/// checker reports arity first, so this only fires for calls it could not
/// check.
pub(super) fn arg<'a>(
    name: &str,
    args: &'a [Value],
    index: usize,
    param: &str,
) -> Result<&'a Value, BuiltinError> {
    args.get(index).map(|value| value.reveal().0).ok_or_else(|| {
        BuiltinError::new(format!("`{name}` is missing its {} argument `{param}`", ordinal(index)))
    })
}

/// Rejects calls with more arguments than `max`.
pub(super) fn at_most(name: &str, args: &[Value], max: usize) -> Result<(), BuiltinError> {
    if args.len() > max {
        let plural = if max == 1 { "argument" } else { "arguments" };
        return Err(BuiltinError::new(format!(
            "`{name}` takes at most {max} {plural}, found {}",
            args.len()
        )));
    }
    Ok(())
}

/// The message for a value of the wrong kind at evaluation (reachable
/// through `any`).
pub(super) fn value_mismatch(
    name: &str,
    args: &[Value],
    index: usize,
    param: &str,
    expected: &str,
) -> BuiltinError {
    let found = args.get(index).map_or("nothing", Value::kind_name);
    BuiltinError::new(described_mismatch(name, args.len(), index, param, expected, found))
}

pub(super) fn str_arg<'a>(
    name: &str,
    args: &'a [Value],
    index: usize,
    param: &str,
) -> Result<&'a str, BuiltinError> {
    match arg(name, args, index, param)? {
        Value::String(text) => Ok(text),
        _ => Err(value_mismatch(name, args, index, param, "a string")),
    }
}

pub(super) fn int_arg(
    name: &str,
    args: &[Value],
    index: usize,
    param: &str,
) -> Result<i64, BuiltinError> {
    match arg(name, args, index, param)? {
        Value::Int(value) => Ok(*value),
        _ => Err(value_mismatch(name, args, index, param, "an int")),
    }
}

pub(super) fn list_arg<'a>(
    name: &str,
    args: &'a [Value],
    index: usize,
    param: &str,
) -> Result<&'a [Value], BuiltinError> {
    match arg(name, args, index, param)? {
        Value::List(items) => Ok(items),
        _ => Err(value_mismatch(name, args, index, param, "a list")),
    }
}

pub(super) fn map_arg<'a>(
    name: &str,
    args: &'a [Value],
    index: usize,
    param: &str,
) -> Result<&'a crate::Fields, BuiltinError> {
    match arg(name, args, index, param)? {
        Value::Map(entries) => Ok(entries),
        _ => Err(value_mismatch(name, args, index, param, "a map or record")),
    }
}

/// The strings of a list, or an error naming the first element that is
/// not one.
pub(super) fn string_items<'a>(
    name: &str,
    items: &'a [Value],
    what: &str,
) -> Result<Vec<&'a str>, BuiltinError> {
    items
        .iter()
        .map(|item| {
            item.as_str().ok_or_else(|| {
                BuiltinError::new(format!(
                    "`{name}` takes {what}, found a list containing {}",
                    item.kind_name()
                ))
            })
        })
        .collect()
}

/// A count as an Orch int.
pub(super) fn count(name: &str, n: usize) -> Result<Value, BuiltinError> {
    i64::try_from(n)
        .map(Value::Int)
        .map_err(|_| BuiltinError::new(format!("`{name}`: the count {n} does not fit in an int")))
}

/// The text a value interpolates to, secrets included (the caller has
/// already decided that the result is secret).
pub(super) fn text_of(value: &Value) -> String {
    value.reveal_all().to_interpolated().unwrap_or_default()
}

/// Equality as `==` sees it: an int equals the float of the same value, and
/// secret marks are ignored.
pub(super) fn values_equal(a: &Value, b: &Value) -> bool {
    match (a.reveal().0, b.reveal().0) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| values_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && values_equal(va, vb))
        }
        (x, y) => x == y,
    }
}

/// The order of two numbers (ints compared exactly, floats totally), or
/// `None` when either is not a number.
pub(super) fn compare_numbers(a: &Value, b: &Value) -> Option<Ordering> {
    match (a.reveal().0, b.reveal().0) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => Some((*x as f64).total_cmp(y)),
        (Value::Float(x), Value::Int(y)) => Some(x.total_cmp(&(*y as f64))),
        (Value::Float(x), Value::Float(y)) => Some(x.total_cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arity_messages() {
        let one = [Ty::Int];
        assert_eq!(
            arity("upper", &[], 1, 1, "text"),
            Err("`upper` takes 1 argument (text), found 0".into())
        );
        assert_eq!(
            arity("trim", &[Ty::Int, Ty::Int, Ty::Int], 1, 2, "text, chars?"),
            Err("`trim` takes 1 or 2 arguments (text, chars?), found 3".into())
        );
        assert_eq!(
            arity("range", &[], 1, 3, "start?, end, step?"),
            Err("`range` takes 1 to 3 arguments (start?, end, step?), found 0".into())
        );
        assert_eq!(
            arity("concat", &[], 1, usize::MAX, "lists..."),
            Err("`concat` takes at least 1 argument (lists...), found 0".into())
        );
        assert_eq!(arity("upper", &one, 1, 1, "text"), Ok(()));
    }

    #[test]
    fn mismatch_messages() {
        assert_eq!(
            mismatch("upper", &[Ty::Int], 0, "text", "a string"),
            "`upper` takes a string, found int"
        );
        assert_eq!(
            mismatch("replace", &[Ty::String, Ty::Int, Ty::String], 1, "substring", "a string"),
            "`replace` takes a string as its second argument `substring`, found int"
        );
        assert_eq!(ordinal(9), "10th");
    }

    #[test]
    fn equality_and_order() {
        assert!(values_equal(&Value::Int(1), &Value::Float(1.0)));
        assert!(values_equal(&Value::secret(Value::string("a")), &Value::string("a")));
        assert!(!values_equal(&Value::list(vec![Value::Int(1)]), &Value::list(vec![])));
        assert_eq!(compare_numbers(&Value::Int(2), &Value::Float(1.5)), Some(Ordering::Greater));
        assert_eq!(compare_numbers(&Value::Int(2), &Value::string("a")), None);
    }
}
