//! `orchc check`: reports the problems of `.orch` files without running
//! anything: lexical and syntax errors, names, types, phases, secrets,
//! modules and dependency cycles.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use miette::miette;
use orch_lang::Diagnostic;
use orch_lang::diagnostic::sort_diagnostics;
use orch_runtime::project::Sources;

use crate::Outcome;
use crate::errors;
use crate::files::{self, SourceDb};
use crate::render::{self, Format, Summary, Unreadable, human};
use crate::terminal::{self, Stream};

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Files or folders to check; a folder means every `*.orch` file below
    /// it. Default: the current folder.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// How to print the diagnostics (on standard output).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    /// Fail on warnings as well as on errors.
    #[arg(long)]
    deny_warnings: bool,

    #[command(flatten)]
    evaluation: EvaluationArgs,
}

/// Inputs of evaluation and policy checking, shared with `plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct EvaluationArgs {
    /// Set the parameter K to V (repeatable).
    #[arg(long = "var", value_name = "K=V", value_parser = parse_var)]
    pub(crate) vars: Vec<(String, String)>,

    /// Read parameter values from a file: JSON (an object), or `.orchvars`
    /// (`NAME = VALUE` lines, values written in Orch).
    #[arg(long, value_name = "F")]
    pub(crate) var_file: Option<PathBuf>,

    /// A policy file or folder to check against (repeatable).
    #[arg(long = "policy", value_name = "PATH")]
    pub(crate) policies: Vec<PathBuf>,
}

impl EvaluationArgs {
    /// Param values merged by priority: `--var` over `--var-file` over
    /// `ORCH_VAR_NAME`, and the policy files.
    pub(crate) fn options(&self) -> Result<orch_compiler::Options, miette::Report> {
        use orch_compiler::eval::{ParamInput, ParamOrigin};
        let mut params = std::collections::HashMap::new();
        let mut origins = std::collections::HashMap::new();
        for (name, value) in std::env::vars() {
            if let Some(param) = name.strip_prefix("ORCH_VAR_")
                && !param.is_empty()
            {
                params.insert(param.to_string(), ParamInput::Text(value));
                origins.insert(param.to_string(), ParamOrigin::Environment);
            }
        }
        if let Some(path) = &self.var_file {
            let origin = ParamOrigin::VarFile(path.display().to_string());
            for (name, value) in read_var_file(path)? {
                params.insert(name.clone(), ParamInput::Value(value));
                origins.insert(name, origin.clone());
            }
        }
        for (name, value) in &self.vars {
            params.insert(name.clone(), ParamInput::Text(value.clone()));
            origins.insert(name.clone(), ParamOrigin::Flag);
        }
        let mut policy_files = Vec::new();
        if !self.policies.is_empty() {
            let discovery = files::discover(&self.policies);
            if let Some(error) = discovery.errors.into_iter().next() {
                return Err(error.report);
            }
            policy_files.extend(discovery.files.iter().map(|p| p.to_string_lossy().into_owned()));
        }
        Ok(orch_compiler::Options {
            params,
            param_origins: origins,
            policy_files,
            evaluate: true,
            tests: true,
        })
    }
}

/// The kinds of var file, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VarFileKind {
    Json,
    OrchVars,
    /// Terraform's `.tfvars` (HCL), which Orch does not read.
    Terraform,
}

impl VarFileKind {
    fn of(path: &Path) -> VarFileKind {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.ends_with(".orchvars") {
            VarFileKind::OrchVars
        } else if name.ends_with(".tfvars") || name.ends_with(".tfvars.json") {
            VarFileKind::Terraform
        } else {
            VarFileKind::Json
        }
    }
}

