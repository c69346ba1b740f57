//! `orchc plan`, `apply` and `destroy` end to end against a real MySQL or
//! MariaDB server: the `mysql` provider's kinds.
//!
//! The server is named by `ORCH_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`, an account that may create databases,
//! accounts and roles); a test fails when it cannot be reached, unless
//! `ORCH_TEST_SKIP_MYSQL=1` (`common::mysql`). The tests look at the server
//! and change it by hand with its own client (`mariadb`). Every test uses
//! names with a random suffix and drops what it made, also when it fails.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::mysql::Server;
use common::orch::{Orch, actions, drift_fields, flat};

/// The test server, or returns from the test when told to skip.
macro_rules! server_or_skip {
    () => {
        match common::mysql::server() {
            Some(server) => server,
            None => return,
        }
    };
}

/// A random suffix for names, different for every call.
fn unique() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("{:08x}", hasher.finish() as u32)
}

/// Drops what a test may have made, however it ends.
struct Cleanup {
    server: Server,
    statements: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for sql in self.statements.iter().rev() {
            let _ = self.server.sql(sql);
        }
    }
}

/// The application: a database, an account with a generated password, a
/// role, the account's privileges on the database and the role's on one
/// table. Params vary what the tests change.
const APP: &str = r#"provider mysql { url = "{URL}" }

param user_name: string = "orche2e_{S}_app"
param privileges: list<string> = ["SELECT", "INSERT"]
param charset: string = "utf8mb4"

resource pw: random.password { length = 20 }

resource db: mysql.database {
  name    = "orche2e_{S}_db"
  charset = charset
}

resource app: mysql.user {
  user     = user_name
  password = pw.result
}

resource reader: mysql.role {
  name = "orche2e_{S}_reader"
}

resource app_access: mysql.grant {
  user       = app.user
  host       = app.host
  database   = db.name
  privileges = privileges
}

resource reader_access: mysql.grant {
  role       = reader.name
  database   = db.name
  privileges = ["SELECT"]
}

resource leak: exec.run {
  create = "printf %s \"$PW\" > pw.txt"
  env    = { PW = pw.result }
}

output database: string = db.name
"#;

const ALL_APP: [&str; 7] = ["app", "app_access", "db", "leak", "pw", "reader", "reader_access"];

/// The names `APP` gives its objects.
struct App {
    server: Server,
    suffix: String,
    db: String,
    user: String,
    role: String,
}

impl App {
    fn new(server: &Server) -> App {
        let suffix = unique();
        App {
            server: server.clone(),
            db: format!("orche2e_{suffix}_db"),
            user: format!("orche2e_{suffix}_app"),
            role: format!("orche2e_{suffix}_reader"),
            suffix,
        }
    }

    fn text(&self, template: &str) -> String {
        template.replace("{URL}", &self.server.url).replace("{S}", &self.suffix)
    }

    /// A project for `template`, and the cleanup of everything it may make.
    fn project(&self, template: &str, more_users: &[&str]) -> (Orch, Cleanup) {
        let mut statements = vec![
            format!("DROP DATABASE IF EXISTS `{}`", self.db),
            format!("DROP USER IF EXISTS '{}'@'%'", self.user),
            format!("DROP ROLE IF EXISTS '{}'", self.role),
        ];
        for user in more_users {
            statements.push(format!("DROP USER IF EXISTS '{user}'@'%'"));
        }
        (Orch::new(&self.text(template)), Cleanup { server: self.server.clone(), statements })
    }

    fn charset(&self) -> String {
        self.server.exec(&format!(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
            self.db
        ))[0][0]
            .clone()
    }

    /// The `SHOW GRANTS` lines of `grantee` on the app's database.
    fn grants(&self, grantee: &str) -> Vec<String> {
        match self.server.sql(&format!("SHOW GRANTS FOR {grantee}")) {
            Ok(rows) => rows
                .into_iter()
                .map(|row| row.join("\t"))
                .filter(|line| line.contains(&self.db))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    fn account(&self) -> String {
        format!("'{}'@'%'", self.user)
    }

    fn exists(&self, what: &str) -> bool {
        let sql = match what {
            "db" => format!(
                "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{}'",
                self.db
            ),
            "user" => format!("SELECT 1 FROM mysql.user WHERE User = '{}'", self.user),
            _ => format!("SELECT 1 FROM mysql.user WHERE User = '{}' AND is_role = 'Y'", self.role),
        };
        !self.server.exec(&sql).is_empty()
    }
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).expect("the needle is in the text") + 1
}

#[test]
fn apply_creates_everything_then_nothing_to_do_then_drift_by_hand_is_repaired() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let (orch, _cleanup) = app.project(APP, &[]);

    let plan = orch.plan_json(&[]);
    let planned = actions(&plan);
    assert_eq!(planned.keys().collect::<Vec<_>>(), ALL_APP, "{plan}");
    assert!(planned.values().all(|a| a == "create"), "{plan}");
    let run = orch.apply(&[]);
    assert!(run.stdout.contains("Apply complete: 7 created in "), "{}", run.stdout);

