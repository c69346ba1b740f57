//! The editor queries on small programs held in memory. A `|` in a source
//! marks the cursor; it is removed before analysis.

use std::collections::HashMap;

use orch_lang::FileId;

use super::*;
use crate::{Analysis, Options, SourceDb, analyze};

struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        crate::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

/// Analyses `files` (the first is the root) with the cursor `|` taken out
/// of the first; returns the analysis and the cursor's offset.
fn at_cursor(files: &[(&str, &str)]) -> (Analysis, u32) {
    let (root, text) = files[0];
    let offset = text.find('|').expect("a cursor `|` in the first file") as u32;
    let mut sources: HashMap<String, String> =
        files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
    sources.insert(root.to_string(), text.replacen('|', "", 1));
    let analysis = analyze(&Memory(sources), &[root.to_string()], &Options::default());
    (analysis, offset)
}

fn hover_text(files: &[(&str, &str)]) -> String {
    let (analysis, offset) = at_cursor(files);
    hover(&analysis, FileId(0), offset).map(|h| h.markdown).unwrap_or_default()
}

fn labels(files: &[(&str, &str)]) -> Vec<String> {
    let (analysis, offset) = at_cursor(files);
    completions(&analysis, FileId(0), offset).into_iter().map(|c| c.label).collect()
}

#[test]
fn hover_shows_the_type_and_docs_of_a_name() {
    let text = hover_text(&[(
        "main.orch",
        "/// The port.\nparam port: int = 80\noutput url: string = \"http://x:${po|rt}\"\n",
    )]);
    assert!(text.contains("param port: int"), "{text}");
    assert!(text.contains("The port."), "{text}");
}

#[test]
fn hover_shows_kind_field_docs_and_secrets_as_types() {
    let text = hover_text(&[("main.orch", "resource f: fs.file {\n  pa|th = \"/tmp/x\"\n}\n")]);
    assert!(text.contains("path: string"), "{text}");
    assert!(text.contains("required"), "{text}");
    let text = hover_text(&[(
        "main.orch",
        "param pw: secret<string> = \"hunter2\"\nlet shown = p|w\noutput o: secret<string> = shown\n",
    )]);
    assert!(text.contains("secret<string>"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    let text = hover_text(&[("main.orch", "resource f: fs.fi|le {\n  path = \"/tmp/x\"\n}\n")]);
    assert!(text.contains("resource kind fs.file"), "{text}");
    let text = hover_text(&[("main.orch", "let n = len|gth([1, 2])\n")]);
    assert!(text.contains("length("), "{text}");
}

#[test]
fn hover_on_a_member_shows_the_field_type() {
    let text = hover_text(&[(
        "main.orch",
        "resource f: fs.file {\n  path = \"/tmp/x\"\n}\noutput h: string = f.sha|256\n",
    )]);
    assert!(text.contains("sha256: string"), "{text}");
    assert!(text.contains("computed on apply"), "{text}");
}

#[test]
fn definition_crosses_imports_and_modules() {
    let files = [
        (
            "main.orch",
            "import \"./common.orch\" as common\nmodule m: \"./m.orch\" {\n  size = common.def|ault\n}\noutput o: int = m.doubled\n",
        ),
        ("common.orch", "let default = 3\n"),
        ("m.orch", "param size: int\noutput doubled: int = size * 2\n"),
    ];
    let (analysis, offset) = at_cursor(&files);
    let target = definition(&analysis, FileId(0), offset).expect("a definition");
    let file = analysis.files.get(target.file);
    assert_eq!(file.path, "common.orch");
    assert_eq!(&file.source[target.range()], "default");

    let main = analysis.files.get(FileId(0)).source.clone();
    let at = |needle: &str| main.find(needle).unwrap() as u32 + 1;
    let target = definition(&analysis, FileId(0), at("doubled")).expect("an output");
    assert_eq!(analysis.files.get(target.file).path, "m.orch");
    let target = definition(&analysis, FileId(0), at("size =")).expect("a param");
    assert_eq!(&analysis.files.get(target.file).source[target.range()], "size");
    let target = definition(&analysis, FileId(0), at("./m.orch")).expect("a file");
    assert_eq!((analysis.files.get(target.file).path.as_str(), target.start), ("m.orch", 0));
}

#[test]
fn completion_offers_kinds_fields_members_and_names() {
    let kinds = labels(&[("main.orch", "resource f: |\n")]);
    assert!(kinds.contains(&"fs.file".to_string()), "{kinds:?}");
    let kinds = labels(&[("main.orch", "data f: |\n")]);
    assert!(!kinds.contains(&"fs.file".to_string()), "{kinds:?}");

    let fields = labels(&[("main.orch", "resource f: fs.file {\n  mode = 0o644\n  |\n}\n")]);
    assert_eq!(fields.first().map(String::as_str), Some("path"), "{fields:?}");
    assert!(fields.contains(&"content".to_string()), "{fields:?}");
    assert!(!fields.contains(&"mode".to_string()), "{fields:?}");
    assert!(!fields.contains(&"sha256".to_string()), "outputs are not inputs: {fields:?}");

    let members = labels(&[(
        "main.orch",
        "resource f: fs.file {\n  path = \"/x\"\n}\noutput o: string = f.|\n",
    )]);
    assert!(members.contains(&"sha256".to_string()), "{members:?}");

    let names = labels(&[("main.orch", "param port: int = 1\nlet x = p|\n")]);
    assert!(names.contains(&"port".to_string()), "{names:?}");
    assert!(names.contains(&"length".to_string()), "{names:?}");

    let items = labels(&[("main.orch", "let x = 1\n|")]);
    assert!(items.contains(&"resource".to_string()), "{items:?}");

    let params = labels(&[
        ("main.orch", "module m: \"./m.orch\" {\n  |\n}\n"),
        ("m.orch", "param size: int\nparam name: string = \"n\"\n"),
    ]);
    assert_eq!(params, ["size", "name"]);

    assert!(labels(&[("main.orch", "let x = \"a |b\"\n")]).is_empty());
    assert!(labels(&[("main.orch", "// a |comment\n")]).is_empty());
}

#[test]
fn symbols_follow_the_file() {
    let source = "param p: int\nfor x in [1] {\n  resource r: fs.dir {\n    path = \"/\"\n  }\n}\n";
    let parsed = orch_lang::parse(FileId(0), source);
    let symbols = document_symbols(&parsed.file, source);
    let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["p", "for x in [1]"]);
    assert_eq!(symbols[1].children[0].name, "r");
    assert_eq!(symbols[1].children[0].detail.as_deref(), Some("fs.dir"));
}

#[test]
fn queries_accept_any_offset_on_broken_text() {
    let sources =
        ["", "resource", "resource x: fs.file {", "let = = \"${", "\u{0}\u{fffd}é{[(", "a.b.c."];
    for source in sources {
        let db = Memory([("main.orch".to_string(), source.to_string())].into());
        let analysis = analyze(&db, &["main.orch".to_string()], &Options::default());
        for offset in 0..=source.len() as u32 + 2 {
            let _ = hover(&analysis, FileId(0), offset);
            let _ = definition(&analysis, FileId(0), offset);
            let _ = completions(&analysis, FileId(0), offset);
        }
    }
}
