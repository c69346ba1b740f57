//! `orchc explain`: prints the page of a diagnostic code, or lists them all.

use std::io::{self, Write};

use miette::miette;
use orch_lang::diagnostic::{CODES, Code, lookup_code};

use crate::Outcome;
use crate::errors;

#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// A code (`E0001`, `e0001`) or its name (`unexpected-token`).
    #[arg(value_name = "CODE", required_unless_present = "list", conflicts_with = "list")]
    code: Option<String>,

    /// List every code with its name.
    #[arg(long)]
    list: bool,
}

pub(crate) fn run(args: &ExplainArgs) -> Outcome {
    let text = match &args.code {
        Some(query) => match lookup_code(query.trim()) {
            Some(code) => page(code),
            None => {
                errors::report(unknown_code(query));
                return Outcome::Failure;
            }
        },
        None => list(),
    };
    let mut stdout = io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            errors::report(errors::io_error("cannot write standard output", error));
            Outcome::Failure
        }
    }
}

fn page(code: &Code) -> String {
    let mut text = code.doc.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// One line per code: `E0001  unexpected-token`.
fn list() -> String {
    CODES.iter().map(|code| format!("{}  {}\n", code.code, code.name)).collect()
}

fn unknown_code(query: &str) -> miette::Report {
    let help = match closest(query) {
        Some(code) => format!(
            "did you mean `{}` ({})? `orchc explain --list` lists every code",
            code.code, code.name
        ),
        None => "`orchc explain --list` lists every code; each diagnostic shows its code, as in `error[E0001]`"
            .to_string(),
    };
    miette!(code = "orchc::unknown_code", help = help, "unknown diagnostic code `{query}`")
}

/// The code whose code or name is nearest to `query`, if one is near
/// enough to be a likely typo.
fn closest(query: &str) -> Option<&'static Code> {
    let query = query.to_ascii_lowercase();
    CODES
        .iter()
        .copied()
        .map(|code| {
            let distance = edit_distance(&query, &code.code.to_ascii_lowercase())
                .min(edit_distance(&query, code.name));
            (distance, code)
        })
        .filter(|&(distance, _)| distance <= 2.max(query.chars().count() / 4))
        .min_by_key(|&(distance, code)| (distance, code.code))
        .map(|(_, code)| code)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &b_char) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != b_char);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("e0001", "e0001"), 0);
    }

    #[test]
    fn typos_find_their_code() {
        assert_eq!(closest("unexpected-tokn").map(|code| code.code), Some("E0001"));
        assert_eq!(closest("E0O11").map(|code| code.code), Some("E0011"));
        assert_eq!(closest("completely-different-thing"), None);
    }

    #[test]
    fn list_has_every_code() {
        let list = list();
        assert_eq!(list.lines().count(), CODES.len());
        assert!(list.starts_with("E0001  unexpected-token\n"));
    }
}
