//! String functions: `upper lower trim split join replace starts_with
//! ends_with substr regex_match format`. (`length` and `contains` work on
//! strings too; they live with the collections.)
//!
//! Argument order follows Terraform where Terraform has the function:
//! `split(separator, text)`, `join(separator, list)`,
//! `replace(text, substring, replacement)`, `regex_match(pattern, text)`.

use regex::Regex;

use super::support::{arity, at_most, expect, int_arg, list_arg, str_arg, string_items, text_of};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::Value;

pub(super) const UPPER: Function = Function {
    name: "upper",
    signature: "upper(text: string) -> string",
    doc: r#"Converts every letter of a string to upper case.

Unicode-aware: `"é"` becomes `"É"`.

```orch
upper("héllo")   // "HÉLLO"
```"#,
    check: check_upper,
    eval: eval_upper,
};

fn check_upper(args: &[Ty]) -> Result<Ty, String> {
    text_to_string("upper", args)
}

fn eval_upper(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("upper", args, 1)?;
    Ok(Value::string(str_arg("upper", args, 0, "text")?.to_uppercase()))
}

pub(super) const LOWER: Function = Function {
    name: "lower",
    signature: "lower(text: string) -> string",
    doc: r#"Converts every letter of a string to lower case.

Unicode-aware: `"É"` becomes `"é"`.

```orch
lower("Hello World")   // "hello world"
```"#,
    check: check_lower,
    eval: eval_lower,
};

fn check_lower(args: &[Ty]) -> Result<Ty, String> {
    text_to_string("lower", args)
}

fn eval_lower(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("lower", args, 1)?;
    Ok(Value::string(str_arg("lower", args, 0, "text")?.to_lowercase()))
}

/// The check of a function from one string to a string.
fn text_to_string(name: &str, args: &[Ty]) -> Result<Ty, String> {
    arity(name, args, 1, 1, "text")?;
    expect(name, args, 0, "text", &Ty::String, "a string")?;
    Ok(Ty::String)
}

