//! `orchc import ADDR ID [ROOT] [--state LOC] [--print]`: adopts one
//! existing object into the state at once, as an `import` block would on
//! the next apply, or prints the declaration that matches it.

use std::fmt::Write as _;
use std::path::PathBuf;

use orch_runtime::error::RunError;
use orch_runtime::location::StateLocation;
use orch_runtime::plan::StateImport;
use orch_runtime::providers::lookup_kind;
use orch_runtime::session::Session;
use orch_stdlib::Value;

use crate::Outcome;
use crate::commands::apply::load_project;
use crate::commands::check::EvaluationArgs;
use crate::commands::run::{self, StateArgs};
use crate::files;

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The resource instance that adopts the object, e.g. db or 'dir["a"]'.
    #[arg(value_name = "ADDR")]
    address: String,

    /// The object's id: a path for fs.file and fs.dir, a name for
    /// pg.database and pg.role, DATABASE.SCHEMA for pg.schema.
    #[arg(value_name = "ID")]
    id: String,

    /// The root module: a file, or a folder whose `*.orch` files form one
    /// module. Default: the current folder.
    #[arg(value_name = "ROOT")]
    root: Option<PathBuf>,

    #[command(flatten)]
    evaluation: EvaluationArgs,

    #[command(flatten)]
    state: StateArgs,

    /// Print the declaration that matches the object read, in `orchc fmt`
    /// layout, and change nothing.
    #[arg(long)]
    print: bool,
}

/// `import`.
pub(crate) fn run(args: &ImportArgs) -> Outcome {
    let root = files::root_or_current(args.root.as_deref());
    let Some((project, reporter)) = load_project(&root, &args.evaluation) else {
        return Outcome::Failure;
    };
    let Some(runtime) = run::runtime() else { return Outcome::Failure };
    let result = runtime.block_on(async {
        let location = StateLocation::resolve(args.state.state.as_deref(), &project.base_dir)?;
        let state = location.open().await?;
        let mut session =
            Session::start(&project, state, "import", args.state.lock_timeout).await?;
        let result = async {
            let import = session.read_import(&args.address, &args.id).await?;
            if !args.print {
                session.record_import(&import).await?;
            }
            Ok::<_, RunError>(import)
        }
        .await;
        let key = session.close().await;
        result.map(|import| (import, key))
    });
    let (import, key) = match result {
        Ok(result) => result,
        Err(error) => {
            run::report(error, Some(&reporter));
            return Outcome::Failure;
        }
    };
    if args.print {
        run::print(&declaration(&import));
        return Outcome::Success;
    }
    run::report_generated_key(key);
    run::print(&format!(
        "Imported {} {:?} into `{}`: the next plan shows how it differs from the configuration.\n",
        import.kind, import.id, import.address
    ));
    Outcome::Success
}

/// The declaration matching an imported object: the inputs a user would
/// write (not outputs, not fields at their default, not values that cannot
/// be read back such as a role's password), formatted as `orchc fmt` does.
pub(crate) fn declaration(import: &StateImport) -> String {
    // `site.page["a"]` is declared as `page`.
    let last = import.address.rsplit('.').next().unwrap_or(&import.address);
    let name = last.split('[').next().unwrap_or(last);
    let mut text = format!("resource {name}: {} {{\n", import.kind);
    let mut hidden = Vec::new();
    if let (Some(schema), Value::Map(fields)) = (lookup_kind(&import.kind), &import.object) {
        for field in schema.inputs() {
            let Some(value) = fields.get(field.name) else { continue };
            if matches!(value, Value::None) || field.default.as_ref() == Some(value) {
                continue;
            }
            if value.contains_secret() || !value.is_known() {
                hidden.push(field.name);
                continue;
            }
            let written = field.display.format(value).unwrap_or_else(|| literal(value));
            let _ = writeln!(text, "  {} = {written}", field.name);
        }
    }
    text.push_str("}\n");
    let mut out = orch_lang::fmt::format(&text).unwrap_or(text);
    for name in hidden {
        let _ =
            writeln!(out, "// `{name}` is secret: it is not printed; set it in the declaration");
    }
    out
}

/// `value` written in Orch.
fn literal(value: &Value) -> String {
    match value {
        Value::String(text) => string(text),
        Value::List(items) => {
            format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", "))
        }
        Value::Map(entries) => {
            if entries.is_empty() {
                return "{}".into();
            }
            let fields: Vec<String> = entries
                .iter()
                .map(|(key, item)| {
                    let key = if is_identifier(key) { key.to_string() } else { string(key) };
                    format!("{key} = {}", literal(item))
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

/// A string literal: escapes for quotes, backslashes, control characters
/// and `$`, so that nothing in it reads as an interpolation.
fn string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_would_read_as_orch() {
        assert_eq!(string("a \"b\" ${c}\n\\"), r#""a \"b\" \${c}\n\\""#);
        assert_eq!(literal(&Value::list(vec![Value::string("x"), Value::Int(2)])), r#"["x", 2]"#);
    }
}
