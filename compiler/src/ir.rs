//! The IR: a `petgraph` graph of declarations with an edge for every
//! reference and `@depends_on`, spans kept on nodes and edges. Cycles are
//! reported as one diagnostic that walks the cycle edge by edge.

use rustc_hash::FxHashMap as HashMap;

use orch_lang::diagnostic::codes;
use orch_lang::{Diagnostic, FileId, Span};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::check::Checked;
use crate::model::{DeclId, DeclKind, Model, ScopeId, ScopeKind};

/// A declaration in the graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub decl: DeclId,
    pub kind: DeclKind,
    /// The declaration's name; asserts and warns are named `assert@LINE`
    /// by the caller that shows them.
    pub name: String,
    pub file: FileId,
    pub span: Span,
    /// From `@description`, when given.
    pub description: Option<String>,
}

/// `from` uses `to`: `to` must be evaluated (or applied) first.
#[derive(Debug, Clone)]
pub struct Edge {
    /// The referring expression.
    pub span: Span,
    /// From `@depends_on` rather than from a value.
    pub explicit: bool,
    /// The body field holding the reference, if any.
    pub field: Option<smol_str::SmolStr>,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub graph: DiGraph<Node, Edge>,
    pub nodes: HashMap<DeclId, NodeIndex>,
}

impl Graph {
    pub fn build(model: &Model<'_>, checked: &Checked) -> Graph {
        let mut out = Graph::default();
        for decl in &model.decls {
            if decl.kind == DeclKind::Import {
                continue;
            }
            let description = decl
                .item
                .decorators
                .iter()
                .find(|d| {
                    crate::decorator::DecoratorKind::from_name(&d.name.name)
                        == Some(crate::decorator::DecoratorKind::Description)
                })
                .and_then(|d| {
                    let arg = d.args.as_ref()?.first()?;
                    match &arg.value.kind {
                        orch_lang::ast::ExprKind::Str(lit) => lit.as_plain(),
                        _ => None,
                    }
                });
            let index = out.graph.add_node(Node {
                decl: decl.id,
                kind: decl.kind,
                name: decl.name_str().to_string(),
                file: decl.file,
                span: decl.name_span(),
                description,
            });
            out.nodes.insert(decl.id, index);
        }
        for reference in &checked.references {
            out.add_edge(
                reference.from,
                reference.to,
                reference.span,
                reference.explicit,
                reference.field.clone(),
            );
        }
        // Everything inside a block depends on what its header reads; a
        // later branch of an `if` also on the conditions before it.
        let mut branches: HashMap<*const orch_lang::ast::If, Vec<(usize, ScopeId)>> =
            HashMap::default();
        for scope in &model.scopes {
            if let ScopeKind::If { decl, branch } = &scope.kind {
                branches.entry(std::ptr::from_ref(*decl)).or_default().push((*branch, scope.id));
            }
        }
        for decl in &model.decls {
            for scope in model.scope_chain(decl.scope) {
                let mut headers = vec![scope];
                if let ScopeKind::If { decl: if_decl, branch } = &model.scope(scope).kind {
                    let siblings =
                        branches.get(&std::ptr::from_ref(*if_decl)).into_iter().flatten();
                    headers.extend(siblings.filter(|(b, _)| b < branch).map(|(_, s)| *s));
                }
                for header in headers {
                    for &(to, span) in checked.block_refs.get(&header).into_iter().flatten() {
                        out.add_edge(decl.id, to, span, false, None);
                    }
                }
            }
        }
        out
    }

    fn add_edge(
        &mut self,
        from: DeclId,
        to: DeclId,
        span: Span,
        explicit: bool,
        field: Option<smol_str::SmolStr>,
    ) {
        let (Some(&a), Some(&b)) = (self.nodes.get(&from), self.nodes.get(&to)) else { return };
        // One edge per pair and span is enough.
        if self.graph.edges_connecting(a, b).any(|e| e.weight().span == span) {
            return;
        }
        self.graph.add_edge(a, b, Edge { span, explicit, field });
    }

    /// One diagnostic per cycle, walking it edge by edge.
    pub fn cycles(
        &self,
        source_text: &dyn Fn(Span) -> String,
        location: &dyn Fn(Span) -> String,
    ) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for component in tarjan_scc(&self.graph) {
            let cycle = match component.as_slice() {
                [single] => {
                    if self.graph.find_edge(*single, *single).is_none() {
                        continue;
                    }
                    vec![*single]
                }
                _ => self.find_cycle(&component),
            };
            if cycle.is_empty() {
                continue;
            }
            // Start the walk at the declaration written first.
            let start = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| (self.graph[**n].file, self.graph[**n].span.start))
                .map_or(0, |(i, _)| i);
            let cycle: Vec<NodeIndex> =
                cycle[start..].iter().chain(&cycle[..start]).copied().collect();
            let names: Vec<String> =
                cycle.iter().map(|n| format!("`{}`", self.graph[*n].name)).collect();
            let first = &self.graph[cycle[0]];
            let mut diagnostic = Diagnostic::new(
                &codes::E0501,
                first.span,
                format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
            )
            .with_primary_message("the cycle starts here");
            for (i, &node) in cycle.iter().enumerate() {
                let next = cycle[(i + 1) % cycle.len()];
                let Some(edge) = self.graph.edges_connecting(node, next).next() else { continue };
                let span = edge.weight().span;
                let user = match &edge.weight().field {
                    Some(field) => format!("{}.{field}", self.graph[node].name),
                    None => self.graph[node].name.clone(),
                };
                diagnostic = diagnostic.with_label(
                    span,
                    format!("`{user}` uses `{}` at {}", source_text(span), location(span)),
                );
            }
            out.push(diagnostic.with_help(
                "break the cycle: a value cannot depend on itself, directly or through other declarations",
            ));
        }
        out
    }

    /// A simple cycle through the nodes of a strongly connected component.
    fn find_cycle(&self, component: &[NodeIndex]) -> Vec<NodeIndex> {
        let start = component[0];
        let mut path = vec![start];
        let mut visited = vec![start];
        if self.extend_to(start, start, component, &mut path, &mut visited) {
            path
        } else {
            Vec::new()
        }
    }

    /// Depth-first search from `node` back to `start`, extending `path`.
    fn extend_to(
        &self,
        node: NodeIndex,
        start: NodeIndex,
        component: &[NodeIndex],
        path: &mut Vec<NodeIndex>,
        visited: &mut Vec<NodeIndex>,
    ) -> bool {
        for next in self.successors_in(node, component) {
            if next == start {
                return true;
            }
            if visited.contains(&next) {
                continue;
            }
            visited.push(next);
            path.push(next);
            if self.extend_to(next, start, component, path, visited) {
                return true;
            }
            path.pop();
        }
        false
    }

    fn successors_in(&self, node: NodeIndex, component: &[NodeIndex]) -> Vec<NodeIndex> {
        let mut out: Vec<NodeIndex> =
            self.graph.edges(node).map(|e| e.target()).filter(|t| component.contains(t)).collect();
        out.sort();
        out.dedup();
        out
    }
}