pub(super) const TRIM: Function = Function {
    name: "trim",
    signature: "trim(text: string, chars?: string) -> string",
    doc: r#"Removes whitespace, or the given characters, from both ends of a string.

- `text`: the string to trim.
- `chars` (optional): every character of this string is removed from both
  ends of `text`, in any order (Terraform's `trim`). Without it, Unicode
  whitespace is removed (Terraform's `trimspace`).

```orch
trim("  hello\n")        // "hello"
trim("--hello-!", "-!")  // "hello"
```"#,
    check: check_trim,
    eval: eval_trim,
};

fn check_trim(args: &[Ty]) -> Result<Ty, String> {
    arity("trim", args, 1, 2, "text, chars?")?;
    expect("trim", args, 0, "text", &Ty::String, "a string")?;
    if args.len() == 2 {
        expect("trim", args, 1, "chars", &Ty::String, "a string")?;
    }
    Ok(Ty::String)
}

fn eval_trim(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("trim", args, 2)?;
    let text = str_arg("trim", args, 0, "text")?;
    let trimmed = if args.len() == 2 {
        let chars = str_arg("trim", args, 1, "chars")?;
        text.trim_matches(|c| chars.contains(c))
    } else {
        text.trim()
    };
    Ok(Value::string(trimmed))
}

pub(super) const SPLIT: Function = Function {
    name: "split",
    signature: "split(separator: string, text: string) -> list<string>",
    doc: r#"Splits a string at every occurrence of a separator.

- `separator`: the string to split at (first, as in Terraform). An empty
  separator splits the text into its characters.
- `text`: the string to split. An empty `text` gives `[""]`.

```orch
split(",", "a,b,,c")   // ["a", "b", "", "c"]
split("", "héllo")     // ["h", "é", "l", "l", "o"]
```"#,
    check: check_split,
    eval: eval_split,
};

fn check_split(args: &[Ty]) -> Result<Ty, String> {
    arity("split", args, 2, 2, "separator, text")?;
    expect("split", args, 0, "separator", &Ty::String, "a string")?;
    expect("split", args, 1, "text", &Ty::String, "a string")?;
    Ok(Ty::list(Ty::String))
}

fn eval_split(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("split", args, 2)?;
    let separator = str_arg("split", args, 0, "separator")?;
    let text = str_arg("split", args, 1, "text")?;
    let parts: Vec<Value> = if separator.is_empty() {
        text.chars().map(|c| Value::string(c.to_string())).collect()
    } else {
        text.split(separator).map(Value::string).collect()
    };
    Ok(Value::list(parts))
}

pub(super) const JOIN: Function = Function {
    name: "join",
    signature: "join(separator: string, items: list<string>) -> string",
    doc: r#"Joins a list of strings into one, with a separator between them.

- `separator`: placed between consecutive items (first, as in Terraform).
- `items`: the strings to join. Convert other values first with `string`.

```orch
join(", ", ["a", "b", "c"])   // "a, b, c"
join("-", [])                 // ""
```"#,
    check: check_join,
    eval: eval_join,
};

fn check_join(args: &[Ty]) -> Result<Ty, String> {
    arity("join", args, 2, 2, "separator, items")?;
    expect("join", args, 0, "separator", &Ty::String, "a string")?;
    expect("join", args, 1, "items", &Ty::list(Ty::String), "a list of strings")?;
    Ok(Ty::String)
}

fn eval_join(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("join", args, 2)?;
    let separator = str_arg("join", args, 0, "separator")?;
    let items = list_arg("join", args, 1, "items")?;
    let items = string_items("join", items, "a list of strings")?;
    Ok(Value::string(items.join(separator)))
}

pub(super) const REPLACE: Function = Function {
    name: "replace",
    signature: "replace(text: string, substring: string, replacement: string) -> string",
    doc: r#"Replaces every occurrence of a substring, or of a regular expression, in a string.

- `text`: the string to search.
- `substring`: the text to look for (not empty). Written between slashes,
  `"/…/"`, it is a regular expression (Rust `regex` syntax), as in Terraform.
- `replacement`: the text to put instead. With a regular expression it may
  name capture groups: `$1`, `${name}`; write `$$` for a literal `$`.

```orch
replace("a-b-c", "-", "+")                // "a+b+c"
replace("v1.2.3", "/v(\\d+)\\..*/", "$1")  // "1"
```"#,
    check: check_replace,
    eval: eval_replace,
};

fn check_replace(args: &[Ty]) -> Result<Ty, String> {
    arity("replace", args, 3, 3, "text, substring, replacement")?;
    expect("replace", args, 0, "text", &Ty::String, "a string")?;
    expect("replace", args, 1, "substring", &Ty::String, "a string")?;
    expect("replace", args, 2, "replacement", &Ty::String, "a string")?;
    Ok(Ty::String)
}

fn eval_replace(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("replace", args, 3)?;
    let text = str_arg("replace", args, 0, "text")?;
    let substring = str_arg("replace", args, 1, "substring")?;
    let replacement = str_arg("replace", args, 2, "replacement")?;
    if substring.is_empty() {
        return Err(BuiltinError::new("`replace` needs a non-empty substring to look for"));
    }
    let pattern = substring.strip_prefix('/').and_then(|rest| rest.strip_suffix('/'));
    match pattern {
        Some(pattern) => {
            let regex = compile("replace", pattern)?;
            Ok(Value::string(regex.replace_all(text, replacement).into_owned()))
        }
        None => Ok(Value::string(text.replace(substring, replacement))),
    }
}

pub(super) const STARTS_WITH: Function = Function {
    name: "starts_with",
    signature: "starts_with(text: string, prefix: string) -> bool",
    doc: r#"Tells whether a string begins with a prefix.

```orch
starts_with("https://example.com", "https://")   // true
starts_with("abc", "")                          // true
```"#,
    check: check_starts_with,
    eval: eval_starts_with,
};

fn check_starts_with(args: &[Ty]) -> Result<Ty, String> {
    text_and_string_to_bool("starts_with", "prefix", args)
}

fn eval_starts_with(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("starts_with", args, 2)?;
    let text = str_arg("starts_with", args, 0, "text")?;
    let prefix = str_arg("starts_with", args, 1, "prefix")?;
    Ok(Value::Bool(text.starts_with(prefix)))
}

pub(super) const ENDS_WITH: Function = Function {
    name: "ends_with",
    signature: "ends_with(text: string, suffix: string) -> bool",
    doc: r#"Tells whether a string ends with a suffix.

```orch
ends_with("app.conf", ".conf")   // true
```"#,
    check: check_ends_with,
    eval: eval_ends_with,
};

fn check_ends_with(args: &[Ty]) -> Result<Ty, String> {
    text_and_string_to_bool("ends_with", "suffix", args)
}

fn eval_ends_with(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("ends_with", args, 2)?;
    let text = str_arg("ends_with", args, 0, "text")?;
    let suffix = str_arg("ends_with", args, 1, "suffix")?;
    Ok(Value::Bool(text.ends_with(suffix)))
}

fn text_and_string_to_bool(name: &str, second: &str, args: &[Ty]) -> Result<Ty, String> {
    arity(name, args, 2, 2, &format!("text, {second}"))?;
    expect(name, args, 0, "text", &Ty::String, "a string")?;
    expect(name, args, 1, second, &Ty::String, "a string")?;
    Ok(Ty::Bool)
}

pub(super) const SUBSTR: Function = Function {
    name: "substr",
    signature: "substr(text: string, offset: int, length: int) -> string",
    doc: r#"Extracts part of a string, counting in characters.

- `text`: the string.
- `offset`: the first character, from 0. A negative offset counts from the
  end (`-1` is the last character). An offset outside the string is an error.
- `length`: how many characters to take; it may run past the end of the
  string, and `-1` means "to the end".

```orch
substr("hello world", 6, 5)    // "world"
substr("hello world", -5, -1)  // "world"
substr("héllo", 1, 100)        // "éllo"
```"#,
    check: check_substr,
    eval: eval_substr,
};

fn check_substr(args: &[Ty]) -> Result<Ty, String> {
    arity("substr", args, 3, 3, "text, offset, length")?;
    expect("substr", args, 0, "text", &Ty::String, "a string")?;
    expect("substr", args, 1, "offset", &Ty::Int, "an int")?;
    expect("substr", args, 2, "length", &Ty::Int, "an int")?;
    Ok(Ty::String)
}

fn eval_substr(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("substr", args, 3)?;
    let text = str_arg("substr", args, 0, "text")?;
    let offset = int_arg("substr", args, 1, "offset")?;
    let length = int_arg("substr", args, 2, "length")?;
    let chars: Vec<char> = text.chars().collect();
    let size = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let start = if offset < 0 { size.checked_add(offset) } else { Some(offset) };
    let start = match start {
        Some(start) if (0..=size).contains(&start) => start,
        _ => {
            return Err(BuiltinError::new(format!(
                "`substr` offset {offset} is out of range for a string of {size} characters"
            )));
        }
    };
    let end = match length {
        -1 => size,
        n if n < 0 => {
            return Err(BuiltinError::new(format!(
                "`substr` length must be zero or more, or -1 for \"to the end\", found {n}"
            )));
        }
        n => start.saturating_add(n).min(size),
    };
    // Both bounds lie in 0..=size, which came from a usize.
    let piece: String = chars[start as usize..end as usize].iter().collect();
    Ok(Value::string(piece))
}

pub(super) const REGEX_MATCH: Function = Function {
    name: "regex_match",
    signature: "regex_match(pattern: string, text: string) -> bool",
    doc: r#"Tells whether a regular expression matches anywhere in a string.

- `pattern`: a regular expression in Rust `regex` syntax (first, as in
  Terraform's `regex`). It is not anchored: use `^…$` to match the whole
  string. An invalid pattern is an error.
- `text`: the string to search.

```orch
regex_match("^[a-z][a-z0-9_]*$", "app_owner")   // true
regex_match("\\d+", "no digits")                // false
```"#,
    check: check_regex_match,
    eval: eval_regex_match,
};

fn check_regex_match(args: &[Ty]) -> Result<Ty, String> {
    arity("regex_match", args, 2, 2, "pattern, text")?;
    expect("regex_match", args, 0, "pattern", &Ty::String, "a string")?;
    expect("regex_match", args, 1, "text", &Ty::String, "a string")?;
    Ok(Ty::Bool)
}

fn eval_regex_match(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("regex_match", args, 2)?;
    let pattern = str_arg("regex_match", args, 0, "pattern")?;
    let text = str_arg("regex_match", args, 1, "text")?;
    Ok(Value::Bool(compile("regex_match", pattern)?.is_match(text)))
}

/// Compiles a pattern, turning the `regex` crate's multi-line report into
/// one line.
fn compile(name: &str, pattern: &str) -> Result<Regex, BuiltinError> {
    Regex::new(pattern).map_err(|error| {
        let reason = match &error {
            regex::Error::Syntax(report) => report
                .lines()
                .rev()
                .find_map(|line| line.trim().strip_prefix("error: "))
                .unwrap_or("syntax error")
                .to_owned(),
            regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
            other => other.to_string(),
        };
        BuiltinError::new(format!("`{name}`: invalid regular expression {pattern:?}: {reason}"))
    })
}

pub(super) const FORMAT: Function = Function {
    name: "format",
    signature: "format(spec: string, values: any...) -> string",
    doc: r#"Builds a string from a format specification and values, like Terraform's `format`.

- `spec`: text with verbs, each consuming the next value:
  - `%s`: a string, number, bool or duration, as `${}` would show it;
  - `%d`: an int;
  - `%o`: an int in octal, without a prefix (`420` gives `644`), for
    permission bits;
  - `%f`, `%.Nf`: a number with 6 (or `N`) decimals;
  - `%v`: any value, as `${}` shows it (lists and maps as JSON);
  - `%q`: a string, quoted and escaped as in JSON;
  - `%%`: a literal `%`.
- `values`: exactly as many values as the verbs need; too few or too many
  is an error.

```orch
format("%s listens on %d", "api", 8080)   // "api listens on 8080"
format("%.2f%%", 99.5)                    // "99.50%"
format("mode 0o%o", 420)                  // "mode 0o644"
format("%q", "a\"b")                      // "\"a\\\"b\""
```"#,
    check: check_format,
    eval: eval_format,
};

fn check_format(args: &[Ty]) -> Result<Ty, String> {
    arity("format", args, 1, usize::MAX, "spec, values...")?;
    if !args[0].assignable_to(&Ty::String) {
        return Err(format!(
            "`format` takes a string as its first argument `spec`, found {}",
            args[0]
        ));
    }
    Ok(Ty::String)
}

fn eval_format(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    let spec = str_arg("format", args, 0, "spec")?;
    let values = &args[1..];
    let mut out = String::with_capacity(spec.len());
    let mut used = 0;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                digits.push(d);
            }
            precision =
                Some(digits.parse::<usize>().ok().filter(|p| *p <= 64).ok_or_else(|| {
                    BuiltinError::new(
                        "`format`: `%.` must be followed by a precision from 0 to 64, as in `%.2f`",
                    )
                })?);
        }
        let verb = chars.next();
        if verb == Some('%') && precision.is_none() {
            out.push('%');
            continue;
        }
        let verb = match verb {
            Some(verb @ ('s' | 'd' | 'o' | 'f' | 'v' | 'q'))
                if precision.is_none() || verb == 'f' =>
            {
                verb
            }
            Some(other) => {
                let shown = match precision {
                    Some(p) => format!("%.{p}{other}"),
                    None => format!("%{other}"),
                };
                return Err(BuiltinError::new(format!(
                    "`format`: unknown verb `{shown}`; use %s, %d, %o, %f, %.Nf, %v, %q or %%"
                )));
            }
            None => {
                return Err(BuiltinError::new(
                    "`format`: the spec ends with a lone `%`; write `%%` for a literal percent sign",
                ));
            }
        };
        let Some(value) = values.get(used) else {
            return Err(BuiltinError::new(format!(
                "`format`: the spec needs more values than the {} given",
                values.len()
            )));
        };
        used += 1;
        format_one(&mut out, verb, precision, value.reveal().0, used)?;
    }
    if used < values.len() {
        return Err(BuiltinError::new(format!(
            "`format`: {} values given but the spec uses only {used}",
            values.len()
        )));
    }
    Ok(Value::string(out))
}

