//! File functions: `file(path)` and `template(path, vars)`. Both read
//! through the caller's [`Host`], which resolves paths relative to the
//! calling module; nothing here touches the file system.

use smol_str::SmolStr;

use super::support::{arity, at_most, expect, map_arg, map_element, mismatch, str_arg, text_of};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::Value;

pub(super) const FILE: Function = Function {
    name: "file",
    signature: "file(path: string) -> string",
    doc: r#"Reads a text file at plan time.

- `path`: relative to the folder of the module that calls `file`, or
  absolute. The file must be UTF-8 text.

```orch
resource conf: fs.file {
  path    = "/etc/app/app.conf"
  content = file("./files/app.conf")
}
```"#,
    check: check_file,
    eval: eval_file,
};

fn check_file(args: &[Ty]) -> Result<Ty, String> {
    arity("file", args, 1, 1, "path")?;
    expect("file", args, 0, "path", &Ty::String, "a string")?;
    Ok(Ty::String)
}

fn eval_file(args: &[Value], host: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("file", args, 1)?;
    let path = str_arg("file", args, 0, "path")?;
    Ok(Value::string(read("file", path, host)?))
}

fn read(name: &str, path: &str, host: &dyn Host) -> Result<String, BuiltinError> {
    host.read_file(path)
        .map_err(|reason| BuiltinError::new(format!("`{name}` cannot read {path:?}: {reason}")))
}

pub(super) const TEMPLATE: Function = Function {
    name: "template",
    signature: "template(path: string, vars: map<T> | record) -> string",
    doc: r#"Reads a text file at plan time and fills in its `${…}` placeholders from `vars`.

- `path`: relative to the folder of the module that calls `template`, or
  absolute.
- `vars`: a record or map whose fields the template may use.

The template language is deliberately small:
- `${name}` inserts the field `name` of `vars`; `${name.field.sub}` walks
  into records and maps. Spaces inside the braces are allowed. Values are
  inserted as `"${…}"` would insert them (lists and maps as JSON, `none` as
  nothing).
- `$${` writes a literal `${`; a `$` not followed by `{` is an ordinary
  character.
- Nothing else: no operators, calls, conditions or loops. Compute such
  values in Orch and pass them in `vars`.
- A name that `vars` lacks, a missing field, or an unclosed `${` is an
  error that gives the line in the template.

```orch
// app.conf.tpl contains:  listen ${port}\nuser ${db.user}
content = template("./app.conf.tpl", { port = 8080, db = { user = "app" } })
```"#,
    check: check_template,
    eval: eval_template,
};

fn check_template(args: &[Ty]) -> Result<Ty, String> {
    arity("template", args, 2, 2, "path, vars")?;
    expect("template", args, 0, "path", &Ty::String, "a string")?;
    if map_element(&args[1]).is_none() {
        return Err(mismatch("template", args, 1, "vars", "a record or map"));
    }
    Ok(Ty::String)
}

fn eval_template(args: &[Value], host: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("template", args, 2)?;
    let path = str_arg("template", args, 0, "path")?;
    let vars = map_arg("template", args, 1, "vars")?;
    let source = read("template", path, host)?;
    render(&source, vars).map(Value::string).map_err(|(line, reason)| {
        BuiltinError::new(format!("template {path:?}, line {line}: {reason}"))
    })
}

