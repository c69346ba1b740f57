//! The cost of recording one operation in the local state backend: a
//! `begin` then a `record` (two journal lines), with 1,000, 10,000 and
//! 50,000 instances already in the state. It must not grow with the size of
//! the state. Measured three ways:
//!
//! - `fdatasync`: after each line (`LocalOptions { sync: true }`, the
//!   default);
//! - `round_sync`: lines not synced, one `Backend::sync` between the
//!   `begin` and the `record`, as the executor does once per scheduling
//!   round (the `record` is made durable by the next round's sync): the
//!   cost of a round that starts one operation;
//! - `no_sync`: never synced, which shows what durability against an OS
//!   crash costs.
//!
//! ```sh
//! cargo bench -p orch-runtime --bench state_record
//! ORCH_BENCH_DIR=/tmp cargo bench -p orch-runtime --bench state_record
//! ```
//!
//! The state folders are made in `ORCH_BENCH_DIR`, by default in the
//! target folder (`CARGO_TARGET_TMPDIR`), since the figures depend on the
//! file system.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use orch_runtime::codec::Sealer;
use orch_runtime::secrets::StateKey;
use orch_runtime::state::local::{LocalBackend, LocalOptions, STATE_FILE};
use orch_runtime::state::{Backend, InstanceState, Operation};
use orch_stdlib::Value;
use smol_str::SmolStr;

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];

/// An instance as a file resource leaves it, with one secret, so that the
/// measure includes sealing it.
fn instance(index: usize, revision: u64) -> InstanceState {
    let mut value = BTreeMap::new();
    value.insert(SmolStr::new("path"), Value::string(format!("/srv/app/{index}.conf")));
    value.insert(
        SmolStr::new("content"),
        Value::string(format!("listen = {index}\nrevision = {revision}\n")),
    );
    value.insert(SmolStr::new("mode"), Value::Int(0o644));
    value.insert(
        SmolStr::new("sha256"),
        Value::string("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    );
    value.insert(SmolStr::new("token"), Value::secret(Value::string("s3cr3t-t0k3n")));
    InstanceState {
        kind: "fs.file".into(),
        provider: "fs".into(),
        value: Value::map(value),
        depends_on: vec!["fs.dir[\"app\"]".into()],
        tainted: false,
        protected: false,
        create_before_destroy: false,
        location: Some("main.orch:12:1".into()),
    }
}

fn address(index: usize) -> String {
    format!("fs.file[\"{index}\"]")
}

fn record_one_operation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let base = std::env::var_os("ORCH_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&base).expect("the benchmark folder");
    let sealer: Arc<dyn Sealer> = Arc::new(StateKey::from_bytes(&[7; 32]));
    let mut group = c.benchmark_group("state_record");
    group.sample_size(20);
    for mode in ["fdatasync", "round_sync", "no_sync"] {
        let sync = mode == "fdatasync";
        for size in SIZES {
            let folder = tempfile::tempdir_in(&base).expect("a temporary folder");
            let options = LocalOptions { sync, background: false };
            // A state of `size` instances, written by a previous run.
            let mut backend = LocalBackend::with_options(
                folder.path().to_path_buf(),
                Some(sealer.clone()),
                options,
            );
            let mut state = runtime.block_on(backend.load()).expect("load").state;
            for index in 0..size {
                state.instances.insert(address(index), instance(index, 0));
            }
            state.serial = size as u64;
            let started = Instant::now();
            runtime.block_on(backend.finish(&state)).expect("finish");
            let finished = started.elapsed();
            drop(backend);
            // This run loads it and records operations on it.
            let mut backend = LocalBackend::with_options(
                folder.path().to_path_buf(),
                Some(sealer.clone()),
                options,
            );
            let started = Instant::now();
            let mut serial = runtime.block_on(backend.load()).expect("load").state.serial;
            let loaded = started.elapsed();
            if sync {
                // Once per size: the whole-state operations, for scale.
                let bytes =
                    std::fs::metadata(folder.path().join(STATE_FILE)).map_or(0, |m| m.len());
                println!(
                    "{size} instances: state.json {:.1} MB, finish {:.0} ms, load {:.0} ms",
                    bytes as f64 / 1e6,
                    finished.as_secs_f64() * 1e3,
                    loaded.as_secs_f64() * 1e3
                );
            }
            let mut next = 0usize;
            group.bench_function(BenchmarkId::new(mode, size), |b| {
                b.iter(|| {
                    let index = next % size;
                    next += 1;
                    serial += 1;
                    let updated = instance(index, serial);
                    let operation = Operation {
                        address: address(index),
                        action: orch_runtime::events::Step::Update,
                        kind: updated.kind.clone(),
                        provider: updated.provider.clone(),
                        planned: updated.value.clone(),
                    };
                    runtime.block_on(async {
                        backend.begin(&operation).await.expect("begin");
                        if mode == "round_sync" {
                            backend.sync().await.expect("sync");
                        }
                        backend
                            .record(&operation.address, Some(&updated), serial)
                            .await
                            .expect("record");
                    });
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, record_one_operation);
criterion_main!(benches);
