//! `orchc graph` end to end.
//!
//! - Every `tests/data/graph/NAME.orch` (modules it uses live in
//!   `tests/data/graph/modules/`) is drawn in each format, with and without
//!   `--expanded`, by the real binary run in `tests/data/graph`; the run
//!   must equal `NAME.FORMAT.snap` or `NAME.FORMAT.expanded.snap` beside it.
//!   A snapshot holds the command, the source, the exit status, standard
//!   output and (when not empty) standard error. `UPDATE_EXPECT=1` writes
//!   missing and changed snapshots; without it a missing snapshot fails.
//! - For every case that draws, the JSON document must have the documented
//!   shape, and `dot` (when installed) must accept the dot output.
//! - A few behaviours that need their own files or flags are tests below.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::Project;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const FORMATS: [&str; 3] = ["dot", "mermaid", "json"];

/// A test that needs its own files or flags.
type Test = fn() -> Result<(), Failed>;

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for case in cases() {
        for format in FORMATS {
            for expanded in [false, true] {
                let case = case.clone();
                let name = format!("snapshot/{}", snapshot_name(&case, format, expanded));
                trials.push(Trial::test(name, move || snapshot_case(&case, format, expanded)));
            }
        }
        for expanded in [false, true] {
            let suffix = if expanded { ".expanded" } else { "" };
            let json_case = case.clone();
            trials.push(Trial::test(format!("json_shape/{case}{suffix}"), move || {
                json_shape_case(&json_case, expanded)
            }));
            let dot_case = case.clone();
            trials.push(Trial::test(format!("dot_is_valid/{case}{suffix}"), move || {
                dot_is_valid_case(&dot_case, expanded)
            }));
        }
    }
    let tests: [(&str, Test); 6] = [
        ("errors_are_rendered_instead_of_a_graph", errors_are_rendered_instead_of_a_graph),
        ("vars_give_required_params_a_value", vars_give_required_params_a_value),
        ("a_missing_file_is_an_error", a_missing_file_is_an_error),
        (
            "a_file_without_declarations_is_an_empty_graph",
            a_file_without_declarations_is_an_empty_graph,
        ),
        ("the_default_format_is_dot", the_default_format_is_dot),
        (
            "explicit_edges_are_dashed_only_without_a_value",
            explicit_edges_are_dashed_only_without_a_value,
        ),
    ];
    for (name, test) in tests {
        trials.push(Trial::test(name, test));
    }
    libtest_mimic::run(&args, trials).exit();
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/graph")
}

/// The names of the `.orch` files directly in the data folder, sorted.
fn cases() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data_dir())
        .expect("tests/data/graph exists")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "orch"))
        .filter_map(|path| path.file_stem().map(|stem| stem.to_string_lossy().into_owned()))
        .collect();
    out.sort();
    out
}

fn snapshot_name(case: &str, format: &str, expanded: bool) -> String {
    let suffix = if expanded { ".expanded" } else { "" };
    format!("{case}.{format}{suffix}.snap")
}

fn arguments(case: &str, format: &str, expanded: bool) -> Vec<String> {
    let mut args = vec![
        "graph".to_string(),
        format!("{case}.orch"),
        "--format".to_string(),
        format.to_string(),
    ];
    if expanded {
        args.push("--expanded".to_string());
    }
    args
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `orchc ARGS` in `dir`, without colour or `ORCH_VAR_*` from the
/// environment of the test.
fn orchc(dir: &Path, args: &[String]) -> Result<Output, Failed> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orchc"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1").stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ORCH_VAR_") {
            command.env_remove(name);
        }
    }
    let output = command.output().map_err(|e| format!("cannot run orchc: {e}"))?;
    Ok(Output {
        code: output.status.code().ok_or("orchc was killed by a signal")?,
        stdout: String::from_utf8(output.stdout).map_err(|_| "standard output is not UTF-8")?,
        stderr: String::from_utf8(output.stderr).map_err(|_| "standard error is not UTF-8")?,
    })
}

