//! `import` blocks and `orchc import` end to end: the real binary adopts
//! files, folders, PostgreSQL roles and databases that exist already,
//! records them, and the next plan is empty (or shows only the difference
//! to the configuration). Objects are never created, changed or deleted by
//! an import itself.

mod common;

use common::orch::{Orch, actions, flat};

#[test]
fn an_import_block_adopts_a_file_and_the_next_plan_is_empty() {
    let orch = Orch::new(
        r#"resource app: fs.file {
  path    = "app.conf"
  content = "port = 80\n"
}

import {
  to = app
  id = "app.conf"
}
"#,
    );
    orch.write("app.conf", "port = 80\n");
    let before = orch.path("app.conf").metadata().unwrap().modified().unwrap();

    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 1, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["imports"][0]["address"], "app", "{plan}");
    assert_eq!(plan["imports"][0]["id"], "app.conf", "{plan}");
    let human = orch.run(&["plan", "main.orch"]);
    human.expect_code(0);
    assert!(human.stdout.contains(r#"<- app  import fs.file "app.conf""#), "{}", human.stdout);
    assert!(human.stdout.contains("1 to import"), "{}", human.stdout);

    let apply = orch.apply(&[]);
    assert!(apply.stdout.contains("Apply complete: 0 operations, 1 imported"), "{}", apply.stdout);
    assert_eq!(orch.state_list().keys().collect::<Vec<_>>(), ["app"]);
    assert_eq!(orch.path("app.conf").metadata().unwrap().modified().unwrap(), before);
    // The block may stay: once the address is in the state it is a no-op.
    orch.expect_no_changes(&[]);
}

#[test]
fn an_imported_file_that_differs_is_updated_not_created() {
    let orch = Orch::new(
        r#"resource app: fs.file {
  path    = "app.conf"
  content = "port = 8080\n"
}

import {
  to = app
  id = "app.conf"
}
"#,
    );
    orch.write("app.conf", "port = 80\n");
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 1, "{plan}");
    assert_eq!(actions(&plan).get("app").map(String::as_str), Some("update"), "{plan}");
    let apply = orch.apply(&[]);
    assert!(apply.stdout.contains("1 updated, 1 imported"), "{}", apply.stdout);
    assert_eq!(orch.read("app.conf"), "port = 8080\n");
    orch.expect_no_changes(&[]);
}

