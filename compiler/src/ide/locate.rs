//! What is under the cursor: a walk down the syntax tree to the innermost
//! node whose span contains an offset.
//!
//! Spans count as containing their end, so that a cursor right after a
//! name (where editors put it while typing) still finds the name.

use orch_lang::ast::{self, Expr, ExprKind, Field, Ident, Item, ItemKind};
use orch_lang::visit::expr_children;

/// The node at an offset.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'a> {
    /// The name of a declaration, where it is declared.
    DeclName { item: &'a Item, name: &'a Ident },
    /// The kind of a `resource` or `data` declaration (`fs.file`).
    Kind { path: &'a ast::Path },
    /// The key of a field in the body of a resource, data, module or
    /// provider.
    BodyField { owner: &'a Item, field: &'a Field },
    /// `NAME` in `base.NAME`.
    Member { expr: &'a Expr, base: &'a Expr, name: &'a Ident },
    /// The function name of a call.
    Callee { name: &'a Ident },
    /// Any other expression: the innermost one.
    Expr { item: &'a Item, expr: &'a Expr },
}

/// The node of `file` at `offset`, if any.
pub(crate) fn find(file: &ast::SourceFile, offset: u32) -> Option<Found<'_>> {
    items(&file.items, offset)
}

fn items(items: &[Item], offset: u32) -> Option<Found<'_>> {
    items.iter().filter(|item| item.span.contains(offset)).find_map(|item| self::item(item, offset))
}

fn item(item: &Item, offset: u32) -> Option<Found<'_>> {
    for decorator in &item.decorators {
        for arg in decorator.args.iter().flatten() {
            if let Some(found) = expr(item, &arg.value, offset) {
                return Some(found);
            }
        }
    }
    let declared = |ident: &Ident| ident.span.contains(offset);
    match &item.kind {
        ItemKind::Param(param) => {
            if declared(&param.name) {
                return Some(Found::DeclName { item, name: &param.name });
            }
            param.default.as_ref().and_then(|default| expr(item, default, offset))
        }
        ItemKind::Let(decl) => {
            if declared(&decl.name) {
                return Some(Found::DeclName { item, name: &decl.name });
            }
            expr(item, &decl.value, offset)
        }
        ItemKind::TypeAlias(alias) => {
            declared(&alias.name).then_some(Found::DeclName { item, name: &alias.name })
        }
        ItemKind::Resource(resource) | ItemKind::Data(resource) => {
            if declared(&resource.name) {
                return Some(Found::DeclName { item, name: &resource.name });
            }
            if resource.kind.span.contains(offset) {
                return Some(Found::Kind { path: &resource.kind });
            }
            body(item, &resource.body, offset)
        }
        ItemKind::Output(output) => {
            if declared(&output.name) {
                return Some(Found::DeclName { item, name: &output.name });
            }
            expr(item, &output.value, offset)
        }
        ItemKind::Module(module) => {
            if declared(&module.name) {
                return Some(Found::DeclName { item, name: &module.name });
            }
            expr(item, &module.source, offset).or_else(|| body(item, &module.body, offset))
        }
        ItemKind::Import(import) => {
            if declared(&import.alias) {
                return Some(Found::DeclName { item, name: &import.alias });
            }
            expr(item, &import.source, offset)
        }
        ItemKind::Provider(provider) => {
            if declared(&provider.name) {
                return Some(Found::DeclName { item, name: &provider.name });
            }
            body(item, &provider.body, offset)
        }
        ItemKind::Lifecycle(block) => body(item, &block.body, offset),
        ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
            expr(item, &assert.condition, offset).or_else(|| expr(item, &assert.message, offset))
        }
        ItemKind::Policy(policy) => {
            if declared(&policy.name) {
                return Some(Found::DeclName { item, name: &policy.name });
            }
            items(&policy.block.items, offset)
        }
        ItemKind::If(decl) => {
            for (condition, block) in &decl.branches {
                if let Some(found) =
                    expr(item, condition, offset).or_else(|| items(&block.items, offset))
                {
                    return Some(found);
                }
            }
            decl.else_block.as_ref().and_then(|block| items(&block.items, offset))
        }
        ItemKind::For(decl) => expr(item, &decl.collection, offset)
            .or_else(|| decl.key.as_ref().and_then(|key| expr(item, key, offset)))
            .or_else(|| items(&decl.block.items, offset)),
        ItemKind::Error => None,
    }
}

fn body<'a>(owner: &'a Item, body: &'a ast::Body, offset: u32) -> Option<Found<'a>> {
    if !body.span.contains(offset) {
        return None;
    }
    for field in &body.fields {
        if field.key.span().contains(offset) {
            return Some(Found::BodyField { owner, field });
        }
        if let Some(found) = expr(owner, &field.value, offset) {
            return Some(found);
        }
    }
    None
}

/// The innermost node of `node` at `offset`.
fn expr<'a>(item: &'a Item, node: &'a Expr, offset: u32) -> Option<Found<'a>> {
    if !node.span.contains(offset) {
        return None;
    }
    let inner = match &node.kind {
        ExprKind::Field { base, name, .. } => {
            if name.span.contains(offset) && !base.span.contains(offset) {
                return Some(Found::Member { expr: node, base, name });
            }
            expr(item, base, offset)
        }
        ExprKind::Call { callee, args } => match &callee.kind {
            ExprKind::Ident(name) if name.span.contains(offset) => {
                return Some(Found::Callee { name });
            }
            _ => expr(item, callee, offset)
                .or_else(|| args.iter().find_map(|arg| expr(item, &arg.value, offset))),
        },
        _ => expr_children(node).into_iter().find_map(|child| expr(item, child, offset)),
    };
    inner.or(Some(Found::Expr { item, expr: node }))
}
