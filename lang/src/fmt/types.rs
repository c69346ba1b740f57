//! Type expressions: `list<T>`, `{ a: int, b?: string }`, `T?`,
//! `"a" | "b"`, `secret<string>`.

use super::Printer;
use super::layout::BRACES;
use crate::ast::{TypeExpr, TypeExprKind};
use crate::span::Span;

impl Printer<'_> {
    pub(super) fn ty(&mut self, ty: &TypeExpr) {
        self.inline_comments(ty.span.start);
        match &ty.kind {
            TypeExprKind::Named(path) => self.path(path),
            TypeExprKind::Generic { name, args } => {
                self.path(name);
                self.write("<");
                for (index, arg) in args.iter().enumerate() {
                    if index > 0 {
                        self.write(", ");
                    }
                    self.ty(arg);
                }
                self.inline_comments(ty.span.end - 1);
                self.write(">");
            }
            TypeExprKind::Record(fields) => {
                let spans: Vec<Span> = fields.iter().map(|field| field.span).collect();
                self.delimited(ty.span, BRACES, &spans, &mut |printer, index, _| {
                    let field = &fields[index];
                    printer.ident(&field.name);
                    printer.write(if field.optional { "?: " } else { ": " });
                    printer.ty(&field.ty);
                });
            }
            TypeExprKind::Optional(inner) => {
                self.ty(inner);
                self.inline_comments(ty.span.end - 1);
                self.write("?");
            }
            // The tree keeps only the value; the text is copied as written.
            TypeExprKind::Literal(_) | TypeExprKind::Error => {
                let text = self.text(ty.span.start, ty.span.end);
                self.write(text);
                self.skip_comments_before(ty.span.end);
            }
            TypeExprKind::Union(members) => {
                for (index, member) in members.iter().enumerate() {
                    if index > 0 {
                        self.write(" | ");
                    }
                    self.ty(member);
                }
            }
            TypeExprKind::Paren(inner) => {
                self.write("(");
                self.ty(inner);
                self.inline_comments(ty.span.end - 1);
                self.write(")");
            }
        }
        self.advance_to(ty.span.end);
    }
}