fn snapshot_case(case: &str, format: &str, expanded: bool) -> Result<(), Failed> {
    let dir = data_dir();
    let source_name = format!("{case}.orch");
    let source = std::fs::read_to_string(dir.join(&source_name))
        .map_err(|e| format!("{source_name}: {e}"))?;
    let args = arguments(case, format, expanded);
    let output = orchc(&dir, &args)?;
    let mut actual = format!("$ orchc {}\n---- source: {source_name}\n{source}", args.join(" "));
    if !source.ends_with('\n') {
        actual.push('\n');
    }
    actual.push_str(&format!("---- stdout (exit status {})\n{}", output.code, output.stdout));
    if !output.stderr.is_empty() {
        actual.push_str(&format!("---- stderr\n{}", output.stderr));
    }

    let snapshot = dir.join(snapshot_name(case, format, expanded));
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    match std::fs::read_to_string(&snapshot) {
        Ok(expected) if expected == actual => Ok(()),
        _ if update => {
            std::fs::write(&snapshot, &actual)
                .map_err(|e| format!("{}: {e}", snapshot.display()))?;
            Ok(())
        }
        Ok(expected) => Err(format!(
            "the output differs from {} (rerun with UPDATE_EXPECT=1 to accept it)\n{}",
            snapshot.display(),
            line_diff(&expected, &actual)
        )
        .into()),
        Err(_) => Err(format!(
            "{} is missing (rerun with UPDATE_EXPECT=1 to create it); the output is:\n{actual}",
            snapshot.display()
        )
        .into()),
    }
}

/// The lines that differ, marked `-` (expected) and `+` (actual).
fn line_diff(expected: &str, actual: &str) -> String {
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for index in 0..expected.len().max(actual.len()) {
        let (old, new) = (expected.get(index), actual.get(index));
        if old != new {
            if let Some(old) = old {
                out.push_str(&format!("{:>4} - {old}\n", index + 1));
            }
            if let Some(new) = new {
                out.push_str(&format!("{:>4} + {new}\n", index + 1));
            }
        }
    }
    out
}

/// The JSON document, or `None` when the case does not draw (its snapshot
/// shows why).
fn json_document(case: &str, expanded: bool) -> Result<Option<Value>, Failed> {
    let output = orchc(&data_dir(), &arguments(case, "json", expanded))?;
    if output.code != 0 {
        if !output.stdout.is_empty() {
            return Err(format!("a failed run printed a graph:\n{}", output.stdout).into());
        }
        return Ok(None);
    }
    serde_json::from_str(&output.stdout)
        .map(Some)
        .map_err(|e| format!("{e}:\n{}", output.stdout).into())
}

fn json_shape_case(case: &str, expanded: bool) -> Result<(), Failed> {
    let Some(document) = json_document(case, expanded)? else { return Ok(()) };
    check_json_shape(&document, expanded)
}

/// The documented shape: keys and their types, ids unique and sorted,
/// edges sorted, between existing nodes.
fn check_json_shape(document: &Value, expanded: bool) -> Result<(), Failed> {
    let keys = |value: &Value| -> Vec<String> {
        value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    let mut top = keys(document);
    top.sort();
    if top != ["edges", "expanded", "nodes", "version"] {
        return Err(format!("top-level keys: {top:?}").into());
    }
    if document["version"] != 1 || document["expanded"] != expanded {
        return Err(format!("version or expanded: {document}").into());
    }
    let nodes = document["nodes"].as_array().ok_or("nodes is a list")?;
    let mut ids: Vec<&str> = Vec::new();
    for node in nodes {
        for key in keys(node) {
            let allowed = [
                "id",
                "kind",
                "name",
                "resource_kind",
                "module_file",
                "file",
                "line",
                "description",
            ];
            if !allowed.contains(&key.as_str()) {
                return Err(format!("unknown node key `{key}`: {node}").into());
            }
        }
        for key in ["id", "kind", "name", "file"] {
            if !node[key].is_string() {
                return Err(format!("node `{key}` is not a string: {node}").into());
            }
        }
        if node["line"].as_u64().is_none_or(|line| line < 1) {
            return Err(format!("node line: {node}").into());
        }
        for key in ["resource_kind", "module_file", "description"] {
            if !node[key].is_null() && !node[key].is_string() {
                return Err(format!("node `{key}` is neither absent nor a string: {node}").into());
            }
        }
        let kinds: &[&str] = if expanded {
            &["resource", "data"]
        } else {
            &["resource", "data", "module", "param", "let", "output", "assert", "warn"]
        };
        if !kinds.contains(&node["kind"].as_str().unwrap_or("")) {
            return Err(format!("node kind: {node}").into());
        }
        let has_resource_kind = matches!(node["kind"].as_str(), Some("resource" | "data"));
        if node["resource_kind"].is_string() != has_resource_kind {
            return Err(
                format!("resource_kind is given exactly for resources and data: {node}").into()
            );
        }
        ids.push(node["id"].as_str().unwrap_or(""));
    }
    if ids.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(format!("node ids are not unique and sorted: {ids:?}").into());
    }
    let edges = document["edges"].as_array().ok_or("edges is a list")?;
    let mut pairs = Vec::new();
    for edge in edges {
        let mut edge_keys = keys(edge);
        edge_keys.sort();
        if edge_keys != ["explicit", "from", "to"] || !edge["explicit"].is_boolean() {
            return Err(format!("edge shape: {edge}").into());
        }
        let (from, to) = (edge["from"].as_str().unwrap_or(""), edge["to"].as_str().unwrap_or(""));
        if ids.binary_search(&from).is_err() || ids.binary_search(&to).is_err() || from == to {
            return Err(format!("edge between unknown nodes: {edge}").into());
        }
        pairs.push((from, to));
    }
    if pairs.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(format!("edges are not unique and sorted: {pairs:?}").into());
    }
    Ok(())
}

