//! Semantic tokens, inlay hints and quick fixes over the real protocol, on
//! the fixtures under `tests/data/presentation/`. Every fixture has
//! non-ASCII text (`é`: one UTF-16 unit, two bytes; `😀`: two units, four
//! bytes) before the positions that matter, so that UTF-16 columns differ
//! from byte and character columns.

mod support;

use orch_compiler::ide::{TokenModifier, TokenType};
use serde_json::{Value, json};
use support::{Client, data, position, uri};

/// A decoded semantic token: line, UTF-16 column, UTF-16 length, type
/// name and modifier names.
#[derive(Debug, Clone, PartialEq)]
struct Decoded {
    line: u32,
    character: u32,
    length: u32,
    ty: &'static str,
    modifiers: Vec<&'static str>,
}

/// Turns the relative encoding back into absolute positions.
fn decode(data: &Value) -> Vec<Decoded> {
    let numbers: Vec<u32> =
        data.as_array().expect("data").iter().map(|n| n.as_u64().unwrap() as u32).collect();
    let (mut line, mut character) = (0, 0);
    numbers
        .chunks_exact(5)
        .map(|chunk| {
            line += chunk[0];
            character = if chunk[0] == 0 { character + chunk[1] } else { chunk[1] };
            Decoded {
                line,
                character,
                length: chunk[2],
                ty: TokenType::ALL[chunk[3] as usize].name(),
                modifiers: TokenModifier::ALL
                    .iter()
                    .filter(|m| chunk[4] & m.bit() != 0)
                    .map(|m| m.name())
                    .collect(),
            }
        })
        .collect()
}

/// The UTF-16 length of `text`.
fn units(text: &str) -> u32 {
    text.encode_utf16().count() as u32
}

