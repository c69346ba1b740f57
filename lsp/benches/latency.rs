//! Latency of the language server on a large document, driven in process
//! over the real protocol (the client of `lsp/tests/support`).
//!
//! ```sh
//! cargo bench -p orch-lsp --bench latency            # 2,850 resources, ~10,000 lines
//! cargo bench -p orch-lsp --bench latency -- 5700    # another size
//! ```
//!
//! It opens one generated document (`orch_tests::generate::configuration`),
//! then measures, each as the median of many samples:
//!
//! - **edit → diagnostics**: from sending a one-character `didChange` to
//!   receiving the `publishDiagnostics` of that version, edits [`PAUSE`]
//!   apart. The edits add and remove a letter inside a string, so every
//!   analysis is complete (parsing, checking and evaluation of every
//!   instance: a file with errors is not evaluated).
//! - **edit → error diagnostics**: the same for a letter added to and
//!   removed from a name, so that every other analysis reports `E0101`.
//! - **hover** and **completion** on a settled analysis.
//! - **completion right after an edit**: the `didChange` of a typed letter
//!   immediately followed by a completion request, as editors send them.
//! - **workspace: edit → diagnostics**: the document in a folder with nine
//!   more files of a tenth of its size (about 19,000 lines in all).
//!
//! Not a criterion benchmark: each sample is a protocol exchange that
//! waits for the analysis thread, and what matters is the distribution of
//! those waits, printed as median, 90th percentile and maximum.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, position};

const EDITS: usize = 40;
const QUERIES: usize = 60;
const WARM_UP: usize = 5;
/// The pause before each edit, shorter than the interval between
/// keystrokes of a fast typist (about 100 ms). The server frees the
/// previous analysis when it has nothing to do; back-to-back edits would
/// measure that too.
const PAUSE: Duration = Duration::from_millis(50);

fn main() {
    let resources =
        std::env::args().skip(1).find_map(|arg| arg.parse::<usize>().ok()).unwrap_or(2_850);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(resources));
}

async fn run(resources: usize) {
    let text = orch_tests::generate::configuration(resources);
    let lines = text.lines().count();
    println!(
        "document: {resources} resources, {lines} lines, {} bytes ({} build)",
        text.len(),
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );

    let mut client = Client::start(None).await;
    let uri = "file:///bench/main.orch";
    let started = Instant::now();
    client.open(uri, 1, &text);
    let diagnostics = client.diagnostics(uri, Some(1)).await;
    println!("open → diagnostics: {} ({} diagnostics)", ms(started.elapsed()), diagnostics.len());
    assert!(diagnostics.is_empty(), "the generated document is valid: {diagnostics:?}");
    let mut version = 1;

    // A letter added to and removed from a string in the middle of the
    // document: `"/srv/app-N/${env}"` of the middle block.
    let middle = resources.div_ceil(4) / 2;
    let needle = format!("\"/srv/app-{middle}/");
    let at = text.find(&needle).expect("the middle block") + needle.len();
    let samples = edits(&mut client, uri, &mut version, position(&text, at), "x").await;
    report("edit → diagnostics (valid, evaluated)", &samples, Some(50));

    // A letter added to and removed from a reference: `${root_N}` becomes
    // the unknown `${root_Nx}` and back.
    let needle = format!("${{root_{middle}}}");
    let at = text.find(&needle).expect("a reference") + needle.len() - 1;
    let samples = edits(&mut client, uri, &mut version, position(&text, at), "x").await;
    report("edit → diagnostics (every other one E0101)", &samples, Some(50));

    // Hover on a reference and completion after a dot, on a settled
    // analysis.
    let needle = format!("conf_{middle}.path");
    let reference = text.rfind(&needle).expect("the output of the middle block");
    let hover_at = position(&text, reference + 2);
    let mut samples = Vec::new();
    for i in 0..WARM_UP + QUERIES {
        let started = Instant::now();
        let hover = client.hover(uri, hover_at.clone()).await;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
        assert!(hover.contains("fs.file"), "{hover}");
    }
    report("hover", &samples, Some(20));

    let member_at = position(&text, reference + needle.len() - "path".len());
    let samples = completions(&client, uri, &member_at, "sha256").await;
    report("completion (members after `.`)", &samples, Some(20));

    let body_at = text.find("\n  create   = \"true\"").expect("a body") + 1;
    let samples = completions(&client, uri, &position(&text, body_at), "dir").await;
    report("completion (fields in a body)", &samples, Some(20));

    // Every name in scope: thousands of declarations.
    let needle = format!("content = upper(env) }}\noutput out_{middle}");
    let names_at =
        text.find(&needle).expect("the note of the middle block") + "content = upper(".len();
    let samples = completions(&client, uri, &position(&text, names_at), "env").await;
    report("completion (names in an expression, empty prefix)", &samples, Some(20));
    let samples = completions(&client, uri, &position(&text, names_at + 1), "env").await;
    report("completion (names in an expression, prefix `e`)", &samples, Some(20));

    // Typing a name in an expression, then asking for completion at once:
    // `content = upper(env)` → `upper(e` + `n`... Each sample types one
    // letter of `en` after `upper(` and asks right away; the next one
    // removes it again.
    let needle = format!(
        "resource note_{middle}: fs.file {{ path = \"${{root_{middle}}}/NOTE\", content = upper("
    );
    let at = text.find(&needle).expect("the note of the middle block") + needle.len();
    let typed_at = position(&text, at);
    let after = position(&text, at + 1);
    let mut samples = Vec::new();
    for i in 0..WARM_UP + EDITS {
        tokio::time::sleep(PAUSE).await;
        version += 1;
        client.edit(uri, version, typed_at.clone(), typed_at.clone(), "e");
        let started = Instant::now();
        let items = client.completion(uri, after.clone()).await;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
        assert!(items.iter().any(|item| item["label"] == "env"), "{items:?}");
        let _ = client.diagnostics(uri, Some(version)).await;
        version += 1;
        client.edit(uri, version, typed_at.clone(), after.clone(), "");
        let _ = client.diagnostics(uri, Some(version)).await;
    }
    report("completion right after a one-letter edit", &samples, Some(20));
    let _ = client.request("shutdown", Value::Null).await;

    workspace(&text, middle).await;
    large_workspace().await;
}

