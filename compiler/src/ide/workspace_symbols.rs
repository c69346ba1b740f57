//! Workspace symbols: the declarations of every file of the analysis whose
//! name matches a query, for "go to symbol in workspace".

use orch_lang::Span;

use super::symbols::{Symbol, SymbolKind, document_symbols};
use crate::Analysis;

/// At most this many symbols are returned; a longer query narrows them.
pub const MAX_WORKSPACE_SYMBOLS: usize = 500;

/// A declaration of some file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSymbol {
    pub name: String,
    pub kind: SymbolKind,
    /// A short description: the kind of a resource, the path of a module.
    pub detail: Option<String>,
    /// The `if`, `for` or `policy` block it is declared in.
    pub container: Option<String>,
    /// The whole declaration.
    pub span: Span,
    /// The name.
    pub name_span: Span,
}

/// The declarations whose name matches `query`: best matches first (the
/// whole name, then a prefix, a substring, then the query's letters in
/// order), ignoring case; every declaration for an empty query.
pub fn workspace_symbols(analysis: &Analysis, query: &str) -> Vec<WorkspaceSymbol> {
    let query = query.trim().to_lowercase();
    let mut found: Vec<(u8, WorkspaceSymbol, &str)> = Vec::new();
    for file in analysis.files.iter() {
        let mut symbols = Vec::new();
        flatten(document_symbols(&file.parsed.file, &file.source), None, &mut symbols);
        for symbol in symbols {
            if let Some(rank) = rank(&symbol.name, &query) {
                found.push((rank, symbol, file.path.as_str()));
            }
        }
    }
    found.sort_by(|(rank_a, a, path_a), (rank_b, b, path_b)| {
        (rank_a, &a.name, path_a, a.span.start).cmp(&(rank_b, &b.name, path_b, b.span.start))
    });
    found.into_iter().take(MAX_WORKSPACE_SYMBOLS).map(|(_, symbol, _)| symbol).collect()
}

/// The named symbols of an outline, with the blocks they are declared in.
fn flatten(symbols: Vec<Symbol>, container: Option<&str>, out: &mut Vec<WorkspaceSymbol>) {
    for symbol in symbols {
        let inner = if symbol.kind == SymbolKind::Block {
            Some(symbol.name.clone())
        } else {
            out.push(WorkspaceSymbol {
                name: symbol.name.clone(),
                kind: symbol.kind,
                detail: symbol.detail,
                container: container.map(str::to_string),
                span: symbol.span,
                name_span: symbol.name_span,
            });
            // The declarations of a policy belong to it.
            (symbol.kind == SymbolKind::Policy).then(|| format!("policy {}", symbol.name))
        };
        let inner = inner.as_deref().or(container);
        flatten(symbol.children, inner, out);
    }
}

/// How well `name` matches a lower-case `query`: lower is better, `None`
/// for no match.
fn rank(name: &str, query: &str) -> Option<u8> {
    if query.is_empty() {
        return Some(0);
    }
    let name = name.to_lowercase();
    if name == query {
        return Some(0);
    }
    if name.starts_with(query) {
        return Some(1);
    }
    if name.contains(query) {
        return Some(2);
    }
    let mut letters = name.chars();
    query.chars().all(|wanted| letters.any(|c| c == wanted)).then_some(3)
}
