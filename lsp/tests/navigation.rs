//! Find references, rename, workspace symbols and signature help over the
//! real protocol, on the fixture under `tests/data/navigation/`: a root,
//! a module it instantiates and a file both import. Positions are UTF-16
//! columns, and the root has non-ASCII text before some of the names.

mod support;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use support::{Client, data, position, position_of, uri};

/// The fixture's files: path relative to the fixture, URI and text.
struct Fixture {
    files: Vec<(&'static str, String, String)>,
}

impl Fixture {
    fn read() -> Fixture {
        let files = ["main.orch", "lib/site.orch", "lib/shared.orch"]
            .into_iter()
            .map(|name| {
                let path = data("navigation").join(name);
                let text = std::fs::read_to_string(&path).expect("the fixture exists");
                (name, uri(&path), text)
            })
            .collect();
        Fixture { files }
    }

    fn uri(&self, name: &str) -> &str {
        &self.file(name).1
    }

    fn text(&self, name: &str) -> &str {
        &self.file(name).2
    }

    fn file(&self, name: &str) -> &(&'static str, String, String) {
        self.files.iter().find(|(n, _, _)| *n == name).expect("a fixture file")
    }

    /// The name of the file at `uri`.
    fn name_of(&self, uri: &str) -> &'static str {
        self.files.iter().find(|(_, u, _)| u == uri).map(|(n, _, _)| *n).expect("a fixture URI")
    }
}

/// Starts a server on the fixture with the root open, once it is analysed.
async fn start(fixture: &Fixture) -> Client {
    let mut client = Client::start(Some(&data("navigation"))).await;
    client.open(fixture.uri("main.orch"), 1, fixture.text("main.orch"));
    let diagnostics = client.diagnostics(fixture.uri("main.orch"), Some(1)).await;
    assert_eq!(diagnostics, Vec::<Value>::new(), "the fixture is clean");
    client
}

