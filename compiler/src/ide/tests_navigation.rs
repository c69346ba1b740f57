//! Find references, rename, workspace symbols and signature help on small
//! programs held in memory. A place is named by a piece of text and the
//! byte of it the cursor is on.

use orch_lang::{FileId, Span};

use super::testing::{analyze_files, analyze_one};
use super::*;
use crate::Analysis;

/// The file `path` and the offset of byte `nth` of the first `needle` in it.
fn at(analysis: &Analysis, path: &str, needle: &str, nth: u32) -> (FileId, u32) {
    let file = analysis.files.find(path).unwrap_or_else(|| panic!("no file {path}"));
    let source = &analysis.files.get(file).source;
    let start = source.find(needle).unwrap_or_else(|| panic!("`{needle}` is not in {path}"));
    (file, start as u32 + nth)
}

/// Each span as `path:line:text`.
fn show(analysis: &Analysis, spans: &[Span]) -> Vec<String> {
    let mut spans = spans.to_vec();
    spans.sort_by_key(|span| (analysis.files.get(span.file).path.clone(), span.start));
    spans
        .iter()
        .map(|span| {
            let file = analysis.files.get(span.file);
            let line = file.source[..span.start as usize].matches('\n').count() + 1;
            format!("{}:{line}:{}", file.path, &file.source[span.range()])
        })
        .collect()
}

/// The references at `needle` in `path`.
fn refs(analysis: &Analysis, path: &str, needle: &str, nth: u32, declaration: bool) -> Vec<String> {
    let (file, offset) = at(analysis, path, needle, nth);
    show(analysis, &references(analysis, file, offset, declaration))
}

/// The sources after renaming what is at `needle` in `path` to `new_name`,
/// for the files that change.
fn renamed(
    analysis: &Analysis,
    path: &str,
    needle: &str,
    nth: u32,
    new_name: &str,
) -> Result<Vec<(String, String)>, String> {
    let (file, offset) = at(analysis, path, needle, nth);
    let prepared = prepare_rename(analysis, file, offset)?;
    assert!(prepared.contains(offset), "the prepared range holds the cursor");
    let mut spans = rename(analysis, file, offset, new_name)?;
    spans.sort_by_key(|span| (span.file, std::cmp::Reverse(span.start)));
    let mut out: Vec<(String, String)> = Vec::new();
    for span in spans {
        let source = analysis.files.get(span.file);
        if out.last().is_none_or(|(p, _)| *p != source.path) {
            out.push((source.path.clone(), source.source.to_string()));
        }
        let (_, text) = out.last_mut().expect("pushed above");
        text.replace_range(span.range(), new_name);
    }
    out.sort();
    Ok(out)
}

/// `renamed` for programs where one file changes.
fn renamed_one(
    analysis: &Analysis,
    needle: &str,
    nth: u32,
    new_name: &str,
) -> Result<String, String> {
    let mut files = renamed(analysis, "main.orch", needle, nth, new_name)?;
    assert!(files.len() <= 1, "{files:?}");
    Ok(files.pop().map(|(_, text)| text).unwrap_or_default())
}

/// A root that instantiates a module and imports shared declarations.
fn modules() -> Analysis {
    analyze_files(&[
        (
            "main.orch",
            "import \"./common.orch\" as common\n\
             param api: common.Service = { name = \"api\", port = common.default_port }\n\
             module site: \"./site.orch\" {\n  size = common.default_port\n}\n\
             for k in [\"a\", \"b\"] {\n  module many: \"./site.orch\" {\n    size = 2\n  }\n}\n\
             output url: string = site.doubled_url\n\
             output first: string = many[\"a\"].doubled_url\n\
             output api_name: string = api.name\n",
        ),
        (
            "site.orch",
            "import \"./common.orch\" as common\n\
             param size: int\n\
             let shown: common.Service = { name = \"site\", port = size }\n\
             output doubled_url: string = \"http://x:${size * 2}/${shown.name}\"\n",
        ),
        ("common.orch", "type Service = { name: string, port: int }\nlet default_port = 8000\n"),
    ])
}

