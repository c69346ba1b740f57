//! `--target`, `--exclude` and `--replace`: which instances a run may
//! touch, and which it must replace. [`Targeting`] is what the user asked
//! for (addresses as written); [`Scope::resolve`] matches it against the
//! configuration and the state and gives the set of instances the plan is
//! limited to.
//!
//! An address is an instance (`files["x"]`, `db.role`) or anything that
//! holds instances (a declaration `files`, a module instance `db`), and
//! covers every instance inside it, as in `moved` blocks.

use std::collections::{BTreeSet, HashMap, HashSet};

use orch_compiler::eval::{Instance, Key};
use orch_compiler::model::DeclKind;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use crate::engine::{DEPOSED, covers};
use crate::error::RunError;
use crate::plan::PlanKind;
use crate::state::State;

/// What the user limited a run to, and the replacements forced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targeting {
    /// Only these, and what they depend on.
    pub targets: Vec<String>,
    /// Not these, nor what depends on them.
    pub excludes: Vec<String>,
    /// Replace these objects even when nothing changed.
    pub replace: Vec<String>,
}

impl Targeting {
    /// Whether the run is limited to a part of the configuration.
    pub fn is_partial(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }
}

/// Which list an address came in, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFlag {
    Target,
    Exclude,
    Replace,
}

impl std::fmt::Display for AddressFlag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AddressFlag::Target => "--target",
            AddressFlag::Exclude => "--exclude",
            AddressFlag::Replace => "--replace",
        })
    }
}

/// Why `--replace ADDR` cannot be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceRefusal {
    /// No object of it is recorded: it would be created anyway.
    NotRecorded,
    /// It is recorded but no longer in the configuration: it would be
    /// deleted, not replaced.
    NotInConfiguration,
    /// A data look-up is read, never replaced.
    Data,
    /// `--exclude` leaves it out of the run.
    Excluded,
    /// A destroy plan replaces nothing.
    Destroy,
}

impl std::fmt::Display for ReplaceRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplaceRefusal::NotRecorded => {
                "it has no object in the state yet (the plan creates it anyway)"
            }
            ReplaceRefusal::NotInConfiguration => {
                "it is no longer in the configuration (the plan deletes it)"
            }
            ReplaceRefusal::Data => "it is a data look-up, which is read, not replaced",
            ReplaceRefusal::Excluded => "--exclude leaves it out of this run",
            ReplaceRefusal::Destroy => "a destroy deletes objects, it replaces none",
        })
    }
}

/// How a partial plan was limited, recorded in the plan and its file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partial {
    /// The `--target` addresses, as read.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The `--exclude` addresses, as read.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// The instances left out that have something to do (a change, a data
    /// look-up): the outputs that depend on them are not updated.
    #[serde(default)]
    pub left_out: Vec<String>,
}

/// [`Targeting`] matched against the configuration and the state.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The instances the run may touch; `None`: every one.
    selected: Option<HashSet<String>>,
    /// Instances to replace (each recorded and in the configuration).
    replace: HashSet<String>,
    /// How the plan is limited, to record in it (`None`: not limited).
    pub partial: Option<Partial>,
}

impl Scope {
    /// The whole configuration, nothing forced.
    pub fn full() -> Scope {
        Scope::default()
    }

    /// Whether the run may touch the instance `address` (the deposed
    /// object of an instance goes with it).
    pub fn includes(&self, address: &str) -> bool {
        match &self.selected {
            None => true,
            Some(selected) => selected.contains(address.trim_end_matches(DEPOSED)),
        }
    }

    /// Whether the plan must replace `address`.
    pub fn replaces(&self, address: &str) -> bool {
        self.replace.contains(address)
    }

