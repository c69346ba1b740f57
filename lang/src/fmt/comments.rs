//! Placing comments. The lexer keeps comments in a list sorted by position;
//! the printer holds a cursor into it and, before printing a node, prints
//! every comment that starts before the node.
//!
//! Three situations:
//! - *Trailing*: the comment follows code on its source line. It stays at
//!   the end of the printed line of that code, one space after it, unless a
//!   line comment already ended that line.
//! - *Own line*: the comment starts its source line. Between sequence
//!   elements it gets a line of its own at the sequence's indentation, with
//!   the blank lines around it kept (at most one).
//! - *Inline*: the comment sits inside an expression. It is printed where
//!   the printer is; when it ends its line, the expression continues on a
//!   continuation line, indented one level past the element.

use super::{Gap, Printer};
use crate::lexer::Comment;
use crate::span::Span;
use crate::token::CommentKind;

/// What [`Printer::own_line_comments`] did.
struct OwnLine {
    /// At least one comment was printed.
    printed: bool,
    /// The last one was a block comment that the source follows with more
    /// code on the same line.
    continues_line: bool,
}

pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{FEFF}'
}

impl Printer<'_> {
    fn peek_comment(&self, limit: u32) -> Option<Comment> {
        self.comments.get(self.next_comment).copied().filter(|c| c.span.start < limit)
    }

    /// The comment's text as printed: trailing whitespace is dropped from
    /// each of its lines.
    fn comment_text(&self, comment: Comment) -> String {
        comment_text(self.text(comment.span.start, comment.span.end), comment.kind)
    }

    /// Whether only whitespace precedes `offset` on its source line.
    fn starts_line(&self, offset: u32) -> bool {
        self.line_firsts.binary_search(&offset).is_ok()
    }

    /// Whether the source has a line break after `offset` before any code.
    fn newline_follows(&self, offset: u32) -> bool {
        for c in self.src[offset as usize..].chars() {
            if c == '\n' {
                return true;
            }
            if !is_space(c) {
                return false;
            }
        }
        true
    }

    /// Whether `start..end` of the source contains an empty (or
    /// whitespace-only) line.
    pub(super) fn has_blank_line(&self, start: u32, end: u32) -> bool {
        if start >= end {
            return false;
        }
        // The lines between the first line break and the last one.
        let mut lines = self.text(start, end).split('\n').skip(1).peekable();
        while let Some(line) = lines.next() {
            if lines.peek().is_some() && line.chars().all(is_space) {
                return true;
            }
        }
        false
    }

    /// Whether a comment starts within `span`.
    pub(super) fn has_comments_in(&self, span: Span) -> bool {
        let first = self.comments.partition_point(|c| c.span.start < span.start);
        self.comments.get(first).is_some_and(|c| c.span.start < span.end)
    }

    /// Whether `span` of the source lies on one line.
    pub(super) fn source_is_flat(&self, span: Span) -> bool {
        !self.text(span.start, span.end).contains('\n')
    }

    /// The offset of the first code after `offset`, skipping whitespace and
    /// comments.
    pub(super) fn skip_trivia(&self, mut offset: u32) -> u32 {
        let bytes = self.src.as_bytes();
        let mut index = self.comments.partition_point(|c| c.span.start < offset);
        while (offset as usize) < bytes.len() {
            if let Some(comment) = self.comments.get(index).filter(|c| c.span.start == offset) {
                offset = comment.span.end;
                index += 1;
                continue;
            }
            let c = self.src[offset as usize..].chars().next().unwrap_or(' ');
            if !is_space(c) {
                break;
            }
            offset += c.len_utf8() as u32;
        }
        offset
    }

    /// Moves the cursor past the comments before `offset`, for text that
    /// was copied from the source with its comments.
    pub(super) fn skip_comments_before(&mut self, offset: u32) {
        while self.peek_comment(offset).is_some() {
            self.next_comment += 1;
        }
    }

    /// Prints a comment where the printer is, after a space unless the line
    /// is empty or the comment opens a bracket's contents.
    fn print_comment_here(&mut self, comment: Comment) {
        let text = self.comment_text(comment);
        if !self.pending_newline && !self.line_is_blank() {
            let after_open = self.out.ends_with(['(', '[']) && comment.kind == CommentKind::Block;
            if !self.out.ends_with(' ') && !after_open {
                self.emit(" ");
            }
        }
        self.write(&text);
        self.next_comment += 1;
        self.advance_to(comment.span.end);
        if self.ends_line(comment) {
            self.pending_newline = true;
        } else {
            self.emit(" ");
        }
    }

    /// Whether the comment is printed at the end of the current line: it
    /// follows code on its source line and no line comment ended the line.
    fn is_trailing(&self, comment: Comment, line_ended: bool) -> bool {
        !line_ended && !self.starts_line(comment.span.start)
    }

    /// Whether nothing may follow the comment on its line: it is a line
    /// comment, or the source breaks the line after it.
    fn ends_line(&self, comment: Comment) -> bool {
        comment.kind != CommentKind::Block || self.newline_follows(comment.span.end)
    }

    /// Prints the comments before `limit` that follow code on their source
    /// line, at the end of the current line.
    fn trailing_comments(&mut self, limit: u32) {
        while let Some(comment) = self.peek_comment(limit) {
            if !self.is_trailing(comment, self.pending_newline) {
                break;
            }
            self.print_comment_here(comment);
        }
    }

    /// Whether [`Printer::begin_element`] will print the gap between an
    /// element that ends at `end` and the next one at `next` with a blank
    /// line or a comment line, judged from the source alone so that
    /// formatted text judges the same. Alignment runs end there.
    pub(super) fn gap_breaks_run(&self, end: u32, next: u32) -> bool {
        let first = self.comments.partition_point(|c| c.span.start < end);
        let mut line_ended = false;
        let mut after_trailing = end;
        for &comment in self.comments[first..].iter().take_while(|c| c.span.start < next) {
            if !self.is_trailing(comment, line_ended) {
                return true;
            }
            line_ended = self.ends_line(comment);
            after_trailing = comment.span.end;
        }
        self.has_blank_line(after_trailing, next)
    }

    /// Prints the remaining comments before `limit`, each on a line of its
    /// own at the current indentation.
    fn own_line_comments(&mut self, limit: u32, gap: Gap) -> OwnLine {
        let mut result = OwnLine { printed: false, continues_line: false };
        while let Some(comment) = self.peek_comment(limit) {
            if result.continues_line {
                self.write(" ");
            } else {
                let blank = blank_allowed(gap, !result.printed)
                    && self.has_blank_line(self.last_pos, comment.span.start);
                self.start_line(blank);
            }
            let text = self.comment_text(comment);
            self.write(&text);
            self.next_comment += 1;
            self.advance_to(comment.span.end);
            result.printed = true;
            result.continues_line =
                comment.kind == CommentKind::Block && !self.newline_follows(comment.span.end);
        }
        result
    }

    /// Starts the line of a sequence element that begins at `next`: prints
    /// the comments before it (trailing ones on the current line, the others
    /// on lines of their own) and the blank line the source has before it.
    pub(super) fn begin_element(&mut self, next: u32, gap: Gap) {
        self.trailing_comments(next);
        let own_line = self.own_line_comments(next, gap);
        if own_line.continues_line {
            // `/* note */ name = value`: the element follows its comment.
            self.write(" ");
        } else {
            let blank =
                blank_allowed(gap, !own_line.printed) && self.has_blank_line(self.last_pos, next);
            self.start_line(blank);
        }
    }

    /// Prints the comments that precede the closing bracket at `close`, at
    /// the current indentation.
    pub(super) fn comments_until(&mut self, close: u32, gap: Gap) {
        self.trailing_comments(close);
        self.own_line_comments(close, gap);
    }

    /// Prints the comments before `offset` inside an expression, where the
    /// printer is. Inside interpolations and flat attempts they wait.
    pub(super) fn inline_comments(&mut self, offset: u32) {
        if self.flat > 0 {
            return;
        }
        // An expression that starts its line (a list element) keeps that
        // line's indentation after the comments, as a comment line before
        // an element does; one that follows code continues a line.
        let starts_line = self.line_is_blank() && !self.pending_newline;
        let indent = self.line_indent();
        let mut printed = false;
        while let Some(comment) = self.peek_comment(offset) {
            if starts_line && self.pending_newline {
                self.pending_newline = false;
                self.newline(indent, false);
            }
            if self.starts_line(comment.span.start) && !self.line_is_blank() {
                self.pending_newline = true;
            }
            self.print_comment_here(comment);
            printed = true;
        }
        if printed && starts_line && self.pending_newline {
            self.pending_newline = false;
            self.newline(indent, false);
        }
    }
}

fn blank_allowed(gap: Gap, first: bool) -> bool {
    match gap {
        Gap::First => !first,
        Gap::Between => true,
        Gap::Tight => false,
    }
}

/// A comment's text as the formatter prints it: trailing whitespace is
/// dropped from each line. Tests compare comments by this text.
pub fn comment_text(text: &str, kind: CommentKind) -> String {
    match kind {
        CommentKind::Block => text.split('\n').map(str::trim_end).collect::<Vec<_>>().join("\n"),
        CommentKind::Line | CommentKind::Doc => text.trim_end().to_string(),
    }
}
