//! Passes over a freshly parsed tree: doc comments are attached to the
//! declarations and fields they precede, and expressions are numbered.
//!
//! Both run after parsing because chumsky may run its mapping closures more
//! than once; they must stay pure.

use crate::ast::{
    Block, Body, Expr, ExprId, ExprKind, Field, Item, ItemKind, RecordFieldType, SourceFile,
    StrPart, TypeExpr, TypeExprKind,
};
use crate::lexer::Comment;
use crate::token::CommentKind;

/// Gives every expression an id, in source order, starting at 0.
pub(crate) fn number_exprs(file: &mut SourceFile) {
    let mut next = 0u32;
    for item in &mut file.items {
        walk_item_exprs(item, &mut |expr| {
            expr.id = ExprId(next);
            next += 1;
        });
    }
}

/// Calls `f` on every expression of `item`, outer expressions first.
pub(crate) fn walk_item_exprs(item: &mut Item, f: &mut dyn FnMut(&mut Expr)) {
    for decorator in &mut item.decorators {
        for arg in decorator.args.iter_mut().flatten() {
            walk_expr(&mut arg.value, f);
        }
    }
    match &mut item.kind {
        ItemKind::Param(param) => {
            if let Some(default) = &mut param.default {
                walk_expr(default, f);
            }
        }
        ItemKind::Let(decl) => walk_expr(&mut decl.value, f),
        ItemKind::Output(output) => walk_expr(&mut output.value, f),
        ItemKind::TypeAlias(_) | ItemKind::Error => {}
        ItemKind::Resource(resource) | ItemKind::Data(resource) => {
            walk_fields(&mut resource.body.fields, f)
        }
        ItemKind::Module(module) => {
            walk_expr(&mut module.source, f);
            walk_fields(&mut module.body.fields, f);
        }
        ItemKind::Import(import) => walk_expr(&mut import.source, f),
        ItemKind::Provider(provider) => walk_fields(&mut provider.body.fields, f),
        ItemKind::Lifecycle(block) => walk_fields(&mut block.body.fields, f),
        ItemKind::Mock(mock) => walk_fields(&mut mock.body.fields, f),
        ItemKind::Test(test) => walk_block(&mut test.block, f),
        ItemKind::Setting(field) => walk_fields(std::slice::from_mut(field), f),
        ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
            walk_expr(&mut assert.condition, f);
            walk_expr(&mut assert.message, f);
        }
        ItemKind::Policy(policy) => walk_block(&mut policy.block, f),
        ItemKind::If(decl) => {
            for (condition, block) in &mut decl.branches {
                walk_expr(condition, f);
                walk_block(block, f);
            }
            if let Some(block) = &mut decl.else_block {
                walk_block(block, f);
            }
        }
        ItemKind::For(decl) => {
            walk_expr(&mut decl.collection, f);
            if let Some(key) = &mut decl.key {
                walk_expr(key, f);
            }
            walk_block(&mut decl.block, f);
        }
    }
}

fn walk_block(block: &mut Block, f: &mut dyn FnMut(&mut Expr)) {
    for item in &mut block.items {
        walk_item_exprs(item, f);
    }
}

fn walk_fields(fields: &mut [Field], f: &mut dyn FnMut(&mut Expr)) {
    for field in fields {
        if let crate::ast::FieldKey::Quoted(lit) = &mut field.key {
            for part in &mut lit.parts {
                if let StrPart::Interpolation(expr) = part {
                    walk_expr(expr, f);
                }
            }
        }
        walk_expr(&mut field.value, f);
    }
}

/// Calls `f` on `expr` and then on each of its subexpressions.
pub(crate) fn walk_expr(expr: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
    f(expr);
    match &mut expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Duration { .. }
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Ident(_)
        | ExprKind::Error => {}
        ExprKind::Str(lit) => {
            for part in &mut lit.parts {
                if let StrPart::Interpolation(inner) = part {
                    walk_expr(inner, f);
                }
            }
        }
        ExprKind::List(items) => {
            for inner in items {
                walk_expr(inner, f);
            }
        }
        ExprKind::Object(fields) => walk_fields(fields, f),
        ExprKind::ListComprehension(comprehension) | ExprKind::MapComprehension(comprehension) => {
            walk_expr(&mut comprehension.collection, f);
            if let Some(condition) = &mut comprehension.condition {
                walk_expr(condition, f);
            }
            if let Some(key) = &mut comprehension.key {
                walk_expr(key, f);
            }
            walk_expr(&mut comprehension.value, f);
        }
        ExprKind::Unary { operand, .. } => walk_expr(operand, f),
        ExprKind::Binary { lhs, rhs, .. } => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        ExprKind::Conditional { condition, then, otherwise } => {
            walk_expr(condition, f);
            walk_expr(then, f);
            walk_expr(otherwise, f);
        }
        ExprKind::Range { start, end, .. } => {
            walk_expr(start, f);
            walk_expr(end, f);
        }
        ExprKind::Field { base, .. } => walk_expr(base, f),
        ExprKind::Index { base, index } => {
            walk_expr(base, f);
            walk_expr(index, f);
        }
        ExprKind::Call { callee, args } => {
            walk_expr(callee, f);
            for arg in args {
                walk_expr(&mut arg.value, f);
            }
        }
        ExprKind::Paren(inner) => walk_expr(inner, f),
    }
}

