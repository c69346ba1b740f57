//! A folder's `*.orch` files are one module for the language server, as
//! for `orchc check` (LANGUAGE.md §1): no "unknown name" for a name
//! declared in a sibling file, and definition, references and rename
//! across the files (fixture `tests/data/folder/`: `main.orch`,
//! `params.orch`, `outputs.orch`).

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Client, data, position_of, uri};

const FILES: [&str; 3] = ["main.orch", "params.orch", "outputs.orch"];

fn text(name: &str) -> String {
    std::fs::read_to_string(data("folder").join(name)).expect("the fixture exists")
}

fn uri_of(name: &str) -> String {
    uri(&data("folder").join(name))
}

fn name_of(uri: &str) -> &'static str {
    FILES.into_iter().find(|name| uri_of(name) == uri).expect("a fixture URI")
}

async fn start() -> Client {
    let mut client = Client::start(Some(&data("folder"))).await;
    client.open(&uri_of("main.orch"), 1, &text("main.orch"));
    let diagnostics = client.diagnostics(&uri_of("main.orch"), Some(1)).await;
    assert_eq!(diagnostics, Vec::<Value>::new(), "names of sibling files resolve");
    client
}

/// `file:line:character` of each location, sorted.
fn places(locations: &Value) -> Vec<String> {
    let mut out: Vec<String> = locations
        .as_array()
        .expect("a list of locations")
        .iter()
        .map(|l| {
            let start = &l["range"]["start"];
            format!(
                "{}:{}:{}",
                name_of(l["uri"].as_str().unwrap()),
                start["line"],
                start["character"]
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_goes_to_the_file_that_declares_the_name() {
    let client = start().await;
    let main = text("main.orch");
    let target = client.definition(&uri_of("main.orch"), position_of(&main, "greeting", 2)).await;
    assert_eq!(target["uri"], uri_of("params.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 1, "character": 4 }));
    let target = client.definition(&uri_of("main.orch"), position_of(&main, "${root}", 3)).await;
    assert_eq!(target["uri"], uri_of("params.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 0, "character": 6 }));

    // From a file that is not open, to one that is.
    let outputs = text("outputs.orch");
    let target =
        client.definition(&uri_of("outputs.orch"), position_of(&outputs, "conf.path", 1)).await;
    assert_eq!(target["uri"], uri_of("main.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 0, "character": 9 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_and_rename_cover_every_file_of_the_folder() {
    let client = start().await;
    let params = text("params.orch");
    let at = position_of(&params, "greeting", 1);
    let found = client
        .request(
            "textDocument/references",
            json!({
                "textDocument": { "uri": uri_of("params.orch") },
                "position": at,
                "context": { "includeDeclaration": true },
            }),
        )
        .await
        .expect("references succeed");
    assert_eq!(places(&found), ["main.orch:2:12", "outputs.orch:1:22", "params.orch:1:4"]);

    let edit = client
        .request(
            "textDocument/rename",
            json!({
                "textDocument": { "uri": uri_of("params.orch") },
                "position": at,
                "newName": "message",
            }),
        )
        .await
        .expect("a rename");
    let mut texts = BTreeMap::new();
    for (uri, edits) in edit["changes"].as_object().expect("changes by URI") {
        let name = name_of(uri);
        let mut lines: Vec<String> = text(name).lines().map(str::to_string).collect();
        let mut edits: Vec<&Value> = edits.as_array().unwrap().iter().collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e["range"]["start"]["character"].as_u64()));
        for edit in edits {
            let (start, end) = (&edit["range"]["start"], &edit["range"]["end"]);
            let line = &mut lines[start["line"].as_u64().unwrap() as usize];
            let range = start["character"].as_u64().unwrap() as usize
                ..end["character"].as_u64().unwrap() as usize;
            line.replace_range(range, edit["newText"].as_str().unwrap());
        }
        texts.insert(name, lines.join("\n"));
    }
    assert_eq!(
        texts.keys().copied().collect::<Vec<_>>(),
        ["main.orch", "outputs.orch", "params.orch"]
    );
    assert!(texts["main.orch"].contains("content = message"), "{}", texts["main.orch"]);
    assert!(texts["outputs.orch"].contains("output text: string = message"));
    assert!(texts["params.orch"].contains("let message = "));

    // A name declared in another file of the folder is taken.
    let refused = client
        .request(
            "textDocument/rename",
            json!({
                "textDocument": { "uri": uri_of("params.orch") },
                "position": at,
                "newName": "conf",
            }),
        )
        .await
        .expect_err("a clash across files");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("`conf` is already declared in this module"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistake_is_reported_in_its_file_and_duplicates_across_files() {
    let mut client = start().await;
    let uri = uri_of("outputs.orch");
    client.open(
        &uri,
        1,
        "output path: string = conf.path\nlet root = 1\noutput x: int = nothing\n",
    );
    let diagnostics = client.diagnostics(&uri, Some(1)).await;
    let codes: Vec<&str> = diagnostics.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["E0101"], "{diagnostics:?}");
    // The files load in name order, so the `let` in `outputs.orch` comes
    // first and the param in `params.orch` is the duplicate.
    let params = uri_of("params.orch");
    let diagnostics =
        client.diagnostics_until(&params, |d| d.iter().any(|d| d["code"] == "E0102")).await;
    let duplicate = diagnostics.iter().find(|d| d["code"] == "E0102").unwrap();
    let related = duplicate["relatedInformation"].as_array().cloned().unwrap_or_default();
    assert!(
        related.iter().any(|r| r["location"]["uri"] == uri.as_str()),
        "the first declaration, in the other file: {duplicate}"
    );
}
