//! Collection functions: `length contains keys values concat merge flatten
//! distinct sort reverse range zipmap lookup sum min max`. `length` and
//! `contains` also work on strings.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use smol_str::SmolStr;

use super::support::{
    arg, arity, at_most, compare_numbers, count, expect, int_arg, list_arg, list_element, map_arg,
    map_element, mismatch, str_arg, string_items, value_mismatch, values_equal,
};
use super::{BuiltinError, Function, Host};
use crate::ty::{FieldTy, Ty};
use crate::value::Value;

/// The most elements `range` produces, so that a typo cannot exhaust memory.
pub const RANGE_LIMIT: i64 = 1_000_000;

pub(super) const LENGTH: Function = Function {
    name: "length",
    signature: "length(value: string | list<T> | map<T>) -> int",
    doc: r#"Counts the characters of a string, the items of a list or the entries of a map or record.

A string's length is its number of Unicode characters (scalar values), not
bytes.

```orch
length("héllo")          // 5
length(["a", "b"])       // 2
length({ a = 1, b = 2 }) // 2
```"#,
    check: check_length,
    eval: eval_length,
};

fn check_length(args: &[Ty]) -> Result<Ty, String> {
    arity("length", args, 1, 1, "value")?;
    match args[0].reveal() {
        Ty::String
        | Ty::Enum(_)
        | Ty::List(_)
        | Ty::Map(_)
        | Ty::Record(_)
        | Ty::Any
        | Ty::Error => Ok(Ty::Int),
        _ => Err(mismatch("length", args, 0, "value", "a string, list or map")),
    }
}

fn eval_length(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("length", args, 1)?;
    match arg("length", args, 0, "value")? {
        Value::String(text) => count("length", text.chars().count()),
        Value::List(items) => count("length", items.len()),
        Value::Map(entries) => count("length", entries.len()),
        _ => Err(value_mismatch("length", args, 0, "value", "a string, list or map")),
    }
}

pub(super) const CONTAINS: Function = Function {
    name: "contains",
    signature: "contains(haystack: string | list<T>, needle: string | T) -> bool",
    doc: r#"Tells whether a string contains a substring, or a list contains a value.

- `haystack`: a string or a list.
- `needle`: for a string, the substring to look for; for a list, a value
  of the list's element type, compared as `==` does (`1 == 1.0`).

To test whether a map has a key, use `contains(keys(m), key)`.

```orch
contains("hello world", "o w")   // true
contains(["api", "worker"], "db") // false
```"#,
    check: check_contains,
    eval: eval_contains,
};

fn check_contains(args: &[Ty]) -> Result<Ty, String> {
    arity("contains", args, 2, 2, "haystack, needle")?;
    match args[0].reveal() {
        Ty::Any | Ty::Error => Ok(Ty::Bool),
        Ty::String | Ty::Enum(_) => {
            expect("contains", args, 1, "needle", &Ty::String, "a string to look for")?;
            Ok(Ty::Bool)
        }
        Ty::List(element) => {
            if Ty::unify(element, &args[1]).is_some() {
                Ok(Ty::Bool)
            } else {
                Err(format!("`contains` cannot look for {} in {}", args[1], args[0]))
            }
        }
        Ty::Map(_) | Ty::Record(_) => Err(format!(
            "`contains` takes a string or a list, found {}; to test for a key, use `contains(keys(m), key)`",
            args[0]
        )),
        _ => Err(mismatch("contains", args, 0, "haystack", "a string or a list")),
    }
}

fn eval_contains(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("contains", args, 2)?;
    let needle = arg("contains", args, 1, "needle")?;
    match arg("contains", args, 0, "haystack")? {
        Value::String(text) => match needle {
            Value::String(part) => Ok(Value::Bool(text.contains(part.as_str()))),
            _ => Err(value_mismatch("contains", args, 1, "needle", "a string to look for")),
        },
        Value::List(items) => Ok(Value::Bool(items.iter().any(|item| values_equal(item, needle)))),
        _ => Err(value_mismatch("contains", args, 0, "haystack", "a string or a list")),
    }
}

pub(super) const KEYS: Function = Function {
    name: "keys",
    signature: "keys(map: map<T>) -> list<string>",
    doc: r#"Lists the keys of a map, or the field names of a record, in lexicographic order.

```orch
keys({ b = 1, a = 2 })   // ["a", "b"]
```"#,
    check: check_keys,
    eval: eval_keys,
};

fn check_keys(args: &[Ty]) -> Result<Ty, String> {
    arity("keys", args, 1, 1, "map")?;
    map_element(&args[0]).ok_or_else(|| mismatch("keys", args, 0, "map", "a map or record"))?;
    Ok(Ty::list(Ty::String))
}

fn eval_keys(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("keys", args, 1)?;
    let entries = map_arg("keys", args, 0, "map")?;
    Ok(Value::list(entries.keys().map(|key| Value::String(key.clone())).collect()))
}

pub(super) const VALUES: Function = Function {
    name: "values",
    signature: "values(map: map<T>) -> list<T>",
    doc: r#"Lists the values of a map or record, in the lexicographic order of their keys.

For a record whose fields have different types, the result is `list<any>`.

```orch
values({ b = 1, a = 2 })   // [2, 1]
```"#,
    check: check_values,
    eval: eval_values,
};

fn check_values(args: &[Ty]) -> Result<Ty, String> {
    arity("values", args, 1, 1, "map")?;
    match map_element(&args[0]) {
        Some(Ty::Error) => Ok(Ty::Error),
        Some(element) => Ok(Ty::list(element)),
        None => Err(mismatch("values", args, 0, "map", "a map or record")),
    }
}

