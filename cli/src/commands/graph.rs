//! `orchc graph`: the dependency graph of a configuration.
//!
//! Two views of one root file:
//!
//! - by default, one node per declaration (resource, data, module, param,
//!   let, output, assert, warn) of the root file and of every module file
//!   it reaches (not of imported files), with an edge for every reference
//!   and `@depends_on`: the compiler's IR graph as written, loops and
//!   conditions unexpanded;
//! - with `--expanded`, one node per resource and data instance of the
//!   evaluated configuration (`conf["api"]`, `db.role`), with the edges of
//!   `Instance::depends_on`.
//!
//! Arrows run from a dependency to its dependent (execution order). The
//! printing is in `render::graph`; the contract is in `docs/cli.md`.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use miette::miette;
use orch_compiler::Analysis;
use orch_compiler::eval::Instance;
use orch_compiler::model::DeclKind;
use orch_lang::ast::{Item, ItemKind};
use orch_lang::diagnostic::sort_diagnostics;
use orch_lang::visit::{self, Visitor};
use orch_lang::{Diagnostic, FileId, LineIndex, Span};

use crate::Outcome;
use crate::commands::check::EvaluationArgs;
use crate::errors;
use crate::files::{self, SourceDb};
use crate::render::graph::{Edge, Graph, GraphFormat, Node};
use crate::render::{Summary, human};
use crate::terminal::{self, Stream};

#[derive(Debug, clap::Args)]
pub(crate) struct GraphArgs {
    /// The root module file.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// How to print the graph (on standard output).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,

    /// One node per instance of the evaluated configuration (loops and
    /// conditions expanded, modules instantiated) instead of one per
    /// declaration.
    #[arg(long)]
    expanded: bool,

    /// Set the parameter K to V (repeatable); used by `--expanded`.
    #[arg(long = "var", value_name = "K=V", value_parser = crate::commands::check::parse_var)]
    vars: Vec<(String, String)>,

    /// Read parameter values from a JSON file; used by `--expanded`.
    #[arg(long, value_name = "F")]
    var_file: Option<PathBuf>,
}

pub(crate) fn run(args: &GraphArgs) -> Outcome {
    let mut sources = orch_runtime::project::Sources::disk();
    let root = args.file.to_string_lossy().into_owned();
    if !args.file.is_dir() {
        match files::read_source(&args.file) {
            Ok(text) => sources.preload(&root, text),
            Err(error) => {
                errors::report(error);
                return Outcome::Failure;
            }
        }
    }
    // Params are read (and a bad `--var-file` reported) in both views, so
    // that a script can pass the same flags with or without `--expanded`.
    let evaluation = EvaluationArgs {
        vars: args.vars.clone(),
        var_file: args.var_file.clone(),
        policies: Vec::new(),
    };
    let mut options = match evaluation.options() {
        Ok(options) => options,
        Err(error) => {
            errors::report(error);
            return Outcome::Failure;
        }
    };
    options.evaluate = args.expanded;
    let mut analysis = orch_compiler::analyze(&sources, std::slice::from_ref(&root), &options);
    let base_dir = orch_runtime::project::root_folder(std::path::Path::new(&root));
    if orch_runtime::plugin::install_cached(&analysis, &base_dir) {
        analysis = orch_compiler::analyze(&sources, std::slice::from_ref(&root), &options);
    }

    if analysis.diagnostics.iter().any(Diagnostic::is_error) {
        let mut db = SourceDb::default();
        for file in analysis.files.iter() {
            db.add_path(PathBuf::from(&file.path), file.source.to_string());
        }
        let mut diagnostics: Vec<Diagnostic> = analysis.diagnostics.clone();
        sort_diagnostics(&mut diagnostics);
        if let Err(error) = report_diagnostics(&db, &diagnostics) {
            errors::report(errors::io_error("cannot write the report", error));
        }
        return Outcome::Failure;
    }

    let graph = if args.expanded {
        match instance_graph(&analysis) {
            Some(graph) => graph,
            None => return Outcome::Failure,
        }
    } else {
        declaration_graph(&analysis)
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written =
        crate::render::graph::render(&graph, args.format, &mut out).and_then(|()| out.flush());
    if let Err(error) = written {
        errors::report(errors::io_error("cannot write the graph", error));
        return Outcome::Failure;
    }
    Outcome::Success
}

/// The diagnostics of a failed analysis, as `check` draws them, on
/// standard error: standard output is kept for the graph.
fn report_diagnostics(db: &SourceDb, diagnostics: &[Diagnostic]) -> io::Result<()> {
    let stderr = io::stderr();
    let mut out = stderr.lock();
    let config = human::Config { color: terminal::color_enabled(Stream::Stderr) };
    human::render_diagnostics(db, diagnostics, config, &mut out)?;
    let run = human::RunSummary {
        checked: db.len(),
        unreadable: 0,
        summary: Summary::of(diagnostics),
        first_code: diagnostics.first().map(|diagnostic| diagnostic.code.code),
        deny_warnings: false,
    };
    human::render_summary(&run, config, &mut out)?;
    out.flush()
}

/// Where declarations are: file paths, lines, and what the syntax trees
/// say that the IR graph does not (resource kinds).
struct Sources<'a> {
    analysis: &'a Analysis,
    /// The folder of the root file, which the ids of other files' nodes
    /// are relative to.
    root_dir: PathBuf,
    line_indexes: HashMap<FileId, LineIndex>,
    /// The resource or data kind of each resource or data declaration, by
    /// the span of its name.
    resource_kinds: HashMap<Span, String>,
}

