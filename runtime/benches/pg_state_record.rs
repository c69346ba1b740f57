//! The cost of recording one operation in the PostgreSQL state backend:
//! `begin` then `record`, with 10,000 instances already in the state (and
//! 100, to show that the size does not matter). The target is under 5 ms.
//! Both are committed transactions, so the figure includes two flushes of
//! PostgreSQL's write-ahead log to disk; a third measurement leaves them out.
//!
//! ```sh
//! ORCH_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p orch-runtime --bench pg_state_record
//! ```
//!
//! Without `ORCH_TEST_PG_URL` it prints that it was skipped.

use std::cell::Cell;
use std::collections::BTreeMap;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use orch_runtime::state::postgres::PostgresBackend;
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
    let Ok(url) = std::env::var("ORCH_TEST_PG_URL") else {
        println!("skipped: ORCH_TEST_PG_URL is not set");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut group = c.benchmark_group("pg_state begin + record");
    // The cost must not depend on the size of the state: a small one for
    // comparison.
    for instances in [100, INSTANCES] {
        bench_state(&mut group, &runtime, &url, instances, "durable", "");
    }
    // The same without waiting for the write-ahead log to reach the disk:
    // not a configuration to use (a server crash could lose a recorded
    // operation), but it shows how much of the cost is the disk's flush.
    let no_flush = "options=-c%20synchronous_commit%3Doff";
    bench_state(&mut group, &runtime, &url, INSTANCES, "synchronous_commit=off", no_flush);
    group.finish();
}

/// Measures begin + record on a state of `instances` instances; `params`
/// are added to the connection URL.
fn bench_state(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    url: &str,
    instances: usize,
    label: &str,
    params: &str,
) {
    let name = format!("bench-record-{}", uuid::Uuid::new_v4());
    let separator = if url.contains('?') { '&' } else { '?' };
    let mut located = format!("{url}{separator}state={name}");
    if !params.is_empty() {
        located.push('&');
        located.push_str(params);
    }
    let mut backend = runtime
        .block_on(PostgresBackend::connect(&located, "bench", None))
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
                action: "update".into(),
                kind: updated.kind.clone(),
                provider: updated.provider.clone(),
                planned: updated.value.clone(),
            };
            let next = serial.get() + 1;
            runtime.block_on(async {
                backend.begin(&operation).await.expect("begin");
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