fn eval_values(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("values", args, 1)?;
    let entries = map_arg("values", args, 0, "map")?;
    Ok(Value::list(entries.values().cloned().collect()))
}

pub(super) const CONCAT: Function = Function {
    name: "concat",
    signature: "concat(lists: list<T>...) -> list<T>",
    doc: r#"Joins lists end to end into one list.

Takes one or more lists whose elements have a common type.

```orch
concat(["a"], ["b", "c"], [])   // ["a", "b", "c"]
```"#,
    check: check_concat,
    eval: eval_concat,
};

fn check_concat(args: &[Ty]) -> Result<Ty, String> {
    arity("concat", args, 1, usize::MAX, "lists...")?;
    let mut element: Option<Ty> = None;
    for (index, ty) in args.iter().enumerate() {
        let Some(this) = list_element(ty) else {
            return Err(mismatch("concat", args, index, "lists", "a list"));
        };
        element = Some(match element {
            None => this,
            Some(before) => Ty::unify(&before, &this).ok_or_else(|| {
                format!(
                    "`concat` cannot join list<{before}> and {ty}: their elements have different types"
                )
            })?,
        });
    }
    match element {
        Some(Ty::Error) | None => Ok(Ty::Error),
        Some(element) => Ok(Ty::list(element)),
    }
}

fn eval_concat(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    let mut joined = Vec::new();
    for index in 0..args.len() {
        joined.extend_from_slice(list_arg("concat", args, index, "lists")?);
    }
    Ok(Value::list(joined))
}

pub(super) const MERGE: Function = Function {
    name: "merge",
    signature: "merge(maps: map<T> | record...) -> map<T> | record",
    doc: r#"Combines maps or records into one; for a key present in several, the last one wins.

- With only maps, the result is a map of the common value type.
- With only records, the result is a record with every field; a field's
  type is the last one given (or the common type, when the last record
  declares it optional).
- Mixing maps and records gives a map, so every value must share a type.

```orch
merge({ a = 1, b = 2 }, { b = 3 })   // { a = 1, b = 3 }
merge(defaults, { port = 8080 })     // defaults with port overridden
```"#,
    check: check_merge,
    eval: eval_merge,
};

fn check_merge(args: &[Ty]) -> Result<Ty, String> {
    arity("merge", args, 1, usize::MAX, "maps...")?;
    for (index, ty) in args.iter().enumerate() {
        if map_element(ty).is_none() {
            return Err(mismatch("merge", args, index, "maps", "a map or record"));
        }
    }
    let revealed: Vec<&Ty> = args.iter().map(Ty::reveal).collect();
    if revealed.iter().any(|ty| ty.is_error()) {
        return Ok(Ty::Error);
    }
    if revealed.iter().any(|ty| matches!(ty, Ty::Any)) {
        return Ok(Ty::Any);
    }
    if revealed.iter().all(|ty| matches!(ty, Ty::Record(_))) {
        return merge_records(&revealed);
    }
    // Maps, possibly mixed with records: the keys are not known statically,
    // so the result is a map of the type common to every value.
    let mut element: Option<Ty> = None;
    for ty in &revealed {
        let parts: Vec<(String, Ty)> = match ty {
            Ty::Map(inner) => vec![(ty.to_string(), (**inner).clone())],
            Ty::Record(record) => record
                .fields
                .iter()
                .map(|f| (format!("a record whose field `{}` is {}", f.name, f.ty), f.ty.clone()))
                .collect(),
            _ => Vec::new(),
        };
        for (described, ty) in parts {
            element = Some(match element {
                None => ty,
                Some(before) => Ty::unify(&before, &ty).ok_or_else(|| {
                    format!("`merge` cannot merge map<{before}> with {described}")
                })?,
            });
        }
    }
    Ok(Ty::map(element.unwrap_or(Ty::Any)))
}

fn merge_records(records: &[&Ty]) -> Result<Ty, String> {
    let mut fields: Vec<FieldTy> = Vec::new();
    for ty in records {
        let Ty::Record(record) = ty else { continue };
        for field in &record.fields {
            match fields.iter_mut().find(|f| f.name == field.name) {
                None => fields.push(field.clone()),
                Some(before) if field.optional => {
                    // The earlier value stays when the later record lacks it.
                    before.ty = Ty::unify(&before.ty, &field.ty).ok_or_else(|| {
                        format!(
                            "`merge` cannot merge field `{}`: {} and {}",
                            field.name, before.ty, field.ty
                        )
                    })?;
                }
                Some(before) => *before = field.clone(),
            }
        }
    }
    Ok(Ty::record(None, fields))
}

fn eval_merge(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    let mut merged: BTreeMap<SmolStr, Value> = BTreeMap::new();
    for index in 0..args.len() {
        for (key, value) in map_arg("merge", args, index, "maps")? {
            merged.insert(key.clone(), value.clone());
        }
    }
    Ok(Value::map(merged))
}

pub(super) const FLATTEN: Function = Function {
    name: "flatten",
    signature: "flatten(lists: list<list<T>>) -> list<T>",
    doc: r#"Joins a list of lists into one list, one level deep.

Call it again for deeper nesting. In a `list<any>`, items that are not
lists are kept as they are.

```orch
flatten([["a", "b"], [], ["c"]])   // ["a", "b", "c"]
flatten([[[1]], [[2]]])            // [[1], [2]]
```"#,
    check: check_flatten,
    eval: eval_flatten,
};

fn check_flatten(args: &[Ty]) -> Result<Ty, String> {
    arity("flatten", args, 1, 1, "lists")?;
    let outer = list_element(&args[0]);
    match outer.as_ref().map(|inner| (inner, list_element(inner))) {
        Some((_, Some(Ty::Error))) => Ok(Ty::Error),
        Some((_, Some(inner))) => Ok(Ty::list(inner)),
        _ => Err(mismatch("flatten", args, 0, "lists", "a list of lists")),
    }
}

