//! The outline of a file: its declarations, with `if`, `for` and `policy`
//! blocks as containers of the declarations written inside them.

use orch_lang::Span;
use orch_lang::ast::{self, Item, ItemKind};

/// What a symbol declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    Param,
    Let,
    Type,
    Resource,
    Data,
    Output,
    Module,
    Import,
    Provider,
    Policy,
    /// An `if` or `for` block.
    Block,
}

/// One entry of a file's outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// A short description: the kind of a resource, the path of a module.
    pub detail: Option<String>,
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// The name (or the keyword of a block).
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

/// The outline of `file`, in source order.
pub fn document_symbols(file: &ast::SourceFile, source: &str) -> Vec<Symbol> {
    items(&file.items, source)
}

fn items(items: &[Item], source: &str) -> Vec<Symbol> {
    items.iter().filter_map(|item| symbol(item, source)).collect()
}

fn symbol(item: &Item, source: &str) -> Option<Symbol> {
    let written = |span: Span| source.get(span.range()).unwrap_or_default().to_string();
    let leaf = |kind: SymbolKind, name: &ast::Ident, detail: Option<String>| Symbol {
        name: name.name.to_string(),
        detail,
        kind,
        span: item.span,
        name_span: name.span,
        children: Vec::new(),
    };
    let block = |name: String, blocks: Vec<&ast::Block>| Symbol {
        name,
        detail: None,
        kind: SymbolKind::Block,
        span: item.span,
        name_span: Span { end: item.span.start, ..item.span },
        children: blocks.into_iter().flat_map(|block| self::items(&block.items, source)).collect(),
    };
    Some(match &item.kind {
        ItemKind::Param(param) => {
            leaf(SymbolKind::Param, &param.name, Some(written(param.ty.span)))
        }
        ItemKind::Let(decl) => {
            leaf(SymbolKind::Let, &decl.name, decl.ty.as_ref().map(|ty| written(ty.span)))
        }
        ItemKind::TypeAlias(alias) => leaf(SymbolKind::Type, &alias.name, None),
        ItemKind::Resource(resource) => {
            leaf(SymbolKind::Resource, &resource.name, Some(resource.kind.to_dotted()))
        }
        ItemKind::Data(resource) => {
            leaf(SymbolKind::Data, &resource.name, Some(resource.kind.to_dotted()))
        }
        ItemKind::Output(output) => {
            leaf(SymbolKind::Output, &output.name, output.ty.as_ref().map(|ty| written(ty.span)))
        }
        ItemKind::Module(module) => {
            leaf(SymbolKind::Module, &module.name, Some(written(module.source.span)))
        }
        ItemKind::Import(import) => {
            leaf(SymbolKind::Import, &import.alias, Some(written(import.source.span)))
        }
        ItemKind::Provider(provider) => leaf(SymbolKind::Provider, &provider.name, None),
        ItemKind::Lifecycle(lifecycle) => block(lifecycle.kind.keyword().to_string(), Vec::new()),
        ItemKind::Policy(policy) => Symbol {
            children: items(&policy.block.items, source),
            ..leaf(SymbolKind::Policy, &policy.name, None)
        },
        ItemKind::If(decl) => {
            let condition = decl.branches.first().map(|(c, _)| written(c.span)).unwrap_or_default();
            let blocks = decl.branches.iter().map(|(_, block)| block).chain(&decl.else_block);
            block(format!("if {}", shorten(&condition)), blocks.collect())
        }
        ItemKind::For(decl) => {
            let mut binding = decl.binding.first.name.to_string();
            if let Some(second) = &decl.binding.second {
                binding = format!("{binding}, {}", second.name);
            }
            let collection = written(decl.collection.span);
            block(format!("for {binding} in {}", shorten(&collection)), vec![&decl.block])
        }
        ItemKind::Assert(_) | ItemKind::Warn(_) | ItemKind::Error => return None,
    })
}

/// The first line of `text`, at most 40 characters.
fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 40 || line.len() < text.len() {
        let short: String = line.chars().take(40).collect();
        format!("{short}…")
    } else {
        line.to_string()
    }
}
