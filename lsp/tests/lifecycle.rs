//! The editor's side of renames (LANGUAGE.md §11): renaming a resource
//! adds the `moved` block that keeps its objects, and an identity conflict
//! (`E0906`, reported by `orchc plan`) gets that block as a quick fix.

mod support;

use serde_json::{Value, json};
use support::{Client, data, position_of, uri};

/// The text after applying the edits of `edit` for `uri`.
fn applied(text: &str, edit: &Value, uri: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = edit["changes"][uri]
        .as_array()
        .unwrap_or_else(|| panic!("edits for {uri} in {edit}"))
        .iter()
        .map(|e| {
            let at = |p: &Value| {
                let line = p["line"].as_u64().unwrap() as usize;
                let character = p["character"].as_u64().unwrap() as usize;
                let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
                let mut units = 0;
                for (index, c) in text[start..].char_indices() {
                    if units >= character || c == '\n' {
                        return start + index;
                    }
                    units += c.len_utf16();
                }
                text.len()
            };
            (
                at(&e["range"]["start"]),
                at(&e["range"]["end"]),
                e["newText"].as_str().unwrap().into(),
            )
        })
        .collect();
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut out = text.to_string();
    for (start, end, new_text) in edits {
        out.replace_range(start..end, &new_text);
    }
    out
}

async fn opened(client: &mut Client) -> (String, String) {
    let path = data("lifecycle/main.orch");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = uri(&path);
    client.open(&uri, 1, &text);
    assert_eq!(client.diagnostics(&uri, Some(1)).await, Vec::<Value>::new());
    (uri, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_a_resource_adds_the_moved_block_that_keeps_its_objects() {
    let mut client = Client::start(None).await;
    let (uri, text) = opened(&mut client).await;
    let params = json!({
        "textDocument": { "uri": uri },
        "position": position_of(&text, "resource page", 9),
        "newName": "doc",
    });
    let edit = client.request("textDocument/rename", params).await.expect("a rename");
    let renamed = applied(&text, &edit, &uri);
    assert!(renamed.contains("  resource doc: fs.file {"), "{renamed}");
    assert!(renamed.contains("content = doc[\"a\"].path"), "{renamed}");
    assert!(renamed.ends_with("}\n\nmoved {\n  from = page\n  to   = doc\n}\n"), "{renamed}");
    // The result checks clean and is already in `orchc fmt` layout.
    assert_eq!(orch_lang::fmt::format(&renamed).unwrap(), renamed);
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": renamed }] }),
    );
    assert_eq!(client.diagnostics(&uri, Some(2)).await, Vec::<Value>::new());

    // A rename of something that names no object adds no block.
    let params = json!({
        "textDocument": { "uri": uri },
        "position": position_of(&renamed, "param names", 7),
        "newName": "keys",
    });
    let edit = client.request("textDocument/rename", params).await.expect("a rename");
    let renamed_again = applied(&renamed, &edit, &uri);
    assert_eq!(renamed_again.matches("moved {").count(), 1, "{renamed_again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_conflict_from_a_plan_gets_the_moved_block_as_a_quick_fix() {
    let mut client = Client::start(None).await;
    let (uri, text) = opened(&mut client).await;
    // As `orchc plan` reports it, at the created instance's declaration.
    let start = position_of(&text, "page: fs.file", 0);
    let end = position_of(&text, "page: fs.file", 4);
    let conflict = json!({
        "range": { "start": start, "end": end },
        "severity": 1,
        "code": "E0906",
        "source": "orchc",
        "message": "`f[\"a\"]` would be deleted and `page[\"a\"]` created, but both are the fs.file \"out/a.txt\"",
    });
    let params = json!({
        "textDocument": { "uri": uri },
        "range": conflict["range"],
        "context": { "diagnostics": [conflict], "only": ["quickfix"] },
    });
    let actions = client.request("textDocument/codeAction", params).await.expect("actions");
    let actions = actions.as_array().cloned().unwrap_or_default();
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(action["title"], "Add `moved { from = f  to = page }` to keep the object");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"][0]["code"], "E0906");
    let fixed = applied(&text, &action["edit"], &uri);
    assert!(fixed.ends_with("}\n\nmoved {\n  from = f\n  to   = page\n}\n"), "{fixed}");

    // The addresses may come in the diagnostic's data too.
    let with_data = json!({
        "range": { "start": start, "end": end },
        "code": "E0906",
        "message": "identity conflict",
        "data": { "from": "old_index", "to": "index" },
    });
    let params = json!({
        "textDocument": { "uri": uri },
        "range": with_data["range"],
        "context": { "diagnostics": [with_data] },
    });
    let actions = client.request("textDocument/codeAction", params).await.expect("actions");
    let fixed = applied(&text, &actions[0]["edit"], &uri);
    assert!(fixed.ends_with("moved {\n  from = old_index\n  to   = index\n}\n"), "{fixed}");
}
