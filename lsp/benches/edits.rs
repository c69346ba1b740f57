//! Criterion benchmark of the language server: one edit of a 10,000-line
//! document to its diagnostics, hover and completion, in process over the
//! real protocol (the client of `lsp/tests/support`).
//!
//! ```sh
//! cargo bench -p orch-lsp --bench edits
//! ```
//!
//! Each iteration of *edit → diagnostics* sends a `didChange` that adds or
//! removes one letter inside a string of the middle block (the document
//! stays valid, so every analysis parses, checks and evaluates all of it)
//! and waits for the `publishDiagnostics` of that version. Criterion
//! measures the mean and its spread over many such round trips; the
//! distribution of separate, paced edits (median, p90) is
//! `lsp/benches/latency.rs`. The figures are in docs/performance.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use serde_json::{Value, json};
use support::{Client, position};

/// 2,850 generated resources: 10,064 lines.
const RESOURCES: usize = 2_850;
const URI: &str = "file:///bench/main.orch";

/// The server with the document open and analysed, and where to edit.
struct Session {
    runtime: tokio::runtime::Runtime,
    client: RefCell<Client>,
    version: RefCell<i64>,
    /// Inside the string of the middle block.
    edit_at: Value,
    /// On a reference to the middle block's file.
    hover_at: Value,
    /// After `conf_N.` in the middle block's output.
    member_at: Value,
}

impl Session {
    fn open() -> Session {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let text = orch_tests::generate::configuration(RESOURCES);
        let middle = RESOURCES.div_ceil(4) / 2;
        let needle = format!("\"/srv/app-{middle}/");
        let edit_at = position(&text, text.find(&needle).expect("the middle block") + needle.len());
        let needle = format!("conf_{middle}.path");
        let reference = text.rfind(&needle).expect("the output of the middle block");
        let hover_at = position(&text, reference + 2);
        let member_at = position(&text, reference + needle.len() - "path".len());
        let mut client = runtime.block_on(Client::start(None));
        client.open(URI, 1, &text);
        let diagnostics = runtime.block_on(client.diagnostics(URI, Some(1)));
        assert!(diagnostics.is_empty(), "the generated document is valid: {diagnostics:?}");
        Session {
            runtime,
            client: RefCell::new(client),
            version: RefCell::new(1),
            edit_at,
            hover_at,
            member_at,
        }
    }

    /// Adds or removes (every other time) one letter at `edit_at` and
    /// waits for the diagnostics of the new version.
    fn edit(&self) -> Duration {
        let mut version = self.version.borrow_mut();
        *version += 1;
        let at = self.edit_at.clone();
        let after = json!({
            "line": at["line"].as_u64().unwrap(),
            "character": at["character"].as_u64().unwrap() + 1,
        });
        let mut client = self.client.borrow_mut();
        let started = Instant::now();
        if *version % 2 == 0 {
            client.edit(URI, *version, at.clone(), at, "x");
        } else {
            client.edit(URI, *version, at, after, "");
        }
        let diagnostics = self.runtime.block_on(client.diagnostics(URI, Some(*version)));
        let elapsed = started.elapsed();
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        elapsed
    }
}

fn benches(c: &mut Criterion) {
    let session = Session::open();
    let mut group = c.benchmark_group("lsp_10k_lines");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("edit_to_diagnostics", |b| {
        b.iter_custom(|iterations| (0..iterations).map(|_| session.edit()).sum())
    });
    group.bench_function("hover", |b| {
        b.iter(|| {
            let client = session.client.borrow();
            let hover = session.runtime.block_on(client.hover(URI, session.hover_at.clone()));
            assert!(hover.contains("fs.file"), "{hover}");
        })
    });
    group.bench_function("completion_after_dot", |b| {
        b.iter(|| {
            let client = session.client.borrow();
            let items = session.runtime.block_on(client.completion(URI, session.member_at.clone()));
            assert!(items.iter().any(|item| item["label"] == "sha256"), "{items:?}");
        })
    });
    group.finish();
}

criterion_group!(lsp, benches);

fn main() {
    lsp();
    Criterion::default().configure_from_args().final_summary();
}
