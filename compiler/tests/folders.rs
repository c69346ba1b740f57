//! Folder modules: a root or a `module` path naming a folder makes its
//! `*.orch` files one module (LANGUAGE.md §1); and values given from
//! outside for names that are not params (`E0610`).

use std::collections::HashMap;

use orch_compiler::eval::{ParamInput, ParamOrigin};
use orch_compiler::{Analysis, Options, SourceDb, analyze};
use orch_stdlib::Value;

struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

fn run(files: &[(&str, &str)], roots: &[&str], options: &Options) -> Analysis {
    let db = Memory(files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect());
    let roots: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    analyze(&db, &roots, options)
}

fn evaluate() -> Options {
    Options { evaluate: true, ..Options::default() }
}

/// `file:line code message` for every diagnostic.
fn described(analysis: &Analysis) -> Vec<String> {
    analysis
        .diagnostics
        .iter()
        .map(|d| {
            let file = analysis.files.get(d.primary.span.file);
            let line = orch_lang::LineIndex::new(&file.source)
                .line_col(&file.source, d.primary.span.start)
                .line;
            format!("{}:{line} {} {}", file.path, d.code.code, d.message)
        })
        .collect()
}

const MAIN: &str =
    "resource conf: fs.file {\n  path    = \"${root}/app.conf\"\n  content = greeting\n}\n";
const PARAMS: &str = "param root: string = \"/tmp\"\nlet greeting = \"hello ${name}\"\nparam name: string = \"world\"\n";
const OUTPUTS: &str = "output path: string = conf.path\noutput text: string = greeting\n";

fn split_app(prefix: &str) -> Vec<(String, String)> {
    vec![
        (format!("{prefix}main.orch"), MAIN.to_string()),
        (format!("{prefix}params.orch"), PARAMS.to_string()),
        (format!("{prefix}outputs.orch"), OUTPUTS.to_string()),
    ]
}

fn borrowed(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect()
}

#[test]
fn a_folder_root_is_one_module_across_its_files() {
    let files = split_app("app/");
    let analysis = run(&borrowed(&files), &["app"], &evaluate());
    assert_eq!(described(&analysis), Vec::<String>::new());
    assert_eq!(analysis.roots.len(), 1);
    assert_eq!(analysis.files.module_path(analysis.roots[0]), "app");
    assert_eq!(analysis.files.module_files(analysis.roots[0]).len(), 3);
    let (_, evaluation) = &analysis.evaluations[0];
    assert_eq!(evaluation.outputs["path"], Value::string("/tmp/app.conf"));
    assert_eq!(evaluation.outputs["text"], Value::string("hello world"));
    assert_eq!(evaluation.instances.len(), 1);
    assert_eq!(evaluation.instances[0].address, "conf");
}

#[test]
fn the_current_folder_is_a_folder_module() {
    let files = split_app("");
    let analysis = run(&borrowed(&files), &["."], &evaluate());
    assert_eq!(described(&analysis), Vec::<String>::new());
    assert_eq!(analysis.evaluations[0].1.outputs["text"], Value::string("hello world"));
}

#[test]
fn a_module_path_may_name_a_folder() {
    let mut files = split_app("modules/app/");
    files.push((
        "main.orch".into(),
        "module web: \"./modules/app\" { name = \"web\" }\noutput text: string = web.text\n".into(),
    ));
    let analysis = run(&borrowed(&files), &["main.orch"], &evaluate());
    assert_eq!(described(&analysis), Vec::<String>::new());
    let (_, evaluation) = &analysis.evaluations[0];
    assert_eq!(evaluation.outputs["text"], Value::string("hello web"));
    assert_eq!(evaluation.instances.iter().filter(|i| i.address == "web.conf").count(), 1);
}

#[test]
fn diagnostics_name_their_file_and_duplicates_point_at_both() {
    let files = [
        ("app/main.orch", "output a: int = missing\nlet port = 1\n"),
        ("app/other.orch", "let port = 2\noutput b: int = port\n"),
    ];
    let analysis = run(&files, &["app"], &Options::default());
    let got = described(&analysis);
    assert!(
        got.contains(&"app/main.orch:1 E0101 cannot find `missing` in this scope".to_string()),
        "{got:?}"
    );
    let duplicate = analysis.diagnostics.iter().find(|d| d.code.code == "E0102").expect("E0102");
    let files_named: Vec<&str> = std::iter::once(duplicate.primary.span.file)
        .chain(duplicate.labels.iter().map(|l| l.span.file))
        .map(|id| analysis.files.get(id).path.as_str())
        .collect();
    assert_eq!(files_named, ["app/other.orch", "app/main.orch"], "{duplicate:?}");
}

#[test]
fn test_files_and_subfolders_are_not_part_of_a_folder_module() {
    let files = [
        ("app/main.orch", "output a: int = 1\n"),
        ("app/main.test.orch", "this is not orch at all {\n"),
        ("app/sub/x.orch", "output a: int = 2\n"),
    ];
    let analysis = run(&files, &["app"], &Options::default());
    assert_eq!(described(&analysis), Vec::<String>::new());
    let paths: Vec<&str> = analysis.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["app/main.orch"]);
}

#[test]
fn a_folder_cannot_be_imported_and_an_empty_folder_is_no_module() {
    let files = [
        ("main.orch", "import \"./lib\" as lib\nmodule m: \"./empty\" {}\n"),
        ("lib/a.orch", "let x = 1\n"),
        ("empty/README.md", "nothing\n"),
    ];
    let analysis = run(&files, &["main.orch"], &Options::default());
    let got = described(&analysis);
    assert!(got.iter().any(|d| d.contains("E0701 cannot import `lib`: it is a folder")), "{got:?}");
    assert!(
        got.iter()
            .any(|d| d.contains("E0701 cannot read `empty`: the folder holds no `.orch` files")),
        "{got:?}"
    );
}

