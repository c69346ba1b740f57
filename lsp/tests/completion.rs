//! Completion as editors ask for it while typing: right after the edit
//! that triggers it (answered from the previous analysis with the newest
//! text), and in scopes with more names than one answer carries.

mod support;

use std::fmt::Write as _;

use serde_json::{Value, json};
use support::{Client, position};

fn labels(items: &[Value]) -> Vec<&str> {
    items.iter().map(|item| item["label"].as_str().unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_right_after_an_edit_sees_the_edit() {
    let mut client = Client::start(None).await;
    let uri = "file:///nowhere/typing.orch";
    let text =
        "param port: int = 80\nresource f: fs.file {\n  path = \"/x\"\n}\noutput o: string = f\n";
    client.open(uri, 1, text);
    client.diagnostics(uri, Some(1)).await;

    // Type `.` after `f` and ask at once, as editors do for a trigger
    // character: the members of `f`, replacing nothing.
    let dot = text.find("= f\n").unwrap() + 3;
    client.edit(uri, 2, position(text, dot), position(text, dot), ".");
    let after_dot = json!({ "line": 4, "character": 21 });
    let items = client.completion(uri, after_dot.clone()).await;
    assert!(labels(&items).contains(&"sha256"), "{:?}", labels(&items));
    let sha = items.iter().find(|item| item["label"] == "sha256").unwrap();
    assert_eq!(sha["textEdit"]["range"]["start"], after_dot);
    assert_eq!(sha["textEdit"]["range"]["end"], after_dot);

    // Then `pa`: the members that match, replacing the typed letters.
    client.edit(uri, 3, after_dot.clone(), after_dot.clone(), "pa");
    let items = client.completion(uri, json!({ "line": 4, "character": 23 })).await;
    let path = items.iter().find(|item| item["label"] == "path").expect("`path`");
    assert_eq!(path["textEdit"]["range"]["start"], after_dot);
    assert_eq!(path["textEdit"]["newText"], "path");

    // The edits are analysed all the same: `f.pa` is no field.
    let diagnostics = client.diagnostics(uri, Some(3)).await;
    assert!(diagnostics.iter().any(|d| d["code"] == "E0206"), "{diagnostics:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_document_is_completed_after_its_analysis() {
    let client = Client::start(None).await;
    let uri = "file:///nowhere/new.orch";
    let text = "param port: int = 80\noutput o: int = p\n";
    // Opened and asked at once: there is no earlier analysis of it.
    client.open(uri, 1, text);
    let items = client.completion(uri, json!({ "line": 1, "character": 17 })).await;
    assert!(labels(&items).contains(&"port"), "{:?}", labels(&items));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lists_are_cut_to_what_matches_and_marked_incomplete() {
    let mut client = Client::start(None).await;
    let uri = "file:///nowhere/many.orch";
    let mut text = String::new();
    for i in 0..300 {
        let _ = writeln!(text, "let value_{i} = {i}");
    }
    text.push_str("let wanted = 1\noutput o: int = w\n");
    client.open(uri, 1, &text);
    client.diagnostics(uri, Some(1)).await;
    let params = json!({
        "textDocument": { "uri": uri },
        "position": { "line": 301, "character": 17 },
    });
    let result = client.request("textDocument/completion", params).await.unwrap();
    assert_eq!(result["isIncomplete"], true, "{result}");
    let items = result["items"].as_array().unwrap();
    // `w` keeps `wanted` (and the names and functions with a `w` in
    // them), not the 300 `value_N`.
    assert!(items.iter().any(|item| item["label"] == "wanted"));
    assert!(items.iter().all(|item| item["label"].as_str().unwrap().contains('w')), "{items:?}");
}
