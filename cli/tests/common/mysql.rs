//! The MySQL or MariaDB server of the end-to-end tests: `ORCH_TEST_MYSQL_URL`
//! (default: the local server). A test that needs it fails when it cannot be
//! reached, unless `ORCH_TEST_SKIP_MYSQL=1` says to skip it.

/// The rule, written once for the whole workspace.
#[path = "../../../runtime/tests/common/mysql.rs"]
mod rule;

/// The test server: its URL, and its command-line client.
pub(crate) type Server = rule::Server;

/// The server (checked to answer), or `None` when the tests are told to
/// skip it.
pub(crate) fn server() -> Option<Server> {
    rule::server()
}
