//! `analyze_with_cache` gives the same analysis as `analyze`, whatever the
//! cache holds: the parses of unchanged files are reused, edited files are
//! parsed again.

use std::collections::HashMap;

use orch_compiler::{Analysis, Options, ParseCache, SourceDb, analyze, analyze_with_cache};

struct Memory(HashMap<String, String>);

impl SourceDb for Memory {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| "no such file".to_string())
    }

    fn list_folder(&self, path: &str) -> Option<Result<Vec<String>, String>> {
        orch_compiler::db::list_memory_folder(self.0.keys().map(String::as_str), path)
    }
}

const MAIN: &str = r#"import "./common.orch" as common
param env: string = "dev"
module site: "./site.orch" { name = "docs" }
resource f: fs.file { path = "/srv/${env}/${common.port}", content = site.url }
output url: string = site.url
"#;
const COMMON: &str = "let port = 8080\n";
const SITE: &str = r#"param name: string
resource dir: fs.dir { path = "/srv/${name}" }
output url: string = "https://example.com/${name}"
"#;

/// Everything observable about an analysis, as text.
fn summary(analysis: &Analysis) -> String {
    let files: Vec<(&str, &str)> =
        analysis.files.iter().map(|f| (f.path.as_str(), &*f.source)).collect();
    format!(
        "{files:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        analysis.roots, analysis.diagnostics, analysis.decls, analysis.evaluations
    )
}

#[test]
fn cached_analyses_equal_fresh_ones_across_edits() {
    let roots = ["main.orch".to_string()];
    let options = Options { evaluate: true, ..Options::default() };
    let mut sources = HashMap::from([
        ("main.orch".to_string(), MAIN.to_string()),
        ("common.orch".to_string(), COMMON.to_string()),
        ("site.orch".to_string(), SITE.to_string()),
    ]);
    let edits: [(&str, &str, &str); 5] = [
        // No change at all.
        ("main.orch", "", ""),
        // The module changes; the root does not.
        ("site.orch", "example.com", "example.org"),
        // A syntax error in the root, then its fix.
        ("main.orch", "output url: string", "output url string"),
        ("main.orch", "output url string", "output url: string"),
        // A name error in the imported file.
        ("common.orch", "8080", "other"),
    ];
    let mut previous = analyze(&Memory(sources.clone()), &roots, &options);
    for (path, from, to) in edits {
        let text = sources.get_mut(path).unwrap();
        *text = text.replacen(from, to, 1);
        let db = Memory(sources.clone());
        let fresh = analyze(&db, &roots, &options);
        let mut cache = ParseCache::from(std::mem::take(&mut previous.files));
        let cached = analyze_with_cache(&db, &roots, &options, &mut cache);
        // The cache keeps what was not reused: the edited file's old parse.
        assert_eq!(cache.len(), usize::from(!from.is_empty()), "after editing {path}");
        assert_eq!(summary(&cached), summary(&fresh), "after editing {path}");
        previous = cached;
    }
    assert!(
        previous.diagnostics.iter().any(|d| d.code.code == "E0101"),
        "{:?}",
        previous.diagnostics
    );
}

#[test]
fn files_in_a_new_order_are_parsed_again() {
    let options = Options::default();
    let db = Memory(HashMap::from([
        ("a.orch".to_string(), "let a = 1\n".to_string()),
        ("b.orch".to_string(), "let b = \n".to_string()),
    ]));
    let first = analyze(&db, &["a.orch".to_string(), "b.orch".to_string()], &options);
    let swapped = ["b.orch".to_string(), "a.orch".to_string()];
    let mut cache = ParseCache::from(first.files);
    let cached = analyze_with_cache(&db, &swapped, &options, &mut cache);
    assert_eq!(cache.len(), 2, "nothing was reused");
    assert_eq!(summary(&cached), summary(&analyze(&db, &swapped, &options)));
}
