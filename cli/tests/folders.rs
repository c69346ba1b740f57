//! Folder modules through the binary: a root or a `module` path may be a
//! folder whose `*.orch` files form one module (LANGUAGE.md §1); `plan`,
//! `apply`, `destroy` and `output` take `[ROOT]`, the current folder by
//! default; `check` and `fmt` of a folder take every module below it; and
//! values given for names that are no param (`E0610`), `.orchvars` files.

mod common;

use common::Project;
use common::orch::Orch;

const MAIN: &str = r#"resource conf: fs.file {
  path    = "app-${environment}.conf"
  content = "replicas=${replicas}\n"
}
"#;
const PARAMS: &str = r#"param environment: string = "dev"
param replicas: int = 1
"#;
const OUTPUTS: &str = r#"output path: string = conf.path
output environment_name: string = environment
"#;

/// A root folder split over three files, as Terraform users write it.
fn split_root() -> Orch {
    let orch = Orch::new(MAIN);
    orch.write("params.orch", PARAMS);
    orch.write("outputs.orch", OUTPUTS);
    orch
}

#[test]
fn a_folder_split_over_three_files_is_the_root_with_no_argument_and_with_dot() {
    let orch = split_root();
    let plan = orch.run(&["plan"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("+ conf"), "{}", plan.stdout);
    assert!(plan.stdout.contains("1 to create"), "{}", plan.stdout);
    let dotted = orch.run(&["plan", ".", "--json"]);
    dotted.expect_code(0);
    assert_eq!(dotted.json()["changes"].as_array().map(Vec::len), Some(1), "{}", dotted.stdout);

    orch.run(&["apply", "--auto-approve", "--var", "environment=prod"]).expect_code(0);
    // Relative paths and the default state are in the root folder.
    assert_eq!(orch.read("app-prod.conf"), "replicas=1\n");
    assert!(orch.exists(".orch"), "the state is in the root module's folder");

    let outputs = orch.run(&["output", "--json"]);
    outputs.expect_code(0);
    assert_eq!(outputs.json()["environment_name"], "prod");
    assert_eq!(outputs.json()["path"], "app-prod.conf");
    // One argument that is no file or folder is the output's name.
    let one = orch.run(&["output", "environment_name"]);
    one.expect_code(0);
    assert_eq!(one.stdout, "prod\n");
    let rooted = orch.run(&["output", ".", "path"]);
    rooted.expect_code(0);
    assert_eq!(rooted.stdout, "app-prod.conf\n");

    // Nothing left to do, from either spelling of the root.
    orch.run(&["plan", "--detailed-exitcode", "--var", "environment=prod"]).expect_code(0);
    orch.run(&["plan", ".", "--detailed-exitcode", "--var", "environment=prod"]).expect_code(0);

    // A saved plan of a folder root carries the folder's files.
    orch.write("params.orch", &PARAMS.replace("replicas: int = 1", "replicas: int = 3"));
    orch.run(&["plan", "--var", "environment=prod", "--out", "change.plan"]).expect_code(0);
    orch.run(&["apply", "change.plan", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.read("app-prod.conf"), "replicas=3\n");

    orch.run(&["destroy", "--auto-approve", "--var", "environment=prod"]).expect_code(0);
    assert!(!orch.exists("app-prod.conf"));
}

#[test]
fn a_folder_root_is_planned_from_another_folder_with_its_state_inside_it() {
    let orch = Orch::new("output unrelated: int = 1\n");
    for (name, text) in [("main.orch", MAIN), ("params.orch", PARAMS), ("outputs.orch", OUTPUTS)] {
        orch.write(&format!("app/{name}"), text);
    }
    orch.run(&["apply", "app", "--auto-approve"]).expect_code(0);
    assert_eq!(orch.read("app/app-dev.conf"), "replicas=1\n");
    assert!(orch.exists("app/.orch"), "the state is in the folder of the root module");
    assert!(!orch.exists(".orch"));
    let outputs = orch.run(&["output", "app", "--json"]);
    outputs.expect_code(0);
    assert_eq!(outputs.json()["environment_name"], "dev");
}

#[test]
fn a_folder_split_over_three_files_is_a_module() {
    let orch = Orch::new(
        r#"module web: "./modules/app" {
  environment = "web"
  replicas    = 2
}
output web_path: string = web.path
"#,
    );
    for (name, text) in [("main.orch", MAIN), ("params.orch", PARAMS), ("outputs.orch", OUTPUTS)] {
        orch.write(&format!("modules/app/{name}"), text);
    }
    // A file beside the module's folder and a test file are not part of it.
    orch.write("modules/app/main.test.orch", "not orch at all {\n");
    orch.write("modules/app/sub/other.orch", "output web_path: int = 1\n");
    let plan = orch.run(&["plan", "main.orch"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("web.conf"), "{}", plan.stdout);
    orch.apply(&[]);
    assert_eq!(orch.read("app-web.conf"), "replicas=2\n");
    let outputs = orch.run(&["output", "main.orch", "--json"]);
    assert_eq!(outputs.json()["web_path"], "app-web.conf");
}

#[test]
fn diagnostics_name_the_file_and_duplicates_across_files_point_at_both() {
    let orch = split_root();
    orch.write("more.orch", "param replicas: int = 2\noutput typo: string = enviroment\n");
    let run = orch.run(&["plan"]);
    run.expect_code(1);
    assert!(run.stderr.contains("E0102"), "{}", run.stderr);
    assert!(run.stderr.contains("more.orch:1"), "{}", run.stderr);
    assert!(run.stderr.contains("params.orch:2"), "{}", run.stderr);
    assert!(run.stderr.contains("first declared here"), "{}", run.stderr);
    assert!(run.stderr.contains("E0101"), "{}", run.stderr);
    assert!(run.stderr.contains("more.orch:2"), "{}", run.stderr);
}

#[test]
fn check_of_a_folder_takes_every_module_below_it() {
    let project = Project::new();
    // A folder module over three files, with names used across them.
    project.write("infra/app/main.orch", MAIN);
    project.write("infra/app/params.orch", PARAMS);
    project.write("infra/app/outputs.orch", OUTPUTS);
    // The layout before folder modules: files named alone by `import` and
    // `module` beside the file that names them.
    project.write(
        "infra/legacy/main.orch",
        "import \"./common.orch\" as common\nmodule s: \"./site.orch\" { port = common.port }\noutput p: int = s.listen\n",
    );
    project.write("infra/legacy/common.orch", "let port = 8080\n");
    project.write("infra/legacy/site.orch", "param port: int\noutput listen: int = port\n");
    let run = project.run(&["check", "infra"]);
    run.expect_code(0);
    assert_eq!(run.stdout, "checked 6 files: no problems\n");

    // An error in one module is reported in its file; the others still
    // check (each folder is its own namespace).
    project.write("infra/db/main.orch", "output url: string = \"postgres://${host}\"\n");
    project.write("infra/db/params.orch", "param host: string = \"localhost\"\n");
    project.write("infra/broken/a.orch", "output x: int = y\n");
    project.write("infra/broken/b.orch", "let z = 1\n");
    let run = project.run(&["check", "infra", "--format", "json"]);
    run.expect_code(1);
    let diagnostics = run.json()["diagnostics"].as_array().cloned().unwrap_or_default();
    let errors: Vec<(String, String)> = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["file"].as_str().unwrap_or("").to_string(),
                d["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [("infra/broken/a.orch".to_string(), "E0101".to_string())],
        "{}",
        run.stdout
    );

    // No PATH: the current folder.
    let run = project.run(&["check"]);
    run.expect_code(1);
    assert!(run.stdout.contains("infra/broken/a.orch"), "{}", run.stdout);
}

#[test]
fn fmt_of_a_folder_formats_every_file_below_it() {
    let project = Project::new();
    project
        .write("app/main.orch", "resource conf: fs.file {\npath = \"a\"\n    content = \"b\"\n}\n");
    project.write("app/params.orch", "param   environment:string=\"dev\"\n");
    project.write("app/nested/more.orch", "let   x=1\n");
    project.run(&["fmt", "--check", "app"]).expect_code(1);
    project.run(&["fmt", "app"]).expect_code(0);
    assert_eq!(project.read("app/params.orch"), "param environment: string = \"dev\"\n");
    assert_eq!(project.read("app/nested/more.orch"), "let x = 1\n");
    assert!(project.read("app/main.orch").contains("  path    = \"a\"\n"));
    project.run(&["fmt", "--check", "app"]).expect_code(0);
    project.run(&["fmt", "--check"]).expect_code(0);
}

#[test]
fn a_value_for_no_param_is_an_error_with_the_closest_name() {
    let orch = split_root();
    let run = orch.run(&["plan", "--var", "enviroment=prod"]);
    run.expect_code(1);
    assert!(run.stderr.contains("E0610"), "{}", run.stderr);
    assert!(run.stderr.contains("`--var enviroment` names no param"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `environment`?"), "{}", run.stderr);
    assert!(run.stderr.contains("params.orch:1"), "{}", run.stderr);
    assert!(!orch.exists("app-prod.conf") && !orch.exists("app-dev.conf"));

    let run = orch.run_env(&["apply", "--auto-approve"], &[("ORCH_VAR_replicaz", "2")]);
    run.expect_code(1);
    assert!(run.stderr.contains("the environment variable `ORCH_VAR_replicaz`"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `replicas`?"), "{}", run.stderr);

    orch.write("prod.json", "{\"environment\": \"prod\", \"replica\": 2}");
    let run = orch.run(&["plan", "--var-file", "prod.json"]);
    run.expect_code(1);
    assert!(run.stderr.contains("the key `replica` of the var file `prod.json`"), "{}", run.stderr);

    let run = orch.run(&["check", "--var", "enviroment=prod"]);
    run.expect_code(1);
    assert!(run.stdout.contains("E0610"), "{}", run.stdout);

    // A name far from every param: the params are listed.
    let run = orch.run(&["plan", "--var", "zzz=1"]);
    run.expect_code(1);
    assert!(run.stderr.contains("its params are `environment`, `replicas`"), "{}", run.stderr);
    assert!(!orch.exists(".orch/state.json") || orch.state_list().is_empty());
}

#[test]
fn orchvars_files_hold_values_in_orch_syntax() {
    let orch = split_root();
    orch.write(
        "prod.orchvars",
        "// production\nenvironment = \"prod\"\nreplicas    = 3 // three\n",
    );
    orch.run(&["apply", "--auto-approve", "--var-file", "prod.orchvars"]).expect_code(0);
    assert_eq!(orch.read("app-prod.conf"), "replicas=3\n");
    // `--var` wins over the file.
    let plan = orch.run(&["plan", "--json", "--var-file", "prod.orchvars", "--var", "replicas=4"]);
    plan.expect_code(0);
    assert_eq!(plan.json()["changes"].as_array().map(Vec::len), Some(1));

    orch.write("bad.orchvars", "environment = \"prod\"\nreplicas = 1 +\n");
    let run = orch.run(&["plan", "--var-file", "bad.orchvars"]);
    run.expect_code(1);
    assert!(run.stderr.contains("bad.orchvars:2:1"), "{}", run.stderr);
    assert!(run.stderr.contains("not an Orch literal"), "{}", run.stderr);

    orch.write("typo.orchvars", "enviroment = \"prod\"\n");
    let run = orch.run(&["plan", "--var-file", "typo.orchvars"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("the key `enviroment` of the var file `typo.orchvars`"),
        "{}",
        run.stderr
    );

    orch.write("prod.tfvars", "environment = \"prod\"\n");
    let run = orch.run(&["plan", "--var-file", "prod.tfvars"]);
    run.expect_code(1);
    assert!(run.stderr.contains("prod.tfvars is a Terraform var file"), "{}", run.stderr);
    assert!(run.stderr.contains(".orchvars"), "{}", run.stderr);

    orch.write("lines.vars", "environment = \"prod\"\n");
    let run = orch.run(&["plan", "--var-file", "lines.vars"]);
    run.expect_code(1);
    assert!(run.stderr.contains("name the file `*.orchvars`"), "{}", run.stderr);
}

#[test]
fn a_root_folder_of_several_configurations_is_refused() {
    let orch = Orch::new("import \"./common.orch\" as common\noutput a: int = common.port\n");
    orch.write("common.orch", "let port = 1\n");
    orch.write("other.orch", "import \"./common.orch\" as common\noutput b: int = common.port\n");
    let run = orch.run(&["plan"]);
    run.expect_code(1);
    assert!(run.stderr.contains("holds 2 configurations"), "{}", run.stderr);
    assert!(run.stderr.contains("`main.orch`, `other.orch`"), "{}", run.stderr);
    orch.run(&["plan", "main.orch"]).expect_code(0);
}

#[test]
fn a_missing_root_is_a_clear_error() {
    let orch = Orch::new("output a: int = 1\n");
    let run = orch.run(&["plan", "nowhere"]);
    run.expect_code(1);
    assert!(run.stderr.contains("nowhere"), "{}", run.stderr);
    let empty = Orch::new("output a: int = 1\n");
    std::fs::create_dir_all(empty.path("empty")).expect("a folder");
    let run = empty.run(&["plan", "empty"]);
    run.expect_code(1);
    assert!(run.stderr.contains("the folder holds no `.orch` files"), "{}", run.stderr);
}
