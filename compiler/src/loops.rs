//! Which loop variables are in scope where, in one file's syntax tree.
//!
//! Loop variables (of `for` blocks and comprehensions) are not
//! declarations, so the model has no ids for them; editors' queries and
//! the commands that print a file's names ask this resolver instead. It is
//! built once per file by the shared visitor ([`orch_lang::visit`]) and
//! keeps the checker's rules: a `for`'s variables are visible in its key
//! and its block, a comprehension's in its filter, key and value; the
//! collection sees neither; the innermost binding of a name wins.

use orch_lang::Span;
use orch_lang::ast::{Ident, SourceFile};
use orch_lang::visit::{LoopSite, Visitor};

/// A variable bound by a `for` block or a comprehension.
#[derive(Debug, Clone, Copy)]
pub struct LoopVar<'a> {
    pub ident: &'a Ident,
    /// Where uses see it: from the key (or the block) to the end of the
    /// block of a `for`; from the end of the collection to the end of a
    /// comprehension.
    pub visible: Span,
    /// The block of a `for` (whose `let`s come after its variables in the
    /// look-up), or `visible` for a comprehension.
    pub scope: Span,
    /// The other variable of a `for k, v` block or comprehension.
    pub sibling: Option<&'a Ident>,
    /// The loop that binds it.
    pub site: LoopSite<'a>,
}

impl LoopVar<'_> {
    /// Whether a use written at `span` sees this variable.
    pub fn sees_span(&self, span: Span) -> bool {
        self.visible.start <= span.start && span.end <= self.visible.end
    }

    /// Whether a cursor at `offset` is in this variable's scope. The end
    /// of a comprehension's collection still belongs to the collection
    /// (a cursor there is completing the collection's last name).
    pub fn sees_offset(&self, offset: u32) -> bool {
        match self.site {
            LoopSite::For(decl) => {
                decl.block.span.contains(offset)
                    || decl.key.as_ref().is_some_and(|key| key.span.contains(offset))
            }
            LoopSite::Comprehension { .. } => {
                self.visible.start < offset && offset <= self.visible.end
            }
        }
    }
}

/// Every loop variable of a file, in source order (an outer loop's before
/// those of the loops inside it).
#[derive(Debug, Default)]
pub struct LoopScopes<'a> {
    vars: Vec<LoopVar<'a>>,
}

impl<'a> LoopScopes<'a> {
    /// The loop variables of `file`.
    pub fn of(file: &'a SourceFile) -> LoopScopes<'a> {
        let mut scopes = LoopScopes::default();
        scopes.visit_file(file);
        scopes
    }

    /// Every loop variable, in source order.
    pub fn vars(&self) -> &[LoopVar<'a>] {
        &self.vars
    }

    /// The variable whose binding identifier is written at `span`.
    pub fn var_at(&self, span: Span) -> Option<&LoopVar<'a>> {
        self.vars.iter().find(|var| var.ident.span == span)
    }

    /// The variable that a use of `name` written at `span` refers to: the
    /// innermost one in scope there.
    pub fn binding_of(&self, name: &str, span: Span) -> Option<&LoopVar<'a>> {
        self.vars.iter().rev().find(|var| var.ident.name == name && var.sees_span(span))
    }

    /// The variables in scope at a cursor at `offset`, innermost last.
    pub fn in_scope_at(&self, offset: u32) -> Vec<&LoopVar<'a>> {
        self.vars.iter().filter(|var| var.sees_offset(offset)).collect()
    }
}

impl<'a> Visitor<'a> for LoopScopes<'a> {
    fn enter_loop(&mut self, site: LoopSite<'a>) {
        let (visible, scope) = match site {
            LoopSite::For(decl) => {
                let start = decl.key.as_ref().map_or(decl.block.span, |key| key.span);
                (start.to(decl.block.span), decl.block.span)
            }
            LoopSite::Comprehension { expr, comprehension } => {
                let after = Span { start: comprehension.collection.span.end, ..expr.span };
                (after, after)
            }
        };
        let binding = site.binding();
        let first = &binding.first;
        let second = binding.second.as_ref();
        self.vars.push(LoopVar { ident: first, visible, scope, sibling: second, site });
        if let Some(second) = second {
            self.vars.push(LoopVar { ident: second, visible, scope, sibling: Some(first), site });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_lang::{FileId, parse};

    const SOURCE: &str = "param xs: list<int> = []\nfor x in xs key \"${x}\" {\n  let y = [for i, x in xs: x + i]\n}\n";

    fn offset(needle: &str, nth: usize) -> u32 {
        SOURCE.match_indices(needle).nth(nth).expect("in the source").0 as u32
    }

    #[test]
    fn the_innermost_binding_wins_and_collections_see_none() {
        let parsed = parse(FileId(0), SOURCE);
        let scopes = LoopScopes::of(&parsed.file);
        let names: Vec<&str> = scopes.vars().iter().map(|v| v.ident.name.as_str()).collect();
        assert_eq!(names, ["x", "i", "x"]);
        let use_at = |nth: usize| {
            let start = offset("x", nth);
            Span::new(FileId(0), start, start + 1)
        };
        // `xs` of the `for`: nothing; the key: the `for`'s x; `x + i`: the
        // comprehension's x.
        let outer = scopes.vars()[0].ident.span;
        let inner = scopes.vars()[2].ident.span;
        assert!(scopes.binding_of("xs", use_at(2)).is_none());
        assert_eq!(scopes.binding_of("x", use_at(3)).map(|v| v.ident.span), Some(outer));
        assert_eq!(scopes.binding_of("x", use_at(6)).map(|v| v.ident.span), Some(inner));
        assert_eq!(
            scopes.var_at(inner).and_then(|v| v.sibling).map(|s| s.name.as_str()),
            Some("i")
        );
    }

    #[test]
    fn a_cursor_sees_the_loops_around_it() {
        let parsed = parse(FileId(0), SOURCE);
        let scopes = LoopScopes::of(&parsed.file);
        let names = |at: u32| -> Vec<&str> {
            scopes.in_scope_at(at).iter().map(|v| v.ident.name.as_str()).collect()
        };
        assert_eq!(names(offset("let", 0)), ["x"]);
        assert_eq!(names(offset("+", 0)), ["x", "i", "x"]);
        // The end of the comprehension's collection is still the collection.
        assert_eq!(names(offset(": x", 0)), ["x"]);
        assert!(names(offset("param", 0)).is_empty());
    }
}