impl<'a> Sources<'a> {
    fn new(analysis: &'a Analysis) -> Sources<'a> {
        let root = analysis
            .roots
            .first()
            .map(|&root| analysis.files.get(root).path.as_str())
            .unwrap_or("");
        let root_dir = Path::new(root).parent().unwrap_or(Path::new("")).to_path_buf();
        let mut line_indexes = HashMap::new();
        let mut resource_kinds = HashMap::new();
        for file in analysis.files.iter() {
            line_indexes.insert(file.id, LineIndex::new(&file.source));
            collect_resource_kinds(&file.parsed.file.items, &mut resource_kinds);
        }
        Sources { analysis, root_dir, line_indexes, resource_kinds }
    }

    fn path(&self, file: FileId) -> &str {
        &self.analysis.files.get(file).path
    }

    /// The 1-based line and character column of the start of `span`.
    fn line_col(&self, span: Span) -> (u32, u32) {
        let source = &self.analysis.files.get(span.file).source;
        match self.line_indexes.get(&span.file) {
            Some(index) => {
                let at = index.line_col(source, span.start);
                (at.line, at.column)
            }
            None => (1, 1),
        }
    }

    /// `file`'s path relative to the root file's folder, with `/`.
    fn relative(&self, file: FileId) -> String {
        relative_path(&self.root_dir, Path::new(self.path(file)))
    }
}

/// Records the kind of every resource and data item, inside blocks too.
fn collect_resource_kinds(items: &[Item], out: &mut HashMap<Span, String>) {
    struct Kinds<'o>(&'o mut HashMap<Span, String>);
    impl<'a> Visitor<'a> for Kinds<'_> {
        fn visit_item(&mut self, item: &'a Item) {
            if let ItemKind::Resource(resource) | ItemKind::Data(resource) = &item.kind {
                self.0.insert(resource.name.span, resource.kind.to_dotted());
            }
            visit::walk_item(self, item);
        }
        // No item is written inside an expression.
        fn visit_expr(&mut self, _: &'a orch_lang::ast::Expr) {}
    }
    visit::walk_items(&mut Kinds(out), items);
}