    /// Matches `targeting` against the instances of the configuration and
    /// the recorded `state` (as the `moved` blocks leave it) for a plan of
    /// `kind`. An address that matches nothing is an error naming the
    /// closest address there is.
    pub fn resolve(
        targeting: &Targeting,
        kind: PlanKind,
        instances: &[Instance],
        state: &State,
    ) -> Result<Scope, RunError> {
        let graph = Graph::new(kind, instances, state);
        let mut scope = Scope::default();
        if kind == PlanKind::Destroy
            && let Some(first) = targeting.replace.first()
        {
            return Err(RunError::CannotReplace {
                address: first.clone(),
                why: ReplaceRefusal::Destroy,
            });
        }
        let mut replace_roots = Vec::new();
        for written in &targeting.replace {
            let address = canonical(written, AddressFlag::Replace)?;
            let matched = graph.matching(&address, AddressFlag::Replace)?;
            let mut refusal = ReplaceRefusal::NotRecorded;
            for found in matched {
                match (graph.config.get(found), state.instances.contains_key(found)) {
                    (Some(instance), _) if instance.kind == DeclKind::Data => {
                        refusal = ReplaceRefusal::Data;
                    }
                    (Some(_), true) => {
                        scope.replace.insert(found.to_string());
                        replace_roots.push(found);
                    }
                    (None, true) => refusal = ReplaceRefusal::NotInConfiguration,
                    _ => {}
                }
            }
            if !replace_roots.iter().any(|r| covers(&address, r)) {
                return Err(RunError::CannotReplace { address, why: refusal });
            }
        }
        if !targeting.is_partial() {
            return Ok(scope);
        }
        let mut partial = Partial::default();
        let mut selected: HashSet<String> = if targeting.targets.is_empty() {
            graph.known.iter().map(|a| a.to_string()).collect()
        } else {
            let mut roots: Vec<&str> = Vec::new();
            for written in &targeting.targets {
                let address = canonical(written, AddressFlag::Target)?;
                roots.extend(graph.matching(&address, AddressFlag::Target)?);
                partial.targets.push(address);
            }
            // What is replaced is asked for by name: it is in the run.
            roots.extend(replace_roots.iter().copied());
            graph.closure(roots, Direction::Needs)
        };
        if !targeting.excludes.is_empty() {
            let mut roots: Vec<&str> = Vec::new();
            for written in &targeting.excludes {
                let address = canonical(written, AddressFlag::Exclude)?;
                roots.extend(graph.matching(&address, AddressFlag::Exclude)?);
                partial.excludes.push(address);
            }
            for address in graph.closure(roots, Direction::NeededBy) {
                selected.remove(&address);
            }
        }
        if let Some(excluded) = scope.replace.iter().find(|a| !selected.contains(*a)) {
            return Err(RunError::CannotReplace {
                address: excluded.clone(),
                why: ReplaceRefusal::Excluded,
            });
        }
        scope.selected = Some(selected);
        scope.partial = Some(partial);
        Ok(scope)
    }
}

/// Which way a closure follows the dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Towards what the run cannot do without: what an instance depends
    /// on (for an apply), what depends on a deleted object (for a
    /// destroy, and for deletions in an apply).
    Needs,
    /// Towards what cannot go on without it: the other way.
    NeededBy,
}

/// The instances of a run and their dependencies.
struct Graph<'a> {
    kind: PlanKind,
    config: HashMap<&'a str, &'a Instance>,
    state: &'a State,
    /// The addresses a pattern may match, sorted.
    known: BTreeSet<&'a str>,
    /// The instances recorded as depending on each address.
    recorded_dependents: HashMap<&'a str, Vec<&'a str>>,
    /// The instances configured as depending on each address.
    config_dependents: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Graph<'a> {
    fn new(kind: PlanKind, instances: &'a [Instance], state: &'a State) -> Graph<'a> {
        let config: HashMap<&str, &Instance> = match kind {
            PlanKind::Destroy => HashMap::new(),
            _ => instances.iter().map(|i| (i.address.as_str(), i)).collect(),
        };
        let mut known: BTreeSet<&str> = config.keys().copied().collect();
        let mut recorded_dependents: HashMap<&str, Vec<&str>> = HashMap::new();
        for (address, instance) in &state.instances {
            if address.ends_with(DEPOSED) {
                continue;
            }
            known.insert(address);
            for dep in &instance.depends_on {
                recorded_dependents.entry(dep.as_str()).or_default().push(address);
            }
        }
        let mut config_dependents: HashMap<&str, Vec<&str>> = HashMap::new();
        for instance in config.values() {
            for dep in &instance.depends_on {
                config_dependents.entry(dep.as_str()).or_default().push(&instance.address);
            }
        }
        Graph { kind, config, state, known, recorded_dependents, config_dependents }
    }

    /// The known addresses `pattern` covers; none is an error.
    fn matching(&self, pattern: &str, flag: AddressFlag) -> Result<Vec<&'a str>, RunError> {
        let found: Vec<&str> = self.known.iter().copied().filter(|a| covers(pattern, a)).collect();
        if !found.is_empty() {
            return Ok(found);
        }
        let candidates: BTreeSet<&str> =
            self.known.iter().flat_map(|address| prefixes(address)).collect();
        let closest =
            orch_compiler::suggest::closest(pattern, candidates.iter().copied()).map(String::from);
        Err(RunError::UnknownAddress {
            flag,
            address: pattern.to_string(),
            closest,
            in_state_only: self.kind == PlanKind::Destroy,
        })
    }

    /// What an instance needs or is needed by, one step.
    fn step(&self, address: &'a str, direction: Direction) -> Vec<&'a str> {
        let in_config = self.config.get(address);
        let deletion = in_config.is_none();
        match (direction, deletion) {
            // An instance of the configuration needs its dependencies.
            (Direction::Needs, false) => {
                in_config.map(|i| i.depends_on.iter().map(String::as_str).collect())
            }
            // A deletion takes with it the deletions of what was recorded
            // depending on it (in a destroy: everything recorded so).
            (Direction::Needs, true) => self.recorded_dependents.get(address).map(|list| {
                list.iter().copied().filter(|d| !self.config.contains_key(d)).collect()
            }),
            (Direction::NeededBy, false) => self.config_dependents.get(address).cloned(),
            (Direction::NeededBy, true) if self.kind == PlanKind::Destroy => self
                .state
                .instances
                .get(address)
                .map(|i| i.depends_on.iter().map(String::as_str).collect()),
            (Direction::NeededBy, true) => self.recorded_dependents.get(address).cloned(),
        }
        .unwrap_or_default()
    }

    fn closure(&self, roots: Vec<&'a str>, direction: Direction) -> HashSet<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = roots;
        while let Some(address) = stack.pop() {
            if seen.insert(address) {
                stack.extend(self.step(address, direction));
            }
        }
        seen.into_iter().map(str::to_string).collect()
    }
}