/// Attaches each run of `///` comments to the declaration, body field or
/// record field that starts right after it (only whitespace between, and at
/// most one line break).
pub(crate) fn attach_docs(file: &mut SourceFile, source: &str, comments: &[Comment]) {
    let runs = doc_runs(source, comments);
    if runs.is_empty() {
        return;
    }
    let mut finder = DocFinder { runs, next: 0 };
    for item in &mut file.items {
        finder.item(item);
    }
}

/// Every run of consecutive doc comments, as the offset of the first thing
/// after it and its text, in source order.
fn doc_runs(source: &str, comments: &[Comment]) -> Vec<(u32, String)> {
    let mut runs: Vec<(u32, String)> = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    let docs: Vec<&Comment> = comments.iter().filter(|c| c.kind == CommentKind::Doc).collect();
    for (index, comment) in docs.iter().enumerate() {
        let text = &source[comment.span.range()];
        let text = text.trim_start_matches("///");
        lines.push(text.strip_prefix(' ').unwrap_or(text).trim_end());
        let end = comment.span.end as usize;
        let rest = &source[end..];
        let gap = rest.len() - rest.trim_start().len();
        let between = &rest[..gap];
        let continues =
            docs.get(index + 1).is_some_and(|next| next.span.start as usize == end + gap)
                && between.matches('\n').count() <= 1;
        if continues {
            continue;
        }
        if between.matches('\n').count() <= 1 {
            runs.push(((end + gap) as u32, lines.join("\n")));
        }
        lines.clear();
    }
    runs
}

/// Hands out doc runs to nodes visited in source order.
struct DocFinder {
    runs: Vec<(u32, String)>,
    /// The first run not yet passed.
    next: usize,
}

impl DocFinder {
    /// The doc text for something that starts at `start`. Calls come in
    /// increasing order of `start`.
    fn docs_before(&mut self, start: u32) -> Option<String> {
        while self.next < self.runs.len() && self.runs[self.next].0 < start {
            self.next += 1;
        }
        match self.runs.get_mut(self.next) {
            Some((target, text)) if *target == start => {
                self.next += 1;
                Some(std::mem::take(text))
            }
            _ => None,
        }
    }

    fn item(&mut self, item: &mut Item) {
        item.docs = self.docs_before(item.span.start);
        match &mut item.kind {
            ItemKind::Param(param) => self.ty(&mut param.ty),
            ItemKind::Let(decl) => {
                if let Some(ty) = &mut decl.ty {
                    self.ty(ty);
                }
            }
            ItemKind::TypeAlias(alias) => self.ty(&mut alias.ty),
            ItemKind::Output(output) => {
                if let Some(ty) = &mut output.ty {
                    self.ty(ty);
                }
            }
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                self.body(&mut resource.body)
            }
            ItemKind::Module(module) => self.body(&mut module.body),
            ItemKind::Provider(provider) => self.body(&mut provider.body),
            ItemKind::Lifecycle(block) => self.body(&mut block.body),
            ItemKind::Mock(mock) => self.body(&mut mock.body),
            ItemKind::Test(test) => self.block(&mut test.block),
            ItemKind::Policy(policy) => self.block(&mut policy.block),
            ItemKind::If(decl) => {
                for (_, block) in &mut decl.branches {
                    self.block(block);
                }
                if let Some(block) = &mut decl.else_block {
                    self.block(block);
                }
            }
            ItemKind::For(decl) => self.block(&mut decl.block),
            ItemKind::Import(_)
            | ItemKind::Assert(_)
            | ItemKind::Warn(_)
            | ItemKind::Setting(_)
            | ItemKind::Error => {}
        }
    }

    fn block(&mut self, block: &mut Block) {
        for item in &mut block.items {
            self.item(item);
        }
    }

    fn body(&mut self, body: &mut Body) {
        for field in &mut body.fields {
            field.docs = self.docs_before(field.span.start);
        }
    }

    fn ty(&mut self, ty: &mut TypeExpr) {
        match &mut ty.kind {
            TypeExprKind::Record(fields) => {
                for field in fields {
                    self.record_field(field);
                }
            }
            TypeExprKind::Generic { args, .. } => {
                for arg in args {
                    self.ty(arg);
                }
            }
            TypeExprKind::Optional(inner) | TypeExprKind::Paren(inner) => self.ty(inner),
            TypeExprKind::Union(members) => {
                for member in members {
                    self.ty(member);
                }
            }
            TypeExprKind::Named(_) | TypeExprKind::Literal(_) | TypeExprKind::Error => {}
        }
    }

    fn record_field(&mut self, field: &mut RecordFieldType) {
        field.docs = self.docs_before(field.span.start);
        self.ty(&mut field.ty);
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{ItemKind, TypeExprKind};
    use crate::{FileId, parse};

    #[test]
    fn doc_comments_attach_to_what_follows() {
        let source = "/// One.\n/// Two.\n@description(\"x\")\nparam a: { /// Field.\n b: int } = { b = 1 }\n\n/// Detached.\n\nlet c = 1\nresource r: core.value {\n  /// Input.\n  input = 1\n}\n";
        let parsed = parse(FileId(0), source);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let items = &parsed.file.items;
        assert_eq!(items[0].docs.as_deref(), Some("One.\nTwo."));
        let ItemKind::Param(param) = &items[0].kind else { panic!("not a param") };
        let TypeExprKind::Record(fields) = &param.ty.kind else { panic!("not a record") };
        assert_eq!(fields[0].docs.as_deref(), Some("Field."));
        assert_eq!(items[1].docs, None, "a blank line detaches a doc comment");
        let ItemKind::Resource(resource) = &items[2].kind else { panic!("not a resource") };
        assert_eq!(resource.body.fields[0].docs.as_deref(), Some("Input."));
    }
}
