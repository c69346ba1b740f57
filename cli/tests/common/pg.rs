//! The PostgreSQL server of the end-to-end tests: `ORCH_TEST_PG_URL`
//! (default: the local server). A test that needs it fails when it cannot
//! be reached, unless `ORCH_TEST_SKIP_PG=1` says to skip it.

use tokio_postgres::NoTls;

/// The rule, written once for the whole workspace.
#[path = "../../../runtime/tests/common/pg.rs"]
mod rule;

/// The server's URL (checked to answer), or `None` when the tests are told
/// to skip it.
pub(crate) fn server() -> Option<String> {
    rule::server()
}

/// Runs `sql` on the server at `url`; panics (failing the test) when the
/// server cannot be reached.
pub(crate) fn execute(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {url} cannot be reached: {e}; start it, point ORCH_TEST_PG_URL at one, or set ORCH_TEST_SKIP_PG=1 to skip these tests"
            )
        });
        let driver = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        drop(client);
        let _ = driver.await;
    });
}

/// A database of its own for one test, dropped at the end.
pub(crate) struct Database {
    server: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl Database {
    pub(crate) fn new(server: &str, tag: &str) -> Database {
        let name = format!("orch_e2e_{tag}_{}", std::process::id());
        // Each on its own: CREATE DATABASE cannot run in a transaction.
        execute(server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        execute(server, &format!("CREATE DATABASE {name}"));
        let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
        Database { server: server.to_string(), url: format!("{base}/{name}"), name }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        execute(&self.server, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}