/// The byte offset of a protocol position (UTF-16 column) in `text`.
fn offset(text: &str, at: &Value) -> usize {
    let line = at["line"].as_u64().unwrap() as usize;
    let column = at["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (index, c) in text[start..].char_indices() {
        if units >= column || c == '\n' {
            return start + index;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// `items`, sorted like [`located`] sorts.
fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// Each location as `file:offset:text`, sorted.
fn located(fixture: &Fixture, locations: &Value) -> Vec<String> {
    let mut out: Vec<String> = locations
        .as_array()
        .expect("a list of locations")
        .iter()
        .map(|location| {
            let name = fixture.name_of(location["uri"].as_str().unwrap());
            let text = fixture.text(name);
            let range = &location["range"];
            let (start, end) = (offset(text, &range["start"]), offset(text, &range["end"]));
            format!("{name}:{start}:{}", &text[start..end])
        })
        .collect();
    out.sort();
    out
}

async fn references(client: &Client, uri: &str, at: Value, declaration: bool) -> Value {
    let params = json!({
        "textDocument": { "uri": uri },
        "position": at,
        "context": { "includeDeclaration": declaration },
    });
    client.request("textDocument/references", params).await.expect("references succeed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_span_files_in_utf16() {
    let fixture = Fixture::read();
    let client = start(&fixture).await;
    let main = fixture.text("main.orch");
    let site = fixture.text("lib/site.orch");
    let shared = fixture.text("lib/shared.orch");
    let at = |text: &str, needle: &str| text.find(needle).unwrap();

    // `base_port` of the shared file, asked from its use in the root.
    let uri = fixture.uri("main.orch");
    let found = references(&client, uri, position_of(main, "shared.base_port", 8), true).await;
    let declaration = format!("lib/shared.orch:{}:base_port", at(shared, "base_port"));
    let uses = vec![
        format!("lib/site.orch:{}:base_port", at(site, "base_port")),
        format!("main.orch:{}:base_port", at(main, "base_port")),
    ];
    let mut all = uses.clone();
    all.push(declaration);
    assert_eq!(located(&fixture, &found), sorted(all));
    let found = references(&client, uri, position_of(main, "shared.base_port", 8), false).await;
    assert_eq!(located(&fixture, &found), sorted(uses));

    // The module output, used after non-ASCII text: the range is in UTF-16
    // columns (`« é 😀 » ` is 9 units and 13 bytes).
    let found = references(&client, uri, position_of(main, "site.url", 6), true).await;
    let use_start = at(main, "site.url") + "site.".len();
    let in_root = found
        .as_array()
        .unwrap()
        .iter()
        .find(|location| location["uri"] == uri)
        .expect("the use in the root");
    assert_eq!(in_root["range"]["start"], position(main, use_start));
    assert_eq!(in_root["range"]["end"], position(main, use_start + "url".len()));
    assert_eq!(
        located(&fixture, &found),
        sorted(vec![
            format!("lib/site.orch:{}:url", at(site, "url")),
            format!("main.orch:{use_start}:url")
        ])
    );

    // A module param: its uses in the module and the argument in the root.
    let site_uri = fixture.uri("lib/site.orch");
    let found = references(&client, site_uri, position_of(site, "param label", 7), true).await;
    assert_eq!(
        located(&fixture, &found),
        sorted(vec![
            format!("lib/site.orch:{}:label", at(site, "label:")),
            format!("lib/site.orch:{}:label", at(site, "${label}") + 2),
            format!("main.orch:{}:label", at(main, "label =")),
        ])
    );

    // Nothing to follow on a keyword.
    let found = references(&client, uri, position_of(main, "module site", 1), true).await;
    assert_eq!(found, json!([]));
}

/// The texts after applying a workspace edit, by fixture file name.
fn apply(fixture: &Fixture, edit: &Value) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    for (uri, edits) in edit["changes"].as_object().expect("changes by URI") {
        let name = fixture.name_of(uri);
        let mut text = fixture.text(name).to_string();
        let mut edits: Vec<(usize, usize, &str)> = edits
            .as_array()
            .unwrap()
            .iter()
            .map(|edit| {
                let range = &edit["range"];
                let original = fixture.text(name);
                let start = offset(original, &range["start"]);
                (start, offset(original, &range["end"]), edit["newText"].as_str().unwrap())
            })
            .collect();
        edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
        for (start, end, new_text) in edits {
            text.replace_range(start..end, new_text);
        }
        out.insert(name, text);
    }
    out
}

async fn rename(client: &Client, uri: &str, at: Value, new_name: &str) -> Result<Value, Value> {
    let params = json!({ "textDocument": { "uri": uri }, "position": at, "newName": new_name });
    client.request("textDocument/rename", params).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_edits_every_file_or_says_why_not() {
    let fixture = Fixture::read();
    let client = start(&fixture).await;
    let main = fixture.text("main.orch");
    let uri = fixture.uri("main.orch");

    // Prepare: the range of the name under the cursor.
    let at = position_of(main, "label =", 2);
    let prepared = client
        .request(
            "textDocument/prepareRename",
            json!({ "textDocument": { "uri": uri }, "position": at }),
        )
        .await
        .expect("a name to rename");
    assert_eq!(prepared["start"], position_of(main, "label =", 0));
    assert_eq!(prepared["end"], position_of(main, "label =", 5));

    // Renaming the module param from its argument renames the param too.
    let edit = rename(&client, uri, at, "title").await.expect("a rename");
    let texts = apply(&fixture, &edit);
    assert_eq!(texts.keys().copied().collect::<Vec<_>>(), ["lib/site.orch", "main.orch"]);
    assert!(texts["main.orch"].contains("  title = service.name\n"), "{}", texts["main.orch"]);
    assert!(texts["lib/site.orch"].contains("param title: string\n"));
    assert!(texts["lib/site.orch"].contains("\"http://${title}:${port}\""));

    // A record field, renamed after non-ASCII text on the same line.
    let edit = rename(&client, uri, position_of(main, "service.port", 9), "number").await;
    let texts = apply(&fixture, &edit.expect("a rename"));
    assert!(texts["lib/shared.orch"].contains("{ name: string, number: int }"));
    assert!(texts["main.orch"].contains("name = \"api\", number = shared.base_port"));
    assert!(texts["main.orch"].contains("${site.url} ${service.number}\""));

    // Refused: a built-in function, a keyword, a name already declared.
    let at = position_of(main, "length(s)", 2);
    let refused = client
        .request(
            "textDocument/prepareRename",
            json!({ "textDocument": { "uri": uri }, "position": at }),
        )
        .await
        .expect_err("functions are not renamed");
    assert_eq!(refused["code"], -32803);
    assert!(refused["message"].as_str().unwrap().contains("built-in function"), "{refused}");
    let refused = rename(&client, uri, position_of(main, "param service", 7), "if")
        .await
        .expect_err("a keyword");
    assert!(refused["message"].as_str().unwrap().contains("keyword"), "{refused}");
    let refused = rename(&client, uri, position_of(main, "param service", 7), "site")
        .await
        .expect_err("a clash");
    let message = refused["message"].as_str().unwrap();
    assert!(message.contains("`site` is already declared in this module"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_symbols_match_the_query_in_every_file() {
    let fixture = Fixture::read();
    let client = start(&fixture).await;
    let symbols = |query: &str| {
        let params = json!({ "query": query });
        let client = &client;
        async move {
            client
                .request("workspace/symbol", params)
                .await
                .expect("symbols")
                .as_array()
                .cloned()
                .unwrap()
        }
    };
    let found = symbols("port").await;
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|s| {
            (s["name"].as_str().unwrap(), fixture.name_of(s["location"]["uri"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(names, [("port", "lib/site.orch"), ("base_port", "lib/shared.orch")]);
    let site = fixture.text("lib/site.orch");
    assert_eq!(found[0]["location"]["range"]["start"], position_of(site, "port:", 0));
    assert_eq!(found[0]["kind"], 13, "a variable");

    let all = symbols("").await;
    let mut names: Vec<&str> = all.iter().map(|s| s["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Service",
            "address",
            "base_port",
            "label",
            "port",
            "service",
            "shared",
            "shared",
            "site",
            "sizes",
            "url"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_help_follows_the_arguments() {
    let fixture = Fixture::read();
    let client = start(&fixture).await;
    let main = fixture.text("main.orch");
    let uri = fixture.uri("main.orch");
    let help = |at: Value| {
        let client = &client;
        async move {
            let params = json!({ "textDocument": { "uri": uri }, "position": at });
            client.request("textDocument/signatureHelp", params).await.expect("signature help")
        }
    };

    // After non-ASCII text on the line: the column is in UTF-16 units.
    let at = position_of(main, "length(s)", 7);
    assert_eq!(at["character"], 56);
    let result = help(at).await;
    let signature = &result["signatures"][0];
    assert_eq!(signature["label"], "length(value: string | list<T> | map<T>) -> int");
    assert_eq!(signature["parameters"][0]["label"], json!([7, 39]));
    assert_eq!(result["activeParameter"], 0);
    assert!(signature["documentation"]["value"].as_str().unwrap().len() > 10);

    // Typing a second argument to `join`: the second parameter.
    let mut client = client;
    let text = format!("{main}output joined: string = join(\"é\", [\"a\", \n");
    client.edit(
        uri,
        2,
        position(main, main.len()),
        position(main, main.len()),
        "output joined: string = join(\"é\", [\"a\", \n",
    );
    let _ = client.diagnostics(uri, Some(2)).await;
    let params =
        json!({ "textDocument": { "uri": uri }, "position": position(&text, text.len() - 1) });
    let result = client.request("textDocument/signatureHelp", params).await.expect("help");
    assert_eq!(
        result["signatures"][0]["label"],
        "join(separator: string, items: list<string>) -> string"
    );
    assert_eq!(result["activeParameter"], 1);

    // Outside any call.
    let params = json!({ "textDocument": { "uri": uri }, "position": position_of(main, "param service", 2) });
    assert_eq!(client.request("textDocument/signatureHelp", params).await, Ok(Value::Null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn navigation_requests_never_fail_internally() {
    let fixture = Fixture::read();
    let client = start(&fixture).await;
    for name in ["main.orch", "lib/site.orch"] {
        let (uri, text) = (fixture.uri(name), fixture.text(name));
        let lines: Vec<&str> = text.split('\n').collect();
        for (line, content) in lines.iter().enumerate() {
            let units = content.encode_utf16().count();
            // Every other column, and one past the end of the line.
            for character in (0..=units + 1).step_by(2) {
                let at = json!({ "line": line, "character": character });
                let document = json!({ "uri": uri });
                let requests = [
                    (
                        "textDocument/references",
                        json!({ "textDocument": document, "position": at, "context": { "includeDeclaration": true } }),
                    ),
                    (
                        "textDocument/prepareRename",
                        json!({ "textDocument": document, "position": at }),
                    ),
                    (
                        "textDocument/rename",
                        json!({ "textDocument": document, "position": at, "newName": "renamed" }),
                    ),
                    (
                        "textDocument/signatureHelp",
                        json!({ "textDocument": document, "position": at }),
                    ),
                ];
                for (method, params) in requests {
                    let response = client.request(method, params).await;
                    if let Err(error) = &response {
                        assert_eq!(error["code"], -32803, "{method} at {at}: {error}");
                    }
                }
            }
        }
    }
    let symbols = client.request("workspace/symbol", json!({ "query": "é😀" })).await;
    assert_eq!(symbols, Ok(json!([])));
}