fn eval_flatten(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("flatten", args, 1)?;
    let mut flat = Vec::new();
    for item in list_arg("flatten", args, 0, "lists")? {
        match item.reveal().0 {
            Value::List(inner) => flat.extend_from_slice(inner),
            _ => flat.push(item.clone()),
        }
    }
    Ok(Value::list(flat))
}

pub(super) const DISTINCT: Function = Function {
    name: "distinct",
    signature: "distinct(items: list<T>) -> list<T>",
    doc: r#"Removes repeated items from a list, keeping the first of each.

```orch
distinct(["a", "b", "a", "c", "b"])   // ["a", "b", "c"]
```"#,
    check: check_distinct,
    eval: eval_distinct,
};

fn check_distinct(args: &[Ty]) -> Result<Ty, String> {
    same_list("distinct", args)
}

fn eval_distinct(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("distinct", args, 1)?;
    let items = list_arg("distinct", args, 0, "items")?;
    let mut kept: Vec<Value> = Vec::new();
    if let Ok(strings) = string_items("distinct", items, "") {
        // The common case, lists of strings, in linear time.
        let mut seen = HashSet::new();
        for (text, item) in strings.into_iter().zip(items) {
            if seen.insert(text) {
                kept.push(item.clone());
            }
        }
    } else {
        for item in items {
            if !kept.iter().any(|k| values_equal(k, item)) {
                kept.push(item.clone());
            }
        }
    }
    Ok(Value::list(kept))
}

/// The check of a function from `list<T>` to `list<T>`.
fn same_list(name: &str, args: &[Ty]) -> Result<Ty, String> {
    arity(name, args, 1, 1, "items")?;
    match list_element(&args[0]) {
        Some(Ty::Error) => Ok(Ty::Error),
        Some(element) => Ok(Ty::list(element)),
        None => Err(mismatch(name, args, 0, "items", "a list")),
    }
}

pub(super) const SORT: Function = Function {
    name: "sort",
    signature: "sort(items: list<string> | list<int> | list<float> | list<duration>) -> list<T>",
    doc: r#"Sorts a list of strings, numbers or durations in ascending order.

Strings sort by Unicode code point (so `"B" < "a"`); numbers by value, ints
and floats together; the sort is stable.

```orch
sort(["b", "a", "C"])   // ["C", "a", "b"]
sort([3, 1.5, 2])       // [1.5, 2, 3]
```"#,
    check: check_sort,
    eval: eval_sort,
};

fn check_sort(args: &[Ty]) -> Result<Ty, String> {
    arity("sort", args, 1, 1, "items")?;
    let sortable = match list_element(&args[0]) {
        Some(Ty::Error) => return Ok(Ty::Error),
        Some(element) => matches!(
            element.reveal(),
            Ty::String | Ty::Enum(_) | Ty::Int | Ty::Float | Ty::Duration | Ty::Any
        )
        .then_some(element),
        None => None,
    };
    match sortable {
        Some(element) => Ok(Ty::list(element)),
        None => Err(mismatch("sort", args, 0, "items", "a list of strings, numbers or durations")),
    }
}

fn eval_sort(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("sort", args, 1)?;
    let items = list_arg("sort", args, 0, "items")?;
    if let Some(first) = items.first() {
        let class = sort_class(first).ok_or_else(|| {
            BuiltinError::new(format!(
                "`sort` takes a list of strings, numbers or durations, found a list containing {}",
                first.kind_name()
            ))
        })?;
        if let Some(other) = items.iter().find(|item| sort_class(item) != Some(class)) {
            return Err(BuiltinError::new(format!(
                "`sort` cannot order a list that mixes {} and {}",
                first.kind_name(),
                other.kind_name()
            )));
        }
    }
    let mut sorted = items.to_vec();
    // Every pair compares: the items were all of one class above.
    sorted.sort_by(|a, b| compare(a, b).unwrap_or(Ordering::Equal));
    Ok(Value::list(sorted))
}

/// Which values `sort`, `min` and `max` can order among themselves:
/// 0 strings, 1 numbers, 2 durations.
fn sort_class(value: &Value) -> Option<u8> {
    match value.reveal().0 {
        Value::String(_) => Some(0),
        Value::Int(_) | Value::Float(_) => Some(1),
        Value::Duration(_) => Some(2),
        _ => None,
    }
}

/// The order `sort`, `min` and `max` use, or `None` for values they cannot
/// compare.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a.reveal().0, b.reveal().0) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        _ => compare_numbers(a, b),
    }
}

pub(super) const REVERSE: Function = Function {
    name: "reverse",
    signature: "reverse(items: list<T>) -> list<T>",
    doc: r#"Reverses the order of a list.

```orch
reverse([1, 2, 3])   // [3, 2, 1]
```"#,
    check: check_reverse,
    eval: eval_reverse,
};

fn check_reverse(args: &[Ty]) -> Result<Ty, String> {
    same_list("reverse", args)
}

fn eval_reverse(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("reverse", args, 1)?;
    let mut items = list_arg("reverse", args, 0, "items")?.to_vec();
    items.reverse();
    Ok(Value::list(items))
}

