//! Test files (`*.test.orch`, LANGUAGE.md §12) in the language server:
//! they are analysed with the module they test (fixture
//! `tests/data/testing/`: `main.orch` and `main.test.orch`), so a test's
//! assertions see the module's names: diagnostics, hover, completion and
//! go to definition into the module.

mod support;

use serde_json::{Value, json};
use support::{Client, data, position_of, uri};

fn text(name: &str) -> String {
    std::fs::read_to_string(data("testing").join(name)).expect("the fixture exists")
}

fn uri_of(name: &str) -> String {
    uri(&data("testing").join(name))
}

async fn start() -> Client {
    let mut client = Client::start(Some(&data("testing"))).await;
    client.open(&uri_of("main.test.orch"), 1, &text("main.test.orch"));
    let diagnostics = client.diagnostics(&uri_of("main.test.orch"), Some(1)).await;
    assert_eq!(diagnostics, Vec::<Value>::new(), "the module's names resolve in its test file");
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_goes_from_a_test_into_the_module() {
    let client = start().await;
    let test = text("main.test.orch");
    let target =
        client.definition(&uri_of("main.test.orch"), position_of(&test, "conf.content", 1)).await;
    assert_eq!(target["uri"], uri_of("main.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 2, "character": 9 }));
    let target =
        client.definition(&uri_of("main.test.orch"), position_of(&test, "hash ==", 1)).await;
    assert_eq!(target["uri"], uri_of("main.orch"), "{target}");
    assert_eq!(target["range"]["start"], json!({ "line": 7, "character": 7 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_in_a_test_shows_the_module_declaration() {
    let client = start().await;
    let test = text("main.test.orch");
    let hover =
        client.hover(&uri_of("main.test.orch"), position_of(&test, "conf.content", 1)).await;
    assert!(hover.contains("fs.file"), "{hover}");
    let hover = client.hover(&uri_of("main.test.orch"), position_of(&test, "hash ==", 1)).await;
    assert!(hover.contains("string"), "{hover}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_in_a_test_offers_the_module_names() {
    let client = start().await;
    let test = text("main.test.orch");
    // At the start of the first assertion's condition.
    let items =
        client.completion(&uri_of("main.test.orch"), position_of(&test, "conf.content", 1)).await;
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    for name in ["conf", "hash", "replicas"] {
        assert!(labels.contains(&name), "{name} in {labels:?}");
    }
    // After `conf.`: the fields of an fs.file.
    let items =
        client.completion(&uri_of("main.test.orch"), position_of(&test, "content ==", 1)).await;
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(labels.contains(&"sha256"), "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_in_a_test_file_are_reported_in_it() {
    let mut client = start().await;
    let uri = uri_of("main.test.orch");
    client.open(
        &uri,
        2,
        "mock fs.file {\n  sha256 = 1\n}\n\ntest t {\n  command = \"deploy\"\n  assert conff == 1, \"x\"\n}\n",
    );
    let diagnostics = client.diagnostics(&uri, Some(2)).await;
    let mut codes: Vec<&str> = diagnostics.iter().filter_map(|d| d["code"].as_str()).collect();
    codes.sort();
    assert!(codes.contains(&"E0101"), "an unknown name: {diagnostics:?}");
    assert!(codes.contains(&"E1101"), "a bad command: {diagnostics:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outline_of_a_test_file_lists_its_mocks_and_tests() {
    let client = start().await;
    let symbols = client
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri_of("main.test.orch") } }),
        )
        .await
        .expect("document symbols");
    let names: Vec<&str> =
        symbols.as_array().expect("a list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["mock fs.file", "test three_replicas"], "{symbols}");
    let test = &symbols[1];
    // The test's entry stands on its name.
    assert_eq!(test["selectionRange"]["start"], json!({ "line": 4, "character": 5 }), "{test}");
}
