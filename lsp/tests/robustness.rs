//! The server never panics or hangs, whatever it is sent: random
//! incremental edits with positions in and out of range, junk text and
//! binary data, huge documents, and requests at random positions in
//! between. Every request must be answered in time and without an
//! internal error, and the server must still work afterwards.

mod support;

use serde_json::{Value, json};
use support::{Client, data, uri};

/// A small deterministic generator (xorshift), so that a failure can be
/// replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces of Orch and of junk that random edits insert.
const PIECES: &[&str] = &[
    "",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    "\"\"\"",
    "${",
    "}\"",
    ".",
    "?.",
    ":",
    "=",
    "\n",
    "\r\n",
    "\t",
    "é",
    "😀",
    "\u{0}",
    "\u{feff}",
    "\u{fffd}",
    "// c",
    "/// doc\n",
    "resource ",
    "resource x: fs.file {\n  path = \"/x\"\n}\n",
    "data d: env.var { name = \"HOME\" }\n",
    "module m: \"./modules/site.orch\" {\n",
    "import \"./modules/common.orch\" as c\n",
    "let a = [for x in [1, 2] if x > 1: x * 2]\n",
    "for k, v in {a = 1} {\n",
    "if true {",
    "else",
    "output o: int = ",
    "param p: secret<string>\n",
    "@depends_on(",
    "length(",
    "docs.",
    "common.",
    "0o755",
    "1_000",
    "12s",
    "..=",
    "??",
    "&&",
    "||",
    "!",
    "@",
];

fn junk(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => (0..rng.below(40)).map(|_| char::from(rng.below(128) as u8)).collect(),
        1 => {
            (0..rng.below(20)).filter_map(|_| char::from_u32(rng.below(0x11_0000) as u32)).collect()
        }
        _ => (0..1 + rng.below(3)).map(|_| rng.pick(PIECES)).collect(),
    }
}

fn random_position(rng: &mut Rng, text: &str) -> Value {
    let lines = text.lines().count() + 2;
    json!({ "line": rng.below(lines), "character": rng.below(60) })
}

/// Whether a response is an internal error (a caught panic, a time-out).
fn is_internal_error(response: &Result<Value, Value>) -> bool {
    matches!(response, Err(error) if error["code"] == -32603)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_and_requests_never_crash_the_server() {
    let main = data("workspace/main.orch");
    let original = std::fs::read_to_string(&main).unwrap();
    let uri = uri(&main);
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 42, 7_777_777, 0xdead_beef] {
        let mut client = Client::start(Some(&data("workspace"))).await;
        let mut rng = Rng(seed);
        // The client's idea of the text, to aim positions at real lines.
        let mut text = original.clone();
        client.open(&uri, 1, &text);
        let mut version = 1;
        for step in 0..120 {
            match rng.below(10) {
                0..=4 => {
                    version += 1;
                    let inserted = junk(&mut rng);
                    let (start, end) =
                        (random_position(&mut rng, &text), random_position(&mut rng, &text));
                    client.edit(&uri, version, start, end, &inserted);
                    text.push_str(&inserted);
                }
                5 => {
                    version += 1;
                    text = if rng.below(2) == 0 { junk(&mut rng) } else { original.clone() };
                    client.notify(
                        "textDocument/didChange",
                        json!({
                            "textDocument": { "uri": uri, "version": version },
                            "contentChanges": [{ "text": text }],
                        }),
                    );
                }
                _ => {
                    let at = random_position(&mut rng, &text);
                    let (method, params) = match rng.below(5) {
                        0 => (
                            "textDocument/hover",
                            json!({ "textDocument": { "uri": uri }, "position": at }),
                        ),
                        1 => (
                            "textDocument/definition",
                            json!({ "textDocument": { "uri": uri }, "position": at }),
                        ),
                        2 => (
                            "textDocument/completion",
                            json!({ "textDocument": { "uri": uri }, "position": at }),
                        ),
                        3 => (
                            "textDocument/documentSymbol",
                            json!({ "textDocument": { "uri": uri } }),
                        ),
                        _ => (
                            "textDocument/formatting",
                            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
                        ),
                    };
                    let response = client.request(method, params).await;
                    assert!(
                        !is_internal_error(&response),
                        "seed {seed:#x}, step {step}: {method} failed: {response:?}"
                    );
                }
            }
        }
        // The last version is analysed and published, and the server still
        // works: the original text has no problems.
        client.diagnostics(&uri, Some(version)).await;
        version += 1;
        client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": original }],
            }),
        );
        assert_eq!(
            client.diagnostics(&uri, Some(version)).await,
            Vec::<Value>::new(),
            "seed {seed:#x}"
        );
        let log = client.drain();
        assert!(
            !log.iter().any(|m| m["method"] == "window/logMessage" && m["params"]["type"] == 1),
            "seed {seed:#x}: errors were logged: {log:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_junk_and_huge_documents_are_analysed_in_time() {
    let mut client = Client::start(None).await;
    let junk_uri = "file:///nowhere/junk.bin";
    let junk: String = (0u32..2048).filter_map(|i| char::from_u32((i * 7919) % 0x3000)).collect();
    client.open(junk_uri, 1, &junk);
    let diagnostics = client.diagnostics(junk_uri, Some(1)).await;
    assert!(!diagnostics.is_empty());
    let at = json!({ "line": 3, "character": 5 });
    assert!(!is_internal_error(
        &client
            .request(
                "textDocument/completion",
                json!({ "textDocument": { "uri": junk_uri }, "position": at })
            )
            .await
    ));

    // Five thousand declarations in one file.
    let huge_uri = "file:///nowhere/huge.orch";
    let mut huge: String = (0..5_000).map(|i| format!("let v{i} = \"é{i}\"\n")).collect();
    huge.push_str("output last: string = v4999\n");
    client.open(huge_uri, 1, &huge);
    let diagnostics = client.diagnostics(huge_uri, Some(1)).await;
    // At most 100 diagnostics per file, then one note counting the rest.
    let (notes, unused): (Vec<&Value>, Vec<&Value>) =
        diagnostics.iter().partition(|d| d["code"].is_null());
    assert_eq!(unused.len(), 100);
    assert!(unused.iter().all(|d| d["code"] == "W0102"), "only unused lets");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["severity"], 3, "information");
    assert!(
        notes[0]["message"].as_str().unwrap().starts_with("and 4899 more diagnostics"),
        "{notes:?}"
    );
    let hover = client.hover(huge_uri, json!({ "line": 5_000, "character": 24 })).await;
    assert!(hover.contains("let v4999: string"), "{hover}");

    // Deep nesting stays within the analysis stack.
    let deep_uri = "file:///nowhere/deep.orch";
    let deep = format!("let x = {}1{}\n", "[".repeat(5_000), "]".repeat(5_000));
    client.open(deep_uri, 1, &deep);
    client.diagnostics(deep_uri, Some(1)).await;
    let at = json!({ "line": 0, "character": 2_600 });
    assert!(!is_internal_error(
        &client
            .request(
                "textDocument/hover",
                json!({ "textDocument": { "uri": deep_uri }, "position": at })
            )
            .await
    ));
}