#[test]
fn references_cross_modules_and_imports() {
    let analysis = modules();
    assert_eq!(analysis.diagnostics, Vec::new());
    // A module param: its uses, and the arguments that set it.
    assert_eq!(
        refs(&analysis, "site.orch", "param size", 7, true),
        [
            "main.orch:4:size",
            "main.orch:8:size",
            "site.orch:2:size",
            "site.orch:3:size",
            "site.orch:4:size"
        ]
    );
    assert_eq!(
        refs(&analysis, "main.orch", "size = common", 1, false),
        ["main.orch:4:size", "main.orch:8:size", "site.orch:3:size", "site.orch:4:size"]
    );
    // A module output, through an instance and an instance of a `for`.
    assert_eq!(
        refs(&analysis, "main.orch", "site.doubled_url", 6, true),
        ["main.orch:11:doubled_url", "main.orch:12:doubled_url", "site.orch:4:doubled_url"]
    );
    // A `let` of an imported file, used as `common.default_port`.
    assert_eq!(
        refs(&analysis, "common.orch", "default_port", 0, false),
        ["main.orch:2:default_port", "main.orch:4:default_port"]
    );
    // A type alias used as `common.Service` in two files.
    assert_eq!(
        refs(&analysis, "common.orch", "Service", 0, true),
        ["common.orch:1:Service", "main.orch:2:Service", "site.orch:3:Service"]
    );
    // A field of the alias: object keys checked against it and accesses.
    assert_eq!(
        refs(&analysis, "common.orch", "name:", 0, true),
        [
            "common.orch:1:name",
            "main.orch:2:name",
            "main.orch:13:name",
            "site.orch:3:name",
            "site.orch:4:name"
        ]
    );
    // The import alias itself: in values and in type names.
    assert_eq!(
        refs(&analysis, "main.orch", "as common", 3, true),
        ["main.orch:1:common", "main.orch:2:common", "main.orch:2:common", "main.orch:4:common"]
    );
}

#[test]
fn references_follow_loop_variables_and_block_lets() {
    let analysis = analyze_one(
        "param names: list<string> = [\"a\"]\n\
         for n in names key n {\n  let path = \"/srv/${n}\"\n  resource d: fs.dir {\n    path = path\n  }\n}\n\
         output upper: list<string> = [for n in names: upper(n)]\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    assert_eq!(
        refs(&analysis, "main.orch", "for n", 4, true),
        ["main.orch:2:n", "main.orch:2:n", "main.orch:3:n"]
    );
    // The comprehension's `n` is another variable.
    assert_eq!(
        refs(&analysis, "main.orch", "upper(n)", 6, true),
        ["main.orch:8:n", "main.orch:8:n"]
    );
    assert_eq!(
        refs(&analysis, "main.orch", "let path", 4, true),
        ["main.orch:3:path", "main.orch:5:path"]
    );
    // A kind's field is not a declaration of the program.
    assert_eq!(refs(&analysis, "main.orch", "path = path", 1, true), Vec::<String>::new());
}

#[test]
fn rename_edits_every_file() {
    let analysis = modules();
    let files = renamed(&analysis, "site.orch", "param size", 7, "count").unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0].1.contains("  count = common.default_port\n"), "{}", files[0].1);
    assert!(files[0].1.contains("    count = 2\n"), "{}", files[0].1);
    assert!(files[1].1.contains("param count: int\n"), "{}", files[1].1);
    assert!(files[1].1.contains("${count * 2}"), "{}", files[1].1);

    let files = renamed(&analysis, "common.orch", "Service", 0, "Backend").unwrap();
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["common.orch", "main.orch", "site.orch"]);
    assert!(files[1].1.contains("param api: common.Backend = "), "{}", files[1].1);

    let files = renamed(&analysis, "main.orch", "api.name", 4, "title").unwrap();
    assert!(files[0].1.starts_with("type Service = { title: string"), "{}", files[0].1);
    assert!(files[1].1.contains("{ title = \"api\""), "{}", files[1].1);
    assert!(files[1].1.contains("= api.title\n"), "{}", files[1].1);
    assert!(files[2].1.contains("${shown.title}"), "{}", files[2].1);

    let files = renamed(&analysis, "site.orch", "output doubled_url", 8, "address").unwrap();
    assert!(files[0].1.contains("site.address\n"), "{}", files[0].1);
    assert!(files[0].1.contains("many[\"a\"].address\n"), "{}", files[0].1);

    let files = renamed(&analysis, "main.orch", "as common", 3, "shared").unwrap();
    assert!(files[0].1.starts_with("import \"./common.orch\" as shared\n"), "{}", files[0].1);
    assert!(files[0].1.contains("param api: shared.Service"), "{}", files[0].1);
    assert!(files[0].1.contains("size = shared.default_port"), "{}", files[0].1);
}

