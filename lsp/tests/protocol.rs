//! The server driven over the real protocol, in process: diagnostics after
//! opening and editing, hover, definition across files, completion,
//! document symbols and formatting, on the fixtures under `tests/data/`.

mod support;

use serde_json::{Value, json};
use support::{Client, data, position, position_of, uri};

/// A line with non-ASCII text before the error: UTF-16 columns differ from
/// byte and character columns there.
const BROKEN: &str = "let name = \"x\"\noutput o: string = \"café ü 😀 ${missing}\"\n";

fn codes(diagnostics: &[Value]) -> Vec<&str> {
    diagnostics.iter().map(|d| d["code"].as_str().unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_follow_open_and_incremental_edits_in_utf16() {
    let mut client = Client::start(None).await;
    let uri = "file:///nowhere/broken.orch";
    client.open(uri, 1, BROKEN);
    let diagnostics = client.diagnostics(uri, Some(1)).await;
    let error = diagnostics.iter().find(|d| d["code"] == "E0101").expect("E0101 for `missing`");
    // `output o: string = "` is 20 units, `café ü 😀 ` 10 more (the emoji
    // takes two), then `${`.
    assert_eq!(error["range"]["start"], json!({ "line": 1, "character": 32 }));
    assert_eq!(error["range"]["end"], json!({ "line": 1, "character": 39 }));
    assert_eq!(error["range"]["start"], position_of(BROKEN, "missing", 0));
    assert_eq!(error["severity"], 1);
    assert!(error["message"].as_str().unwrap().contains("cannot find `missing`"), "{error}");

    // Replace `missing` with `name`: the error goes, and so does the
    // warning that `name` was unused.
    client.edit(
        uri,
        2,
        json!({"line": 1, "character": 32}),
        json!({"line": 1, "character": 39}),
        "name",
    );
    let diagnostics = client.diagnostics(uri, Some(2)).await;
    assert_eq!(diagnostics, Vec::<Value>::new());

    // A second change on top of the first, at the end of the document.
    client.edit(
        uri,
        3,
        json!({"line": 2, "character": 0}),
        json!({"line": 2, "character": 0}),
        "let name = 1\n",
    );
    let diagnostics = client.diagnostics(uri, Some(3)).await;
    assert_eq!(codes(&diagnostics), ["E0102"]);
    // The duplicate points back at the first declaration.
    let related = &diagnostics[0]["relatedInformation"];
    let first = related
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["message"].as_str().unwrap().contains("first declared here"))
        .expect("a label for the first declaration");
    assert_eq!(first["location"]["uri"], uri);
    assert_eq!(first["location"]["range"]["start"], json!({ "line": 0, "character": 4 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_changes_replace_the_document() {
    let mut client = Client::start(None).await;
    let uri = "file:///nowhere/full.orch";
    client.open(uri, 1, "let x = \n");
    let diagnostics = client.diagnostics(uri, Some(1)).await;
    assert!(!diagnostics.is_empty(), "a syntax error");
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": 5 },
            "contentChanges": [{ "text": "let x = 1\noutput y: int = x\n" }],
        }),
    );
    assert_eq!(client.diagnostics(uri, Some(5)).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_shows_types_docs_and_field_documentation() {
    let client = Client::start(Some(&data("workspace"))).await;
    let path = data("workspace/main.orch");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = uri(&path);
    client.open(&uri, 1, &text);
    let hover = |at: Value| client.hover(&uri, at);

    // A param used in a string: its type and its doc comment.
    let text_at = hover(position_of(&text, "${greeting}", 3)).await;
    assert!(text_at.contains("param greeting: string"), "{text_at}");
    assert!(text_at.contains("« café ü »"), "{text_at}");

    // A field of a resource body: the kind's documentation.
    let text_at = hover(position_of(&text, "content =", 2)).await;
    assert!(text_at.contains("content: string"), "{text_at}");
    assert!(text_at.contains("Field of `fs.file`"), "{text_at}");

    // A module output, through the module instance.
    let text_at = hover(position_of(&text, "docs.url", 6)).await;
    assert!(text_at.contains("output url: string"), "{text_at}");

    // The kind itself.
    let text_at = hover(position_of(&text, "fs.file", 4)).await;
    assert!(text_at.contains("resource kind fs.file"), "{text_at}");

    // The range is the name, in UTF-16 columns.
    let result = client
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": position_of(&text, "index.sha256", 7) }),
        )
        .await
        .unwrap();
    let start = text.find("index.sha256").unwrap() + "index.".len();
    assert_eq!(result["range"]["start"], position(&text, start));
    assert!(result["contents"]["value"].as_str().unwrap().contains("sha256: string"), "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_crosses_module_and_import_files() {
    let client = Client::start(Some(&data("workspace"))).await;
    let path = data("workspace/main.orch");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = uri(&path);
    client.open(&uri, 1, &text);
    let definition = |at: Value| client.definition(&uri, at);

    // `common.default_port`: the `let` in the imported file, which is not
    // open.
    let target = definition(position_of(&text, "common.default_port", 9)).await;
    assert!(
        target["uri"].as_str().unwrap().ends_with("/workspace/modules/common.orch"),
        "{target}"
    );
    assert_eq!(target["range"]["start"], json!({ "line": 3, "character": 4 }));

    // `docs.url`: the module's output.
    let target = definition(position_of(&text, "docs.url", 6)).await;
    assert!(target["uri"].as_str().unwrap().ends_with("/workspace/modules/site.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 13, "character": 7 }));

    // `name = "docs"` in the module body: the module's param.
    let target = definition(position_of(&text, "name = \"docs\"", 1)).await;
    assert_eq!(target["range"]["start"], json!({ "line": 5, "character": 6 }));

    // A name in the same file.
    let target = definition(position_of(&text, "${greeting}", 4)).await;
    assert_eq!(target["uri"], uri.as_str());
    assert_eq!(target["range"]["start"], position_of(&text, "greeting: string", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_module_rechecks_the_files_that_use_it() {
    let mut client = Client::start(Some(&data("workspace"))).await;
    let main_path = data("workspace/main.orch");
    let main_text = std::fs::read_to_string(&main_path).unwrap();
    let main = uri(&main_path);
    let site_path = data("workspace/modules/site.orch");
    let site_text = std::fs::read_to_string(&site_path).unwrap();
    let site = uri(&site_path);
    client.open(&main, 1, &main_text);
    assert_eq!(client.diagnostics(&main, Some(1)).await, Vec::<Value>::new());
    client.open(&site, 1, &site_text);
    assert_eq!(client.diagnostics(&site, Some(1)).await, Vec::<Value>::new());

    // Rename the module's output `url`: `docs.url` in the root breaks.
    let start = site_text.find("output url").unwrap() + "output ".len();
    client.edit(&site, 2, position(&site_text, start), position(&site_text, start + 3), "address");
    let diagnostics = client.diagnostics_until(&main, |d| !d.is_empty()).await;
    assert_eq!(codes(&diagnostics), ["E0206"], "{diagnostics:?}");
    assert_eq!(diagnostics[0]["range"]["start"], position_of(&main_text, "url}", 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_lists_kinds_fields_members_and_names() {
    let client = Client::start(None).await;
    let uri = "file:///nowhere/complete.orch";
    let text = "param port: int = 80\n\nresource site: fs.file {\n  mode = 0o644\n  \n}\n\nresource other: \n";
    client.open(uri, 1, text);
    let complete = |at: Value| client.completion(uri, at);

    // Inside the body: the inputs of `fs.file` not yet set, required first,
    // with their types and docs.
    let items = complete(position_of(text, "  \n}", 2)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels.first(), Some(&"path"), "{labels:?}");
    assert!(labels.contains(&"content"), "{labels:?}");
    assert!(!labels.contains(&"mode"), "already set: {labels:?}");
    assert!(items[0]["detail"].as_str().unwrap().contains("string (required)"), "{:?}", items[0]);
    assert!(items[0]["documentation"]["value"].as_str().is_some());
    assert_eq!(items[0]["textEdit"]["newText"], "path = ");

    // After `resource NAME: `, the resource kinds.
    let items = complete(position_of(text, "other: ", 7)).await;
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"fs.file") && labels.contains(&"exec.run"), "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_after_a_dot_and_in_expressions() {
    let client = Client::start(None).await;
    let uri = "file:///nowhere/members.orch";
    let text =
        "param port: int = 80\nresource f: fs.file {\n  path = \"/x\"\n}\noutput h: string = f.\n";
    client.open(uri, 1, text);
    let labels = async |at: Value| -> Vec<String> {
        let items = client.completion(uri, at).await;
        items.iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
    };
    let members = labels(position_of(text, "f.\n", 2)).await;
    assert!(members.contains(&"sha256".to_string()), "{members:?}");
    assert!(members.contains(&"path".to_string()), "{members:?}");
    let names = labels(position_of(text, "\"/x\"", 0)).await;
    assert!(
        names.contains(&"port".to_string()) && names.contains(&"length".to_string()),
        "{names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatting_matches_orchc_fmt_and_symbols_outline_the_file() {
    let client = Client::start(None).await;
    let uri = "file:///nowhere/format.orch";
    let text =
        "param   port:int=80\nresource  f : fs.file {\npath=\"/x\"\n  content = \"${port}\"}\n";
    client.open(uri, 1, text);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({
                "textDocument": { "uri": uri },
                "options": { "tabSize": 2, "insertSpaces": true },
            }),
        )
        .await
        .expect("formatting succeeds");
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0]["newText"], orch_lang::fmt::format(text).unwrap());
    assert_eq!(edits[0]["range"]["start"], json!({ "line": 0, "character": 0 }));
    assert_eq!(edits[0]["range"]["end"], json!({ "line": 4, "character": 0 }));

    let symbols = client
        .request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } }))
        .await
        .expect("symbols succeed");
    let names: Vec<&str> =
        symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["port", "f"]);
    assert_eq!(symbols[1]["detail"], "fs.file");

    // A document with a syntax error is not formatted.
    client.open("file:///nowhere/bad.orch", 1, "let = \n");
    let edits = client
        .request(
            "textDocument/formatting",
            json!({
                "textDocument": { "uri": "file:///nowhere/bad.orch" },
                "options": { "tabSize": 2, "insertSpaces": true },
            }),
        )
        .await
        .expect("formatting answers");
    assert_eq!(edits, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_documents_and_positions_get_empty_answers() {
    let client = Client::start(None).await;
    let at = json!({ "textDocument": { "uri": "file:///never/opened.orch" }, "position": { "line": 0, "character": 0 } });
    assert_eq!(client.request("textDocument/hover", at.clone()).await, Ok(Value::Null));
    assert_eq!(client.request("textDocument/definition", at.clone()).await, Ok(Value::Null));
    let uri = "untitled:Untitled-1";
    client.open(uri, 1, "let x = 1\n");
    let far =
        json!({ "textDocument": { "uri": uri }, "position": { "line": 400, "character": 9000 } });
    assert_eq!(client.request("textDocument/hover", far.clone()).await, Ok(Value::Null));
    assert!(client.request("textDocument/completion", far).await.is_ok());
    assert_eq!(client.request("shutdown", Value::Null).await, Ok(Value::Null));
}