fn dot_is_valid_case(case: &str, expanded: bool) -> Result<(), Failed> {
    let output = orchc(&data_dir(), &arguments(case, "dot", expanded))?;
    if output.code != 0 {
        return Ok(());
    }
    let child = Command::new("dot")
        .arg("-Tcanon")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                "`dot` (Graphviz) is not on PATH: install it (`apt-get install graphviz`) \
                 to check that the DOT output is valid"
                    .into(),
            );
        }
        Err(error) => return Err(format!("cannot run dot: {error}").into()),
    };
    child
        .stdin
        .take()
        .ok_or("dot's standard input")?
        .write_all(output.stdout.as_bytes())
        .map_err(|e| format!("cannot write to dot: {e}"))?;
    let result = child.wait_with_output().map_err(|e| format!("dot: {e}"))?;
    let stderr = String::from_utf8_lossy(&result.stderr);
    if !result.status.success() || !stderr.is_empty() {
        return Err(format!("dot rejects the graph: {stderr}\n{}", output.stdout).into());
    }
    Ok(())
}

fn expect(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(message().into()) }
}

fn errors_are_rendered_instead_of_a_graph() -> Result<(), Failed> {
    let project = Project::new();
    project.write("main.orch", "resource a: fs.file {\n  path = \"/x\"\n  conten = \"\"\n}\n");
    for args in
        [&["graph", "main.orch"][..], &["graph", "main.orch", "--expanded", "--format", "json"]]
    {
        let run = project.run(args);
        let shown = format!("{args:?}: {run:?}");
        expect(run.code == 1, || format!("exit status: {shown}"))?;
        expect(run.stdout.is_empty(), || format!("a graph was printed: {shown}"))?;
        expect(run.stderr.contains("error[E0301]: unknown field `conten`"), || {
            format!("no diagnostic: {shown}")
        })?;
        expect(run.stderr.contains("main.orch:3:3"), || format!("no location: {shown}"))?;
        expect(run.stderr.contains("error: 1 error (checked 1 file)"), || {
            format!("no summary: {shown}")
        })?;
    }
    Ok(())
}

