//! The dependency graph of `orchc graph`, written as Graphviz dot, Mermaid
//! or JSON.
//!
//! The renderers read a [`Graph`] that the command has already built and
//! sorted: nodes by id, edges by `from` then `to`. Every edge runs from a
//! dependency to its dependent, so arrows point in execution order; the
//! JSON names the ends `from` (the dependency) and `to` (the dependent).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

/// The version of the JSON document; it changes only if a field changes
/// meaning or disappears (fields may be added).
const JSON_VERSION: u32 = 1;

/// The output formats of `orchc graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum GraphFormat {
    /// A Graphviz digraph, for `dot -Tsvg`.
    Dot,
    /// A Mermaid `flowchart LR`, for Markdown pages.
    Mermaid,
    /// One JSON document, for tools.
    Json,
}

/// A graph ready to print.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// One node per instance (`--expanded`) rather than per declaration.
    pub(crate) expanded: bool,
    /// Sorted by id; ids are unique.
    pub(crate) nodes: Vec<Node>,
    /// Sorted by `from`, then `to`; at most one edge per pair, between
    /// nodes of the graph.
    pub(crate) edges: Vec<Edge>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Node {
    pub(crate) id: String,
    /// `resource`, `data`, `module`, `param`, `let`, `output`, `assert`
    /// or `warn`.
    pub(crate) kind: &'static str,
    /// The declaration's name (`assert@LINE` for an assert), also for an
    /// instance, whose id is its address.
    pub(crate) name: String,
    /// `fs.file` for a resource or data node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource_kind: Option<String>,
    /// For a `module` declaration, the file it instantiates, relative to
    /// the root file's folder (the prefix of that file's node ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) module_file: Option<String>,
    /// The file that declares it, as the compiler names it.
    pub(crate) file: String,
    /// The 1-based line of the declaration's name.
    pub(crate) line: u32,
    /// From `@description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    /// The nested boxes the node is drawn in (a module file, or module
    /// instances from the outermost), by label; not part of the JSON.
    #[serde(skip)]
    pub(crate) groups: Vec<String>,
}

/// `from` must exist (be evaluated, applied) before `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Edge {
    /// The dependency.
    pub(crate) from: String,
    /// The dependent.
    pub(crate) to: String,
    /// Only `@depends_on` makes this dependency; no value flows.
    pub(crate) explicit: bool,
}

pub(crate) fn render(graph: &Graph, format: GraphFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        GraphFormat::Dot => dot(graph, out),
        GraphFormat::Mermaid => mermaid(graph, out),
        GraphFormat::Json => json(graph, out),
    }
}

/// The text lines of a node's label: what it is, then its resource kind or
/// module file.
fn label_lines(graph: &Graph, node: &Node) -> Vec<String> {
    let title = match node.kind {
        // An instance shows its address.
        kind if graph.expanded => format!("{kind} {}", node.id),
        // Named `assert@LINE` already.
        "assert" | "warn" => node.name.clone(),
        kind => format!("{kind} {}", node.name),
    };
    let mut lines = vec![title];
    lines.extend(node.resource_kind.iter().cloned());
    lines.extend(node.module_file.iter().cloned());
    lines
}

/// Nodes arranged in their nested boxes.
#[derive(Default)]
struct Tree<'g> {
    nodes: Vec<&'g Node>,
    children: BTreeMap<&'g str, Tree<'g>>,
}

impl<'g> Tree<'g> {
    fn of(graph: &'g Graph) -> Tree<'g> {
        let mut root = Tree::default();
        for node in &graph.nodes {
            let mut tree = &mut root;
            for group in &node.groups {
                tree = tree.children.entry(group.as_str()).or_default();
            }
            tree.nodes.push(node);
        }
        root
    }
}

// Graphviz dot.

fn dot(graph: &Graph, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "digraph orch {{")?;
    writeln!(out, "  graph [rankdir=LR, fontname=\"Helvetica\"];")?;
    writeln!(out, "  node [shape=box, fontname=\"Helvetica\"];")?;
    writeln!(out, "  edge [fontname=\"Helvetica\"];")?;
    let mut clusters = 0;
    dot_tree(graph, &Tree::of(graph), 1, &mut clusters, out)?;
    for edge in &graph.edges {
        let style = if edge.explicit { " [style=dashed]" } else { "" };
        writeln!(out, "  {} -> {}{style};", dot_quote(&edge.from), dot_quote(&edge.to))?;
    }
    writeln!(out, "}}")
}

