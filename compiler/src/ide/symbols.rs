//! The outline of a file: its declarations, with `if`, `for` and `policy`
//! blocks as containers of the declarations written inside them.

use orch_lang::Span;
use orch_lang::ast::{self, Item, ItemKind};
use orch_lang::visit::{child_blocks, item_name};

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
    // What the entry is, a short description, and for a block (which
    // declares no name) the label that stands for its name.
    let (kind, detail, label) = match &item.kind {
        ItemKind::Param(param) => (SymbolKind::Param, Some(written(param.ty.span)), None),
        ItemKind::Let(decl) => (SymbolKind::Let, decl.ty.as_ref().map(|ty| written(ty.span)), None),
        ItemKind::TypeAlias(_) => (SymbolKind::Type, None, None),
        ItemKind::Resource(resource) => {
            (SymbolKind::Resource, Some(resource.kind.to_dotted()), None)
        }
        ItemKind::Data(resource) => (SymbolKind::Data, Some(resource.kind.to_dotted()), None),
        ItemKind::Output(output) => {
            (SymbolKind::Output, output.ty.as_ref().map(|ty| written(ty.span)), None)
        }
        ItemKind::Module(module) => (SymbolKind::Module, Some(written(module.source.span)), None),
        ItemKind::Import(import) => (SymbolKind::Import, Some(written(import.source.span)), None),
        ItemKind::Provider(_) => (SymbolKind::Provider, None, None),
        ItemKind::Policy(_) => (SymbolKind::Policy, None, None),
        ItemKind::Lifecycle(lifecycle) => {
            (SymbolKind::Block, None, Some(lifecycle.kind.keyword().to_string()))
        }
        ItemKind::Mock(mock) => {
            let data = if mock.data { "data " } else { "" };
            (SymbolKind::Block, None, Some(format!("mock {data}{}", mock.kind.to_dotted())))
        }
        ItemKind::Test(test) => (SymbolKind::Block, None, Some(format!("test {}", test.name.name))),
        ItemKind::If(decl) => {
            let condition = decl.branches.first().map(|(c, _)| written(c.span)).unwrap_or_default();
            (SymbolKind::Block, None, Some(format!("if {}", shorten(&condition))))
        }
        ItemKind::For(decl) => {
            let mut binding = decl.binding.first.name.to_string();
            if let Some(second) = &decl.binding.second {
                binding = format!("{binding}, {}", second.name);
            }
            let collection = written(decl.collection.span);
            (SymbolKind::Block, None, Some(format!("for {binding} in {}", shorten(&collection))))
        }
        ItemKind::Setting(_) | ItemKind::Assert(_) | ItemKind::Warn(_) | ItemKind::Error => {
            return None;
        }
    };
    let (name, name_span) = match (item_name(item), label) {
        (Some(name), _) => (name.name.to_string(), name.span),
        (None, Some(label)) => match &item.kind {
            // A test's label stands on its name.
            ItemKind::Test(test) => (label, test.name.span),
            _ => (label, Span { end: item.span.start, ..item.span }),
        },
        (None, None) => return None,
    };
    let children =
        child_blocks(item).into_iter().flat_map(|block| items(&block.items, source)).collect();
    Some(Symbol { name, detail, kind, span: item.span, name_span, children })
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
