//! Dependency cycles: one diagnostic per group of declarations that depend
//! on each other, starting at the declaration written first, with one label
//! per edge that points at the reference.

use std::collections::HashMap;

use orch_compiler::{Analysis, Options, SourceDb, analyze};
use orch_lang::Diagnostic;

struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

fn check(source: &str) -> Analysis {
    let db = Memory(HashMap::from([("main.orch".to_string(), source.to_string())]));
    analyze(&db, &["main.orch".to_string()], &Options::default())
}

fn cycles(analysis: &Analysis) -> Vec<&Diagnostic> {
    analysis.diagnostics.iter().filter(|d| d.code.code == "E0501").collect()
}

fn text<'s>(source: &'s str, diagnostic: &Diagnostic) -> Vec<&'s str> {
    diagnostic.labels.iter().map(|l| &source[l.span.start as usize..l.span.end as usize]).collect()
}

#[test]
fn a_cycle_is_one_diagnostic_with_a_label_per_edge() {
    let source = "let a = b + 1\nlet b = c * 2\nlet c = a - 3\noutput all = [a, b, c]\n";
    let analysis = check(source);
    let found = cycles(&analysis);
    assert_eq!(found.len(), 1, "{:#?}", analysis.diagnostics);
    let cycle = found[0];
    assert_eq!(cycle.message, "dependency cycle: `a` → `b` → `c` → `a`");
    assert_eq!(&source[cycle.primary.span.start as usize..cycle.primary.span.end as usize], "a");
    assert_eq!(text(source, cycle), ["b", "c", "a"]);
    assert_eq!(analysis.diagnostics.len(), 1, "no other diagnostic: {:#?}", analysis.diagnostics);
}

#[test]
fn separate_cycles_are_separate_diagnostics() {
    let source = "let a = b\nlet b = a\nlet x = y\nlet y = x\nlet z = z\noutput all = [a, x, z]\n";
    let analysis = check(source);
    let messages: Vec<&str> = cycles(&analysis).iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "dependency cycle: `a` → `b` → `a`",
            "dependency cycle: `x` → `y` → `x`",
            "dependency cycle: `z` → `z`",
        ]
    );
    assert_eq!(cycles(&analysis)[2].labels.len(), 1);
}

#[test]
fn resource_cycles_point_at_the_field_references_and_depends_on() {
    let source = "resource x: fs.file {\n  path = \"/srv/x\"\n  content = y.sha256\n}\n\
                  @depends_on(x)\nresource y: fs.file { path = \"/srv/y\" }\n";
    let analysis = check(source);
    let found = cycles(&analysis);
    assert_eq!(found.len(), 1, "{:#?}", analysis.diagnostics);
    assert_eq!(found[0].message, "dependency cycle: `x` → `y` → `x`");
    assert_eq!(text(source, found[0]), ["y.sha256", "x"]);
}

/// Declarations that depend on each other in more than one way form one
/// group, reported once with one of its cycles; breaking it reveals the next.
#[test]
fn one_group_of_mutually_dependent_declarations_is_one_diagnostic() {
    let source = "let a = b + c\nlet b = a\nlet c = a\noutput all = [a, b, c]\n";
    let analysis = check(source);
    let found = cycles(&analysis);
    assert_eq!(found.len(), 1, "{:#?}", analysis.diagnostics);
    assert_eq!(found[0].labels.len(), 2);
}
