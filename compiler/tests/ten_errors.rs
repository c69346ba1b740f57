//! One mistake in each of ten declarations gives exactly ten diagnostics,
//! one at each mistake: a broken expression has the error type, which is
//! compatible with everything, so the declarations that use it (and the
//! declaration it stands in) report nothing more.

use std::collections::HashMap;

use orch_compiler::{Options, SourceDb, analyze};
use orch_lang::LineIndex;

/// Files held in memory.
struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

const PROGRAM: &str = r#"param replicas: int = "two"
param region: strng = "eu"
let port: int = "8080"
let total = replicas + "1"
let shout = uppr(region)
let missing = regin
resource conf: fs.file { path = 42 }
output conf_mode: string = conf.mode
let api: { name: string, port: int } = { name = "api", port = "80" }
output api_host = api.host

output summary = "${replicas} ${region} ${port} ${total} ${shout} ${missing} ${api.port}"
output conf_path = conf.path
assert total > 0 && length(shout) > 0, "totals are positive"
"#;

#[test]
fn ten_mistakes_give_ten_diagnostics() {
    let db = Memory(HashMap::from([("main.orch".to_string(), PROGRAM.to_string())]));
    let analysis = analyze(&db, &["main.orch".to_string()], &Options::default());
    let index = LineIndex::new(PROGRAM);
    let found: Vec<(u32, &str)> = analysis
        .diagnostics
        .iter()
        .map(|d| (index.line_col(PROGRAM, d.primary.span.start).line, d.code.code))
        .collect();
    let expected = vec![
        (1, "E0201"),  // a string default for an int param
        (2, "E0104"),  // an unknown type
        (3, "E0201"),  // a string for an int let
        (4, "E0203"),  // int + string
        (5, "E0105"),  // an unknown function
        (6, "E0101"),  // an undefined name
        (7, "E0201"),  // an int for the path of a file
        (8, "E0201"),  // an int field into a string output
        (9, "E0201"),  // a record field of the wrong type
        (10, "E0206"), // a field the record does not have
    ];
    let messages: Vec<String> =
        analysis.diagnostics.iter().map(|d| format!("{} {}", d.code.code, d.message)).collect();
    assert_eq!(found, expected, "{messages:#?}");
}