/// `path` relative to the folder `dir`: `modules/db.orch`, or
/// `../shared/x.orch` for a file outside it. Both come from the same
/// joining of paths, so they are both relative or both absolute.
fn relative_path(dir: &Path, path: &Path) -> String {
    let dir: Vec<Component<'_>> = dir.components().filter(|c| *c != Component::CurDir).collect();
    let path: Vec<Component<'_>> = path.components().filter(|c| *c != Component::CurDir).collect();
    let common = dir.iter().zip(&path).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); dir.len() - common];
    parts.extend(path[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    parts.join("/")
}

/// One node per declaration, one edge per pair of declarations that refer
/// to each other.
fn declaration_graph(analysis: &Analysis) -> Graph {
    let sources = Sources::new(analysis);
    let root = analysis.roots.first().copied();
    let ir = &analysis.graph.graph;
    let raw_nodes = ir.raw_nodes();
    // Files reached only through `import` hold types and constant lets,
    // never something to apply: they are left out, with the edges to them.
    let mut module_files: Vec<FileId> = root.into_iter().collect();
    module_files.extend(
        raw_nodes
            .iter()
            .filter(|node| node.weight.kind == DeclKind::Module)
            .filter_map(|node| analysis.checked.targets.get(&node.weight.decl).copied()),
    );
    let shown: Vec<bool> =
        raw_nodes.iter().map(|node| module_files.contains(&node.weight.file)).collect();

    // Ids: `KIND.NAME` (`assert@LINE` for asserts and warns), prefixed by
    // `FILE:` outside the root file. Two block `let`s of one name, or two
    // asserts on one line, are told apart by their position.
    let mut bases = Vec::with_capacity(raw_nodes.len());
    for node in raw_nodes {
        let node = &node.weight;
        let (line, _) = sources.line_col(node.span);
        let local = match node.kind {
            DeclKind::Assert | DeclKind::Warn => format!("{}@{line}", node.kind.describe()),
            kind => format!("{}.{}", kind.describe(), node.name),
        };
        let base = if Some(node.file) == root {
            local
        } else {
            format!("{}:{local}", sources.relative(node.file))
        };
        bases.push(base);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for base in &bases {
        *counts.entry(base.as_str()).or_default() += 1;
    }
    let ids: Vec<String> = raw_nodes
        .iter()
        .zip(&bases)
        .map(|(node, base)| {
            if counts[base.as_str()] == 1 {
                return base.clone();
            }
            let node = &node.weight;
            let (line, column) = sources.line_col(node.span);
            match node.kind {
                DeclKind::Assert | DeclKind::Warn => format!("{base}:{column}"),
                _ => format!("{base}@{line}:{column}"),
            }
        })
        .collect();

    let mut nodes = Vec::with_capacity(raw_nodes.len());
    for ((node, id), _) in raw_nodes.iter().zip(&ids).zip(&shown).filter(|(_, shown)| **shown) {
        let node = &node.weight;
        let (line, _) = sources.line_col(node.span);
        let name = match node.kind {
            DeclKind::Assert | DeclKind::Warn => format!("{}@{line}", node.kind.describe()),
            _ => node.name.clone(),
        };
        let resource_kind = match node.kind {
            DeclKind::Resource | DeclKind::Data => sources.resource_kinds.get(&node.span).cloned(),
            _ => None,
        };
        let module_file = match node.kind {
            DeclKind::Module => {
                analysis.checked.targets.get(&node.decl).map(|&file| sources.relative(file))
            }
            _ => None,
        };
        let groups =
            if Some(node.file) == root { Vec::new() } else { vec![sources.relative(node.file)] };
        nodes.push(Node {
            id: id.clone(),
            kind: node.kind.describe(),
            name,
            resource_kind,
            module_file,
            file: sources.path(node.file).to_string(),
            line,
            description: node.description.clone(),
            groups,
        });
    }

    // An IR edge `a → b` says that `a` uses `b`: printed from `b` to `a`.
    // An edge is explicit when `@depends_on` is the only link of the pair.
    let mut pairs: BTreeMap<(String, String), bool> = BTreeMap::new();
    for edge in ir.raw_edges() {
        if !(shown[edge.source().index()] && shown[edge.target().index()]) {
            continue;
        }
        let from = ids[edge.target().index()].clone();
        let to = ids[edge.source().index()].clone();
        let explicit = pairs.entry((from, to)).or_insert(true);
        *explicit &= edge.weight.explicit;
    }
    finish(false, nodes, pairs)
}

/// One node per resource and data instance of the evaluated root, or
/// `None` (reported) when evaluation was skipped.
fn instance_graph(analysis: &Analysis) -> Option<Graph> {
    let root = analysis.roots.first().copied()?;
    let Some((_, evaluation)) = analysis.evaluations.iter().find(|(file, _)| *file == root) else {
        // A root with nothing to instantiate is not evaluated; it has no
        // instances.
        return Some(Graph { expanded: true, ..Graph::default() });
    };
    if !evaluation.notes.is_empty() {
        for note in &evaluation.notes {
            eprintln!("note: {note}");
        }
        errors::report(miette!(
            code = "orchc::graph",
            help = "give every required param a value with --var K=V, --var-file F or ORCH_VAR_NAME, \
                    or drop --expanded to see the declarations",
            "cannot draw the expanded graph: the configuration was not evaluated"
        ));
        return None;
    }
    let sources = Sources::new(analysis);
    let values = ValueLinks::new(analysis);
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_address: HashMap<&str, &Instance> = HashMap::new();
    for instance in &evaluation.instances {
        if by_address.insert(instance.address.as_str(), instance).is_some() {
            continue;
        }
        let declaration =
            analysis.graph.nodes.get(&instance.decl).map(|&index| &analysis.graph.graph[index]);
        let segments = address_segments(&instance.address);
        let groups =
            (1..segments.len()).map(|n| format!("module {}", segments[..n].join("."))).collect();
        let (line, _) = sources.line_col(instance.span);
        nodes.push(Node {
            id: instance.address.clone(),
            kind: instance.kind.describe(),
            name: declaration.map_or_else(String::new, |node| node.name.clone()),
            resource_kind: (!instance.resource_kind.is_empty())
                .then(|| instance.resource_kind.clone()),
            module_file: None,
            file: sources.path(instance.span.file).to_string(),
            line,
            description: declaration.and_then(|node| node.description.clone()),
            groups,
        });
    }
    let mut pairs: BTreeMap<(String, String), bool> = BTreeMap::new();
    for instance in by_address.values() {
        let read = values.read_by(instance);
        for dependency in &instance.depends_on {
            let Some(other) = by_address.get(dependency.as_str()) else { continue };
            let explicit = !values.carries(instance, &read, other);
            pairs.insert((dependency.clone(), instance.address.clone()), explicit);
        }
    }
    Some(finish(true, nodes, pairs))
}

/// Sorts the nodes and turns the pairs (already sorted) into edges.
fn finish(expanded: bool, mut nodes: Vec<Node>, pairs: BTreeMap<(String, String), bool>) -> Graph {
    nodes.sort_by(|a, b| a.id.cmp(&b.id));
    let edges =
        pairs.into_iter().map(|((from, to), explicit)| Edge { from, to, explicit }).collect();
    Graph { expanded, nodes, edges }
}

/// The parts of an instance address between the dots that separate module
/// instances: `db["eu"].role` is `db["eu"]` and `role`. A dot inside a
/// quoted key does not count.
fn address_segments(address: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in address.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '.' {
            segments.push(&address[start..index]);
            start = index + 1;
        }
    }
    segments.push(&address[start..]);
    segments
}

/// Which instance dependencies come from values rather than from
/// `@depends_on` alone, read from the IR graph.
struct ValueLinks<'a> {
    analysis: &'a Analysis,
    /// Value edges (not `@depends_on`) of the IR graph, by node index.
    uses: Vec<Vec<usize>>,
}