/// The byte offset of a protocol position in `text`.
fn offset(text: &str, at: &Value) -> usize {
    let line = at["line"].as_u64().unwrap() as usize;
    let character = at["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (index, c) in text[start..].char_indices() {
        if units >= character || c == '\n' {
            return start + index;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// Applies the edits of a code action's workspace edit for `uri`.
fn apply(text: &str, action: &Value, uri: &str) -> String {
    let mut edits: Vec<(usize, usize, String)> = action["edit"]["changes"][uri]
        .as_array()
        .unwrap_or_else(|| panic!("edits for {uri} in {action}"))
        .iter()
        .map(|edit| {
            let start = offset(text, &edit["range"]["start"]);
            let end = offset(text, &edit["range"]["end"]);
            (start, end, edit["newText"].as_str().unwrap().to_string())
        })
        .collect();
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut out = text.to_string();
    for (start, end, new_text) in edits {
        out.replace_range(start..end, &new_text);
    }
    out
}

/// Opens a fixture and returns its URI, its text and its first
/// diagnostics.
async fn open(client: &mut Client, name: &str) -> (String, String, Vec<Value>) {
    let path = data(&format!("presentation/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = uri(&path);
    client.open(&uri, 1, &text);
    let diagnostics = client.diagnostics(&uri, Some(1)).await;
    (uri, text, diagnostics)
}

/// The code actions for `diagnostic`, asked as an editor does: its range,
/// with it in the context.
async fn actions_for(client: &Client, uri: &str, diagnostic: &Value) -> Vec<Value> {
    let params = json!({
        "textDocument": { "uri": uri },
        "range": diagnostic["range"],
        "context": { "diagnostics": [diagnostic], "only": ["quickfix"] },
    });
    let result = client.request("textDocument/codeAction", params).await.expect("codeAction");
    result.as_array().cloned().unwrap_or_default()
}

/// Replaces the document with `text` as version `version` and returns
/// its diagnostics.
async fn replace(client: &mut Client, uri: &str, version: i64, text: &str) -> Vec<Value> {
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": uri, "version": version },
            "contentChanges": [{ "text": text }],
        }),
    );
    client.diagnostics(uri, Some(version)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_tokens_are_classified_and_positioned_in_utf16() {
    let mut client = Client::start(None).await;
    let (uri, text, diagnostics) = open(&mut client, "tokens.orch").await;
    assert_eq!(diagnostics, Vec::<Value>::new());
    let result = client
        .request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } }))
        .await
        .expect("semantic tokens");
    let tokens = decode(&result["data"]);
    // The token that starts at `needle` (its `nth` byte).
    let at = |needle: &str, nth: usize| -> &Decoded {
        let start = text.find(needle).unwrap_or_else(|| panic!("`{needle}`")) + nth;
        let place = position(&text, start);
        tokens
            .iter()
            .find(|t| json!({ "line": t.line, "character": t.character }) == place)
            .unwrap_or_else(|| panic!("no token at `{needle}` ({place}) in {tokens:?}"))
    };

    let doc = at("/// Größe", 0);
    assert_eq!((doc.ty, doc.modifiers.as_slice()), ("comment", &["documentation"][..]));
    assert_eq!(doc.length, units("/// Größe « café » 😀"));
    assert_eq!(at("param", 0).ty, "keyword");
    let port = at("port:", 0);
    assert_eq!((port.ty, port.modifiers.as_slice()), ("parameter", &["declaration"][..]));
    assert_eq!(at("int", 0).modifiers, ["defaultLibrary"]);
    assert_eq!(at("80", 0).ty, "number");
    let label = at("label =", 0);
    assert_eq!(
        (label.ty, label.modifiers.as_slice()),
        ("variable", &["declaration", "readonly"][..])
    );

    // Line 2, after `é😀 `: the string, the interpolation, the name, and
    // the comments, at UTF-16 columns.
    let string = at("\"é😀", 0);
    assert_eq!((string.ty, string.character, string.length), ("string", 12, units("\"é😀 ")));
    let open_interpolation = at("${port}", 0);
    assert_eq!((open_interpolation.ty, open_interpolation.character), ("operator", 17));
    let use_of_port = at("${port}", 2);
    assert_eq!((use_of_port.ty, use_of_port.character, use_of_port.length), ("parameter", 19, 4));
    let block = at("/* ü */", 0);
    assert_eq!((block.ty, block.character, block.length), ("comment", 26, 7));
    assert_eq!(at("// ö", 0).character, 34);

    // A block comment over two lines is two tokens.
    let first = at("/* one", 0);
    assert_eq!((first.ty, first.length), ("comment", units("/* one ü")));
    let second = at("   two", 0);
    assert_eq!((second.ty, second.character, second.length), ("comment", 0, units("   two 😀 */")));
    let output = at("o =", 0);
    assert_eq!(output.modifiers, ["declaration", "output"]);
    assert_eq!(at("label}", 0).modifiers, ["readonly"]);

    // The range request returns the tokens of the lines asked for, with
    // positions still relative to the start of the document.
    let result = client
        .request(
            "textDocument/semanticTokens/range",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": { "line": 2, "character": 0 }, "end": { "line": 3, "character": 0 } },
            }),
        )
        .await
        .expect("semantic tokens in a range");
    let in_range = decode(&result["data"]);
    assert!(in_range.iter().all(|t| t.line == 2), "{in_range:?}");
    let expected: Vec<&Decoded> = tokens.iter().filter(|t| t.line == 2).collect();
    assert_eq!(in_range.iter().collect::<Vec<_>>(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inlay_hints_show_inferred_types_secrets_and_apply_time_values() {
    let mut client = Client::start(None).await;
    let (uri, text, diagnostics) = open(&mut client, "hints.orch").await;
    assert_eq!(diagnostics, Vec::<Value>::new());
    let hints = client
        .request(
            "textDocument/inlayHint",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": { "line": 0, "character": 0 }, "end": position(&text, text.len()) },
            }),
        )
        .await
        .expect("inlay hints");
    let hints = hints.as_array().expect("hints");
    let hint = |after: &str| -> Vec<&Value> {
        let at = position(&text, text.find(after).unwrap() + after.len());
        hints.iter().filter(|h| h["position"] == at).collect()
    };
    let labels = |after: &str| -> Vec<&str> {
        hint(after).iter().map(|h| h["label"].as_str().unwrap()).collect()
    };
    assert_eq!(labels("let by_name"), [": map<string>"]);
    assert_eq!(hint("let by_name")[0]["kind"], 1, "a type hint");
    assert_eq!(labels("let hidden"), [": secret<string>"]);
    assert!(!hints.iter().any(|h| h.to_string().contains("hunter2")), "{hints:?}");
    assert_eq!(labels("output count"), [": int"]);
    assert_eq!(labels("let out"), [": string"]);
    // Known only after apply: the `let` and the field that uses it.
    assert_eq!(labels("let out = run.stdout"), ["(known after apply)"]);
    assert_eq!(labels("content = out"), ["(known after apply)"]);
    let why = &hint("content = out")[0]["tooltip"]["value"];
    assert!(why.as_str().unwrap().contains("run.stdout"), "{why}");
    assert_eq!(hints.len(), 6, "{hints:?}");

    // A range gets the hints inside it only.
    let line = text[..text.find("let hidden").unwrap()].matches('\n').count();
    let hints = client
        .request(
            "textDocument/inlayHint",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": { "line": line, "character": 0 }, "end": { "line": line + 1, "character": 0 } },
            }),
        )
        .await
        .expect("inlay hints");
    let labels: Vec<&str> =
        hints.as_array().unwrap().iter().map(|h| h["label"].as_str().unwrap()).collect();
    assert_eq!(labels, [": secret<string>"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_you_mean_fix_replaces_the_name() {
    let mut client = Client::start(None).await;
    let (uri, text, diagnostics) = open(&mut client, "did_you_mean.orch").await;
    let error = diagnostics.iter().find(|d| d["code"] == "E0101").expect("E0101");
    let actions = actions_for(&client, &uri, error).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(action["title"], "Change to `host`");
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"], json!([error]));
    let fixed = apply(&text, action, &uri);
    assert_eq!(fixed, text.replace("${hots}", "${host}"));
    assert_eq!(replace(&mut client, &uri, 2, &fixed).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_fields_fix_adds_them_at_the_body_indentation() {
    let mut client = Client::start(None).await;
    let (uri, text, diagnostics) = open(&mut client, "missing_fields.orch").await;
    let error = diagnostics.iter().find(|d| d["code"] == "E0302").expect("E0302");
    let actions = actions_for(&client, &uri, error).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["title"], "Add missing required field `path`");
    let fixed = apply(&text, &actions[0], &uri);
    assert_eq!(fixed, text.replace("« notes »\"\n", "« notes »\"\n  path = \"\"\n"));
    assert_eq!(replace(&mut client, &uri, 2, &fixed).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn may_be_none_fixes_use_question_dots_and_defaults() {
    let mut client = Client::start(None).await;
    let (uri, text, diagnostics) = open(&mut client, "may_be_none.orch").await;
    assert_eq!(diagnostics.len(), 2, "{diagnostics:?}");
    assert!(diagnostics.iter().all(|d| d["code"] == "E0204"), "{diagnostics:?}");

    // `f.sha256` where `f` exists only if `enabled`.
    let actions = actions_for(&client, &uri, &diagnostics[0]).await;
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Use `?.sha256`", "Use `?.sha256` with a default: `?? \"\"`"]);
    let fixed = apply(&text, &actions[0], &uri);
    assert!(fixed.contains("output h = f?.sha256\n"), "{fixed}");

    // A conditional that may be none, in an interpolation.
    let actions = actions_for(&client, &uri, &diagnostics[1]).await;
    let titles: Vec<&str> = actions.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Add a default: `?? \"\"`"]);
    let fixed = apply(&fixed, &actions[0], &uri);
    assert!(fixed.contains("\"é😀 ${(enabled ? \"on\" : none) ?? \"\"}\""), "{fixed}");
    assert_eq!(replace(&mut client, &uri, 2, &fixed).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_actions_of_other_kinds_and_clean_ranges_are_empty() {
    let mut client = Client::start(None).await;
    let (uri, _, diagnostics) = open(&mut client, "did_you_mean.orch").await;
    let error = diagnostics.iter().find(|d| d["code"] == "E0101").expect("E0101");
    let params = json!({
        "textDocument": { "uri": uri },
        "range": error["range"],
        "context": { "diagnostics": [error], "only": ["refactor"] },
    });
    assert_eq!(client.request("textDocument/codeAction", params).await, Ok(Value::Null));
    let params = json!({
        "textDocument": { "uri": uri },
        "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 3 } },
        "context": { "diagnostics": [] },
    });
    assert_eq!(client.request("textDocument/codeAction", params).await, Ok(json!([])));
}

/// Whether a response is an internal error (a caught panic, a time-out).
fn is_internal_error(response: &Result<Value, Value>) -> bool {
    matches!(response, Err(error) if error["code"] == -32603)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presentation_requests_answer_on_broken_and_huge_documents() {
    let mut client = Client::start(None).await;
    let (uri, text, _) = open(&mut client, "may_be_none.orch").await;
    let everything = json!({
        "start": { "line": 0, "character": 0 },
        "end": { "line": 400, "character": 9000 },
    });
    let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).step_by(5).collect();
    for (version, cut) in cuts.into_iter().enumerate() {
        let version = version as i64 + 2;
        let broken = format!("{}}}\"${{ é😀", &text[..cut]);
        replace(&mut client, &uri, version, &broken).await;
        let line = (version as usize) % 12;
        let some_lines = json!({
            "start": { "line": line, "character": 3 },
            "end": { "line": line + 2, "character": 70 },
        });
        for (method, params) in [
            ("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": uri } })),
            (
                "textDocument/semanticTokens/range",
                json!({ "textDocument": { "uri": uri }, "range": some_lines }),
            ),
            (
                "textDocument/inlayHint",
                json!({ "textDocument": { "uri": uri }, "range": everything }),
            ),
            (
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": everything, "context": { "diagnostics": [] } }),
            ),
        ] {
            let response = client.request(method, params).await;
            assert!(!is_internal_error(&response), "{method} on {broken:?}: {response:?}");
        }
    }

    // Five thousand declarations: one hint and a few tokens each.
    let huge_uri = "file:///nowhere/huge.orch";
    let mut huge: String = (0..5_000).map(|i| format!("let v{i} = \"é{i}\" // ü\n")).collect();
    huge.push_str("output last: string = v4999\n");
    client.open(huge_uri, 1, &huge);
    client.diagnostics(huge_uri, Some(1)).await;
    let tokens = client
        .request("textDocument/semanticTokens/full", json!({ "textDocument": { "uri": huge_uri } }))
        .await
        .expect("semantic tokens");
    let tokens = decode(&tokens["data"]);
    assert_eq!(tokens.len(), 5_000 * 4 + 4, "keyword, name, string and comment per line");
    assert_eq!(tokens[5_000 * 4 - 1].line, 4_999);
    let hints = client
        .request(
            "textDocument/inlayHint",
            json!({
                "textDocument": { "uri": huge_uri },
                "range": { "start": { "line": 0, "character": 0 }, "end": position(&huge, huge.len()) },
            }),
        )
        .await
        .expect("inlay hints");
    assert_eq!(hints.as_array().unwrap().len(), 5_000);
}
