//! The cost of recording one operation in the PostgreSQL state backend:
//! `begin` then `record`, with 10,000 instances already in the state. The
//! target is under 5 ms, and the same whatever the size of the state.
//!
//! ```sh
//! ORCH_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench -p orch-runtime --bench pg_state_record
//! ```
//!
//! Without `ORCH_TEST_PG_URL` it prints that it was skipped.

use std::cell::Cell;
use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
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
    let name = format!("bench-record-{}", uuid::Uuid::new_v4());
    let separator = if url.contains('?') { '&' } else { '?' };
    let located = format!("{url}{separator}state={name}");
    let mut backend = runtime
        .block_on(PostgresBackend::connect(&located, "bench", None))
        .expect("connect to ORCH_TEST_PG_URL");

    // The state: 10,000 instances, written as one finished run.
    let mut state = runtime.block_on(backend.load()).expect("load").state;
    for index in 0..INSTANCES {
        state.instances.insert(format!("fs.file[\"{index}\"]"), instance(index, "initial"));
    }
    state.serial = 1;
    runtime.block_on(backend.finish(&state)).expect("finish");

    let serial = Cell::new(state.serial);
    let counter = Cell::new(0usize);
    c.bench_function("pg_state: begin + record, 10,000 instances", |b| {
        b.iter(|| {
            let index = counter.get() % INSTANCES;
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
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(connection);
        client
            .execute("DELETE FROM orch.states WHERE name = $1", &[&name])
            .await
            .expect("remove the benchmark's state");
    });
}

criterion_group!(benches, record_one_operation);
criterion_main!(benches);