pub(super) const RANGE: Function = Function {
    name: "range",
    signature: "range(start?: int, end: int, step?: int) -> list<int>",
    doc: r#"Makes a list of integers from `start` up to, but not including, `end`.

- `range(end)`: from 0 to `end`.
- `range(start, end)`: the step is 1, or -1 when `start > end`.
- `range(start, end, step)`: `step` may be negative, not zero; a step that
  moves away from `end` gives an empty list.

At most 1,000,000 items; more is an error.

```orch
range(3)           // [0, 1, 2]
range(1, 4)        // [1, 2, 3]
range(4, 1)        // [4, 3, 2]
range(0, 10, 4)    // [0, 4, 8]
```"#,
    check: check_range,
    eval: eval_range,
};

fn check_range(args: &[Ty]) -> Result<Ty, String> {
    arity("range", args, 1, 3, "start?, end, step?")?;
    let names: &[&str] = match args.len() {
        1 => &["end"],
        2 => &["start", "end"],
        _ => &["start", "end", "step"],
    };
    for (index, name) in names.iter().enumerate() {
        expect("range", args, index, name, &Ty::Int, "an int")?;
    }
    Ok(Ty::list(Ty::Int))
}

fn eval_range(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("range", args, 3)?;
    let (start, end, step) = match args.len() {
        0 | 1 => (0, int_arg("range", args, 0, "end")?, 1),
        2 => {
            let start = int_arg("range", args, 0, "start")?;
            let end = int_arg("range", args, 1, "end")?;
            (start, end, if start > end { -1 } else { 1 })
        }
        _ => (
            int_arg("range", args, 0, "start")?,
            int_arg("range", args, 1, "end")?,
            int_arg("range", args, 2, "step")?,
        ),
    };
    if step == 0 {
        return Err(BuiltinError::new("`range` step must not be zero"));
    }
    // Count in i128 so that no bound or step can overflow.
    let span = i128::from(end) - i128::from(start);
    let step_wide = i128::from(step);
    let items = if span == 0 || (span > 0) != (step > 0) {
        0
    } else {
        (span.abs() + step_wide.abs() - 1) / step_wide.abs()
    };
    if items > i128::from(RANGE_LIMIT) {
        return Err(BuiltinError::new(format!(
            "`range` would make {items} items; the limit is {RANGE_LIMIT}"
        )));
    }
    let list = (0..items)
        .map(|i| {
            // In range: every item lies between start and end.
            Value::Int((i128::from(start) + i * step_wide) as i64)
        })
        .collect();
    Ok(Value::list(list))
}

pub(super) const ZIPMAP: Function = Function {
    name: "zipmap",
    signature: "zipmap(keys: list<string>, values: list<T>) -> map<T>",
    doc: r#"Builds a map from a list of keys and a list of values of the same length.

A key that appears twice is an error, as with duplicate keys in a `{for …}`
comprehension.

```orch
zipmap(["a", "b"], [1, 2])   // { a = 1, b = 2 }
```"#,
    check: check_zipmap,
    eval: eval_zipmap,
};

fn check_zipmap(args: &[Ty]) -> Result<Ty, String> {
    arity("zipmap", args, 2, 2, "keys, values")?;
    expect("zipmap", args, 0, "keys", &Ty::list(Ty::String), "a list of strings")?;
    match list_element(&args[1]) {
        Some(Ty::Error) => Ok(Ty::Error),
        Some(element) => Ok(Ty::map(element)),
        None => Err(mismatch("zipmap", args, 1, "values", "a list")),
    }
}

fn eval_zipmap(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("zipmap", args, 2)?;
    let keys = list_arg("zipmap", args, 0, "keys")?;
    let keys = string_items("zipmap", keys, "a list of strings as keys")?;
    let values = list_arg("zipmap", args, 1, "values")?;
    if keys.len() != values.len() {
        return Err(BuiltinError::new(format!(
            "`zipmap` needs as many values as keys: {} keys, {} values",
            keys.len(),
            values.len()
        )));
    }
    let mut map = BTreeMap::new();
    for (key, value) in keys.into_iter().zip(values) {
        if map.insert(SmolStr::new(key), value.clone()).is_some() {
            return Err(BuiltinError::new(format!("`zipmap` key {key:?} appears more than once")));
        }
    }
    Ok(Value::map(map))
}

pub(super) const LOOKUP: Function = Function {
    name: "lookup",
    signature: "lookup(map: map<T>, key: string, default: T) -> T",
    doc: r#"Gets the value of a key in a map or record, or a default when the key is absent.

- `map`: a map or record.
- `key`: the key to look up.
- `default`: the value when `key` is absent; its type must fit the map's
  values (it may be `none`, which makes the result optional).

```orch
lookup({ api = 8080 }, "api", 80)      // 8080
lookup({ api = 8080 }, "worker", 80)   // 80
```"#,
    check: check_lookup,
    eval: eval_lookup,
};

fn check_lookup(args: &[Ty]) -> Result<Ty, String> {
    arity("lookup", args, 3, 3, "map, key, default")?;
    let element = map_element(&args[0])
        .ok_or_else(|| mismatch("lookup", args, 0, "map", "a map or record"))?;
    expect("lookup", args, 1, "key", &Ty::String, "a string")?;
    Ty::unify(&element, &args[2]).ok_or_else(|| {
        format!("`lookup` default must be {element}, like the map's values, found {}", args[2])
    })
}

fn eval_lookup(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("lookup", args, 3)?;
    let map = map_arg("lookup", args, 0, "map")?;
    let key = str_arg("lookup", args, 1, "key")?;
    let default = arg("lookup", args, 2, "default")?;
    Ok(map.get(key).cloned().unwrap_or_else(|| default.clone()))
}