#[test]
fn rename_lets_loops_and_depends_on() {
    let analysis = analyze_one(
        "let base = \"/srv\"\n\
         resource d: fs.dir {\n  path = base\n}\n\
         @depends_on(d)\n\
         resource f: fs.file {\n  path = \"${base}/f\"\n}\n\
         output names: list<string> = [for x in [\"a\"]: \"${base}/${x}\"]\n\
         output first: string = f[\"path\"]\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let text = renamed_one(&analysis, "let base", 5, "root").unwrap();
    assert_eq!(text.matches("root").count(), 4, "{text}");
    let text = renamed_one(&analysis, "resource d", 9, "data_dir").unwrap();
    assert!(text.contains("@depends_on(data_dir)\n"), "{text}");
    let text = renamed_one(&analysis, "${x}", 2, "name").unwrap();
    assert!(text.contains("[for name in [\"a\"]: \"${base}/${name}\"]"), "{text}");
    // Renaming to the same name changes nothing.
    assert_eq!(rename(&analysis, FileId(0), 5, "base"), Ok(Vec::new()));
}

#[test]
fn rename_refuses_names_that_would_change_meaning() {
    let analysis = analyze_one(
        "param port: int = 80\n\
         let host = \"h\"\n\
         output urls: list<string> = [for h in [\"a\"]: \"${h}:${port}\"]\n\
         output address: string = \"${host}:${port}\"\n\
         resource f: fs.file {\n  path = \"/srv/${host}\"\n}\n\
         output n: int = length([1])\n\
         output sum: string = f.sha256\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let refused = |needle: &str, nth: u32, new_name: &str| {
        renamed_one(&analysis, needle, nth, new_name).expect_err("a refusal")
    };
    assert!(refused("param port", 6, "if").contains("keyword"));
    assert!(refused("param port", 6, "1st").contains("not a valid name"));
    assert!(refused("param port", 6, "a b").contains("not a valid name"));
    let message = refused("param port", 6, "host");
    assert!(
        message.contains("already declared in this module: the let at main.orch:2"),
        "{message}"
    );
    // `port` is used where a loop variable `h` is visible.
    let message = refused("param port", 6, "h");
    assert!(message.contains("would then mean the loop variable `h`"), "{message}");
    // The loop variable would capture the use of `port` in its own scope.
    let message = refused("${h}", 2, "port");
    assert!(message.contains("`port` at main.orch:3"), "{message}");
    assert!(refused("length(", 0, "size").contains("built-in function"));
    assert!(refused("fs.file", 4, "x").contains("kind of the standard library"));
    assert!(refused("path =", 0, "where").contains("field of the kind `fs.file`"));
    assert!(refused("f.sha256", 3, "digest").contains("field of the kind `fs.file`"));
    assert!(refused("param port: int", 12, "count").contains("built-in type"));
}

#[test]
fn rename_refuses_clashes_of_types_and_fields() {
    let analysis = analyze_one(
        "type Service = { name: string, port: int }\ntype Port = int\n\
         output api: Service = { name = \"api\", port = 1 }\noutput p: Port = 2\n\
         output anonymous: { name: string } = { name = \"x\" }\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let refused = |needle: &str, nth: u32, new_name: &str| {
        renamed_one(&analysis, needle, nth, new_name).expect_err("a refusal")
    };
    assert!(refused("type Service", 5, "Port").contains("already declared"));
    assert!(refused("type Service", 5, "string").contains("built-in type"));
    assert!(refused("name: string, port", 0, "port").contains("already has a field `port`"));
    assert!(refused("{ name: string } =", 2, "title").contains("declared by a type alias"));
    let text = renamed_one(&analysis, "p: Port", 3, "Number").unwrap();
    assert!(text.contains("type Number = int\n") && text.contains("p: Number = 2"), "{text}");
}

#[test]
fn rename_of_a_field_checks_the_program_again() {
    // `raw` is a record literal written without its type: its keys are not
    // known to be fields of `Service` until it is assigned.
    let analysis = analyze_one(
        "type Service = { name: string, port: int }\n\
         let raw = { name = \"a\", port = 1 }\n\
         output api: Service = raw\n\
         output api_name: string = api.name\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let message = renamed_one(&analysis, "api.name", 4, "title").expect_err("a refusal");
    assert!(message.starts_with("the rename would break the program"), "{message}");
    // Typed, the literal is renamed with the type.
    let analysis = analyze_one(
        "type Service = { name: string, port: int }\n\
         let raw: Service = { name = \"a\", port = 1 }\n\
         output api: Service = raw\n\
         output api_name: string = api[\"name\"]\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let text = renamed_one(&analysis, "name:", 0, "title").unwrap();
    assert!(text.contains("{ title = \"a\"") && text.contains("api[\"title\"]"), "{text}");
}

#[test]
fn rename_refuses_captures_by_block_lets() {
    let analysis = analyze_one(
        "let base = \"/srv\"\n\
         for n in [\"a\"] {\n  let path = \"${base}/${n}\"\n\
         resource d: fs.dir {\n    path = \"${path}-${base}\"\n  }\n}\n",
    );
    assert_eq!(analysis.diagnostics, Vec::new());
    let refused = |needle: &str, nth: u32, new_name: &str| {
        renamed_one(&analysis, needle, nth, new_name).expect_err("a refusal")
    };
    // The block's `base` would mean the renamed let.
    let message = refused("let path", 4, "base");
    assert!(message.contains("after the rename it would mean the renamed `path`"), "{message}");
    // The loop variable comes first in its block.
    let message = refused("let path", 4, "n");
    assert!(message.contains("would then mean the loop variable `n`"), "{message}");
    // The module-level `base`, used where the block's `path` is visible.
    let message = refused("let base", 4, "path");
    assert!(message.contains("would then mean the let `path`"), "{message}");
    let text = renamed_one(&analysis, "let path", 4, "dir").unwrap();
    assert!(text.contains("let dir = ") && text.contains("${dir}-${base}"), "{text}");
}

#[test]
fn workspace_symbols_filter_by_name() {
    let analysis = modules();
    let names = |query: &str| -> Vec<String> {
        workspace_symbols(&analysis, query).into_iter().map(|s| s.name).collect()
    };
    assert_eq!(names("doubled"), ["doubled_url"]);
    // Prefix matches before other matches, case ignored.
    assert_eq!(names("SER"), ["Service"]);
    assert_eq!(names("dport"), ["default_port"]);
    let all = names("");
    assert!(all.contains(&"many".to_string()) && all.contains(&"size".to_string()), "{all:?}");
    let many = workspace_symbols(&analysis, "many");
    assert_eq!(many[0].container.as_deref(), Some("for k in [\"a\", \"b\"]"));
    assert_eq!(many[0].kind, SymbolKind::Module);
}

#[test]
fn signature_help_counts_arguments() {
    let help = |source: &str| {
        let offset = source.find('|').expect("a cursor") as u32;
        let analysis = analyze_one(&source.replacen('|', "", 1));
        signature_help(&analysis, FileId(0), offset)
    };
    let join = help("let s = join(\",\", [\"a\", |\n").expect("inside join");
    assert_eq!((join.function, join.active_parameter), ("join", Some(1)));
    let (start, end) = join.parameters[1];
    assert_eq!(&join.signature[start as usize..end as usize], "items: list<string>");
    assert!(join.doc.len() > 10);
    assert_eq!(help("let n = length(|)\n").map(|h| h.active_parameter), Some(Some(0)));
    assert_eq!(help("let n = lower(\"a\", |)\n").map(|h| h.active_parameter), Some(None));
    // A variadic parameter stays active.
    let format = help("let s = format(\"%s %s\", 1, 2, |)\n").expect("format");
    assert_eq!(format.active_parameter, Some(1));
    // Nested calls: the innermost.
    let inner = help("let s = upper(lower(|))\n").expect("lower");
    assert_eq!(inner.function, "lower");
    let outer = help("let s = join(\"-\", split(\",\", \"a\"), |)\n").expect("join");
    assert_eq!((outer.function, outer.active_parameter), ("join", None));
    assert_eq!(help("let s = upper(\"a\")|\n"), None);
    assert_eq!(help("let s = [1, |]\n"), None);
    assert_eq!(help("// length(|\n"), None);
}

#[test]
fn navigation_queries_accept_any_offset_on_broken_text() {
    let sources = [
        "",
        "resource",
        "for x in [1] key x {",
        "let = = \"${",
        "\u{0}\u{fffd}é{[(",
        "a.b.c.",
        "type T = { a: ",
        "let x = [for y in z: y.",
        "output o = length(\"é\", ",
    ];
    for source in sources {
        let analysis = analyze_one(source);
        for offset in 0..=source.len() as u32 + 2 {
            let _ = references(&analysis, FileId(0), offset, true);
            let _ = prepare_rename(&analysis, FileId(0), offset);
            let _ = rename(&analysis, FileId(0), offset, "renamed");
            let _ = signature_help(&analysis, FileId(0), offset);
        }
        let _ = workspace_symbols(&analysis, "x");
        assert!(references(&analysis, FileId(7), 0, true).is_empty());
        assert!(signature_help(&analysis, FileId(7), 0).is_none());
    }
}