#[test]
fn import_blocks_in_a_for_adopt_one_folder_per_key() {
    let orch = Orch::new(
        r#"param sites: list<string> = ["blog", "shop"]

for name in sites {
  resource site: fs.dir {
    path = "srv/${name}"
  }

  import {
    to = site[name]
    id = "srv/${name}"
  }
}
"#,
    );
    std::fs::create_dir_all(orch.path("srv/blog")).unwrap();
    std::fs::create_dir_all(orch.path("srv/shop")).unwrap();
    orch.write("srv/blog/index.html", "<h1>blog</h1>");
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 2, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    let adopted: Vec<&str> = plan["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["address"].as_str().unwrap())
        .collect();
    assert_eq!(adopted, [r#"site["blog"]"#, r#"site["shop"]"#]);
    orch.apply(&[]);
    orch.expect_no_changes(&[]);
    assert_eq!(orch.read("srv/blog/index.html"), "<h1>blog</h1>");

    // A key added later is created; the blocks for the others stay no-ops.
    orch.write(
        "main.orch",
        &orch.read("main.orch").replace(r#"["blog", "shop"]"#, r#"["blog", "shop", "wiki"]"#),
    );
    std::fs::create_dir_all(orch.path("srv/wiki")).unwrap();
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 1, "{plan}");
    assert_eq!(plan["imports"][0]["address"], r#"site["wiki"]"#, "{plan}");
}

#[test]
fn an_id_that_names_nothing_is_an_error_at_the_block_and_nothing_is_recorded() {
    let orch = Orch::new(
        r#"resource app: fs.file {
  path    = "config/app.yaml"
  content = ""
}

import {
  to = app
  id = "config/app.yml"
}
"#,
    );
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    let text = flat(&plan.stderr);
    assert!(plan.stderr.contains("E0908"), "{}", plan.stderr);
    assert!(
        text.contains(r#"there is no fs.file with the id "config/app.yml" to import into `app`"#),
        "{text}"
    );
    assert!(plan.stderr.contains("main.orch:6:1"), "the block's place: {}", plan.stderr);
    orch.run(&["apply", "main.orch", "--auto-approve"]).expect_code(1);
    assert!(!orch.exists("config/app.yaml"), "a refused plan creates nothing");
}

#[test]
fn an_exec_run_cannot_be_imported_and_the_refusal_says_why() {
    let orch = Orch::new(
        r#"resource migrate: exec.run {
  create = "touch migrated"
}

import {
  to = migrate
  id = "migrate"
}
"#,
    );
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    let text = flat(&plan.stderr);
    assert!(plan.stderr.contains("E0909"), "{}", plan.stderr);
    assert!(text.contains("`migrate` cannot be imported: an exec.run is a command"), "{text}");
    let direct = orch.run(&["import", "migrate", "x", "main.orch"]);
    direct.expect_code(1);
    assert!(direct.stderr.contains("E0909"), "{}", direct.stderr);
    assert!(!orch.exists("migrated"));
    assert!(!orch.exists(".orch/state.json") || orch.state_list().is_empty());
}

#[test]
fn an_import_into_an_address_the_loop_does_not_have_is_refused() {
    let orch = Orch::new(
        r#"for name in ["blog"] {
  resource site: fs.dir {
    path = "srv/${name}"
  }
}

import {
  to = site["blgo"]
  id = "srv/blog"
}
"#,
    );
    std::fs::create_dir_all(orch.path("srv/blog")).unwrap();
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    let text = flat(&plan.stderr);
    assert!(plan.stderr.contains("E0907"), "{}", plan.stderr);
    assert!(text.contains(r#"the configuration declares `site["blog"]`"#), "{text}");
}

#[test]
fn orchc_import_records_at_once_and_print_shows_the_declaration() {
    let orch = Orch::new(
        r#"resource notes: fs.file {
  path    = "notes.txt"
  content = "draft\n"
}
"#,
    );
    orch.write("notes.txt", "say \"hi\" to ${name}\n");
    std::fs::set_permissions(
        orch.path("notes.txt"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();

    let print = orch.run(&["import", "notes", "notes.txt", "main.orch", "--print"]);
    print.expect_code(0);
    assert_eq!(
        print.stdout,
        "resource notes: fs.file {\n  path    = \"notes.txt\"\n  content = \"say \\\"hi\\\" to \\${name}\\n\"\n  mode    = 0o600\n}\n"
    );
    assert!(!orch.exists(".orch/state.json"), "--print changes nothing");
    // What --print gives is a declaration that plans no change.
    orch.write("printed/main.orch", &print.stdout);
    let check = orch.run(&["check", "printed/main.orch"]);
    check.expect_code(0);

    let import = orch.run(&["import", "notes", "notes.txt", "main.orch"]);
    import.expect_code(0);
    assert!(
        import.stdout.contains(r#"Imported fs.file "notes.txt" into `notes`"#),
        "{}",
        import.stdout
    );
    assert_eq!(orch.state_list().keys().collect::<Vec<_>>(), ["notes"]);
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 0, "{plan}");
    assert_eq!(actions(&plan).get("notes").map(String::as_str), Some("update"), "{plan}");

    let again = orch.run(&["import", "notes", "notes.txt", "main.orch"]);
    again.expect_code(1);
    assert!(flat(&again.stderr).contains("`notes` is in the state at"), "{}", again.stderr);
    // An address the configuration does not declare.
    let unknown = orch.run(&["import", "nots", "notes.txt", "main.orch"]);
    unknown.expect_code(1);
    assert!(unknown.stderr.contains("E0907"), "{}", unknown.stderr);
}

#[test]
fn an_object_managed_at_another_address_is_not_imported_twice() {
    let orch = Orch::new(
        r#"resource a: fs.file {
  path    = "same.txt"
  content = "x"
}
"#,
    );
    orch.apply(&[]);
    orch.write(
        "main.orch",
        r#"resource a: fs.file {
  path    = "same.txt"
  content = "x"
}

resource b: fs.file {
  path    = "same.txt"
  content = "x"
}

import {
  to = b
  id = "same.txt"
}
"#,
    );
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    let text = flat(&plan.stderr);
    assert!(plan.stderr.contains("E0907"), "{}", plan.stderr);
    assert!(text.contains(r#"the object "same.txt" is already in the state as `a`"#), "{text}");
}

#[test]
fn a_saved_plan_with_an_import_applies_it() {
    let orch = Orch::new(
        r#"resource app: fs.file {
  path    = "app.conf"
  content = "new"
}

import {
  to = app
  id = "app.conf"
}
"#,
    );
    orch.write("app.conf", "old");
    orch.run(&["plan", "main.orch", "--out", "plan.json"]).expect_code(0);
    orch.run(&["apply", "plan.json", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.read("app.conf"), "new");
    orch.expect_no_changes(&[]);
}

// ---------------------------------------------------------------------
// PostgreSQL: a role and a database made outside Orch.

/// Drops what a test made, also when it fails.
struct Made {
    url: String,
    role: String,
    database: String,
}

impl Drop for Made {
    fn drop(&mut self) {
        // Each on its own: `DROP DATABASE` runs outside a transaction. A
        // failure here must not panic while a failed test unwinds.
        for sql in [
            format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS \"{}\"", self.role),
        ] {
            let url = self.url.clone();
            let _ = std::panic::catch_unwind(move || common::pg::execute(&url, &sql));
        }
    }
}

fn suffix() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{:x}{:x}", std::process::id(), nanos)
}

#[test]
fn a_pg_role_and_database_made_outside_orch_are_imported_and_the_next_plan_is_empty() {
    let Some(url) = common::pg::server() else { return };
    let made = Made {
        url: url.clone(),
        role: format!("orch_imp_role_{}", suffix()),
        database: format!("orch_imp_db_{}", suffix()),
    };
    common::pg::execute(&url, &format!("CREATE ROLE \"{}\" LOGIN CONNECTION LIMIT 5", made.role));
    common::pg::execute(
        &url,
        &format!("CREATE DATABASE \"{}\" OWNER \"{}\"", made.database, made.role),
    );
    let orch = Orch::new(&format!(
        r#"provider pg {{ url = "{url}" }}

resource app_role: pg.role {{
  name             = "{role}"
  login            = true
  connection_limit = 5
}}

resource app_db: pg.database {{
  name = "{db}"
}}

import {{
  to = app_role
  id = "{role}"
}}

import {{
  to = app_db
  id = "{db}"
}}
"#,
        role = made.role,
        db = made.database
    ));
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 2, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    orch.apply(&[]);
    orch.expect_no_changes(&[]);

    // `--print` of the role gives its fields as read; its password, which
    // PostgreSQL cannot give back, is not among them.
    orch.write(
        "other/main.orch",
        &format!(
            "resource r: pg.role {{\n  name = \"{}\"\n}}\nprovider pg {{ url = \"{url}\" }}\n",
            made.role
        ),
    );
    let print = orch.run(&["import", "r", &made.role, "other/main.orch", "--print"]);
    print.expect_code(0);
    assert!(
        print.stdout.contains(&format!("name             = \"{}\"", made.role)),
        "{}",
        print.stdout
    );
    assert!(print.stdout.contains("connection_limit = 5"), "{}", print.stdout);
    assert!(!print.stdout.contains("password"), "{}", print.stdout);

    // A configured password cannot be compared with the server's hash: an
    // import records none, plans setting it, and after that nothing.
    orch.write(
        "main.orch",
        &orch.read("main.orch").replace(
            "  connection_limit = 5\n",
            "  connection_limit = 5\n  password         = \"pw-imported-1\"\n",
        ),
    );
    orch.run(&["state", "rm", "app_role"]).expect_code(0);
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["import"], 1, "{plan}");
    assert_eq!(actions(&plan).get("app_role").map(String::as_str), Some("update"), "{plan}");
    assert_eq!(plan["changes"][0]["changed_fields"], serde_json::json!(["password"]), "{plan}");
    assert!(!plan.to_string().contains("pw-imported-1"), "{plan}");
    orch.apply(&[]);
    orch.expect_no_changes(&[]);

    let missing = orch.run(&["import", "r", "orch_no_such_role_x", "other/main.orch"]);
    missing.expect_code(1);
    assert!(missing.stderr.contains("E0908"), "{}", missing.stderr);
}

#[test]
fn a_file_whose_configured_content_is_secret_is_imported_without_its_content_in_plaintext() {
    let orch = Orch::new(
        r#"param token: secret<string>

resource key: fs.file {
  path    = "token.txt"
  content = token
}

import {
  to = key
  id = "token.txt"
}
"#,
    );
    orch.write("token.txt", "hunter2-old");
    orch.run(&["plan", "main.orch", "--var", "token=hunter2-new", "--out", "plan.json"])
        .expect_code(0);
    assert!(!orch.read("plan.json").contains("hunter2"), "the plan file holds no secret");
    orch.run(&["apply", "plan.json", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.read("token.txt"), "hunter2-new");
    let state = std::fs::read_dir(orch.path(".orch")).unwrap();
    for entry in state {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.contains("hunter2"), "{}: {text}", path.display());
        }
    }
    orch.expect_no_changes(&["--var", "token=hunter2-new"]);
}

#[test]
fn a_move_only_apply_says_what_it_did() {
    let orch = Orch::new("resource a: fs.file {\n  path    = \"a.txt\"\n  content = \"x\"\n}\n");
    orch.apply(&[]);
    orch.write(
        "main.orch",
        "resource b: fs.file {\n  path    = \"a.txt\"\n  content = \"x\"\n}\n\nmoved {\n  from = a\n  to   = b\n}\n",
    );
    let apply = orch.apply(&[]);
    assert!(apply.stdout.contains("Apply complete: 0 operations, 1 moved in "), "{}", apply.stdout);
    orch.expect_no_changes(&[]);
}

#[test]
fn orchc_import_records_the_dependencies_so_a_destroy_deletes_in_order() {
    let orch = Orch::new(
        r#"resource folder: fs.dir {
  path = "data"
}

resource notes: fs.file {
  path    = "${folder.path}/notes.txt"
  content = "draft\n"
}
"#,
    );
    orch.write("data/notes.txt", "draft\n");
    orch.run(&["import", "folder", "data", "main.orch"]).expect_code(0);
    orch.run(&["import", "notes", "data/notes.txt", "main.orch"]).expect_code(0);

    let state: serde_json::Value = serde_json::from_str(&orch.read(".orch/state.json")).unwrap();
    let text = state.to_string();
    let notes = state
        .pointer("/instances/notes/depends_on")
        .unwrap_or_else(|| panic!("no depends_on of notes in {text}"));
    assert_eq!(notes, &serde_json::json!(["folder"]), "{text}");

    let destroy = orch.run(&["destroy", "--auto-approve"]);
    destroy.expect_code(0);
    assert!(!orch.exists("data/notes.txt") && !orch.exists("data"), "{}", destroy.stdout);
}