/// The values of a var file: a JSON object, or an `.orchvars` file.
fn read_var_file(path: &Path) -> Result<Vec<(String, orch_stdlib::Value)>, miette::Report> {
    let kind = VarFileKind::of(path);
    if kind == VarFileKind::Terraform {
        return Err(miette!(
            code = "orchc::var_file",
            help = "write the values as an `.orchvars` file (`NAME = VALUE` lines, values in Orch syntax: most `.tfvars` lines are already valid) or as a JSON object",
            "{} is a Terraform var file; Orch reads JSON and `.orchvars` var files",
            path.display()
        ));
    }
    let text = read_var_file_text(path)?;
    if kind == VarFileKind::OrchVars {
        return orch_compiler::eval::parse_var_file(&text).map_err(|error| {
            miette!(
                code = "orchc::var_file",
                help = "an `.orchvars` file holds `NAME = VALUE` lines; a value is an Orch literal (\"text\", 3, 30s, true, [..], { .. })",
                "{}:{}:{}: {}",
                path.display(),
                error.line,
                error.column,
                error.message
            )
        });
    }
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| var_file_syntax(path, &text, &error))?;
    let serde_json::Value::Object(entries) = json else {
        return Err(miette!(
            code = "orchc::var_file",
            help = "write an object such as {\"env\": \"prod\", \"replicas\": 3}",
            "{}: a var file holds one JSON object",
            path.display()
        ));
    };
    Ok(entries.into_iter().map(|(name, value)| (name, json_to_value(value))).collect())
}

/// The text of the `--var-file`; a failure names the flag, not `.orch`
/// paths.
fn read_var_file_text(path: &std::path::Path) -> Result<String, miette::Report> {
    std::fs::read_to_string(path).map_err(|error| {
        let help = match error.kind() {
            io::ErrorKind::NotFound => format!(
                "check the path given to --var-file; a relative path is taken from the current folder ({})",
                std::env::current_dir().map(|dir| dir.display().to_string()).unwrap_or_default()
            ),
            io::ErrorKind::InvalidData => "a var file is UTF-8 JSON text".to_string(),
            _ => "check the file's permissions".to_string(),
        };
        miette!(
            code = "orchc::var_file",
            help = help,
            "cannot read the var file `{}`: {error}",
            path.display()
        )
    })
}

