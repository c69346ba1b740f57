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

/// Where a param value came from, for messages about it (never its value,
/// which may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamOrigin {
    /// `--var NAME=VALUE`.
    Flag,
    /// A key of the var file at this path.
    VarFile(String),
    /// The environment variable `ORCH_VAR_NAME`.
    Environment,
}

impl ParamOrigin {
    /// How the user gave the value named `name`.
    pub fn describe(&self, name: &str) -> String {
        match self {
            ParamOrigin::Flag => format!("`--var {name}`"),
            ParamOrigin::VarFile(path) => format!("the key `{name}` of the var file `{path}`"),
            ParamOrigin::Environment => format!("the environment variable `ORCH_VAR_{name}`"),
        }
    }
}

/// A mistake in an `.orchvars` file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarFileError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Reads an `.orchvars` file: `NAME = EXPR` statements, each starting on a
/// line of its own, where EXPR is an Orch literal (a string without
/// interpolation, a number, a duration, `true`/`false`/`none`, or a list
/// or object of those) and may span several lines; `//` comments are
/// allowed. The values are in the order written; a name given twice is an
/// error.
pub fn parse_var_file(text: &str) -> Result<Vec<(String, Value)>, VarFileError> {
    use orch_lang::token::Token;

    let file = FileId(u32::MAX);
    let lexed = orch_lang::lex(file, text);
    let index = orch_lang::LineIndex::new(text);
    let error_at = |offset: u32, message: String| {
        let at = index.line_col(text, offset);
        VarFileError { line: at.line, column: at.column, message }
    };
    if let Some(diagnostic) = lexed.diagnostics.first() {
        return Err(error_at(diagnostic.primary.span.start, diagnostic.message.clone()));
    }
    // Statement starts: a name first on its line, outside brackets and
    // strings, followed by `=`.
    let tokens = &lexed.tokens;
    let mut starts: Vec<usize> = Vec::new();
    let mut depth: i32 = 0;
    let mut previous_end = 0usize;
    for (position, (token, span)) in tokens.iter().enumerate() {
        let first_on_line = position == 0 || text[previous_end..span.start as usize].contains('\n');
        if depth == 0 && first_on_line {
            let assigns = matches!(tokens.get(position + 1), Some((Token::Eq, _)));
            match token {
                Token::Ident(_) if assigns => starts.push(position),
                _ if position == 0 || starts.is_empty() => {
                    return Err(error_at(
                        span.start,
                        "expected `NAME = VALUE` at the start of the line".to_string(),
                    ));
                }
                _ => {}
            }
        }
        match token {
            Token::LBrace | Token::LParen | Token::LBracket | Token::StrStart { .. } => depth += 1,
            Token::RBrace | Token::RParen | Token::RBracket | Token::StrEnd => depth -= 1,
            _ => {}
        }
        previous_end = span.end as usize;
    }
    let mut out: Vec<(String, Value)> = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let (Token::Ident(name), name_span) = &tokens[start] else { continue };
        let value_start = tokens[start + 1].1.end as usize;
        let value_end = match starts.get(n + 1) {
            Some(&next) => tokens[next].1.start as usize,
            None => text.len(),
        };
        let written = text[value_start..value_end].trim();
        if written.is_empty() {
            return Err(error_at(name_span.start, format!("`{name}` has no value after `=`")));
        }
        let Some(value) = literal(written) else {
            return Err(error_at(
                name_span.start,
                format!(
                    "the value of `{name}` is not an Orch literal: write a string, number, duration, `true`, `false`, `none`, or a list or object of those"
                ),
            ));
        };
        if out.iter().any(|(existing, _)| existing == name) {
            return Err(error_at(name_span.start, format!("`{name}` is given twice")));
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod var_file_tests {
    use super::*;

    #[test]
    fn statements_may_span_lines_and_carry_comments() {
        let text = "// settings\nenv = \"prod\"\nreplicas = 3 // three\nports = [\n  80,\n  443,\n]\ntags = { team = \"web\" }\ntimeout = 30s\n";
        let values = parse_var_file(text).unwrap();
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["env", "replicas", "ports", "tags", "timeout"]);
        assert_eq!(values[0].1, Value::string("prod"));
        assert_eq!(values[1].1, Value::Int(3));
        assert_eq!(values[2].1, Value::list(vec![Value::Int(80), Value::Int(443)]));
        assert_eq!(values[4].1, Value::Duration(30_000));
    }

    #[test]
    fn mistakes_are_located() {
        let error = parse_var_file("env = \"prod\"\nreplicas = 1 + 2\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 1));
        assert!(error.message.contains("not an Orch literal"), "{}", error.message);
        let error = parse_var_file("env = \"a\"\nenv = \"b\"\n").unwrap_err();
        assert!(error.message.contains("given twice"));
        let error = parse_var_file("\"env\" = 1\n").unwrap_err();
        assert_eq!(error.line, 1);
        let error = parse_var_file("env =\n").unwrap_err();
        assert!(error.message.contains("no value"));
        assert_eq!(parse_var_file("").unwrap(), Vec::new());
    }
}