    assert_eq!(app.charset(), "utf8mb4");
    let password = orch.read("pw.txt");
    assert!(server.can_log_in(&app.user, &password), "the account has the generated password");
    assert_eq!(
        app.grants(&app.account()),
        [format!("GRANT SELECT, INSERT ON `{}`.* TO `{}`@`%`", app.db, app.user)]
    );
    assert_eq!(
        app.grants(&format!("'{}'", app.role)),
        [format!("GRANT SELECT ON `{}`.* TO `{}`", app.db, app.role)]
    );
    orch.expect_no_changes(&[]);

    // By hand: another character set, another password, a privilege
    // revoked, the role dropped.
    server.exec(&format!("ALTER DATABASE `{}` CHARACTER SET latin1", app.db));
    server.exec(&format!("SET PASSWORD FOR {} = PASSWORD('by-hand')", app.account()));
    server.exec(&format!("REVOKE INSERT ON `{}`.* FROM {}", app.db, app.account()));
    server.exec(&format!("DROP ROLE '{}'", app.role));
    let human = orch.run(&["plan", "main.orch"]);
    human.expect_code(0);
    assert!(human.stdout.starts_with("Drift: objects changed outside Orch"), "{}", human.stdout);
    assert!(!human.stdout.contains("by-hand") && !human.stdout.contains(&password));
    let plan = orch.plan_json(&[]);
    assert_eq!(drift_fields(&plan, "db"), ["charset"], "{plan}");
    assert_eq!(drift_fields(&plan, "app"), ["password"], "{plan}");
    assert_eq!(drift_fields(&plan, "app_access"), ["privileges"], "{plan}");
    let planned = actions(&plan);
    assert_eq!(planned["db"], "update", "{plan}");
    assert_eq!(planned["app"], "update", "{plan}");
    assert_eq!(planned["app_access"], "update", "{plan}");
    assert_eq!(planned["reader"], "create", "{plan}");
    orch.run(&["plan", "main.orch", "--detailed-exitcode"]).expect_code(2);

    orch.apply(&[]);
    assert_eq!(app.charset(), "utf8mb4");
    assert!(server.can_log_in(&app.user, &password));
    assert!(!server.can_log_in(&app.user, "by-hand"));
    assert_eq!(
        app.grants(&app.account()),
        [format!("GRANT SELECT, INSERT ON `{}`.* TO `{}`@`%`", app.db, app.user)]
    );
    assert!(app.exists("role"));
    assert_eq!(app.grants(&format!("'{}'", app.role)).len(), 1);
    orch.expect_no_changes(&[]);
}

#[test]
fn renames_and_privileges_update_in_place_and_a_new_charset_too() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let renamed = format!("orche2e_{}_app2", app.suffix);
    let (orch, _cleanup) = app.project(APP, &[&renamed]);
    orch.apply(&[]);
    let password = orch.read("pw.txt");

    // A new user name: the account is renamed, and its grant (named by the
    // account) replaced.
    let var = format!("user_name={renamed}");
    let plan = orch.plan_json(&["--var", &var]);
    let planned = actions(&plan);
    assert_eq!(
        planned,
        BTreeMap::from([("app".into(), "update".into()), ("app_access".into(), "replace".into())]),
        "{plan}"
    );
    orch.apply(&["--var", &var]);
    assert!(!app.exists("user"));
    assert!(server.can_log_in(&renamed, &password), "the renamed account keeps its password");
    assert_eq!(
        app.grants(&format!("'{renamed}'@'%'")),
        [format!("GRANT SELECT, INSERT ON `{}`.* TO `{renamed}`@`%`", app.db)]
    );
    orch.expect_no_changes(&["--var", &var]);

    // Privileges widened to ALL, and a new character set: updates.
    let all = r#"privileges=["ALL"]"#;
    let latin1 = "charset=latin1";
    let args = ["--var", &var, "--var", all, "--var", latin1];
    let plan = orch.plan_json(&args);
    assert_eq!(
        actions(&plan),
        BTreeMap::from([("app_access".into(), "update".into()), ("db".into(), "update".into())]),
        "{plan}"
    );
    orch.apply(&args);
    assert_eq!(app.charset(), "latin1");
    assert_eq!(
        app.grants(&format!("'{renamed}'@'%'")),
        [format!("GRANT ALL PRIVILEGES ON `{}`.* TO `{renamed}`@`%`", app.db)]
    );
    orch.expect_no_changes(&args);
}