/// A var file that is not JSON: where, and what the format is. A file of
/// `name = value` lines (Terraform's `.tfvars`) gets its own help.
fn var_file_syntax(
    path: &std::path::Path,
    text: &str,
    error: &serde_json::Error,
) -> miette::Report {
    let first = text.lines().map(str::trim).find(|line| !line.is_empty() && !line.starts_with('#'));
    let assignment = first.is_some_and(|line| {
        line.split_once('=').is_some_and(|(name, _)| {
            let name = name.trim();
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    });
    let help = if assignment {
        "this looks like `NAME = VALUE` lines: name the file `*.orchvars` to write them so, or write one JSON object: {\"env\": \"prod\", \"replicas\": 3}"
    } else {
        "a var file is one JSON object of parameter values, such as {\"env\": \"prod\", \"replicas\": 3}"
    };
    miette!(
        code = "orchc::var_file",
        help = help,
        "the var file `{}` is not valid JSON at line {}, column {}: {error}",
        path.display(),
        error.line(),
        error.column()
    )
}

/// A JSON value as an Orch value: objects become maps, integral numbers
/// ints, other numbers floats, `null` none.
fn json_to_value(json: serde_json::Value) -> orch_stdlib::Value {
    use orch_stdlib::Value;
    match json {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::string(text),
        serde_json::Value::Array(items) => {
            Value::list(items.into_iter().map(json_to_value).collect())
        }
        serde_json::Value::Object(entries) => {
            Value::map(entries.into_iter().map(|(k, v)| (k.into(), json_to_value(v))).collect())
        }
    }
}

/// Parses `K=V`, where `K` is a parameter name.
pub(crate) fn parse_var(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err(format!("expected K=V, found `{text}`"));
    };
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "`{name}` is not a parameter name: use letters, digits and `_`, not starting with a digit"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

pub(crate) fn run(args: &CheckArgs) -> Outcome {
    let mut discovery = files::discover(&args.paths);
    let mut unreadable: Vec<Unreadable> = Vec::new();
    for error in std::mem::take(&mut discovery.errors) {
        unreadable.push(Unreadable::new(&error.path, &error.report));
        errors::report(error.report);
    }
    if discovery.files.is_empty() && unreadable.is_empty() {
        errors::report(miette!(severity = miette::Severity::Warning, "no `.orch` files found"));
    }

    // Each folder of `.orch` files is one module; the files are read
    // here, so that an unreadable one is reported on its own.
    let mut sources = Sources::disk();
    let mut readable = Vec::new();
    for path in std::mem::take(&mut discovery.files) {
        match files::read_source(&path) {
            Ok(text) => {
                sources.preload(&path.to_string_lossy(), text);
                readable.push(path);
            }
            Err(error) => {
                unreadable.push(Unreadable::new(&path, &error));
                errors::report(error);
            }
        }
    }
    discovery.files = readable;
    let roots = files::modules(&discovery);
    let options = match args.evaluation.options() {
        Ok(options) => options,
        Err(error) => {
            errors::report(error);
            return Outcome::Failure;
        }
    };
    let mut analysis = orch_compiler::analyze(&sources, &roots, &options);
    // Plugin kinds from the schema cache (nothing is started); analysed
    // again when they change what is known.
    let base_dir = orch_runtime::project::root_folder(
        args.paths.first().map_or(std::path::Path::new("."), |p| p.as_path()),
    );
    if orch_runtime::plugin::install_cached(&analysis, &base_dir) {
        analysis = orch_compiler::analyze(&sources, &roots, &options);
    }
    for note in &analysis.notes {
        eprintln!("note: {note}");
    }
    let mut db = SourceDb::default();
    for file in analysis.files.iter() {
        db.add_path(PathBuf::from(&file.path), file.source.to_string());
    }
    let mut diagnostics: Vec<Diagnostic> = std::mem::take(&mut analysis.diagnostics);
    sort_diagnostics(&mut diagnostics);

    let mut failed = !unreadable.is_empty();
    if let Err(error) = print(args, &db, &diagnostics, &unreadable) {
        errors::report(errors::io_error("cannot write the report", error));
        failed = true;
    }
    let summary = Summary::of(&diagnostics);
    failed |= summary.errors > 0 || (args.deny_warnings && summary.warnings > 0);
    super::run::release_at_exit((analysis, sources, db));
    if failed { Outcome::Failure } else { Outcome::Success }
}

fn print(
    args: &CheckArgs,
    db: &SourceDb,
    diagnostics: &[Diagnostic],
    unreadable: &[Unreadable],
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Human => {
            let config = human::Config { color: terminal::color_enabled(Stream::Stdout) };
            human::render_diagnostics(db, diagnostics, config, &mut out)?;
            let run = human::RunSummary {
                checked: db.len(),
                unreadable: unreadable.len(),
                summary: Summary::of(diagnostics),
                first_code: diagnostics.first().map(|diagnostic| diagnostic.code.code),
                deny_warnings: args.deny_warnings,
            };
            human::render_summary(&run, config, &mut out)?;
        }
        Format::Json => render::json::render(db, diagnostics, &mut out)?,
        Format::Sarif => {
            let root = std::env::current_dir()?;
            let input = render::sarif::Input { db, diagnostics, unreadable, root: &root };
            render::sarif::render(&input, &mut out)?
        }
        Format::Github => render::github::render(db, diagnostics, unreadable, &mut out)?,
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_have_the_k_equals_v_shape() {
        assert_eq!(parse_var("env=prod"), Ok(("env".to_string(), "prod".to_string())));
        assert_eq!(parse_var("url=a=b"), Ok(("url".to_string(), "a=b".to_string())));
        assert_eq!(parse_var("empty="), Ok(("empty".to_string(), String::new())));
        assert!(parse_var("env").is_err());
        assert!(parse_var("=prod").is_err());
        assert!(parse_var("1x=2").is_err());
        assert!(parse_var("a-b=2").is_err());
    }
}