pub(super) const SUM: Function = Function {
    name: "sum",
    signature: "sum(numbers: list<int | float>) -> int | float",
    doc: r#"Adds up a list of numbers.

Takes one list, or the numbers as separate arguments. The result is an
`int` when every number is one, otherwise a `float`. The sum of an empty
list is `0`. An `int` sum that overflows 64 bits is an error.

```orch
sum([1, 2, 3])    // 6
sum([1, 2.5])     // 3.5
sum(1, 2, 3)      // 6
```"#,
    check: check_sum,
    eval: eval_sum,
};

fn check_sum(args: &[Ty]) -> Result<Ty, String> {
    check_numbers("sum", args, false)
}

fn eval_sum(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    let items = numbers("sum", args)?;
    let mut int_total: i64 = 0;
    let mut float_total: Option<f64> = None;
    for item in items {
        match (item.reveal().0, float_total.as_mut()) {
            (Value::Int(i), None) => {
                int_total = int_total.checked_add(*i).ok_or_else(|| {
                    BuiltinError::new("`sum` overflows: the total does not fit in a 64-bit int")
                })?;
            }
            (Value::Int(i), Some(total)) => *total += *i as f64,
            (Value::Float(f), None) => float_total = Some(int_total as f64 + f),
            (Value::Float(f), Some(total)) => *total += f,
            (other, _) => {
                return Err(BuiltinError::new(format!(
                    "`sum` takes numbers, found {}",
                    other.kind_name()
                )));
            }
        }
    }
    Ok(float_total.map_or(Value::Int(int_total), Value::Float))
}

pub(super) const MIN: Function = Function {
    name: "min",
    signature: "min(values: list<int | float | duration>) -> int | float | duration",
    doc: r#"Gives the smallest of a list of numbers or durations.

Takes one list, or the values as separate arguments. Ints and floats may
be mixed (the result type is then `float`); durations may not be mixed
with numbers. An empty list is an error.

```orch
min([3, 1, 2])   // 1
min(30s, 1m)     // 30s
```"#,
    check: check_min,
    eval: eval_min,
};

fn check_min(args: &[Ty]) -> Result<Ty, String> {
    check_numbers("min", args, true)
}

fn eval_min(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    extreme("min", args, Ordering::Less)
}

pub(super) const MAX: Function = Function {
    name: "max",
    signature: "max(values: list<int | float | duration>) -> int | float | duration",
    doc: r#"Gives the largest of a list of numbers or durations.

Takes one list, or the values as separate arguments. Ints and floats may
be mixed (the result type is then `float`); durations may not be mixed
with numbers. An empty list is an error.

```orch
max([3, 1, 2])      // 3
max(replicas, 3)    // at least 3
```"#,
    check: check_max,
    eval: eval_max,
};

fn check_max(args: &[Ty]) -> Result<Ty, String> {
    check_numbers("max", args, true)
}

fn eval_max(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    extreme("max", args, Ordering::Greater)
}

/// The check shared by `sum`, `min` and `max`: one list, or the values as
/// arguments. Durations are allowed for `min` and `max`.
fn check_numbers(name: &str, args: &[Ty], durations: bool) -> Result<Ty, String> {
    arity(name, args, 1, usize::MAX, "values...")?;
    let expected = if durations { "a list of numbers or durations" } else { "a list of numbers" };
    let elements: Vec<Ty> = match args {
        [single] => match single.reveal() {
            Ty::Any => return Ok(Ty::Any),
            Ty::Error => return Ok(Ty::Error),
            Ty::List(element) => vec![(**element).clone()],
            _ => vec![single.clone()],
        },
        many => many.to_vec(),
    };
    let mut result: Option<Ty> = None;
    for (index, element) in elements.iter().enumerate() {
        let this = match element.reveal() {
            Ty::Int => Ty::Int,
            Ty::Float => Ty::Float,
            Ty::Duration if durations => Ty::Duration,
            Ty::Any => return Ok(Ty::Any),
            Ty::Error => return Ok(Ty::Error),
            _ if args.len() == 1 => return Err(mismatch(name, args, 0, "values", expected)),
            _ => return Err(mismatch(name, args, index, "values", "a number")),
        };
        result = Some(match result {
            None => this,
            Some(before) => Ty::unify(&before, &this)
                .ok_or_else(|| format!("`{name}` cannot mix durations and numbers"))?,
        });
    }
    Ok(result.unwrap_or(Ty::Error))
}

/// The values of `sum`, `min` and `max`: the items of a lone list
/// argument, otherwise the arguments themselves.
fn numbers<'a>(name: &str, args: &'a [Value]) -> Result<&'a [Value], BuiltinError> {
    match args {
        [] => Err(BuiltinError::new(format!("`{name}` takes a list of numbers, found nothing"))),
        [single] => match single.reveal().0 {
            Value::List(items) => Ok(items),
            _ => Ok(args),
        },
        many => Ok(many),
    }
}

