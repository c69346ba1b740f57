//! Bracketed sequences that print flat or broken: bodies, object literals,
//! record types, lists and arguments.

use super::{Gap, INDENT, Printer};
use crate::span::Span;

/// How a bracketed sequence prints.
#[derive(Debug, Clone, Copy)]
pub(super) struct Brackets {
    pub(super) open: &'static str,
    pub(super) close: &'static str,
    /// Spaces inside the brackets when flat: `{ a = 1 }`, but `[a]`.
    pub(super) spaced: bool,
    /// A comma after every element when broken (lists and arguments);
    /// fields take none.
    pub(super) trailing_comma: bool,
}

pub(super) const BRACES: Brackets =
    Brackets { open: "{", close: "}", spaced: true, trailing_comma: false };
pub(super) const SQUARE: Brackets =
    Brackets { open: "[", close: "]", spaced: false, trailing_comma: true };
pub(super) const PARENS: Brackets =
    Brackets { open: "(", close: ")", spaced: false, trailing_comma: true };

impl Printer<'_> {
    /// Prints a bracketed sequence whose brackets cover `region` of the
    /// source and whose elements cover `spans`. `element(printer, index,
    /// broken)` prints one element.
    ///
    /// The sequence prints flat when the source has it on one line, it holds
    /// no comment and the flat form fits in [`super::MAX_WIDTH`] columns;
    /// otherwise one element per line. Inside interpolations it is always
    /// flat.
    ///
    /// Comments between the code before the sequence and its opening
    /// bracket are printed after the bracket when it is broken, after the
    /// closing bracket otherwise.
    pub(super) fn delimited(
        &mut self,
        region: Span,
        brackets: Brackets,
        spans: &[Span],
        element: &mut dyn FnMut(&mut Self, usize, bool),
    ) {
        let has_comments = self.flat == 0 && self.has_comments_in(region);
        if spans.is_empty() && !has_comments {
            self.write(brackets.open);
            self.write(brackets.close);
            self.advance_to(region.end);
            return;
        }
        if self.flat > 0 || (!has_comments && self.source_is_flat(region)) {
            let checkpoint = self.checkpoint();
            self.flat += 1;
            self.write(brackets.open);
            if brackets.spaced {
                self.write(" ");
            }
            for index in 0..spans.len() {
                if index > 0 {
                    self.write(", ");
                }
                element(self, index, false);
            }
            if brackets.spaced {
                self.write(" ");
            }
            self.write(brackets.close);
            self.flat -= 1;
            if self.flat > 0 || self.fits(checkpoint) {
                self.advance_to(region.end);
                return;
            }
            self.restore(checkpoint);
        }

        self.write(brackets.open);
        self.advance_to(region.start + brackets.open.len() as u32);
        let outer = self.indent;
        let base = self.line_indent();
        self.indent = base + INDENT;
        for (index, span) in spans.iter().enumerate() {
            self.begin_element(span.start, if index == 0 { Gap::First } else { Gap::Between });
            element(self, index, true);
            self.advance_to(span.end);
            if brackets.trailing_comma {
                self.write(",");
            }
        }
        let close = region.end - brackets.close.len() as u32;
        self.comments_until(close, if spans.is_empty() { Gap::First } else { Gap::Between });
        self.indent = base;
        self.start_line(false);
        self.write(brackets.close);
        self.indent = outer;
        self.advance_to(region.end);
    }
}
