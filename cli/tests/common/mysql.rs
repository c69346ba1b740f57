//! The MySQL or MariaDB server of the end-to-end tests: `ORCH_TEST_MYSQL_URL`
//! (default: the local server). A test that needs it fails when it cannot be
//! reached, unless `ORCH_TEST_SKIP_MYSQL=1` says to skip it.

/// The rule, written once for the whole workspace.
#[path = "../../../runtime/tests/common/mysql.rs"]
mod rule;

pub(crate) use rule::{Server, server};