fn extreme(name: &str, args: &[Value], wanted: Ordering) -> Result<Value, BuiltinError> {
    let items = numbers(name, args)?;
    let Some(mut best) = items.first() else {
        return Err(BuiltinError::new(format!("`{name}` of an empty list has no value")));
    };
    for item in items {
        if !matches!(sort_class(item), Some(1 | 2)) {
            return Err(BuiltinError::new(format!(
                "`{name}` takes numbers or durations, found {}",
                item.kind_name()
            )));
        }
        match compare(item, best) {
            Some(order) if order == wanted => best = item,
            Some(_) => {}
            None => {
                return Err(BuiltinError::new(format!(
                    "`{name}` cannot compare {} with {}",
                    item.kind_name(),
                    best.kind_name()
                )));
            }
        }
    }
    Ok(best.clone())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, ints, list, map, s};
    use super::*;

    fn record(fields: &[(&str, Ty, bool)]) -> Ty {
        Ty::record(
            None,
            fields
                .iter()
                .map(|(name, ty, optional)| FieldTy {
                    name: (*name).into(),
                    ty: ty.clone(),
                    optional: *optional,
                })
                .collect(),
        )
    }

    #[test]
    fn length_of_strings_lists_and_maps() {
        assert_eq!(eval(&LENGTH, &[s("héllo")]), Value::Int(5));
        assert_eq!(eval(&LENGTH, &[ints(&[1, 2])]), Value::Int(2));
        assert_eq!(eval(&LENGTH, &[map(&[("a", Value::Int(1))])]), Value::Int(1));
        assert_eq!(
            eval_err(&LENGTH, &[Value::Int(1)]),
            "`length` takes a string, list or map, found int"
        );
        assert_eq!(check(&LENGTH, &[Ty::map(Ty::Int)]), Ok(Ty::Int));
        assert_eq!(check(&LENGTH, &[record(&[("a", Ty::Int, false)])]), Ok(Ty::Int));
        assert_eq!(
            check(&LENGTH, &[Ty::Bool]),
            Err("`length` takes a string, list or map, found bool".into())
        );
        assert!(check(&LENGTH, &[Ty::String, Ty::String]).is_err());
    }

    #[test]
    fn contains_in_strings_and_lists() {
        assert_eq!(eval(&CONTAINS, &[s("hello world"), s("o w")]), Value::Bool(true));
        assert_eq!(eval(&CONTAINS, &[list(vec![s("api")]), s("db")]), Value::Bool(false));
        assert_eq!(eval(&CONTAINS, &[ints(&[1, 2]), Value::Float(2.0)]), Value::Bool(true));
        assert_eq!(check(&CONTAINS, &[Ty::String, Ty::String]), Ok(Ty::Bool));
        assert_eq!(check(&CONTAINS, &[Ty::list(Ty::Int), Ty::Float]), Ok(Ty::Bool));
        assert_eq!(
            check(&CONTAINS, &[Ty::list(Ty::Int), Ty::String]),
            Err("`contains` cannot look for string in list<int>".into())
        );
        assert_eq!(
            check(&CONTAINS, &[Ty::String, Ty::Int]),
            Err("`contains` takes a string to look for as its second argument `needle`, found int"
                .into())
        );
        assert!(check(&CONTAINS, &[Ty::map(Ty::Int), Ty::String]).unwrap_err().contains("keys(m)"));
        assert_eq!(check(&CONTAINS, &[Ty::Any, Ty::Int]), Ok(Ty::Bool));
        assert!(eval_err(&CONTAINS, &[s("a"), Value::Int(1)]).contains("`needle`"));
    }

    #[test]
    fn keys_and_values() {
        let m = map(&[("b", Value::Int(1)), ("a", Value::Int(2))]);
        assert_eq!(eval(&KEYS, std::slice::from_ref(&m)), list(vec![s("a"), s("b")]));
        assert_eq!(eval(&VALUES, &[m]), ints(&[2, 1]));
        assert_eq!(check(&KEYS, &[Ty::map(Ty::Int)]), Ok(Ty::list(Ty::String)));
        assert_eq!(check(&VALUES, &[Ty::map(Ty::Int)]), Ok(Ty::list(Ty::Int)));
        let mixed = record(&[("a", Ty::Int, false), ("b", Ty::String, false)]);
        assert_eq!(check(&VALUES, &[mixed]), Ok(Ty::list(Ty::Any)));
        let numbers = record(&[("a", Ty::Int, false), ("b", Ty::Float, false)]);
        assert_eq!(check(&VALUES, &[numbers]), Ok(Ty::list(Ty::Float)));
        assert_eq!(
            check(&KEYS, &[Ty::list(Ty::Int)]),
            Err("`keys` takes a map or record, found list<int>".into())
        );
        assert_eq!(check(&VALUES, &[Ty::Error]), Ok(Ty::Error));
        assert_eq!(eval_err(&KEYS, &[ints(&[])]), "`keys` takes a map or record, found list");
    }

    #[test]
    fn concatenation() {
        assert_eq!(eval(&CONCAT, &[ints(&[1]), ints(&[2, 3]), ints(&[])]), ints(&[1, 2, 3]));
        assert_eq!(
            check(&CONCAT, &[Ty::list(Ty::Int), Ty::list(Ty::Float)]),
            Ok(Ty::list(Ty::Float))
        );
        assert_eq!(
            check(&CONCAT, &[Ty::list(Ty::Int), Ty::list(Ty::String)]),
            Err("`concat` cannot join list<int> and list<string>: their elements have different types".into())
        );
        assert_eq!(
            check(&CONCAT, &[Ty::list(Ty::Int), Ty::Int]),
            Err("`concat` takes a list as its second argument `lists`, found int".into())
        );
        assert!(check(&CONCAT, &[]).is_err());
        assert_eq!(check(&CONCAT, &[Ty::Error, Ty::list(Ty::Int)]), Ok(Ty::Error));
        assert!(eval_err(&CONCAT, &[ints(&[]), s("x")]).contains("`lists`"));
    }

    #[test]
    fn merging() {
        let a = map(&[("a", Value::Int(1)), ("b", Value::Int(2))]);
        let b = map(&[("b", Value::Int(3))]);
        assert_eq!(eval(&MERGE, &[a, b]), map(&[("a", Value::Int(1)), ("b", Value::Int(3))]));
        assert_eq!(check(&MERGE, &[Ty::map(Ty::Int), Ty::map(Ty::Float)]), Ok(Ty::map(Ty::Float)));
        let defaults = record(&[("name", Ty::String, false), ("port", Ty::Int, false)]);
        let patch = record(&[("port", Ty::Float, false), ("tls", Ty::Bool, true)]);
        assert_eq!(
            check(&MERGE, &[defaults.clone(), patch]),
            Ok(record(&[
                ("name", Ty::String, false),
                ("port", Ty::Float, false),
                ("tls", Ty::Bool, true)
            ]))
        );
        let optional_port = record(&[("port", Ty::String, true)]);
        assert_eq!(
            check(&MERGE, &[defaults.clone(), optional_port]),
            Err("`merge` cannot merge field `port`: int and string".into())
        );
        assert_eq!(
            check(&MERGE, &[Ty::map(Ty::Int), defaults]),
            Err("`merge` cannot merge map<int> with a record whose field `name` is string".into())
        );
        assert_eq!(check(&MERGE, &[Ty::map(Ty::Int), Ty::Any]), Ok(Ty::Any));
        assert!(check(&MERGE, &[Ty::list(Ty::Int)]).is_err());
        assert!(check(&MERGE, &[]).is_err());
    }

    #[test]
    fn flattening() {
        let nested = list(vec![ints(&[1, 2]), ints(&[]), ints(&[3])]);
        assert_eq!(eval(&FLATTEN, &[nested]), ints(&[1, 2, 3]));
        let deep = list(vec![list(vec![ints(&[1])])]);
        assert_eq!(eval(&FLATTEN, &[deep]), list(vec![ints(&[1])]));
        assert_eq!(eval(&FLATTEN, &[list(vec![Value::Int(1), ints(&[2])])]), ints(&[1, 2]));
        assert_eq!(check(&FLATTEN, &[Ty::list(Ty::list(Ty::String))]), Ok(Ty::list(Ty::String)));
        assert_eq!(check(&FLATTEN, &[Ty::list(Ty::Any)]), Ok(Ty::list(Ty::Any)));
        assert_eq!(
            check(&FLATTEN, &[Ty::list(Ty::Int)]),
            Err("`flatten` takes a list of lists, found list<int>".into())
        );
    }

    #[test]
    fn distinct_sort_reverse() {
        let names = list(vec![s("a"), s("b"), s("a"), s("c"), s("b")]);
        assert_eq!(eval(&DISTINCT, &[names]), list(vec![s("a"), s("b"), s("c")]));
        assert_eq!(
            eval(&DISTINCT, &[list(vec![Value::Int(1), Value::Float(1.0), Value::Int(2)])]),
            ints(&[1, 2])
        );
        assert_eq!(
            eval(&SORT, &[list(vec![s("b"), s("a"), s("C")])]),
            list(vec![s("C"), s("a"), s("b")])
        );
        assert_eq!(
            eval(&SORT, &[list(vec![Value::Int(3), Value::Float(1.5), Value::Int(2)])]),
            list(vec![Value::Float(1.5), Value::Int(2), Value::Int(3)])
        );
        assert_eq!(eval(&SORT, &[ints(&[])]), ints(&[]));
        assert_eq!(
            eval_err(&SORT, &[list(vec![s("a"), Value::Int(1)])]),
            "`sort` cannot order a list that mixes string and int"
        );
        assert!(
            eval_err(&SORT, &[list(vec![Value::Bool(true)])])
                .contains("found a list containing bool")
        );
        assert_eq!(check(&SORT, &[Ty::list(Ty::Duration)]), Ok(Ty::list(Ty::Duration)));
        assert_eq!(
            check(&SORT, &[Ty::list(Ty::Bool)]),
            Err("`sort` takes a list of strings, numbers or durations, found list<bool>".into())
        );
        assert_eq!(eval(&REVERSE, &[ints(&[1, 2, 3])]), ints(&[3, 2, 1]));
        assert_eq!(check(&REVERSE, &[Ty::list(Ty::String)]), Ok(Ty::list(Ty::String)));
        assert_eq!(
            check(&REVERSE, &[Ty::String]),
            Err("`reverse` takes a list, found string".into())
        );
        assert_eq!(check(&DISTINCT, &[Ty::Any]), Ok(Ty::list(Ty::Any)));
    }

    #[test]
    fn ranges() {
        let r =
            |args: &[i64]| eval(&RANGE, &args.iter().map(|i| Value::Int(*i)).collect::<Vec<_>>());
        assert_eq!(r(&[3]), ints(&[0, 1, 2]));
        assert_eq!(r(&[1, 4]), ints(&[1, 2, 3]));
        assert_eq!(r(&[4, 1]), ints(&[4, 3, 2]));
        assert_eq!(r(&[0, 10, 4]), ints(&[0, 4, 8]));
        assert_eq!(r(&[0, 3, -1]), ints(&[]));
        assert_eq!(r(&[-2]), ints(&[]));
        assert_eq!(r(&[i64::MAX - 1, i64::MAX]), ints(&[i64::MAX - 1]));
        assert_eq!(r(&[i64::MIN, i64::MIN + 2, i64::MAX]), ints(&[i64::MIN]));
        assert_eq!(
            eval_err(&RANGE, &[Value::Int(0), Value::Int(1), Value::Int(0)]),
            "`range` step must not be zero"
        );
        assert_eq!(
            eval_err(&RANGE, &[Value::Int(i64::MIN), Value::Int(i64::MAX)]),
            "`range` would make 18446744073709551615 items; the limit is 1000000"
        );
        assert_eq!(check(&RANGE, &[Ty::Int, Ty::Int]), Ok(Ty::list(Ty::Int)));
        assert_eq!(check(&RANGE, &[Ty::Float]), Err("`range` takes an int, found float".into()));
        assert_eq!(
            check(&RANGE, &[Ty::Int, Ty::Int, Ty::String]),
            Err("`range` takes an int as its third argument `step`, found string".into())
        );
        assert!(check(&RANGE, &[]).is_err());
    }

    #[test]
    fn zipping() {
        let keys = list(vec![s("a"), s("b")]);
        assert_eq!(
            eval(&ZIPMAP, &[keys.clone(), ints(&[1, 2])]),
            map(&[("a", Value::Int(1)), ("b", Value::Int(2))])
        );
        assert_eq!(
            eval_err(&ZIPMAP, &[keys, ints(&[1])]),
            "`zipmap` needs as many values as keys: 2 keys, 1 values"
        );
        assert_eq!(
            eval_err(&ZIPMAP, &[list(vec![s("a"), s("a")]), ints(&[1, 2])]),
            "`zipmap` key \"a\" appears more than once"
        );
        assert_eq!(
            check(&ZIPMAP, &[Ty::list(Ty::String), Ty::list(Ty::Bool)]),
            Ok(Ty::map(Ty::Bool))
        );
        assert!(check(&ZIPMAP, &[Ty::list(Ty::Int), Ty::list(Ty::Bool)]).is_err());
        assert!(check(&ZIPMAP, &[Ty::list(Ty::String), Ty::Bool]).is_err());
    }

    #[test]
    fn lookups() {
        let m = map(&[("api", Value::Int(8080))]);
        assert_eq!(eval(&LOOKUP, &[m.clone(), s("api"), Value::Int(80)]), Value::Int(8080));
        assert_eq!(eval(&LOOKUP, &[m, s("db"), Value::Int(80)]), Value::Int(80));
        assert_eq!(check(&LOOKUP, &[Ty::map(Ty::Int), Ty::String, Ty::Int]), Ok(Ty::Int));
        assert_eq!(
            check(&LOOKUP, &[Ty::map(Ty::Int), Ty::String, Ty::None]),
            Ok(Ty::optional(Ty::Int))
        );
        assert_eq!(
            check(&LOOKUP, &[Ty::map(Ty::Int), Ty::String, Ty::String]),
            Err("`lookup` default must be int, like the map's values, found string".into())
        );
        assert!(check(&LOOKUP, &[Ty::map(Ty::Int), Ty::String]).is_err());
        assert!(check(&LOOKUP, &[Ty::map(Ty::Int), Ty::Int, Ty::Int]).is_err());
    }

    #[test]
    fn sums() {
        assert_eq!(eval(&SUM, &[ints(&[1, 2, 3])]), Value::Int(6));
        assert_eq!(eval(&SUM, &[list(vec![Value::Int(1), Value::Float(2.5)])]), Value::Float(3.5));
        assert_eq!(eval(&SUM, &[Value::Int(1), Value::Int(2)]), Value::Int(3));
        assert_eq!(eval(&SUM, &[ints(&[])]), Value::Int(0));
        assert_eq!(eval(&SUM, &[Value::Int(4)]), Value::Int(4));
        assert_eq!(
            eval_err(&SUM, &[ints(&[i64::MAX, 1])]),
            "`sum` overflows: the total does not fit in a 64-bit int"
        );
        assert_eq!(eval_err(&SUM, &[list(vec![s("a")])]), "`sum` takes numbers, found string");
        assert_eq!(check(&SUM, &[Ty::list(Ty::Int)]), Ok(Ty::Int));
        assert_eq!(check(&SUM, &[Ty::list(Ty::Float)]), Ok(Ty::Float));
        assert_eq!(check(&SUM, &[Ty::Int, Ty::Float]), Ok(Ty::Float));
        assert_eq!(
            check(&SUM, &[Ty::list(Ty::String)]),
            Err("`sum` takes a list of numbers, found list<string>".into())
        );
        assert_eq!(
            check(&SUM, &[Ty::Int, Ty::String]),
            Err("`sum` takes a number as its second argument `values`, found string".into())
        );
        assert!(check(&SUM, &[Ty::list(Ty::Duration)]).is_err());
        assert_eq!(check(&SUM, &[Ty::Any]), Ok(Ty::Any));
    }

    #[test]
    fn minimum_and_maximum() {
        assert_eq!(eval(&MIN, &[ints(&[3, 1, 2])]), Value::Int(1));
        assert_eq!(eval(&MAX, &[ints(&[3, 1, 2])]), Value::Int(3));
        assert_eq!(eval(&MAX, &[Value::Int(2), Value::Float(2.5)]), Value::Float(2.5));
        assert_eq!(
            eval(&MIN, &[Value::Duration(30_000), Value::Duration(60_000)]),
            Value::Duration(30_000)
        );
        assert_eq!(eval_err(&MIN, &[ints(&[])]), "`min` of an empty list has no value");
        assert_eq!(
            eval_err(&MAX, &[Value::Int(1), Value::Duration(1)]),
            "`max` cannot compare duration with int"
        );
        assert_eq!(
            eval_err(&MAX, &[list(vec![s("a"), s("b")])]),
            "`max` takes numbers or durations, found string"
        );
        assert_eq!(check(&MIN, &[Ty::list(Ty::Int)]), Ok(Ty::Int));
        assert_eq!(check(&MAX, &[Ty::Int, Ty::Float]), Ok(Ty::Float));
        assert_eq!(check(&MIN, &[Ty::Duration, Ty::Duration]), Ok(Ty::Duration));
        assert_eq!(
            check(&MIN, &[Ty::Duration, Ty::Int]),
            Err("`min` cannot mix durations and numbers".into())
        );
        assert_eq!(
            check(&MAX, &[Ty::list(Ty::String)]),
            Err("`max` takes a list of numbers or durations, found list<string>".into())
        );
        assert!(check(&MAX, &[]).is_err());
    }
}