/// The same document in a workspace folder with nine more configurations
/// of a tenth of its size each, read from disk: every edit analyses the
/// ten files (each a root, checked and evaluated), parsing only the
/// edited one again.
async fn workspace(text: &str, middle: usize) {
    let folder = std::env::temp_dir().join(format!("orch-lsp-latency-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a temporary folder");
    let main = folder.join("main.orch");
    std::fs::write(&main, text).unwrap();
    let other = orch_tests::generate::configuration(285);
    for i in 0..9 {
        std::fs::write(folder.join(format!("other_{i}.orch")), &other).unwrap();
    }
    let lines = text.lines().count() + 9 * other.lines().count();
    println!("workspace: 10 files, {lines} lines");

    let mut client = Client::start(Some(&folder)).await;
    let uri = support::uri(&main);
    client.open(&uri, 1, text);
    assert!(client.diagnostics(&uri, Some(1)).await.is_empty());
    let mut version = 1;
    let needle = format!("\"/srv/app-{middle}/");
    let at = text.find(&needle).expect("the middle block") + needle.len();
    let samples = edits(&mut client, &uri, &mut version, position(text, at), "x").await;
    report("workspace: edit → diagnostics", &samples, None);
    let _ = client.request("shutdown", Value::Null).await;
    let _ = std::fs::remove_dir_all(&folder);
}

/// Issue 13's workspace: 100 files of about 1,000 lines each (100,000
/// lines) in one folder, read from disk; one of them is open and edited.
async fn large_workspace() {
    let folder = std::env::temp_dir().join(format!("orch-lsp-latency-100-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a temporary folder");
    let one = orch_tests::generate::configuration(285);
    let (params, body) = one.split_once("\n\n").expect("params, then blocks");
    for i in 0..100 {
        // The files of a folder form one module: the params once, and each
        // file its own names.
        let body = body.replace('_', &format!("_f{i}_"));
        let text = if i == 0 { format!("{params}\n\n{body}") } else { body };
        std::fs::write(folder.join(format!("part_{i}.orch")), text).unwrap();
    }
    let main = folder.join("part_0.orch");
    let text = std::fs::read_to_string(&main).unwrap();
    println!("workspace: 100 files, {} lines", 100 * text.lines().count());
    let mut client = Client::start(Some(&folder)).await;
    let uri = support::uri(&main);
    client.open(&uri, 1, &text);
    let diagnostics = client.diagnostics(&uri, Some(1)).await;
    assert!(diagnostics.is_empty(), "the generated workspace is valid: {diagnostics:?}");
    let mut version = 1;
    let needle = "\"/srv/app-";
    let at = text.find(needle).expect("a block") + needle.len();
    let samples = edits(&mut client, &uri, &mut version, position(&text, at), "x").await;
    report("workspace of 100 files: edit → diagnostics", &samples, Some(100));
    let _ = client.request("shutdown", Value::Null).await;
    let _ = std::fs::remove_dir_all(&folder);
}

/// Asks for completion at `at` repeatedly on a settled analysis; each
/// answer must offer `expected`.
async fn completions(client: &Client, uri: &str, at: &Value, expected: &str) -> Vec<Duration> {
    let mut samples = Vec::new();
    let mut count = 0;
    for i in 0..WARM_UP + QUERIES {
        let started = Instant::now();
        let items = client.completion(uri, at.clone()).await;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
        count = items.len();
        assert!(items.iter().any(|item| item["label"] == expected), "no `{expected}`: {items:?}");
    }
    println!("  ({count} items)");
    samples
}

/// Alternately inserts `letter` at `at` and deletes it again, each time
/// waiting for the diagnostics of the new version; returns the waits
/// after the warm-up.
async fn edits(
    client: &mut Client,
    uri: &str,
    version: &mut i64,
    at: Value,
    letter: &str,
) -> Vec<Duration> {
    let line = at["line"].as_u64().unwrap();
    let character = at["character"].as_u64().unwrap();
    let after = json!({ "line": line, "character": character + letter.len() as u64 });
    let mut samples = Vec::new();
    for i in 0..WARM_UP + EDITS {
        tokio::time::sleep(PAUSE).await;
        *version += 1;
        let started = Instant::now();
        if i % 2 == 0 {
            client.edit(uri, *version, at.clone(), at.clone(), letter);
        } else {
            client.edit(uri, *version, at.clone(), after.clone(), "");
        }
        client.diagnostics(uri, Some(*version)).await;
        if i >= WARM_UP {
            samples.push(started.elapsed());
        }
    }
    samples
}

fn report(what: &str, samples: &[Duration], target_ms: Option<u64>) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    let max = sorted[sorted.len() - 1];
    let verdict = match target_ms {
        Some(target) if median <= Duration::from_millis(target) => {
            format!(" (target ≤ {target} ms: met)")
        }
        Some(target) => format!(" (target ≤ {target} ms: MISSED)"),
        None => String::new(),
    };
    println!(
        "{what}: median {}, p90 {}, max {} over {} samples{verdict}",
        ms(median),
        ms(p90),
        ms(max),
        samples.len()
    );
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
