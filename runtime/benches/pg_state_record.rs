//! The cost of recording one operation in the PostgreSQL state backend:
//! `begin` then `record`, with 10,000 instances already in the state (and
//! 100, to show that the size does not matter). The target is under 5 ms.
//! Measured three ways, as `state_record` measures the local backend:
//!
//! - `flush_each`: each call waits for the write-ahead log to reach the
//!   disk (`PostgresOptions { sync: true }`, the default): two flushes;
//! - `round_sync`: asynchronous commits and one `Backend::sync` between the
//!   `begin` and the `record`, as the executor does once per scheduling
//!   round (the `record` is flushed by the next round's sync): the cost of a
//!   round that starts one operation, one flush;
//! - `no_flush`: asynchronous commits, never synced, which shows what
//!   waiting for the disk costs.
//!
//! ```sh
//! ORCH_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p orch-runtime --bench pg_state_record
//! ```
//!
//! `ORCH_TEST_PG_URL` defaults to that local server; the benchmark fails
//! when it cannot be reached, unless `ORCH_TEST_SKIP_PG=1`, which skips it
//! (`tests/common/pg.rs`, the tests' rule).

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use orch_runtime::codec::Sealer;
use orch_runtime::secrets::StateKey;
use orch_runtime::state::postgres::{PostgresBackend, PostgresOptions};
use orch_runtime::state::{Backend, InstanceState, Operation};
use orch_stdlib::Value;
use smol_str::SmolStr;

/// Instances in the state before measuring.
const INSTANCES: usize = 10_000;

fn instance(index: usize, content: &str) -> InstanceState {
    let mut value = BTreeMap::new();
    value.insert(SmolStr::new("path"), Value::string(format!("/srv/app/{index}.conf")));
    value.insert(SmolStr::new("content"), Value::string(content));
    value.insert(SmolStr::new("mode"), Value::Int(0o644));
    // One secret, so that sealing it is measured too.
    value.insert(SmolStr::new("token"), Value::secret(Value::string("s3cr3t-t0ken")));
    value.insert(
        SmolStr::new("sha256"),
        Value::string("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    );
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

fn record_one_operation(c: &mut Criterion) {
    let Some(url) = common::pg::server() else { return };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("pg_state begin + record");
    // The cost must not depend on the size of the state: a small one for
    // comparison.
    for instances in [100, INSTANCES] {
        bench_state(&mut group, &runtime, &url, instances, Mode::FlushEach);
    }
    bench_state(&mut group, &runtime, &url, INSTANCES, Mode::RoundSync);
    bench_state(&mut group, &runtime, &url, INSTANCES, Mode::NoFlush);
    group.finish();
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    FlushEach,
    RoundSync,
    NoFlush,
}

/// Measures begin + record on a state of `instances` instances.
fn bench_state(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    instances: usize,
    mode: Mode,
) {
    let name = format!("bench-record-{}", uuid::Uuid::new_v4());
    let separator = if url.contains('?') { '&' } else { '?' };
    let located = format!("{url}{separator}state={name}");
    let options = PostgresOptions { sync: mode == Mode::FlushEach };
    let sealer: Arc<dyn Sealer> = Arc::new(StateKey::from_bytes(&[7; 32]));
    let label = match mode {
        Mode::FlushEach => "flush_each",
        Mode::RoundSync => "round_sync",
        Mode::NoFlush => "no_flush",
    };
    let mut backend = runtime
        .block_on(PostgresBackend::connect_with_options(&located, "bench", Some(sealer), options))
        .expect("connect to ORCH_TEST_PG_URL");

    // The state, written as one finished run.
    let mut state = runtime.block_on(backend.load()).expect("load").state;
    for index in 0..instances {
        state.instances.insert(format!("fs.file[\"{index}\"]"), instance(index, "initial"));
    }
    state.serial = 1;
    runtime.block_on(backend.finish(&state)).expect("finish");

    let serial = Cell::new(state.serial);
    let counter = Cell::new(0usize);
    let id = BenchmarkId::new(label, format!("{instances} instances"));
    group.bench_function(id, |b| {
        b.iter(|| {
            let index = counter.get() % instances;
            counter.set(counter.get() + 1);
            let address = format!("fs.file[\"{index}\"]");
            let updated = instance(index, "updated");
            let operation = Operation {
                address: address.clone(),
                action: orch_runtime::events::Step::Update,
                kind: updated.kind.clone(),
                provider: updated.provider.clone(),
                planned: updated.value.clone(),
            };
            let next = serial.get() + 1;
            runtime.block_on(async {
                backend.begin(&operation).await.expect("begin");
                if mode == Mode::RoundSync {
                    backend.sync().await.expect("sync");
                }
                backend.record(&address, Some(&updated), next).await.expect("record");
            });
            serial.set(next);
        })
    });

    // Leave nothing behind.
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .execute("DELETE FROM orch.states WHERE name = $1", &[&name])
            .await
            .expect("remove the benchmark's state");
    });
}

criterion_group!(benches, record_one_operation);
criterion_main!(benches);