#[test]
fn a_root_folder_whose_files_are_named_alone_is_a_folder_of_file_modules() {
    // The layout before folder modules: main.orch imports a library and
    // instantiates a module beside it.
    let files = [
        (
            "main.orch",
            "import \"./common.orch\" as common\nmodule s: \"./site.orch\" { port = common.port }\noutput p: int = s.listen\n",
        ),
        ("common.orch", "let port = 8080\n"),
        ("site.orch", "param port: int\noutput listen: int = port\n"),
    ];
    let analysis = run(&files, &["."], &evaluate());
    assert_eq!(described(&analysis), Vec::<String>::new());
    assert_eq!(analysis.roots.len(), 3);
    assert_eq!(analysis.configurations.len(), 1);
    assert_eq!(analysis.files.get(analysis.configurations[0]).path, "main.orch");
    let file_root = run(&files, &["main.orch"], &evaluate());
    assert_eq!(analysis.evaluations[0].1.outputs["p"], file_root.evaluations[0].1.outputs["p"]);
}

#[test]
fn a_file_of_a_module_folder_cannot_be_used_alone() {
    let files = [
        ("main.orch", "module app: \"./app\" {}\nimport \"./app/common.orch\" as common\n"),
        ("app/main.orch", "output name: string = \"app\"\n"),
        ("app/common.orch", "let port = 8080\n"),
    ];
    let analysis = run(&files, &["main.orch"], &Options::default());
    let got: Vec<String> =
        described(&analysis).into_iter().filter(|d| !d.contains(" W0")).collect();
    assert_eq!(
        got,
        [
            "main.orch:2 E0710 `app/common.orch` is a file of the folder module `app` and cannot be used on its own"
        ]
    );
}

#[test]
fn folder_modules_that_reach_themselves_are_cycles() {
    let files =
        [("a/main.orch", "module b: \"../b\" {}\n"), ("b/main.orch", "module a: \"../a\" {}\n")];
    let analysis = run(&files, &["a"], &Options::default());
    let got = described(&analysis);
    assert!(got.iter().any(|d| d.contains("E0702")), "{got:?}");
}

fn with_origins(vars: &[(&str, &str, ParamOrigin)]) -> Options {
    Options {
        params: vars
            .iter()
            .map(|(k, v, _)| (k.to_string(), ParamInput::Text(v.to_string())))
            .collect(),
        param_origins: vars.iter().map(|(k, _, o)| (k.to_string(), o.clone())).collect(),
        policy_files: Vec::new(),
        evaluate: true,
        tests: false,
    }
}

#[test]
fn a_value_for_no_param_is_an_error_with_the_closest_name() {
    let main = "param environment: string = \"dev\"\noutput env: string = environment\n";
    let options = with_origins(&[("enviroment", "prod", ParamOrigin::Flag)]);
    let analysis = run(&[("main.orch", main)], &["main.orch"], &options);
    let got = described(&analysis);
    assert_eq!(got, ["main.orch:1 E0610 `--var enviroment` names no param of the root module"]);
    assert_eq!(analysis.diagnostics[0].help.as_deref(), Some("did you mean `environment`?"));

    // Far from every param: no suggestion, the params listed instead.
    let options = with_origins(&[("zzz", "1", ParamOrigin::VarFile("prod.orchvars".to_string()))]);
    let analysis = run(&[("main.orch", main)], &["main.orch"], &options);
    let diagnostic = &analysis.diagnostics[0];
    assert_eq!(diagnostic.code.code, "E0610");
    assert_eq!(
        diagnostic.message,
        "the key `zzz` of the var file `prod.orchvars` names no param of the root module"
    );
    assert_eq!(diagnostic.detached.as_deref(), Some("main.orch"));
    assert_eq!(diagnostic.help.as_deref(), Some("its params are `environment`"));

    // A param of a folder module, declared in another file, is a param.
    let files = [
        ("app/main.orch", "output env: string = environment\n"),
        ("app/params.orch", "param environment: string = \"dev\"\n"),
    ];
    let options = with_origins(&[("environment", "prod", ParamOrigin::Environment)]);
    let analysis = run(&files, &["app"], &options);
    assert_eq!(described(&analysis), Vec::<String>::new());
    assert_eq!(analysis.evaluations[0].1.outputs["env"], Value::string("prod"));
}

#[test]
fn the_unknown_param_page_shows_its_code() {
    let page = orch_lang::diagnostic::lookup_code("E0610").expect("registered").doc;
    let blocks: Vec<&str> =
        page.split("```orch\n").skip(1).map(|b| b.split("```").next().unwrap_or("")).collect();
    let options = with_origins(&[("enviroment", "prod", ParamOrigin::Flag)]);
    let analysis = run(&[("main.orch", blocks[0])], &["main.orch"], &options);
    assert_eq!(analysis.diagnostics.iter().map(|d| d.code.code).collect::<Vec<_>>(), ["E0610"]);
    let options = with_origins(&[("environment", "prod", ParamOrigin::Flag)]);
    let analysis = run(&[("main.orch", blocks[1])], &["main.orch"], &options);
    assert!(analysis.diagnostics.is_empty(), "{:?}", analysis.diagnostics);
}
