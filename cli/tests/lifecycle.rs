//! `moved` and `removed` blocks and identity conflicts end to end: the real
//! binary on files and folders in a temporary folder, local state in
//! `.orch/`. Each test renames or forgets something that was applied and
//! checks both what the plan says and what is on disk afterwards.

mod common;

use common::orch::{Orch, flat};

/// `n` files in a loop under a folder, the loop declaration named `name`.
fn files(name: &str, n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("\"f{i:02}\"")).collect();
    format!(
        r#"param names: list<string> = [{}]

resource root: fs.dir {{ path = "out" }}

for n in names {{
  resource {name}: fs.file {{
    path    = "${{root.path}}/${{n}}.txt"
    content = "data of ${{n}}"
  }}
}}
"#,
        names.join(", ")
    )
}

fn addresses(orch: &Orch) -> Vec<String> {
    orch.state_list().into_keys().collect()
}

#[test]
fn a_loop_of_thirty_files_renamed_without_moved_is_refused_and_nothing_changes() {
    let orch = Orch::new(&files("f", 30));
    orch.apply(&[]);
    let state_before = orch.state_json();
    orch.write("main.orch", &files("page", 30));

    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(1);
    let text = flat(&plan.stderr);
    assert!(
        text.contains(r#"`f["f07"]` would be deleted and `page["f07"]` created, but both are the fs.file "out/f07.txt""#),
        "{text}"
    );
    assert!(text.contains("moved { from = f to = page }"), "the fix is the whole loop: {text}");
    assert!(plan.stderr.contains("E0906"), "{}", plan.stderr);

    orch.run(&["apply", "main.orch", "--auto-approve"]).expect_code(1);
    for i in 0..30 {
        assert_eq!(orch.read(&format!("out/f{i:02}.txt")), format!("data of f{i:02}"));
    }
    assert_eq!(orch.state_json(), state_before, "a refused apply records nothing");
    assert!(addresses(&orch).iter().all(|a| a == "root" || a.starts_with("f[")));
}

#[test]
fn a_loop_of_thirty_files_renamed_with_moved_loses_nothing() {
    let orch = Orch::new(&files("f", 30));
    orch.apply(&[]);
    let before: Vec<std::time::SystemTime> = (0..30)
        .map(|i| orch.path(&format!("out/f{i:02}.txt")).metadata().unwrap().modified().unwrap())
        .collect();
    orch.write(
        "main.orch",
        &format!("{}\nmoved {{\n  from = f\n  to   = page\n}}\n", files("page", 30)),
    );

    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["move"], 30, "{plan}");
    assert_eq!(plan["summary"]["create"], 0, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    assert!(
        plan["moves"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["from"] == r#"f["f29"]"# && m["to"] == r#"page["f29"]"#)
    );
    let human = orch.run(&["plan", "main.orch"]);
    assert!(human.stdout.contains(r#"page["f03"]  moved from f["f03"]"#), "{}", human.stdout);

    orch.apply(&[]);
    for (i, modified) in before.iter().enumerate() {
        let path = format!("out/f{i:02}.txt");
        assert_eq!(orch.read(&path), format!("data of f{i:02}"));
        assert_eq!(
            &orch.path(&path).metadata().unwrap().modified().unwrap(),
            modified,
            "{path} untouched"
        );
    }
    let recorded = addresses(&orch);
    assert_eq!(recorded.len(), 31);
    assert!(recorded.iter().all(|a| a == "root" || a.starts_with("page[")), "{recorded:?}");
    // The block is harmless once applied.
    orch.expect_no_changes(&[]);
}

const ONE: &str = r#"resource a: fs.file {
  path    = "kept.txt"
  content = "v1"
}
"#;

#[test]
fn a_chain_of_moves_lands_at_its_end() {
    let orch = Orch::new(ONE);
    orch.apply(&[]);
    orch.write(
        "main.orch",
        r#"resource c: fs.file {
  path    = "kept.txt"
  content = "v2"
}

moved {
  from = a
  to   = b
}

moved {
  from = b
  to   = c
}
"#,
    );
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["moves"], serde_json::json!([{"from": "a", "to": "c"}]), "{plan}");
    // The move comes with the change of content: an update, not a create.
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{plan}");
    assert_eq!(
        (changes[0]["address"].as_str(), changes[0]["action"].as_str()),
        (Some("c"), Some("update"))
    );
    orch.apply(&[]);
    assert_eq!(orch.read("kept.txt"), "v2");
    assert_eq!(addresses(&orch), ["c"]);
    orch.expect_no_changes(&[]);
}

#[test]
fn a_resource_moves_into_a_module_instance() {
    let orch = Orch::new(ONE);
    orch.apply(&[]);
    orch.write(
        "modules/site.orch",
        r#"param path: string

resource page: fs.file {
  path    = path
  content = "v1"
}
"#,
    );
    orch.write(
        "main.orch",
        r#"module site: "./modules/site.orch" {
  path = "kept.txt"
}

moved {
  from = a
  to   = site.page
}
"#,
    );
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["moves"], serde_json::json!([{"from": "a", "to": "site.page"}]), "{plan}");
    assert_eq!(plan["summary"]["create"], 0);
    assert_eq!(plan["summary"]["delete"], 0);
    orch.apply(&[]);
    assert_eq!(orch.read("kept.txt"), "v1");
    assert_eq!(addresses(&orch), ["site.page"]);
    orch.expect_no_changes(&[]);
}