impl<'a> ValueLinks<'a> {
    fn new(analysis: &'a Analysis) -> ValueLinks<'a> {
        let ir = &analysis.graph.graph;
        let mut uses = vec![Vec::new(); ir.node_count()];
        for edge in ir.raw_edges() {
            if !edge.weight.explicit {
                uses[edge.source().index()].push(edge.target().index());
            }
        }
        ValueLinks { analysis, uses }
    }

    /// The resources, data and modules whose values `instance`'s
    /// declaration reads, through lets, params and outputs.
    fn read_by(&self, instance: &Instance) -> Vec<usize> {
        let ir = &self.analysis.graph.graph;
        let Some(&start) = self.analysis.graph.nodes.get(&instance.decl) else { return Vec::new() };
        let start = start.index();
        let mut found = Vec::new();
        let mut seen = vec![start];
        let mut stack = vec![start];
        while let Some(current) = stack.pop() {
            for &next in &self.uses[current] {
                if seen.contains(&next) {
                    continue;
                }
                seen.push(next);
                match ir.raw_nodes()[next].weight.kind {
                    DeclKind::Resource | DeclKind::Data | DeclKind::Module => found.push(next),
                    _ => stack.push(next),
                }
            }
        }
        found
    }

    /// Whether `instance`, which reads the nodes `read`, reads a value of
    /// `dependency`: directly, or of a module instance that holds it.
    fn carries(&self, instance: &Instance, read: &[usize], dependency: &Instance) -> bool {
        let ir = &self.analysis.graph.graph;
        let segments = address_segments(&instance.address);
        let prefix: String =
            segments[..segments.len() - 1].iter().map(|s| format!("{s}.")).collect();
        read.iter().any(|&index| {
            let node = &ir.raw_nodes()[index].weight;
            if node.decl == dependency.decl {
                return true;
            }
            if node.kind != DeclKind::Module {
                return false;
            }
            let module = format!("{prefix}{}", node.name);
            dependency
                .address
                .strip_prefix(&module)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_at_module_dots() {
        assert_eq!(address_segments("conf"), ["conf"]);
        assert_eq!(address_segments(r#"conf["a.b"]"#), [r#"conf["a.b"]"#]);
        assert_eq!(address_segments(r#"db["e\".u"].role[0]"#), [r#"db["e\".u"]"#, "role[0]"]);
        assert_eq!(address_segments("a.b.c"), ["a", "b", "c"]);
    }

    #[test]
    fn paths_are_relative_to_the_root_folder() {
        let relative = |dir: &str, path: &str| relative_path(Path::new(dir), Path::new(path));
        assert_eq!(relative("", "modules/db.orch"), "modules/db.orch");
        assert_eq!(relative("infra", "infra/modules/db.orch"), "modules/db.orch");
        assert_eq!(relative("./infra", "infra/db.orch"), "db.orch");
        assert_eq!(relative("infra/env", "infra/shared/x.orch"), "../shared/x.orch");
        assert_eq!(relative("/srv/app", "/srv/lib/x.orch"), "../lib/x.orch");
        assert_eq!(relative("", "../lib/x.orch"), "../lib/x.orch");
    }
}
