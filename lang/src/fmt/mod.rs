//! The canonical formatter: `orchc fmt`.
//!
//! [`format`] refuses a source with a syntax error and otherwise prints the
//! tree back in one canonical layout, keeping every comment. The layout, in
//! short (`docs/formatting.md` is the user-facing version):
//!
//! - Two-space indentation; no trailing whitespace; the output ends with
//!   exactly one newline; `\r\n` becomes `\n`.
//! - Blank lines between declarations, fields, list elements and arguments
//!   are collapsed to at most one. A blank line is kept where the source had
//!   one and never added; none is kept right after an opening or right before
//!   a closing bracket. Decorators stand one per line above their
//!   declaration, in source order, with no blank line among them.
//! - Bodies, object literals and record types are either flat
//!   (`{ a = 1, b = 2 }`, `{}` when empty) or broken (one field per line, no
//!   commas, `}` on its own line). Lists (`[a, b]`) and call or decorator
//!   arguments (`f(a, b)`) likewise, broken ones with one element per line
//!   and a trailing comma. A container stays flat when the source had it on
//!   one line, it holds no comment and the flat form ends within 100
//!   columns; otherwise it is broken. `if`/`for`/`policy` blocks are always
//!   broken (`{}` when empty and without comments).
//! - In a broken body or object, consecutive fields (no blank line and no
//!   comment line between them) form a run whose `=` signs are aligned; a
//!   field whose value spans lines still belongs to its run. Record type
//!   fields are not aligned.
//! - Single spaces around binary operators, `? :`, `??`, `=>` and `=`; none
//!   around `..`, `..=`, `.` and `?.`, nor after unary `!` and `-`.
//!   Parentheses are kept as written. Comprehensions print as
//!   `[for x in xs if c: e]` and `{for k, v in m: k => v}`; interpolations as
//!   `${expr}` with the expression formatted flat.
//! - Numbers are copied from the source (`0o644`, `1_000`, `500ms` stay as
//!   written); string text is copied as written, escapes intact.
//! - A multi-line string prints `"""`, then each content line indented two
//!   spaces past the line where the string starts (empty lines stay empty),
//!   then the closing `"""` on its own line at that line's indentation. The
//!   string's value never changes, so whitespace that is content stays.
//! - Comments stay where they were: a comment on its own line stays on its
//!   own line before the next node, at the current indentation; a comment
//!   after code stays at the end of that line, one space after it. The few
//!   that cannot stay exactly in place move as little as possible: one
//!   inside an interpolation goes before its string (after the `=` for a
//!   quoted field name), one before a `{` of a block or body goes after that
//!   `{` (after the `}` of a flat body), one before an operator or keyword
//!   goes after it. No comment is ever dropped or changed, except that
//!   trailing whitespace is removed from its lines.
//!
//! The printer walks the tree in source order with a cursor into the comment
//! list: before printing a node it prints the comments that start before
//! it. A container decides flat or broken by trying the flat form and
//! measuring it.

mod comments;
mod exprs;
mod items;
mod layout;
#[cfg(test)]
mod tests;
mod types;

pub use comments::comment_text;

use crate::diagnostic::Diagnostic;
use crate::lexer::Comment;
use crate::parser::parse;
use crate::span::FileId;

/// The column limit for flat containers.
pub const MAX_WIDTH: usize = 100;

/// One level of indentation, in spaces.
const INDENT: usize = 2;

/// Formats `source`. Returns the parse diagnostics instead when the source
/// has a syntax error: the formatter never rewrites a file it cannot parse.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = parse(FileId(0), source);
    if parsed.has_errors() {
        return Err(parsed.diagnostics);
    }
    // Spans of the original are kept for the diagnostics above; the printer
    // works on the text with `\n` line ends, so it parses that once more.
    let normalized;
    let (source, parsed) = if source.contains('\r') {
        normalized = source.replace("\r\n", "\n");
        let reparsed = parse(FileId(0), &normalized);
        if reparsed.has_errors() {
            return Err(reparsed.diagnostics);
        }
        (normalized.as_str(), reparsed)
    } else {
        (source, parsed)
    };
    let mut printer = Printer::new(source, &parsed.comments);
    printer.file(&parsed.file);
    Ok(printer.finish())
}

/// Where the blank lines of a gap between two elements may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// Before the first element of a sequence: no blank line before the
    /// first comment or element, kept after a comment.
    First,
    /// Between two elements: kept.
    Between,
    /// Between decorators and their declaration: never.
    Tight,
}

/// The state to return to when a flat attempt does not fit.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    out_len: usize,
    line_start: usize,
    last_pos: u32,
    pending_newline: bool,
    next_comment: usize,
}

struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet printed.
    next_comment: usize,
    out: String,
    /// Where the last line of `out` starts.
    line_start: usize,
    /// The offset of the first code or comment on each source line, sorted.
    line_firsts: Vec<u32>,
    /// Indentation of the elements of the innermost sequence (block items,
    /// fields, list elements, arguments).
    indent: usize,
    /// A comment ended the line: the next text starts a continuation line.
    pending_newline: bool,
    /// The source offset just past the last printed node or comment.
    last_pos: u32,
    /// Above zero inside interpolations and flat attempts: containers print
    /// flat and comments wait until the printer is back outside.
    flat: u32,
    /// The width each setting of a `test` block pads its name to, by the
    /// setting's start: consecutive settings align their `=` like fields.
    setting_widths: std::collections::HashMap<u32, usize>,
}

impl<'a> Printer<'a> {
    fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next_comment: 0,
            out: String::with_capacity(src.len() + src.len() / 8),
            line_start: 0,
            line_firsts: line_firsts(src),
            setting_widths: std::collections::HashMap::new(),
            indent: 0,
            pending_newline: false,
            last_pos: 0,
            flat: 0,
        }
    }

    fn finish(mut self) -> String {
        let end = self.src.len() as u32;
        self.comments_until(end, Gap::Between);
        debug_assert_eq!(self.next_comment, self.comments.len(), "every comment is printed");
        let mut out = self.out;
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }

    /// Appends `text` to the current line, first starting the continuation
    /// line that a comment asked for.
    fn write(&mut self, text: &str) {
        if self.pending_newline {
            self.pending_newline = false;
            self.newline(self.indent + INDENT, false);
        }
        self.emit(text);
    }

    /// Appends `text` as it is.
    fn emit(&mut self, text: &str) {
        if let Some(newline) = text.rfind('\n') {
            self.line_start = self.out.len() + newline + 1;
        }
        self.out.push_str(text);
    }

    /// Ends the current line (dropping its trailing spaces), adds a blank
    /// line if asked, and indents the new line by `indent`. At the very start
    /// of the output there is no line to end.
    fn newline(&mut self, indent: usize, blank: bool) {
        let trimmed = self.out.trim_end_matches(' ').len().max(self.line_start);
        self.out.truncate(trimmed);
        if !self.out.is_empty() {
            self.emit(if blank { "\n\n" } else { "\n" });
        }
        self.out.extend(std::iter::repeat_n(' ', indent));
    }

    /// Starts the line of a sequence element at the sequence's indentation.
    fn start_line(&mut self, blank: bool) {
        self.pending_newline = false;
        self.newline(self.indent, blank);
    }

    fn current_line(&self) -> &str {
        &self.out[self.line_start..]
    }

    /// The indentation of the line being written.
    fn line_indent(&self) -> usize {
        self.current_line().bytes().take_while(|&b| b == b' ').count()
    }

    fn line_is_blank(&self) -> bool {
        self.current_line().bytes().all(|b| b == b' ')
    }

    /// Whether the line being written ends within the column limit.
    fn line_fits(&self) -> bool {
        self.current_line().chars().take(MAX_WIDTH + 1).count() <= MAX_WIDTH
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            out_len: self.out.len(),
            line_start: self.line_start,
            last_pos: self.last_pos,
            pending_newline: self.pending_newline,
            next_comment: self.next_comment,
        }
    }

    fn restore(&mut self, checkpoint: Checkpoint) {
        self.out.truncate(checkpoint.out_len);
        self.line_start = checkpoint.line_start;
        self.last_pos = checkpoint.last_pos;
        self.pending_newline = checkpoint.pending_newline;
        self.next_comment = checkpoint.next_comment;
    }

    /// Whether what was printed since `checkpoint` stayed on one line that
    /// ends within the column limit.
    fn fits(&self, checkpoint: Checkpoint) -> bool {
        !self.out[checkpoint.out_len..].contains('\n') && self.line_fits()
    }

    /// The width `print` would take when printed flat, in characters.
    fn measure(&mut self, print: impl FnOnce(&mut Self)) -> usize {
        let checkpoint = self.checkpoint();
        self.pending_newline = false;
        self.flat += 1;
        print(self);
        self.flat -= 1;
        let width = self.out[checkpoint.out_len..].chars().count();
        self.restore(checkpoint);
        width
    }

    /// The source text of `start..end`.
    fn text(&self, start: u32, end: u32) -> &'a str {
        let src: &'a str = self.src;
        &src[start as usize..end as usize]
    }

    fn advance_to(&mut self, end: u32) {
        self.last_pos = self.last_pos.max(end);
    }
}

/// The offset of the first character other than whitespace on each line of
/// `src`, for lines that have one.
fn line_firsts(src: &str) -> Vec<u32> {
    let mut firsts = Vec::new();
    let mut at_line_start = true;
    for (offset, c) in src.char_indices() {
        if c == '\n' {
            at_line_start = true;
        } else if at_line_start && !comments::is_space(c) {
            firsts.push(offset as u32);
            at_line_start = false;
        }
    }
    firsts
}
