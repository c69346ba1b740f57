//! The VS Code extension under `editors/vscode/`: its manifest, language
//! configuration and TextMate grammar parse, agree with each other, and
//! the grammar's regular expressions compile and match what they should.
//!
//! VS Code runs grammars on Oniguruma; this test compiles each pattern
//! with the `regex` crate after removing look-around groups (which
//! `regex` does not support). Patterns that need other Oniguruma-only
//! features go in [`ONIGURUMA_ONLY`]. `npm test` in the extension's folder
//! tokenises samples with VS Code's own engine; CI runs only this test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

/// Patterns that `regex` cannot compile even without look-arounds.
const ONIGURUMA_ONLY: &[&str] = &[];

fn extension() -> PathBuf {
    orch_tests::repo_root().join("editors/vscode")
}

fn json(relative: &str) -> Value {
    let path = extension().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn grammar() -> Value {
    json("syntaxes/orch.tmLanguage.json")
}

fn strs(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

#[test]
fn the_manifest_declares_the_language_grammar_and_server_setting() {
    let package = json("package.json");
    for field in ["name", "publisher", "version", "main", "license"] {
        assert!(package[field].is_string(), "package.json needs `{field}`");
    }
    assert!(package["engines"]["vscode"].is_string());
    let main = package["main"].as_str().unwrap();
    assert!(extension().join(main).is_file(), "main `{main}` is missing");

    let languages = package["contributes"]["languages"].as_array().expect("languages");
    let orch = languages.iter().find(|l| l["id"] == "orch").expect("the `orch` language");
    assert_eq!(strs(&orch["extensions"]), [".orch"]);
    let configuration = orch["configuration"].as_str().expect("a language configuration");
    assert!(extension().join(configuration).is_file(), "{configuration} is missing");

    let grammars = package["contributes"]["grammars"].as_array().expect("grammars");
    let entry = grammars.iter().find(|g| g["language"] == "orch").expect("a grammar for orch");
    assert_eq!(entry["scopeName"], "source.orch");
    assert_eq!(entry["scopeName"], grammar()["scopeName"], "the grammar's own scopeName");
    let path = entry["path"].as_str().unwrap();
    assert!(extension().join(path).is_file(), "{path} is missing");

    let setting = &package["contributes"]["configuration"]["properties"]["orch.server.path"];
    assert_eq!(setting["type"], "string");
    assert_eq!(setting["default"], "orchc");
    assert!(package["dependencies"]["vscode-languageclient"].is_string());

    // The extension starts `orchc lsp` with the configured path.
    let source = std::fs::read_to_string(extension().join(main)).unwrap();
    assert!(source.contains("vscode-languageclient/node"), "{main} uses vscode-languageclient");
    assert!(source.contains("'server.path'") && source.contains("args: ['lsp']"), "{main}");

    // A lock file, when there is one, locks what package.json asks for.
    if extension().join("package-lock.json").is_file() {
        let lock = json("package-lock.json");
        let root = &lock["packages"][""];
        assert_eq!(root["dependencies"], package["dependencies"], "package-lock.json is stale");
        assert_eq!(root["devDependencies"], package["devDependencies"]);
    }
}

#[test]
fn the_language_configuration_has_comments_brackets_and_pairs() {
    let configuration = json("language-configuration.json");
    assert_eq!(configuration["comments"]["lineComment"], "//");
    assert_eq!(strs(&configuration["comments"]["blockComment"]), ["/*", "*/"]);
    let brackets: Vec<Vec<&str>> =
        configuration["brackets"].as_array().unwrap().iter().map(strs).collect();
    for pair in [["{", "}"], ["[", "]"], ["(", ")"]] {
        assert!(brackets.contains(&pair.to_vec()), "bracket {pair:?}");
    }
    let pairs: BTreeMap<&str, &str> = configuration["autoClosingPairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["open"].as_str().unwrap(), p["close"].as_str().unwrap()))
        .collect();
    for (open, close) in [("{", "}"), ("[", "]"), ("(", ")"), ("\"", "\""), ("\"\"\"", "\"\"\"")] {
        assert_eq!(pairs.get(open), Some(&close), "auto-closing {open}");
    }
    // The regular expressions of the configuration are JavaScript ones;
    // these are simple enough for `regex` too.
    let patterns = [
        &configuration["wordPattern"],
        &configuration["indentationRules"]["increaseIndentPattern"],
        &configuration["indentationRules"]["decreaseIndentPattern"],
        &configuration["folding"]["markers"]["start"],
        &configuration["folding"]["markers"]["end"],
    ];
    for pattern in patterns {
        let pattern = pattern.as_str().expect("a pattern");
        Regex::new(pattern).unwrap_or_else(|error| panic!("{pattern}: {error}"));
    }
    let word = Regex::new(configuration["wordPattern"].as_str().unwrap()).unwrap();
    assert_eq!(word.find("  conf_1.path").map(|m| m.as_str()), Some("conf_1"));
}

/// Every rule of the grammar, with where it is (for messages).
fn rules(value: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("match")
                || map.contains_key("begin")
                || map.contains_key("include")
                || map.contains_key("patterns")
            {
                out.push((at.clone(), value.clone()));
            }
            for (key, child) in map {
                rules(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                rules(child, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

fn all_rules() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    rules(&grammar(), String::new(), &mut out);
    out
}

/// `pattern` without its look-around groups (`(?=…)`, `(?!…)`, `(?<=…)`,
/// `(?<!…)`), which Oniguruma supports and `regex` does not.
fn without_lookaround(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        let opener = ["(?<=", "(?<!", "(?=", "(?!"].into_iter().find(|o| rest.starts_with(o));
        match (chars[i], opener) {
            ('\\', _) => {
                out.extend(&chars[i..chars.len().min(i + 2)]);
                i += 2;
            }
            ('[', _) => {
                let end = class_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            (_, Some(opener)) => i = group_end(&chars, i + opener.chars().count()),
            (c, None) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The index after the character class that starts at `start`.
fn class_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            ']' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index after the `)` that closes a group whose content starts at
/// `start`.
fn group_end(chars: &[char], start: usize) -> usize {
    let mut depth = 1;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '[' => i = class_end(chars, i),
            '(' => {
                depth += 1;
                i += 1;
            }
            ')' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

#[test]
fn lookarounds_are_removed_whole() {
    assert_eq!(without_lookaround(r"(///)(?!/).*$"), r"(///).*$");
    assert_eq!(without_lookaround(r"(?==)|$"), r"|$");
    assert_eq!(without_lookaround(r"\b(if)\b(?!\s*=[^=>])x"), r"\b(if)\bx");
    assert_eq!(without_lookaround(r"[(?=]a(?<=(b)c)d\(?=e"), r"[(?=]ad\(?=e");
}

#[test]
fn every_pattern_compiles_and_every_capture_exists() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (at, rule) in all_rules() {
        for (key, captures) in
            [("match", "captures"), ("begin", "beginCaptures"), ("end", "endCaptures")]
        {
            let Some(pattern) = rule[key].as_str() else { continue };
            if ONIGURUMA_ONLY.contains(&pattern) {
                continue;
            }
            let simplified = without_lookaround(pattern);
            let regex = match Regex::new(&simplified) {
                Ok(regex) => regex,
                Err(error) => {
                    failures.push(format!("{at}/{key} `{pattern}`: {error}"));
                    continue;
                }
            };
            checked += 1;
            let mut names: Vec<&String> = Vec::new();
            if let Some(map) = rule[captures].as_object() {
                names.extend(map.keys());
            }
            if key == "match"
                && let Some(map) = rule["captures"].as_object()
            {
                names.extend(map.keys());
            }
            for name in names {
                let index: usize = name.parse().expect("capture keys are numbers");
                if index >= regex.captures_len() {
                    failures.push(format!("{at}/{key} `{pattern}`: no group {index}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 40, "only {checked} patterns found");
}

#[test]
fn includes_resolve_and_every_repository_entry_is_used() {
    let grammar = grammar();
    let repository = grammar["repository"].as_object().expect("a repository");
    let mut used = BTreeSet::new();
    for (at, rule) in all_rules() {
        let Some(include) = rule["include"].as_str() else { continue };
        if include == "$self" || include == "$base" {
            continue;
        }
        let name = include.strip_prefix('#').unwrap_or_else(|| panic!("{at}: include {include}"));
        assert!(repository.contains_key(name), "{at}: `{include}` is not in the repository");
        used.insert(name.to_string());
    }
    let unused: Vec<&String> = repository.keys().filter(|k| !used.contains(*k)).collect();
    assert!(unused.is_empty(), "unused repository entries: {unused:?}");
}

#[test]
fn the_grammar_has_the_key_scopes() {
    let text = std::fs::read_to_string(extension().join("syntaxes/orch.tmLanguage.json")).unwrap();
    for scope in [
        "storage.type.orch",
        "keyword.control.conditional.orch",
        "keyword.control.loop.orch",
        "constant.language.boolean.orch",
        "entity.name.function.decorator.orch",
        "string.quoted.double.orch",
        "string.quoted.triple.orch",
        "constant.character.escape.orch",
        "invalid.illegal.escape.orch",
        "meta.interpolation.orch",
        "constant.numeric.integer.hexadecimal.orch",
        "constant.numeric.integer.octal.orch",
        "constant.numeric.integer.binary.orch",
        "constant.numeric.integer.decimal.orch",
        "constant.numeric.float.orch",
        "constant.numeric.duration.orch",
        "comment.line.double-slash.orch",
        "comment.line.documentation.orch",
        "comment.block.orch",
        "support.type.primitive.orch",
        "entity.name.type.kind.orch",
    ] {
        assert!(text.contains(&format!("\"{scope}\"")), "no `{scope}` in the grammar");
    }
    // Block comments nest: the rule includes itself.
    let block = &grammar()["repository"]["block-comment"];
    assert!(block["patterns"].as_array().unwrap().iter().any(|p| p["include"] == "#block-comment"));
    // Interpolations nest: strings inside them come back to interpolations.
    let interpolation = &grammar()["repository"]["interpolation"];
    assert_eq!(interpolation["begin"], r"\$\{");
}

/// The pattern of the rule named `scope` (the first one).
fn pattern_of(scope: &str) -> Regex {
    let (_, rule) = all_rules()
        .into_iter()
        .find(|(_, rule)| rule["name"] == scope && rule["match"].is_string())
        .unwrap_or_else(|| panic!("no match rule named {scope}"));
    Regex::new(&without_lookaround(rule["match"].as_str().unwrap())).unwrap()
}

fn whole(regex: &Regex, text: &str) -> bool {
    regex.find(text).is_some_and(|m| m.start() == 0 && m.end() == text.len())
}

#[test]
fn numbers_escapes_and_comments_match_the_lexer() {
    let hex = pattern_of("constant.numeric.integer.hexadecimal.orch");
    let octal = pattern_of("constant.numeric.integer.octal.orch");
    let binary = pattern_of("constant.numeric.integer.binary.orch");
    let duration = pattern_of("constant.numeric.duration.orch");
    let float = pattern_of("constant.numeric.float.orch");
    let decimal = pattern_of("constant.numeric.integer.decimal.orch");
    assert!(whole(&hex, "0x1F") && whole(&hex, "0xdead_beef"));
    assert!(whole(&octal, "0o755") && !octal.is_match("0o8"));
    assert!(whole(&binary, "0b1010_0101") && !binary.is_match("0b2"));
    for text in ["30s", "500ms", "5m", "2h", "7d", "1_000ms"] {
        assert!(whole(&duration, text), "{text}");
    }
    assert!(!duration.is_match("5min"));
    for text in ["1.5", "2e3", "1.5e-3", "1_000.25"] {
        assert!(whole(&float, text), "{text}");
    }
    assert_eq!(float.find("0..3"), None, "a range is not a float");
    assert!(whole(&decimal, "1_000"));

    let escape = pattern_of("constant.character.escape.orch");
    for text in [r"\n", r"\r", r"\t", r"\\", r#"\""#, r"\$", r"\u{1F600}", r"\u{a}"] {
        assert!(whole(&escape, text), "{text}");
    }
    assert!(!escape.is_match(r"\q") && !whole(&escape, r"\u{1234567}"));

    let doc = pattern_of("comment.line.documentation.orch");
    assert!(doc.is_match("/// Doc."));
    let line = pattern_of("comment.line.double-slash.orch");
    assert!(whole(&line, "// a comment"));
}

#[test]
fn test_file_blocks_are_keywords() {
    let storage = pattern_of("storage.type.orch");
    for text in ["mock", "test", "resource", "policy"] {
        assert!(whole(&storage, text), "{text}");
    }
    assert!(storage.find("testing").is_none_or(|m| m.as_str() != "test"), "a word boundary");
}
