//! `@plugin(...)` on `provider` blocks (PROVIDERS.md): which providers of a
//! file are plugins, and the command each is run as. Pure: the runtime
//! starts the commands, the checker reports mistakes.

use orch_lang::Span;
use orch_lang::ast::{Decorator, ExprKind, Item, ItemKind, SourceFile};
use smol_str::SmolStr;

use crate::decorator::DecoratorKind;

/// A `provider` block with `@plugin(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredPlugin {
    /// The provider's name: the prefix of its kinds.
    pub name: SmolStr,
    /// `provider NAME as ALIAS`: another configuration of the same plugin.
    pub alias: Option<SmolStr>,
    /// The command, as written (paths relative to the module's folder);
    /// `None` when the argument is not a plain string or a list of them
    /// (the checker reports it).
    pub argv: Option<Vec<String>>,
    /// The whole `provider` block.
    pub span: Span,
    /// The provider's name in the block's header.
    pub name_span: Span,
}

/// The `@plugin` decorator of an item, if it has one.
pub fn plugin_decorator(item: &Item) -> Option<&Decorator> {
    item.decorators
        .iter()
        .find(|d| DecoratorKind::from_name(&d.name.name) == Some(DecoratorKind::Plugin))
}

/// The command of a `@plugin` decorator: one plain string (a path), or a
/// non-empty list of plain strings (`["python3", "./acme.py"]`).
pub fn plugin_argv(decorator: &Decorator) -> Option<Vec<String>> {
    let [arg] = decorator.args.as_deref()? else { return None };
    if arg.name.is_some() {
        return None;
    }
    match &arg.value.kind {
        ExprKind::Str(lit) => lit.as_plain().filter(|s| !s.is_empty()).map(|s| vec![s]),
        ExprKind::List(items) if !items.is_empty() => items
            .iter()
            .map(|item| match &item.kind {
                ExprKind::Str(lit) => lit.as_plain().filter(|s| !s.is_empty()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// The plugin providers a file declares, in order.
pub fn declared_plugins(file: &SourceFile) -> Vec<DeclaredPlugin> {
    file.items
        .iter()
        .filter_map(|item| {
            let ItemKind::Provider(provider) = &item.kind else { return None };
            let decorator = plugin_decorator(item)?;
            Some(DeclaredPlugin {
                name: provider.name.name.clone(),
                alias: provider.alias.as_ref().map(|a| a.name.clone()),
                argv: plugin_argv(decorator),
                span: item.span,
                name_span: provider.name.span,
            })
        })
        .collect()
}