/// Two files, `a` and `b`, for the tests that move them.
const TWO_FILES: &str = r#"resource a: fs.file {
  path    = "a.txt"
  content = "a"
}

resource b: fs.file {
  path    = "b.txt"
  content = "b"
}
"#;

#[test]
fn conflicting_moves_are_refused_before_anything_happens() {
    let orch = Orch::new(TWO_FILES);
    orch.apply(&[]);
    orch.write(
        "main.orch",
        r#"resource c: fs.file {
  path    = "a.txt"
  content = "a"
}

moved {
  from = a
  to   = c
}

moved {
  from = b
  to   = c
}
"#,
    );
    let run = orch.run(&["apply", "main.orch", "--auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr.contains("E1004"), "{}", run.stderr);
    assert!(
        flat(&run.stderr).contains("two instances are moved to `c`: `a` and `b`"),
        "{}",
        run.stderr
    );
    assert_eq!(orch.read("a.txt"), "a");
    assert_eq!(orch.read("b.txt"), "b");
    assert_eq!(addresses(&orch), ["a", "b"]);
}

#[test]
fn a_move_onto_an_address_with_its_own_object_is_refused() {
    let orch = Orch::new(TWO_FILES);
    orch.apply(&[]);
    orch.write(
        "main.orch",
        r#"resource b: fs.file {
  path    = "b.txt"
  content = "b"
}

moved {
  from = a
  to   = b
}
"#,
    );
    let run = orch.run(&["plan", "main.orch"]);
    run.expect_code(1);
    assert!(run.stderr.contains("E0905"), "{}", run.stderr);
    assert!(flat(&run.stderr).contains("`a` cannot move to `b`"), "{}", run.stderr);
    orch.run(&["apply", "main.orch", "--auto-approve"]).expect_code(1);
    assert!(orch.exists("a.txt") && orch.exists("b.txt"));
    assert_eq!(addresses(&orch), ["a", "b"]);
}

#[test]
fn removed_without_destroy_forgets_a_protected_folder_and_leaves_it() {
    let orch = Orch::new(
        r#"@prevent_destroy
resource legacy: fs.dir { path = "legacy" }

resource other: fs.dir { path = "other" }
"#,
    );
    orch.apply(&[]);
    std::fs::write(orch.path("legacy/data.txt"), "precious").unwrap();

    // Without a `removed` block the protection holds.
    orch.write("main.orch", "resource other: fs.dir { path = \"other\" }\n");
    orch.run(&["plan", "main.orch"]).expect_code(1);

    orch.write(
        "main.orch",
        "resource other: fs.dir { path = \"other\" }\n\nremoved {\n  from    = legacy\n  destroy = false\n}\n",
    );
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["forget"], 1, "{plan}");
    assert_eq!(plan["summary"]["delete"], 0, "{plan}");
    orch.apply(&[]);
    assert_eq!(orch.read("legacy/data.txt"), "precious");
    assert_eq!(addresses(&orch), ["other"]);
    orch.expect_no_changes(&[]);

    // `destroy = true` (the default) deletes an unprotected one.
    orch.write("main.orch", "removed {\n  from = other\n}\n");
    let plan = orch.plan_json(&[]);
    assert_eq!(plan["summary"]["delete"], 1, "{plan}");
    orch.apply(&[]);
    assert!(!orch.exists("other"));
}

#[test]
fn state_mv_moves_a_declaration_and_refuses_an_occupied_address() {
    let orch = Orch::new(&files("f", 3));
    orch.apply(&[]);
    let moved = orch.run(&["state", "mv", "f", "page"]);
    moved.expect_code(0);
    assert!(moved.stdout.contains("Moved f to page"), "{}", moved.stdout);
    assert_eq!(addresses(&orch), [r#"page["f00"]"#, r#"page["f01"]"#, r#"page["f02"]"#, "root"]);
    orch.write("main.orch", &files("page", 3));
    orch.expect_no_changes(&[]);

    let taken = orch.run(&["state", "mv", r#"page["f00"]"#, r#"page["f01"]"#]);
    taken.expect_code(1);
    assert!(flat(&taken.stderr).contains("has an object of its own"), "{}", taken.stderr);
    orch.run(&["state", "mv", "nothing", "page2"]).expect_code(1);
    assert_eq!(addresses(&orch).len(), 4);
}
