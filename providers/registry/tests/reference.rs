//! `docs/stdlib.md` is rendered from the function table and the kind
//! schemas, so the reference cannot drift from the code. This test renders
//! it and compares; `UPDATE_EXPECT=1` writes it instead.

#![allow(clippy::disallowed_methods, reason = "the test reads and writes docs/stdlib.md")]

use std::fmt::Write as _;
use std::path::PathBuf;

use orch_providers::kinds;
use orch_stdlib::functions::functions;
use orch_stdlib::{FieldSchema, KindSchema, Value};

fn render() -> String {
    let mut out = String::new();
    out.push_str(
        "# Standard library reference\n\n\
         <!-- Generated from stdlib/src and providers/*/src/kinds.rs by `UPDATE_EXPECT=1 cargo test -p orch-providers --test reference`; \
         edit the doc strings there, not this file. -->\n\n\
         Every built-in function and resource kind, as the checker, hovers and the runtime see \
         them (LANGUAGE.md §7).\n\n\
         Conventions shared by every function: an argument of type `any` is accepted wherever \
         a concrete type is expected and checked when the call is evaluated; a call with a \
         secret argument gives a secret (except `reveal`); a call with an argument known only \
         after apply is itself known only after apply. Errors name the function and say what \
         was expected.\n\n\
         ## Functions\n\n\
         | function | summary |\n| --- | --- |\n",
    );
    for function in functions() {
        let _ = writeln!(out, "| `{}` | {} |", function.name, cell(summary(function.doc)));
    }
    for function in functions() {
        let _ = write!(
            out,
            "\n### `{}`\n\n```\n{}\n```\n\n{}\n",
            function.name, function.signature, function.doc
        );
    }
    out.push_str(
        "\n## Kinds\n\n\
         Fields are inputs unless marked *output* (computed by the provider on apply, never \
         assigned). An input is *required*, has a *default*, or is *optional* (absent, `none`, \
         when left out). *Replaces*: a change to the field replaces the object instead of \
         updating it. *Sensitive*: the value is secret everywhere.\n\n\
         | kind | | summary |\n| --- | --- | --- |\n",
    );
    for kind in kinds() {
        let role = if kind.data { "data" } else { "resource" };
        let _ = writeln!(out, "| `{}` | {role} | {} |", kind.name, cell(summary(kind.doc)));
    }
    for kind in kinds() {
        render_kind(&mut out, kind);
    }
    out
}

fn render_kind(out: &mut String, kind: &KindSchema) {
    let role = if kind.data { "data" } else { "resource" };
    let _ = write!(
        out,
        "\n### `{}` ({role})\n\n{}\n\n| field | type | | description |\n| --- | --- | --- | --- |\n",
        kind.name, kind.doc
    );
    for field in &kind.fields {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} |",
            field.name,
            cell(&field.ty.to_string()),
            flags(field),
            cell(field.doc)
        );
    }
}

fn flags(field: &FieldSchema) -> String {
    let mut flags = vec![if field.output {
        "*output*".to_owned()
    } else if field.required {
        "*required*".to_owned()
    } else if let Some(default) = &field.default {
        format!("default `{}`", cell(&show_default(field.name, default)))
    } else {
        "*optional*".to_owned()
    }];
    if field.forces_replacement {
        flags.push("*replaces*".to_owned());
    }
    if field.keeps_secrets {
        flags.push("*keeps secrets*".to_owned());
    }
    if field.sensitive {
        flags.push("*sensitive*".to_owned());
    }
    flags.join(", ")
}

/// A default as it would be written in Orch: permission modes in octal.
fn show_default(name: &str, default: &Value) -> String {
    match default {
        Value::Int(mode) if name == "mode" => format!("0o{mode:o}"),
        Value::Map(entries) if entries.is_empty() => "{}".to_owned(),
        other => other.to_string(),
    }
}

fn summary(doc: &str) -> &str {
    let paragraph = doc.split("\n\n").next().unwrap_or(doc);
    // Kinds' docs are one paragraph; keep their first sentence.
    match paragraph.find(". ") {
        Some(end) => &paragraph[..=end],
        None => paragraph,
    }
}

/// Text made safe for one table cell.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

#[test]
fn reference_matches_docs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/stdlib.md");
    let rendered = render();
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(current) if current == rendered => {}
        _ if update => std::fs::write(&path, &rendered).expect("docs/stdlib.md is writable"),
        Ok(current) => {
            let line = current
                .lines()
                .zip(rendered.lines())
                .position(|(a, b)| a != b)
                .map_or(current.lines().count().min(rendered.lines().count()) + 1, |i| i + 1);
            panic!(
                "docs/stdlib.md differs from the table from line {line} on \
                 (rerun with UPDATE_EXPECT=1 to accept it)"
            );
        }
        Err(error) => panic!(
            "docs/stdlib.md cannot be read ({error}); rerun with UPDATE_EXPECT=1 to create it"
        ),
    }
}