fn dot_tree(
    graph: &Graph,
    tree: &Tree<'_>,
    depth: usize,
    clusters: &mut usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let indent = "  ".repeat(depth);
    for node in &tree.nodes {
        let label = label_lines(graph, node)
            .iter()
            .map(|line| dot_escape(line))
            .collect::<Vec<_>>()
            .join("\\n");
        let mut attributes = vec![format!("label=\"{label}\"")];
        attributes.extend(dot_shape(node.kind).map(str::to_string));
        if let Some(description) = &node.description {
            attributes.push(format!("tooltip={}", dot_quote(description)));
        }
        writeln!(out, "{indent}{} [{}];", dot_quote(&node.id), attributes.join(", "))?;
    }
    for (label, child) in &tree.children {
        writeln!(out, "{indent}subgraph cluster_{clusters} {{")?;
        *clusters += 1;
        writeln!(out, "{indent}  label={};", dot_quote(label))?;
        dot_tree(graph, child, depth + 1, clusters, out)?;
        writeln!(out, "{indent}}}")?;
    }
    Ok(())
}

/// The node attributes that set a kind's shape apart from the default box
/// of a resource.
fn dot_shape(kind: &str) -> Option<&'static str> {
    match kind {
        "data" => Some("style=rounded"),
        "module" => Some("shape=component"),
        "param" | "let" | "output" => Some("shape=ellipse"),
        "assert" | "warn" => Some("shape=octagon"),
        _ => None,
    }
}

/// A dot ID in double quotes.
fn dot_quote(text: &str) -> String {
    format!("\"{}\"", dot_escape(text))
}

/// Text for inside a dot double-quoted string. A backslash is doubled, so
/// that escapes such as `\N` in a label stay literal; line ends become
/// `\n`, which a label shows as a line break.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

// Mermaid.

fn mermaid(graph: &Graph, out: &mut dyn Write) -> io::Result<()> {
    // Mermaid ids cannot hold quotes or brackets: nodes are `n0`, `n1`, ...
    // in the order of their ids.
    let short: BTreeMap<&str, String> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| (node.id.as_str(), format!("n{index}")))
        .collect();
    writeln!(out, "flowchart LR")?;
    let mut groups = 0;
    mermaid_tree(graph, &Tree::of(graph), &short, 1, &mut groups, out)?;
    for edge in &graph.edges {
        let (Some(from), Some(to)) = (short.get(edge.from.as_str()), short.get(edge.to.as_str()))
        else {
            continue;
        };
        let arrow = if edge.explicit { "-.->" } else { "-->" };
        writeln!(out, "  {from} {arrow} {to}")?;
    }
    Ok(())
}

fn mermaid_tree(
    graph: &Graph,
    tree: &Tree<'_>,
    short: &BTreeMap<&str, String>,
    depth: usize,
    groups: &mut usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let indent = "  ".repeat(depth);
    for node in &tree.nodes {
        let label = label_lines(graph, node)
            .iter()
            .map(|line| mermaid_escape(line))
            .collect::<Vec<_>>()
            .join("<br/>");
        writeln!(out, "{indent}{}[\"{label}\"]", short[node.id.as_str()])?;
    }
    for (label, child) in &tree.children {
        writeln!(out, "{indent}subgraph g{groups} [\"{}\"]", mermaid_escape(label))?;
        *groups += 1;
        mermaid_tree(graph, child, short, depth + 1, groups, out)?;
        writeln!(out, "{indent}end")?;
    }
    Ok(())
}

/// Text for inside a Mermaid `"..."` label, where quotes, markup and `#`
/// would be read as syntax: they become Mermaid's `#name;` entities.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

// JSON.

#[derive(Serialize)]
struct Document<'g> {
    version: u32,
    expanded: bool,
    nodes: &'g [Node],
    edges: &'g [Edge],
}

fn json(graph: &Graph, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        version: JSON_VERSION,
        expanded: graph.expanded,
        nodes: &graph.nodes,
        edges: &graph.edges,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_strings_escape_quotes_and_backslashes() {
        assert_eq!(dot_quote(r#"conf["api"]"#), r#""conf[\"api\"]""#);
        assert_eq!(dot_escape(r"a\Nb"), r"a\\Nb");
        assert_eq!(dot_escape("one\ntwo"), r"one\ntwo");
    }

    #[test]
    fn mermaid_labels_use_entities() {
        assert_eq!(
            mermaid_escape(r#"conf["a#b"] <x> & y"#),
            "conf[#quot;a#35;b#quot;] #lt;x#gt; #amp; y"
        );
    }
}