/// Renders a template; an error carries its 1-based line.
pub(crate) fn render(source: &str, vars: &crate::Fields) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    let line_of = |rest: &str| source[..source.len() - rest.len()].matches('\n').count() + 1;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
        } else if let Some(open) = after.strip_prefix("${") {
            let Some(close) = open.find('}') else {
                return Err((line_of(after), "`${` is never closed by `}`".to_owned()));
            };
            let expression = &open[..close];
            let value = lookup(expression, vars).map_err(|reason| (line_of(after), reason))?;
            out.push_str(&text_of(value));
            rest = &open[close + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves `name.field…` in `vars`.
fn lookup<'a>(expression: &str, vars: &'a crate::Fields) -> Result<&'a Value, String> {
    let path = expression.trim();
    let segments: Vec<&str> = path.split('.').collect();
    if !segments.iter().all(|segment| is_identifier(segment)) {
        return Err(format!(
            "`${{{expression}}}` is not supported: a template may only use `${{name}}` or `${{name.field}}`"
        ));
    }
    let (first, fields) = segments.split_first().ok_or_else(|| "empty `${}`".to_owned())?;
    let mut value = vars.get(first).ok_or_else(|| {
        format!("unknown variable `{first}`; `vars` has {}", listing(vars.keys()))
    })?;
    let mut walked = (*first).to_owned();
    for field in fields {
        let Value::Map(entries) = value.reveal().0 else {
            let kind = value.kind_name();
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            return Err(format!("`{walked}` is {article} {kind}, it has no field `{field}`"));
        };
        value = entries.get(field).ok_or_else(|| {
            format!("`{walked}` has no field `{field}`; it has {}", listing(entries.keys()))
        })?;
        walked = format!("{walked}.{field}");
    }
    Ok(value)
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn listing<'a>(names: impl Iterator<Item = &'a SmolStr>) -> String {
    let names: Vec<String> = names.map(|name| format!("`{name}`")).collect();
    if names.is_empty() { "no fields".to_owned() } else { names.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::super::MemoryHost;
    use super::super::tests::{check, eval_err, eval_with, map, s};
    use super::*;

    fn host() -> MemoryHost {
        MemoryHost::new([
            ("app.conf", "port=8080\n"),
            ("app.tpl", "listen ${port}\nuser ${ db.user }\ncost $5 $${literal}\n"),
            ("bad.tpl", "ok\n${port + 1}"),
            ("unclosed.tpl", "a\nb ${port"),
            ("unknown.tpl", "${prot}"),
            ("field.tpl", "${db.usr}"),
            ("scalar.tpl", "${port.x}"),
        ])
    }

    fn vars() -> Value {
        map(&[("db", map(&[("user", s("app"))])), ("port", Value::Int(8080))])
    }

    #[test]
    fn reading_files() {
        assert_eq!(eval_with(&FILE, &[s("app.conf")], &host()), Ok(s("port=8080\n")));
        assert_eq!(
            eval_with(&FILE, &[s("nope")], &host()).unwrap_err().message,
            "`file` cannot read \"nope\": no such file"
        );
        assert_eq!(check(&FILE, &[Ty::String]), Ok(Ty::String));
        assert_eq!(check(&FILE, &[Ty::Int]), Err("`file` takes a string, found int".into()));
        assert_eq!(
            eval_err(&FILE, &[s("x")]),
            "`file` cannot read \"x\": reading files is not available here"
        );
    }

    #[test]
    fn rendering_templates() {
        assert_eq!(
            eval_with(&TEMPLATE, &[s("app.tpl"), vars()], &host()),
            Ok(s("listen 8080\nuser app\ncost $5 ${literal}\n"))
        );
        let error =
            |file: &str| eval_with(&TEMPLATE, &[s(file), vars()], &host()).unwrap_err().message;
        assert_eq!(
            error("bad.tpl"),
            "template \"bad.tpl\", line 2: `${port + 1}` is not supported: a template may only use `${name}` or `${name.field}`"
        );
        assert_eq!(
            error("unclosed.tpl"),
            "template \"unclosed.tpl\", line 2: `${` is never closed by `}`"
        );
        assert_eq!(
            error("unknown.tpl"),
            "template \"unknown.tpl\", line 1: unknown variable `prot`; `vars` has `db`, `port`"
        );
        assert_eq!(
            error("field.tpl"),
            "template \"field.tpl\", line 1: `db` has no field `usr`; it has `user`"
        );
        assert_eq!(
            error("scalar.tpl"),
            "template \"scalar.tpl\", line 1: `port` is an int, it has no field `x`"
        );
        assert_eq!(error("missing.tpl"), "`template` cannot read \"missing.tpl\": no such file");
    }

    #[test]
    fn template_types() {
        assert_eq!(check(&TEMPLATE, &[Ty::String, Ty::map(Ty::String)]), Ok(Ty::String));
        assert_eq!(check(&TEMPLATE, &[Ty::String, Ty::Any]), Ok(Ty::String));
        assert_eq!(
            check(&TEMPLATE, &[Ty::String, Ty::list(Ty::String)]),
            Err("`template` takes a record or map as its second argument `vars`, found list<string>".into())
        );
        assert!(check(&TEMPLATE, &[Ty::String]).is_err());
    }

    #[test]
    fn render_edge_cases() {
        let empty = crate::Fields::new();
        assert_eq!(render("", &empty), Ok(String::new()));
        assert_eq!(render("$", &empty), Ok("$".to_owned()));
        assert_eq!(render("é$${", &empty), Ok("é${".to_owned()));
        assert_eq!(
            render("${}", &empty).unwrap_err().1,
            "`${}` is not supported: a template may only use `${name}` or `${name.field}`"
        );
        assert_eq!(
            render("${a}", &empty).unwrap_err().1,
            "unknown variable `a`; `vars` has no fields"
        );
    }
}
