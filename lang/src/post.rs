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
pub fn walk_item_exprs(item: &mut Item, f: &mut dyn FnMut(&mut Expr)) {
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
pub fn walk_expr(expr: &mut Expr, f: &mut dyn FnMut(&mut Expr)) {
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
/// record field that starts right after it (only whitespace between).
pub(crate) fn attach_docs(file: &mut SourceFile, source: &str, comments: &[Comment]) {
    let docs: Vec<&Comment> = comments.iter().filter(|c| c.kind == CommentKind::Doc).collect();
    if docs.is_empty() {
        return;
    }
    let finder = DocFinder { source, docs };
    for item in &mut file.items {
        finder.item(item);
    }
}

struct DocFinder<'a> {
    source: &'a str,
    docs: Vec<&'a Comment>,
}

impl DocFinder<'_> {
    /// The doc text for something that starts at `start`.
    fn docs_before(&self, start: u32) -> Option<String> {
        // The last doc comment that ends before `start`.
        let mut index = self.docs.partition_point(|c| c.span.end <= start);
        let mut next_start = start;
        let mut lines = Vec::new();
        while index > 0 {
            let comment = self.docs[index - 1];
            let between = self.source.get(comment.span.end as usize..next_start as usize)?;
            if !between.chars().all(char::is_whitespace) || between.matches('\n').count() > 1 {
                break;
            }
            let text = &self.source[comment.span.range()];
            let text = text.trim_start_matches("///");
            lines.push(text.strip_prefix(' ').unwrap_or(text).trim_end().to_string());
            next_start = comment.span.start;
            index -= 1;
        }
        if lines.is_empty() {
            return None;
        }
        lines.reverse();
        Some(lines.join("\n"))
    }

    fn item(&self, item: &mut Item) {
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
            ItemKind::Import(_) | ItemKind::Assert(_) | ItemKind::Warn(_) | ItemKind::Error => {}
        }
    }

    fn block(&self, block: &mut Block) {
        for item in &mut block.items {
            self.item(item);
        }
    }

    fn body(&self, body: &mut Body) {
        for field in &mut body.fields {
            field.docs = self.docs_before(field.span.start);
        }
    }

    fn ty(&self, ty: &mut TypeExpr) {
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

    fn record_field(&self, field: &mut RecordFieldType) {
        field.docs = self.docs_before(field.span.start);
        self.ty(&mut field.ty);
    }
}
