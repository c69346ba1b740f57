//! What is under the cursor: a walk down the syntax tree to the innermost
//! node whose span contains an offset.
//!
//! Spans count as containing their end, so that a cursor right after a
//! name (where editors put it while typing) still finds the name.

use orch_lang::ast::{self, Expr, ExprKind, Field, Ident, Item, ItemKind};
use orch_lang::visit::{child_blocks, expr_children, item_body, item_exprs, item_name};

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
    if let Some(name) = item_name(item).filter(|name| name.span.contains(offset)) {
        return Some(Found::DeclName { item, name });
    }
    let kind = match &item.kind {
        ItemKind::Resource(resource) | ItemKind::Data(resource) => Some(&resource.kind),
        ItemKind::Mock(mock) => Some(&mock.kind),
        _ => None,
    };
    if let Some(path) = kind.filter(|path| path.span.contains(offset)) {
        return Some(Found::Kind { path });
    }
    let body = item_body(item).filter(|body| body.span.contains(offset));
    if let Some(field) = body.and_then(|body| body_field(body, offset)) {
        return Some(Found::BodyField { owner: item, field });
    }
    item_exprs(item)
        .into_iter()
        .find_map(|node| expr(item, node, offset))
        .or_else(|| child_blocks(item).into_iter().find_map(|block| items(&block.items, offset)))
}

/// The field of `body` whose key is at `offset`.
fn body_field(body: &ast::Body, offset: u32) -> Option<&Field> {
    body.fields.iter().find(|field| field.key.span().contains(offset))
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
