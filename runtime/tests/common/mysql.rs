//! The MySQL or MariaDB server of the tests that need one, and the rule they
//! all follow (as for PostgreSQL in `pg.rs`): the server is
//! `ORCH_TEST_MYSQL_URL` (by default the local one,
//! `mysql://root@127.0.0.1:3306`, an account that may create databases and
//! accounts); when it cannot be reached the test fails, saying how to start
//! it or skip; with `ORCH_TEST_SKIP_MYSQL=1` the tests are skipped, and each
//! says so.
//!
//! The tests look at the server, and change it behind Orch's back, with the
//! server's own command-line client (`mariadb`, or `ORCH_TEST_MYSQL_CLIENT`),
//! so that what they check does not depend on the provider's driver. The
//! runtime's tests and the command line's tests (`cli/tests/common/mod.rs`)
//! include this file.

use std::process::Command;
use std::sync::OnceLock;

/// The server when `ORCH_TEST_MYSQL_URL` is not set.
pub(crate) const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306";

/// The test server: its URL, and the client to reach it with.
#[derive(Clone, Debug)]
pub(crate) struct Server {
    pub(crate) url: String,
    user: String,
    password: Option<String>,
    host: String,
    port: u16,
}

impl Server {
    /// The parts of a `mysql://USER[:PASSWORD]@HOST[:PORT][/DATABASE]` URL.
    fn parse(url: &str) -> Result<Server, String> {
        let rest = url.strip_prefix("mysql://").ok_or("the URL does not start with mysql://")?;
        let rest = rest.split(['/', '?']).next().unwrap_or(rest);
        let (credentials, address) = rest.rsplit_once('@').unwrap_or(("root", rest));
        let (user, password) = match credentials.split_once(':') {
            Some((user, password)) => (user.to_string(), Some(password.to_string())),
            None => (credentials.to_string(), None),
        };
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => {
                (host.to_string(), port.parse().map_err(|_| format!("bad port {port}"))?)
            }
            None => (address.to_string(), 3306),
        };
        Ok(Server { url: url.to_string(), user, password, host, port })
    }

    /// The command-line client, connected as the URL's account (or as
    /// `user`/`password`), in batch mode without column names.
    fn client(&self, account: Option<(&str, &str)>) -> Command {
        let program =
            std::env::var("ORCH_TEST_MYSQL_CLIENT").unwrap_or_else(|_| "mariadb".to_string());
        let mut command = Command::new(program);
        let (user, password) = match account {
            Some((user, password)) => (user.to_string(), Some(password.to_string())),
            None => (self.user.clone(), self.password.clone()),
        };
        command
            .args(["--protocol=TCP", "-h", &self.host, "-P", &self.port.to_string(), "-u", &user])
            .args(["-N", "-B", "--connect-timeout=10"]);
        // The password through the environment, never on the command line.
        command.env_remove("MYSQL_PWD");
        if let Some(password) = password {
            command.env("MYSQL_PWD", password);
        }
        command
    }

    /// Runs `sql` as the URL's account: the rows, tab-separated columns.
    pub(crate) fn sql(&self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        run(self.client(None).args(["-e", sql]), sql)
    }

    /// Runs `sql`, failing the test when the server refuses it.
    pub(crate) fn exec(&self, sql: &str) -> Vec<Vec<String>> {
        self.sql(sql).unwrap_or_else(|error| panic!("{error}"))
    }

    /// Whether the account `user` may log in with `password` over TCP.
    pub(crate) fn can_log_in(&self, user: &str, password: &str) -> bool {
        run(self.client(Some((user, password))).args(["-e", "SELECT 1"]), "SELECT 1").is_ok()
    }
}

fn run(command: &mut Command, sql: &str) -> Result<Vec<Vec<String>>, String> {
    let output = command.output().map_err(|error| {
        format!("cannot run the MySQL client (`mariadb`, or ORCH_TEST_MYSQL_CLIENT): {error}")
    })?;
    if !output.status.success() {
        return Err(format!("{sql}: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect())
}

/// The test server, checked once per test binary; `None` (after printing
/// that the test is skipped) when `ORCH_TEST_SKIP_MYSQL=1`.
///
/// # Panics
///
/// When the server cannot be reached and skipping was not asked for: a
/// test that needs a server and has none fails.
pub(crate) fn server() -> Option<Server> {
    if std::env::var("ORCH_TEST_SKIP_MYSQL").is_ok_and(|value| value == "1") {
        println!("skipped: ORCH_TEST_SKIP_MYSQL=1 (this test needs MySQL or MariaDB)");
        return None;
    }
    let url = std::env::var("ORCH_TEST_MYSQL_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    static REACHED: OnceLock<Result<Server, String>> = OnceLock::new();
    let reached = REACHED.get_or_init(|| {
        let server =
            Server::parse(&url).map_err(|error| format!("ORCH_TEST_MYSQL_URL: {error}"))?;
        server.sql("SELECT 1").map(|_| server)
    });
    match reached {
        Ok(server) => Some(server.clone()),
        Err(error) => panic!(
            "MySQL/MariaDB is not reachable at {url}: {error}\n\
             Start it (`service mariadb start`), point ORCH_TEST_MYSQL_URL at another server, \
             or set ORCH_TEST_SKIP_MYSQL=1 to skip the tests that need it."
        ),
    }
}