/// Formats one value for one verb; `position` counts values from 1.
fn format_one(
    out: &mut String,
    verb: char,
    precision: Option<usize>,
    value: &Value,
    position: usize,
) -> Result<(), BuiltinError> {
    let wrong = |expected: &str| {
        BuiltinError::new(format!(
            "`format`: %{verb} needs {expected}, found {} (value {position})",
            value.kind_name()
        ))
    };
    match verb {
        's' => match value {
            Value::List(_) | Value::Map(_) | Value::None => {
                return Err(wrong("a string, number, bool or duration; use %v for other values"));
            }
            _ => out.push_str(&text_of(value)),
        },
        'd' => match value {
            Value::Int(i) => out.push_str(&i.to_string()),
            _ => return Err(wrong("an int")),
        },
        'o' => match value {
            Value::Int(i) if *i < 0 => out.push_str(&format!("-{:o}", i.unsigned_abs())),
            Value::Int(i) => out.push_str(&format!("{i:o}")),
            _ => return Err(wrong("an int")),
        },
        'f' => {
            let number = match value {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => return Err(wrong("a number")),
            };
            out.push_str(&format!("{number:.*}", precision.unwrap_or(6)));
        }
        'q' => match value {
            Value::String(text) => {
                out.push_str(&serde_json::Value::from(text.as_str()).to_string())
            }
            _ => return Err(wrong("a string")),
        },
        _ => out.push_str(&text_of(value)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, list, s};
    use super::*;

    #[test]
    fn case_conversion() {
        assert_eq!(eval(&UPPER, &[s("héllo")]), s("HÉLLO"));
        assert_eq!(eval(&LOWER, &[s("HÉLLO")]), s("héllo"));
        assert_eq!(check(&UPPER, &[Ty::String]), Ok(Ty::String));
        assert_eq!(check(&UPPER, &[Ty::Int]), Err("`upper` takes a string, found int".into()));
        assert_eq!(check(&LOWER, &[]), Err("`lower` takes 1 argument (text), found 0".into()));
        assert_eq!(check(&UPPER, &[Ty::Any]), Ok(Ty::String));
        assert_eq!(check(&UPPER, &[Ty::Error]), Ok(Ty::String));
        assert_eq!(
            check(&UPPER, &[Ty::optional(Ty::String)]),
            Err("`upper` takes a string, found string?".into())
        );
        assert_eq!(eval_err(&UPPER, &[Value::Int(1)]), "`upper` takes a string, found int");
    }

    #[test]
    fn trimming() {
        assert_eq!(eval(&TRIM, &[s("  hello\n")]), s("hello"));
        assert_eq!(eval(&TRIM, &[s("--hello-!"), s("-!")]), s("hello"));
        assert_eq!(eval(&TRIM, &[s("xx"), s("x")]), s(""));
        assert_eq!(
            check(&TRIM, &[Ty::String, Ty::Int]).unwrap_err(),
            "`trim` takes a string as its second argument `chars`, found int"
        );
        assert!(check(&TRIM, &[Ty::String, Ty::String, Ty::String]).is_err());
    }

    #[test]
    fn splitting_and_joining() {
        assert_eq!(eval(&SPLIT, &[s(","), s("a,b")]), list(vec![s("a"), s("b")]));
        assert_eq!(eval(&SPLIT, &[s(","), s("")]), list(vec![s("")]));
        assert_eq!(eval(&SPLIT, &[s(""), s("hé")]), list(vec![s("h"), s("é")]));
        assert_eq!(check(&SPLIT, &[Ty::String, Ty::String]), Ok(Ty::list(Ty::String)));
        assert!(check(&SPLIT, &[Ty::String]).is_err());
        assert_eq!(eval(&JOIN, &[s(", "), list(vec![s("a"), s("b")])]), s("a, b"));
        assert_eq!(eval(&JOIN, &[s(", "), list(vec![])]), s(""));
        assert_eq!(
            check(&JOIN, &[Ty::String, Ty::list(Ty::Int)]).unwrap_err(),
            "`join` takes a list of strings as its second argument `items`, found list<int>"
        );
        assert_eq!(
            eval_err(&JOIN, &[s(","), list(vec![s("a"), Value::Int(1)])]),
            "`join` takes a list of strings, found a list containing int"
        );
        // Secret elements are joined: the caller marks the result secret.
        assert_eq!(eval(&JOIN, &[s(""), list(vec![Value::secret(s("a")), s("b")])]), s("ab"));
    }

    #[test]
    fn replacing() {
        assert_eq!(eval(&REPLACE, &[s("a-b-c"), s("-"), s("+")]), s("a+b+c"));
        assert_eq!(eval(&REPLACE, &[s("v1.2.3"), s(r"/v(\d+)\..*/"), s("$1")]), s("1"));
        assert_eq!(eval(&REPLACE, &[s("/"), s("/"), s("x")]), s("x"));
        assert_eq!(
            eval_err(&REPLACE, &[s("a"), s(""), s("x")]),
            "`replace` needs a non-empty substring to look for"
        );
        assert_eq!(
            eval_err(&REPLACE, &[s("a"), s("/(/"), s("x")]),
            "`replace`: invalid regular expression \"(\": unclosed group"
        );
        assert!(check(&REPLACE, &[Ty::String, Ty::String]).is_err());
        assert_eq!(check(&REPLACE, &[Ty::String, Ty::String, Ty::String]), Ok(Ty::String));
    }

    #[test]
    fn prefixes_and_suffixes() {
        assert_eq!(eval(&STARTS_WITH, &[s("https://x"), s("https://")]), Value::Bool(true));
        assert_eq!(eval(&STARTS_WITH, &[s("x"), s("xy")]), Value::Bool(false));
        assert_eq!(eval(&ENDS_WITH, &[s("a.conf"), s(".conf")]), Value::Bool(true));
        assert_eq!(check(&ENDS_WITH, &[Ty::String, Ty::String]), Ok(Ty::Bool));
        assert_eq!(
            check(&STARTS_WITH, &[Ty::String]).unwrap_err(),
            "`starts_with` takes 2 arguments (text, prefix), found 1"
        );
    }

    #[test]
    fn substrings() {
        assert_eq!(eval(&SUBSTR, &[s("hello world"), Value::Int(6), Value::Int(5)]), s("world"));
        assert_eq!(eval(&SUBSTR, &[s("hello world"), Value::Int(-5), Value::Int(-1)]), s("world"));
        assert_eq!(eval(&SUBSTR, &[s("héllo"), Value::Int(1), Value::Int(100)]), s("éllo"));
        assert_eq!(eval(&SUBSTR, &[s("abc"), Value::Int(3), Value::Int(1)]), s(""));
        assert_eq!(
            eval_err(&SUBSTR, &[s("hello"), Value::Int(10), Value::Int(1)]),
            "`substr` offset 10 is out of range for a string of 5 characters"
        );
        assert_eq!(
            eval_err(&SUBSTR, &[s("hello"), Value::Int(i64::MIN), Value::Int(1)]),
            format!("`substr` offset {} is out of range for a string of 5 characters", i64::MIN)
        );
        assert!(eval_err(&SUBSTR, &[s("hello"), Value::Int(0), Value::Int(-2)]).contains("length"));
        assert_eq!(eval(&SUBSTR, &[s("hello"), Value::Int(1), Value::Int(i64::MAX)]), s("ello"));
        assert!(check(&SUBSTR, &[Ty::String, Ty::Float, Ty::Int]).is_err());
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(eval(&REGEX_MATCH, &[s("^[a-z_]+$"), s("app_owner")]), Value::Bool(true));
        assert_eq!(eval(&REGEX_MATCH, &[s(r"\d+"), s("none")]), Value::Bool(false));
        assert_eq!(
            eval_err(&REGEX_MATCH, &[s("[a-"), s("x")]),
            "`regex_match`: invalid regular expression \"[a-\": unclosed character class"
        );
        assert_eq!(check(&REGEX_MATCH, &[Ty::String, Ty::String]), Ok(Ty::Bool));
        assert!(check(&REGEX_MATCH, &[Ty::String, Ty::Bool]).is_err());
    }

    #[test]
    fn formatting() {
        let f = |spec: &str, values: &[Value]| {
            let mut args = vec![s(spec)];
            args.extend_from_slice(values);
            args
        };
        assert_eq!(
            eval(&FORMAT, &f("%s listens on %d", &[s("api"), Value::Int(8080)])),
            s("api listens on 8080")
        );
        assert_eq!(eval(&FORMAT, &f("%.2f%%", &[Value::Float(99.5)])), s("99.50%"));
        assert_eq!(eval(&FORMAT, &f("%f", &[Value::Int(1)])), s("1.000000"));
        assert_eq!(eval(&FORMAT, &f("mode 0o%o", &[Value::Int(0o644)])), s("mode 0o644"));
        assert_eq!(eval(&FORMAT, &f("%o", &[Value::Int(-8)])), s("-10"));
        assert_eq!(
            eval_err(&FORMAT, &f("%o", &[s("644")])),
            "`format`: %o needs an int, found string (value 1)"
        );
        assert_eq!(eval(&FORMAT, &f("%q", &[s("a\"b")])), s("\"a\\\"b\""));
        assert_eq!(eval(&FORMAT, &f("%v", &[list(vec![Value::Int(1), s("x")])])), s("[1,\"x\"]"));
        assert_eq!(eval(&FORMAT, &f("%s", &[Value::Bool(true)])), s("true"));
        assert_eq!(eval(&FORMAT, &f("100%% é", &[])), s("100% é"));
        assert_eq!(
            eval_err(&FORMAT, &f("%s %s", &[s("a")])),
            "`format`: the spec needs more values than the 1 given"
        );
        assert_eq!(
            eval_err(&FORMAT, &f("%s", &[s("a"), s("b")])),
            "`format`: 2 values given but the spec uses only 1"
        );
        assert_eq!(
            eval_err(&FORMAT, &f("%d", &[s("a")])),
            "`format`: %d needs an int, found string (value 1)"
        );
        assert_eq!(
            eval_err(&FORMAT, &f("%x", &[Value::Int(1)])),
            "`format`: unknown verb `%x`; use %s, %d, %o, %f, %.Nf, %v, %q or %%"
        );
        assert!(eval_err(&FORMAT, &f("%.2d", &[Value::Int(1)])).contains("unknown verb `%.2d`"));
        assert!(eval_err(&FORMAT, &f("50%", &[])).contains("lone `%`"));
        assert!(eval_err(&FORMAT, &f("%.f", &[Value::Int(1)])).contains("precision"));
        assert!(eval_err(&FORMAT, &f("%.999f", &[Value::Int(1)])).contains("precision"));
        assert!(eval_err(&FORMAT, &f("%s", &[list(vec![])])).contains("use %v"));
        assert_eq!(check(&FORMAT, &[Ty::String, Ty::list(Ty::Int), Ty::Bool]), Ok(Ty::String));
        assert_eq!(
            check(&FORMAT, &[Ty::Int]).unwrap_err(),
            "`format` takes a string as its first argument `spec`, found int"
        );
        assert!(check(&FORMAT, &[]).is_err());
    }
}
