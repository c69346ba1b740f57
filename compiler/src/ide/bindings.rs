//! The names of one file as the checker sees them: every identifier
//! expression with what it refers to, and every variable that a `for`
//! block or a comprehension binds, with where it is visible.
//!
//! Declarations come from the checker's resolutions; loop variables are
//! not declarations, so they come from the loop-scope resolver
//! ([`crate::loops`]), which keeps the checker's rules.

use orch_lang::ast::{self, Expr, ExprKind, Ident};
use orch_lang::visit::{self, Visitor};

use crate::Analysis;
use crate::loops::{LoopScopes, LoopVar};
use crate::model::DeclId;

/// A variable bound by a `for` block or a comprehension.
pub(crate) type Binder<'a> = LoopVar<'a>;

/// What an identifier expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    Decl(DeclId),
    /// The variable whose binding identifier has this span.
    Local(orch_lang::Span),
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
    pub(crate) loops: LoopScopes<'a>,
    pub(crate) uses: Vec<NameUse<'a>>,
}

impl<'a> FileNames<'a> {
    pub(crate) fn binders(&self) -> &[Binder<'a>] {
        self.loops.vars()
    }

    pub(crate) fn binder(&self, span: orch_lang::Span) -> Option<&Binder<'a>> {
        self.loops.var_at(span)
    }
}

/// The names of `file`.
pub(crate) fn file_names<'a>(analysis: &Analysis, file: &'a ast::SourceFile) -> FileNames<'a> {
    let loops = LoopScopes::of(file);
    let mut uses = Uses { analysis, loops: &loops, out: Vec::new() };
    uses.visit_file(file);
    let uses = uses.out;
    FileNames { loops, uses }
}

/// Collects the identifier expressions that name values.
struct Uses<'w, 'a> {
    analysis: &'w Analysis,
    loops: &'w LoopScopes<'a>,
    out: Vec<NameUse<'a>>,
}

impl<'a> Visitor<'a> for Uses<'_, 'a> {
    fn visit_expr(&mut self, node: &'a Expr) {
        match &node.kind {
            ExprKind::Ident(ident) => {
                let meaning = match self.analysis.checked.resolutions.get(&ident.span) {
                    Some(&id) => Meaning::Decl(id),
                    None => self
                        .loops
                        .binding_of(&ident.name, ident.span)
                        .map_or(Meaning::Unresolved, |var| Meaning::Local(var.ident.span)),
                };
                self.out.push(NameUse { ident, meaning });
            }
            // The name of a called function is not a value.
            ExprKind::Call { callee, args } if matches!(callee.kind, ExprKind::Ident(_)) => {
                // `resources(fs.file)` names a kind, not values.
                let kind_names =
                    matches!(&callee.kind, ExprKind::Ident(name) if name.name == "resources");
                if !kind_names {
                    args.iter().for_each(|arg| self.visit_arg(arg));
                }
            }
            _ => visit::walk_expr(self, node),
        }
    }
}