#[test]
fn a_new_database_name_replaces_the_database() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let template = APP.replace("name    = \"orche2e_{S}_db\"", "name    = db_name");
    let template = template
        .replace("param charset", "param db_name: string = \"orche2e_{S}_db\"\nparam charset");
    let other = format!("orche2e_{}_db2", app.suffix);
    let (orch, mut cleanup) = app.project(&template, &[]);
    cleanup.statements.push(format!("DROP DATABASE IF EXISTS `{other}`"));
    orch.apply(&[]);
    let var = format!("db_name={other}");
    let plan = orch.plan_json(&["--var", &var]);
    let planned = actions(&plan);
    assert_eq!(planned["db"], "replace", "{plan}");
    orch.apply(&["--var", &var]);
    assert!(!app.exists("db"));
    assert_eq!(server.exec(&format!("SHOW DATABASES LIKE '{other}'")).len(), 1);
    orch.expect_no_changes(&["--var", &var]);
}

#[test]
fn destroy_leaves_nothing_behind() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let (orch, _cleanup) = app.project(APP, &[]);
    orch.apply(&[]);
    assert!(app.exists("db") && app.exists("user") && app.exists("role"));
    orch.run(&["destroy", "main.orch", "--auto-approve"]).expect_code(0);
    assert!(!app.exists("db"));
    assert!(!app.exists("user"));
    assert!(!app.exists("role"));
    assert!(orch.state_list().is_empty());
}

const BAD_CHARSET: &str = r#"provider mysql { url = "{URL}" }

resource fine: mysql.role {
  name = "orche2e_{S}_reader"
}

resource db: mysql.database {
  name    = "orche2e_{S}_db"
  charset = "klingon"
}

resource access: mysql.grant {
  role       = fine.name
  database   = db.name
  privileges = ["SELECT"]
}
"#;

#[test]
fn a_server_error_names_the_declaration_and_the_server_s_message() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let (orch, _cleanup) = app.project(BAD_CHARSET, &[]);
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    let line = line_of(&app.text(BAD_CHARSET), "resource db:");
    let stderr = flat(&run.stderr);
    assert!(stderr.contains(&format!("main.orch:{line}:")), "line {line}: {}", run.stderr);
    assert!(stderr.contains("Unknown character set: 'klingon'"), "{}", run.stderr);
    assert!(stderr.contains("creating database"), "{}", run.stderr);
    assert!(app.exists("role"));
    assert!(!app.exists("db"));
    assert_eq!(orch.state_list().keys().collect::<Vec<_>>(), ["fine"]);
}

#[test]
fn a_wrong_url_is_a_plan_error_without_the_password() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let text = APP.replace("{URL}", "mysql://root:hunter2@127.0.0.1:1");
    let (orch, _cleanup) = app.project(&text, &[]);
    let run = orch.run(&["plan", "main.orch"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    // The message, before the snippet of the file (which shows the URL as
    // written there).
    let stderr = flat(&run.stderr);
    let message = stderr.split('\u{256d}').next().unwrap_or_default();
    assert!(message.contains("connecting to MySQL at 127.0.0.1:1 as root"), "{stderr}");
    assert!(message.contains("Connection refused"), "{stderr}");
    assert!(!message.contains("hunter2") && !run.stdout.contains("hunter2"), "{stderr}");
}

/// Every file below `dir`, with its bytes.
fn files_below(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).expect("read a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read a file")));
        }
    }
}

#[test]
fn the_password_and_its_hash_never_appear_in_output_plans_or_state() {
    let server = server_or_skip!();
    let app = App::new(&server);
    let (orch, _cleanup) = app.project(APP, &[]);
    let mut seen: Vec<(String, String)> = Vec::new();
    let plan = orch.run(&["plan", "main.orch", "--verbose", "--out", "plan.json"]);
    plan.expect_code(0);
    seen.push(("plan".into(), format!("{}{}", plan.stdout, plan.stderr)));
    let apply =
        orch.run(&["apply", "plan.json", "--auto-approve", "--json", "--events", "events.jsonl"]);
    apply.expect_code(0);
    seen.push(("apply".into(), format!("{}{}", apply.stdout, apply.stderr)));
    server.exec(&format!("SET PASSWORD FOR {} = PASSWORD('by-hand')", app.account()));
    for args in [
        &["plan", "main.orch", "--verbose"][..],
        &["apply", "main.orch", "--auto-approve", "--verbose", "--events", "events.jsonl"],
        &["state", "show", "app", "--json"],
        &["state", "show", "app"],
    ] {
        let run = orch.run(args);
        run.expect_code(0);
        seen.push((args.join(" "), format!("{}{}", run.stdout, run.stderr)));
    }
    let password = orch.read("pw.txt");
    assert!(server.can_log_in(&app.user, &password));
    let hash = server.exec(&format!("SELECT PASSWORD('{password}')"))[0][0].clone();
    let mut files = Vec::new();
    files_below(&orch.path(".orch"), &mut files);
    for name in ["plan.json", "events.jsonl"] {
        files.push((orch.path(name), std::fs::read(orch.path(name)).expect("read")));
    }
    for (path, bytes) in files {
        seen.push((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
    }
    for (what, text) in &seen {
        for secret in [password.as_str(), hash.as_str(), "by-hand"] {
            assert!(!text.contains(secret), "{what} holds a secret:\n{text}");
        }
    }
}
