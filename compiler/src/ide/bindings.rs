//! The names of one file as the checker sees them: every identifier
//! expression with what it refers to, and every variable that a `for`
//! block or a comprehension binds, with where it is visible.
//!
//! Declarations come from the checker's resolutions; loop variables are
//! not declarations, so they are found here by walking the tree with the
//! same rules as the checker's look-up: comprehension variables first,
//! then the variables of the `for` blocks around, innermost first.

use orch_lang::Span;
use orch_lang::ast::{self, Expr, ExprKind, Ident, Item, ItemKind};

use super::locate::children;
use crate::Analysis;
use crate::model::DeclId;

/// A variable bound by a `for` block or a comprehension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binder<'a> {
    pub(crate) ident: &'a Ident,
    /// Where uses see it: the key and the block of a `for`, or the filter,
    /// key and value of a comprehension.
    pub(crate) visible: Span,
    /// The block of a `for` (whose `let`s come after its variables in the
    /// look-up), or `visible` for a comprehension.
    pub(crate) scope: Span,
    /// The other variable of a `for k, v` or `for k, v` comprehension.
    pub(crate) sibling: Option<&'a Ident>,
}

/// What an identifier expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    Decl(DeclId),
    /// The variable whose binding identifier has this span.
    Local(Span),
    /// Nothing: the checker reported it.
    Unresolved,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct NameUse<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) meaning: Meaning,
}

/// The binders and name uses of one file, in source order.
#[derive(Debug, Default)]
pub(crate) struct FileNames<'a> {
    pub(crate) binders: Vec<Binder<'a>>,
    pub(crate) uses: Vec<NameUse<'a>>,
}

impl<'a> FileNames<'a> {
    pub(crate) fn binder(&self, span: Span) -> Option<&Binder<'a>> {
        self.binders.iter().find(|binder| binder.ident.span == span)
    }
}

/// The names of `file`.
pub(crate) fn file_names<'a>(analysis: &Analysis, file: &'a ast::SourceFile) -> FileNames<'a> {
    let mut walker = Walker { analysis, active: Vec::new(), out: FileNames::default() };
    walker.items(&file.items);
    walker.out
}

struct Walker<'w, 'a> {
    analysis: &'w Analysis,
    /// The binders around the current node, innermost last.
    active: Vec<Binder<'a>>,
    out: FileNames<'a>,
}

impl<'a> Walker<'_, 'a> {
    fn items(&mut self, items: &'a [Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &'a Item) {
        for decorator in &item.decorators {
            for arg in decorator.args.iter().flatten() {
                self.expr(&arg.value);
            }
        }
        let fields = |body: &'a ast::Body| body.fields.iter().map(|field| &field.value);
        match &item.kind {
            ItemKind::Param(param) => param.default.iter().for_each(|e| self.expr(e)),
            ItemKind::Let(decl) => self.expr(&decl.value),
            ItemKind::Output(output) => self.expr(&output.value),
            ItemKind::Resource(resource) | ItemKind::Data(resource) => {
                fields(&resource.body).for_each(|e| self.expr(e))
            }
            ItemKind::Module(module) => {
                self.expr(&module.source);
                fields(&module.body).for_each(|e| self.expr(e));
            }
            ItemKind::Import(import) => self.expr(&import.source),
            ItemKind::Provider(provider) => fields(&provider.body).for_each(|e| self.expr(e)),
            ItemKind::Lifecycle(block) => fields(&block.body).for_each(|e| self.expr(e)),
            ItemKind::Assert(assert) | ItemKind::Warn(assert) => {
                self.expr(&assert.condition);
                self.expr(&assert.message);
            }
            ItemKind::Policy(policy) => self.items(&policy.block.items),
            ItemKind::If(decl) => {
                for (condition, block) in &decl.branches {
                    self.expr(condition);
                    self.items(&block.items);
                }
                if let Some(block) = &decl.else_block {
                    self.items(&block.items);
                }
            }
            ItemKind::For(decl) => {
                self.expr(&decl.collection);
                let start = decl.key.as_ref().map_or(decl.block.span, |key| key.span);
                let visible = start.to(decl.block.span);
                let count = self.bind(&decl.binding, visible, decl.block.span);
                if let Some(key) = &decl.key {
                    self.expr(key);
                }
                self.items(&decl.block.items);
                self.active.truncate(self.active.len() - count);
            }
            ItemKind::TypeAlias(_) | ItemKind::Error => {}
        }
    }

    /// Makes the variables of `binding` visible; returns how many.
    fn bind(&mut self, binding: &'a ast::ForBinding, visible: Span, scope: Span) -> usize {
        let first = &binding.first;
        let second = binding.second.as_ref();
        let mut binders = vec![Binder { ident: first, visible, scope, sibling: second }];
        if let Some(second) = second {
            binders.push(Binder { ident: second, visible, scope, sibling: Some(first) });
        }
        self.out.binders.extend(binders.iter().copied());
        let count = binders.len();
        self.active.extend(binders);
        count
    }

    fn expr(&mut self, node: &'a Expr) {
        match &node.kind {
            ExprKind::Ident(ident) => {
                let meaning = match self.analysis.checked.resolutions.get(&ident.span) {
                    Some(&id) => Meaning::Decl(id),
                    None => self
                        .active
                        .iter()
                        .rev()
                        .find(|binder| binder.ident.name == ident.name)
                        .map_or(Meaning::Unresolved, |binder| Meaning::Local(binder.ident.span)),
                };
                self.out.uses.push(NameUse { ident, meaning });
            }
            ExprKind::ListComprehension(comprehension)
            | ExprKind::MapComprehension(comprehension) => {
                self.expr(&comprehension.collection);
                let after = Span { start: comprehension.collection.span.end, ..node.span };
                let count = self.bind(&comprehension.binding, after, after);
                comprehension.condition.iter().for_each(|e| self.expr(e));
                comprehension.key.iter().for_each(|e| self.expr(e));
                self.expr(&comprehension.value);
                self.active.truncate(self.active.len() - count);
            }
            // The name of a called function is not a value.
            ExprKind::Call { callee, args } if matches!(callee.kind, ExprKind::Ident(_)) => {
                // `resources(fs.file)` names a kind, not values.
                let kind_names =
                    matches!(&callee.kind, ExprKind::Ident(name) if name.name == "resources");
                if !kind_names {
                    args.iter().for_each(|arg| self.expr(&arg.value));
                }
            }
            _ => children(node).into_iter().for_each(|child| self.expr(child)),
        }
    }
}