fn vars_give_required_params_a_value() -> Result<(), Failed> {
    let project = Project::new();
    project.write(
        "main.orch",
        "param names: list<string>\n\nfor n in names {\n  resource f: fs.dir { path = \"./srv/${n}\" }\n}\n",
    );
    project.write("vars.json", r#"{"names": ["x", "y"]}"#);
    let ids = |run: &common::Run| -> Vec<String> {
        let document: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
        document["nodes"]
            .as_array()
            .map(|nodes| {
                nodes.iter().filter_map(|n| n["id"].as_str().map(str::to_string)).collect()
            })
            .unwrap_or_default()
    };
    let base = ["graph", "main.orch", "--expanded", "--format", "json"];

    let run = project.run(&base);
    expect(run.code == 1 && run.stdout.is_empty(), || format!("without a value: {run:?}"))?;
    expect(run.stderr.contains("no value for the required param `names`"), || {
        format!("no note: {run:?}")
    })?;
    expect(run.stderr.contains("cannot draw the expanded graph"), || format!("no error: {run:?}"))?;

    let run = project.run(&[&base[..], &["--var", r#"names=["a"]"#]].concat());
    expect(run.code == 0, || format!("--var: {run:?}"))?;
    expect(ids(&run) == [r#"f["a"]"#], || format!("--var: {run:?}"))?;

    let run = project.run(&[&base[..], &["--var-file", "vars.json"]].concat());
    expect(run.code == 0, || format!("--var-file: {run:?}"))?;
    expect(ids(&run) == [r#"f["x"]"#, r#"f["y"]"#], || format!("--var-file: {run:?}"))?;

    // Without --expanded the param needs no value.
    let run = project.run(&["graph", "main.orch", "--format", "json"]);
    expect(run.code == 0, || format!("declarations: {run:?}"))?;
    expect(ids(&run) == ["param.names", "resource.f"], || format!("declarations: {run:?}"))?;

    let run = project.run(&["graph", "main.orch", "--var", "1x=2"]);
    expect(run.code == 1 && run.stdout.is_empty(), || format!("a bad --var: {run:?}"))?;
    Ok(())
}

fn a_missing_file_is_an_error() -> Result<(), Failed> {
    let project = Project::new();
    let run = project.run(&["graph", "missing.orch"]);
    expect(run.code == 1 && run.stdout.is_empty(), || format!("{run:?}"))?;
    expect(run.stderr.contains("missing.orch"), || format!("{run:?}"))
}

fn a_file_without_declarations_is_an_empty_graph() -> Result<(), Failed> {
    let project = Project::new();
    project.write("main.orch", "// nothing yet\n");
    for expanded in [false, true] {
        let mut args = vec!["graph", "main.orch", "--format", "json"];
        if expanded {
            args.push("--expanded");
        }
        let run = project.run(&args);
        expect(run.code == 0, || format!("{run:?}"))?;
        let document = run.json();
        check_json_shape(&document, expanded)?;
        let empty = document["nodes"] == Value::Array(Vec::new())
            && document["edges"] == Value::Array(Vec::new());
        expect(empty, || format!("{run:?}"))?;
    }
    let run = project.run(&["graph", "main.orch", "--format", "mermaid"]);
    expect(run.code == 0 && run.stdout == "flowchart LR\n", || format!("{run:?}"))
}

fn the_default_format_is_dot() -> Result<(), Failed> {
    let project = Project::new();
    project
        .write("main.orch", "let unused = 1\n\nresource data_dir: fs.dir { path = \"./data\" }\n");
    let run = project.run(&["graph", "main.orch"]);
    expect(run.code == 0 && run.stdout.starts_with("digraph orch {\n"), || format!("{run:?}"))?;
    expect(run.stdout.contains("\"resource.data_dir\""), || format!("{run:?}"))?;
    // Warnings (the let is unused) are `check`'s business.
    expect(run.stderr.is_empty(), || format!("{run:?}"))
}

fn explicit_edges_are_dashed_only_without_a_value() -> Result<(), Failed> {
    let project = Project::new();
    project.write(
        "main.orch",
        "resource a: fs.dir { path = \"./a\" }\n\n\
         @depends_on(a)\nresource b: fs.dir { path = \"${a.path}/b\" }\n\n\
         @depends_on(a)\nresource c: fs.dir { path = \"./c\" }\n",
    );
    for expanded in [false, true] {
        let mut args = vec!["graph", "main.orch", "--format", "json"];
        if expanded {
            args.push("--expanded");
        }
        let run = project.run(&args);
        expect(run.code == 0, || format!("{run:?}"))?;
        let (a, b, c) =
            if expanded { ("a", "b", "c") } else { ("resource.a", "resource.b", "resource.c") };
        let expected = serde_json::json!([
            {"from": a, "to": b, "explicit": false},
            {"from": a, "to": c, "explicit": true},
        ]);
        expect(run.json()["edges"] == expected, || format!("{run:?}"))?;
    }
    Ok(())
}
