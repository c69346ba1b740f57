//! Expressions, arguments and string literals.

use super::layout::{PARENS, SQUARE};
use super::{INDENT, Printer};
use crate::ast::{Arg, Comprehension, Expr, ExprKind, StrLit, StrPart, UnaryOp};
use crate::span::Span;

impl Printer<'_> {
    pub(super) fn expr(&mut self, expr: &Expr) {
        self.inline_comments(expr.span.start);
        match &expr.kind {
            // Numbers as written: `0o644`, `1_000`, `500ms`.
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration { .. } => {
                let text = self.text(expr.span.start, expr.span.end);
                self.write(text);
            }
            ExprKind::Bool(value) => self.write(if *value { "true" } else { "false" }),
            ExprKind::None => self.write("none"),
            ExprKind::Str(lit) => {
                // Comments inside interpolations cannot stay there; they go
                // before the string.
                self.inline_comments(lit.span.end);
                self.string_literal(lit);
            }
            ExprKind::Ident(ident) => self.ident(ident),
            ExprKind::List(items) => {
                let spans: Vec<Span> = items.iter().map(|item| item.span).collect();
                self.delimited(expr.span, SQUARE, &spans, &mut |printer, index, _| {
                    printer.expr(&items[index])
                });
            }
            ExprKind::Object(fields) => self.fields(fields, expr.span),
            ExprKind::ListComprehension(comprehension) => {
                self.write("[");
                self.comprehension(comprehension);
                self.inline_comments(expr.span.end - 1);
                self.write("]");
            }
            ExprKind::MapComprehension(comprehension) => {
                self.write("{");
                self.comprehension(comprehension);
                self.inline_comments(expr.span.end - 1);
                self.write("}");
            }
            ExprKind::Unary { op, operand } => {
                self.write(match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                });
                self.expr(operand);
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.expr(lhs);
                self.write(" ");
                self.write(op.symbol());
                self.write(" ");
                self.expr(rhs);
            }
            ExprKind::Conditional { condition, then, otherwise } => {
                self.expr(condition);
                self.write(" ? ");
                self.expr(then);
                self.write(" : ");
                self.expr(otherwise);
            }
            ExprKind::Range { start, end, inclusive } => {
                self.expr(start);
                self.write(if *inclusive { "..=" } else { ".." });
                self.expr(end);
            }
            ExprKind::Field { base, name, optional } => {
                self.expr(base);
                self.write(if *optional { "?." } else { "." });
                self.ident(name);
            }
            ExprKind::Index { base, index } => {
                self.expr(base);
                self.write("[");
                self.expr(index);
                self.inline_comments(expr.span.end - 1);
                self.write("]");
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                let open = self.skip_trivia(callee.span.end);
                self.inline_comments(open);
                self.args(args, Span { start: open, ..expr.span });
            }
            ExprKind::Paren(inner) => {
                self.write("(");
                self.expr(inner);
                self.inline_comments(expr.span.end - 1);
                self.write(")");
            }
            ExprKind::Error => {
                // Only a source with syntax errors has error nodes, and the
                // formatter refuses those; print the text as it was.
                let text = self.text(expr.span.start, expr.span.end);
                self.write(text);
                self.skip_comments_before(expr.span.end);
            }
        }
        self.advance_to(expr.span.end);
    }

    /// The inside of `[for x in xs if c: e]` or `{for k, v in m: k => v}`.
    fn comprehension(&mut self, comprehension: &Comprehension) {
        self.write("for ");
        self.for_binding(&comprehension.binding);
        self.write(" in ");
        self.expr(&comprehension.collection);
        if let Some(condition) = &comprehension.condition {
            self.write(" if ");
            self.expr(condition);
        }
        self.write(": ");
        if let Some(key) = &comprehension.key {
            self.expr(key);
            self.write(" => ");
        }
        self.expr(&comprehension.value);
    }

    /// Call or decorator arguments; `region` covers the parentheses.
    pub(super) fn args(&mut self, args: &[Arg], region: Span) {
        let spans: Vec<Span> = args.iter().map(|arg| arg.span).collect();
        self.delimited(region, PARENS, &spans, &mut |printer, index, _| {
            let arg = &args[index];
            if let Some(name) = &arg.name {
                printer.ident(name);
                printer.write(" = ");
            }
            printer.expr(&arg.value);
        });
    }

    /// A string literal: its text as written (escapes intact) and its
    /// interpolations formatted flat. Comments inside wait until the printer
    /// is outside.
    pub(super) fn string_literal(&mut self, lit: &StrLit) {
        if lit.multiline {
            self.multiline_string(lit);
        } else {
            self.write("\"");
            self.flat += 1;
            for part in &lit.parts {
                match part {
                    StrPart::Text { raw, .. } => self.write(raw),
                    StrPart::Interpolation(inner) => self.interpolation(inner),
                }
            }
            self.flat -= 1;
            self.write("\"");
        }
        self.advance_to(lit.span.end);
    }

    fn interpolation(&mut self, inner: &Expr) {
        self.write("${");
        self.expr(inner);
        self.write("}");
    }

    /// A `"""` string. Its content lines are indented two spaces past the
    /// line where it starts and the closing quotes stand on their own line
    /// at that line's indentation. The parser removes the common
    /// indentation of the content lines and the final line break, so the
    /// value stays the same:
    /// - a content line (one with anything but spaces and tabs, or an
    ///   interpolation) gets the new indentation; the parser stripped the
    ///   old one, so at least one such line starts with neither, and the
    ///   new indentation is exactly what the parser strips next time;
    /// - an empty line stays empty;
    /// - a line of only spaces and tabs is content text: it is indented
    ///   like the others so that stripping leaves it whole, unless there is
    ///   no content line at all, in which case nothing is stripped.
    fn multiline_string(&mut self, lit: &StrLit) {
        self.write("\"\"\"");
        let base = self.line_indent();
        let has_content_line = lit.parts.iter().any(|part| match part {
            StrPart::Text { raw, .. } => raw.chars().any(|c| !matches!(c, ' ' | '\t' | '\n')),
            StrPart::Interpolation(_) => true,
        });
        let indent = if has_content_line { " ".repeat(base + INDENT) } else { String::new() };
        self.flat += 1;
        self.emit("\n");
        let mut at_line_start = true;
        for part in &lit.parts {
            match part {
                StrPart::Text { raw, .. } => {
                    for (index, line) in raw.split('\n').enumerate() {
                        if index > 0 {
                            self.emit("\n");
                            at_line_start = true;
                        }
                        if line.is_empty() {
                            continue;
                        }
                        if at_line_start {
                            self.emit(&indent);
                        }
                        self.emit(line);
                        at_line_start = false;
                    }
                }
                StrPart::Interpolation(inner) => {
                    if at_line_start {
                        self.emit(&indent);
                    }
                    at_line_start = false;
                    self.interpolation(inner);
                }
            }
        }
        self.flat -= 1;
        self.emit("\n");
        self.emit(&" ".repeat(base));
        self.emit("\"\"\"");
    }
}
