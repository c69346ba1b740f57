//! The examples as the README runs them: `destroy` removes everything
//! `apply` created.

mod common;

use std::path::Path;

use common::orch::Orch;

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("read an example folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy an example file");
        }
    }
}

#[test]
fn local_env_destroy_removes_what_apply_created() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/local-env");
    let main = std::fs::read_to_string(example.join("main.orch")).expect("the example");
    let orch = Orch::new(&main);
    copy_folder(&example.join("templates"), &orch.path("templates"));
    // A port of its own, so that parallel runs do not collide.
    let port = format!("port={}", 20000 + std::process::id() % 20000);
    orch.apply(&["--var", &port]);
    assert!(orch.exists("run/logs/server.log"), "the server logs");
    let run = orch.run(&["destroy", "main.orch", "--auto-approve", "--var", &port]);
    run.expect_code(0);
    assert!(!orch.exists("run"), "destroy leaves run/ behind: {}", run.stdout);
}