/// `db["eu"].role`, `db["eu"]` and `db`: the address and what holds it,
/// for suggestions.
fn prefixes(address: &str) -> Vec<&str> {
    let mut out = vec![address];
    let mut in_string = false;
    let mut escaped = false;
    for (index, ch) in address.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '[' | '.' if !in_string && index > 0 => out.push(&address[..index]),
            _ => {}
        }
    }
    out
}

/// The address `written` in the form plans use (`files["x"]`), or why it
/// is not one.
pub fn canonical(written: &str, flag: AddressFlag) -> Result<String, RunError> {
    parse_address(written).map_err(|why| RunError::BadAddress {
        flag,
        address: written.to_string(),
        why: why.to_string(),
    })
}

/// Reads `name(.name)*` with `["key"]` or `[0]` after any name.
fn parse_address(text: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let skip_spaces = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        if i == start || chars[start].is_ascii_digit() {
            return Err("expected a name such as `files` or `db.role`");
        }
        out.extend(&chars[start..i]);
        while i < chars.len() && chars[i] == '[' {
            i += 1;
            skip_spaces(&mut i);
            let key = if chars.get(i) == Some(&'"') {
                i += 1;
                let mut text = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err("a string key is not closed with `\"`"),
                        Some('"') => break,
                        Some('\\') => {
                            i += 1;
                            match chars.get(i) {
                                Some('n') => text.push('\n'),
                                Some('t') => text.push('\t'),
                                Some(&other) => text.push(other),
                                None => return Err("a string key is not closed with `\"`"),
                            }
                        }
                        Some(&other) => text.push(other),
                    }
                    i += 1;
                }
                i += 1;
                Key::Str(SmolStr::new(text))
            } else {
                let start = i;
                if chars.get(i) == Some(&'-') {
                    i += 1;
                }
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                Key::Int(digits.parse().map_err(|_| "a key is a string in quotes or an integer")?)
            };
            skip_spaces(&mut i);
            if chars.get(i) != Some(&']') {
                return Err("a key is closed with `]`");
            }
            i += 1;
            out.push_str(&key.to_string());
        }
        match chars.get(i) {
            None => return Ok(out),
            Some('.') => {
                out.push('.');
                i += 1;
            }
            Some(_) => return Err("expected `.`, `[` or the end of the address"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_plans_write_them() {
        assert_eq!(parse_address("files[\"x\"]"), Ok("files[\"x\"]".into()));
        assert_eq!(parse_address(" files[ \"a.b\" ] "), Ok("files[\"a.b\"]".into()));
        assert_eq!(parse_address("db[\"eu\"].role"), Ok("db[\"eu\"].role".into()));
        assert_eq!(parse_address("shard[0]"), Ok("shard[0]".into()));
        assert!(parse_address("files[x]").is_err());
        assert!(parse_address("files[\"x\"").is_err());
        assert!(parse_address("").is_err());
        assert!(parse_address("a..b").is_err());
        assert!(parse_address("1a").is_err());
    }

    #[test]
    fn prefixes_stop_outside_keys() {
        assert_eq!(prefixes("db[\"e.u\"].role"), vec!["db[\"e.u\"].role", "db", "db[\"e.u\"]"]);
    }
}
