//! The lexer driver: runs the `logos` state machine for code and scans string
//! literals by hand, so that interpolations nest to any depth
//! (`"a ${"b ${c}"}"`).
//!
//! Lexing never fails: malformed input becomes [`Token::Error`] (or, for
//! strings, a synthetic closing token) together with a diagnostic, so the
//! parser always sees balanced string delimiters.

use logos::Logos;

use crate::diagnostic::{Diagnostic, codes};
use crate::span::{FileId, Span};
use crate::token::{CommentKind, RawLexError, RawToken, Token};

/// A comment, kept out of the token stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    pub kind: CommentKind,
    pub span: Span,
}

/// The result of lexing one source.
#[derive(Debug, Clone, Default)]
pub struct Lexed<'src> {
    pub tokens: Vec<(Token<'src>, Span)>,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Sources must fit `u32` byte offsets.
pub const MAX_SOURCE_LEN: usize = u32::MAX as usize - 1;

/// What the driver is scanning.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Inside `${ ... }` of a string; `depth` counts unclosed `{` of code.
    Interpolation { depth: u32, string: StringFrame },
}

/// An open string literal.
#[derive(Debug, Clone, Copy)]
struct StringFrame {
    multiline: bool,
    /// Where the opening quotes start, for the "unterminated" diagnostic.
    open: u32,
}

/// Lexes `source`, which belongs to `file`.
pub fn lex(file: FileId, source: &str) -> Lexed<'_> {
    let mut out = Lexed::default();
    // Typical configurations have one token per four to six bytes. Growing
    // a large vector by doubling copies it several times, while reserving
    // too much costs only address space: untouched pages are never mapped.
    out.tokens.reserve(source.len() / 2 + 16);
    let mut lexer = Driver { file, source, out, modes: Vec::new() };
    if source.len() > MAX_SOURCE_LEN {
        lexer.out.diagnostics.push(Diagnostic::new(
            &codes::E0017,
            Span::new(file, 0, 0),
            "source file is larger than 4 GiB",
        ));
        return lexer.out;
    }
    lexer.run();
    lexer.out
}

struct Driver<'src> {
    file: FileId,
    source: &'src str,
    out: Lexed<'src>,
    modes: Vec<Mode>,
}

impl<'src> Driver<'src> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start as u32, end as u32)
    }

    fn push(&mut self, token: Token<'src>, start: usize, end: usize) {
        let span = self.span(start, end);
        self.out.tokens.push((token, span));
    }

    /// Extends an unexpected character that ends at `start` (its error
    /// token and its `E0010`) to `end`: a run of unexpected characters,
    /// such as 80,000 emoji, is one diagnostic, not one per character.
    fn extend_unexpected(&mut self, start: usize, end: usize) -> bool {
        let Some((Token::Error, token)) = self.out.tokens.last_mut() else { return false };
        let Some(diagnostic) = self.out.diagnostics.last_mut() else { return false };
        if token.end as usize != start
            || diagnostic.code.code != codes::E0010.code
            || diagnostic.primary.span != *token
        {
            return false;
        }
        token.end = end as u32;
        diagnostic.primary.span.end = end as u32;
        if !diagnostic.message.starts_with("unexpected characters") {
            let first = self.source[token.start as usize..].chars().next().unwrap_or('\u{FFFD}');
            diagnostic.message =
                format!("unexpected characters, starting with `{}`", first.escape_debug());
        }
        true
    }

    fn error(
        &mut self,
        code: &'static crate::diagnostic::Code,
        start: usize,
        end: usize,
        message: String,
    ) {
        let span = self.span(start, end);
        self.out.diagnostics.push(Diagnostic::new(code, span, message));
    }

    /// Lexes code from `offset` until the end of input or until the `}` that
    /// closes the innermost interpolation; returns where it stopped.
    fn run(&mut self) {
        let mut offset = 0;
        loop {
            match self.lex_code(offset) {
                CodeStop::EndOfInput => break,
                CodeStop::String { multiline, start, end } => {
                    offset =
                        self.lex_string(StringFrame { multiline, open: start as u32 }, end, true);
                }
                CodeStop::InterpolationEnd { string, end } => {
                    offset = self.lex_string(string, end, false);
                }
            }
        }
        // Close whatever is still open at the end of input, innermost first,
        // so the parser sees balanced delimiters. The outermost string gets
        // the one diagnostic.
        let end = self.source.len();
        let mut outermost = None;
        while let Some(Mode::Interpolation { string, .. }) = self.modes.pop() {
            self.push(Token::InterpEnd, end, end);
            self.push(Token::StrEnd, end, end);
            outermost = Some(string);
        }
        if let Some(string) = outermost {
            self.unterminated_string(string, end);
        }
    }

    fn unterminated_string(&mut self, string: StringFrame, end: usize) {
        let quotes = if string.multiline { "\"\"\"" } else { "\"" };
        let open = string.open as usize;
        let message = format!("unterminated string: the `{quotes}` here is never closed");
        self.error(
            &codes::E0011,
            open,
            end.max(open + quotes.len()).min(self.source.len()),
            message,
        );
    }

    /// Runs the state machine from `offset`.
    fn lex_code(&mut self, offset: usize) -> CodeStop {
        let mut lexer = RawToken::lexer(&self.source[offset..]);
        while let Some(result) = lexer.next() {
            let range = lexer.span();
            let (start, end) = (offset + range.start, offset + range.end);
            match result {
                Ok(RawToken::Quote) => return CodeStop::String { multiline: false, start, end },
                Ok(RawToken::TripleQuote) => {
                    return CodeStop::String { multiline: true, start, end };
                }
                Ok(RawToken::LineComment(kind)) => {
                    self.out.comments.push(Comment { kind, span: self.span(start, end) })
                }
                Ok(RawToken::BlockComment) => self
                    .out
                    .comments
                    .push(Comment { kind: CommentKind::Block, span: self.span(start, end) }),
                Ok(RawToken::LBrace) => {
                    if let Some(Mode::Interpolation { depth, .. }) = self.modes.last_mut() {
                        *depth += 1;
                    }
                    self.push(Token::LBrace, start, end);
                }
                Ok(RawToken::RBrace) => match self.modes.last_mut() {
                    Some(Mode::Interpolation { depth: 0, string }) => {
                        let string = *string;
                        self.modes.pop();
                        self.push(Token::InterpEnd, start, end);
                        return CodeStop::InterpolationEnd { string, end };
                    }
                    Some(Mode::Interpolation { depth, .. }) => {
                        *depth -= 1;
                        self.push(Token::RBrace, start, end);
                    }
                    None => self.push(Token::RBrace, start, end),
                },
                Ok(token) => self.push(token.into_token(), start, end),
                Err(error) => {
                    let text = &self.source[start..end];
                    let (code, message) = match error {
                        RawLexError::UnexpectedCharacter => {
                            let c = text.chars().next().unwrap_or('\u{FFFD}');
                            (&codes::E0010, format!("unexpected character `{}`", c.escape_debug()))
                        }
                        RawLexError::InvalidNumber => {
                            (&codes::E0014, format!("invalid number literal `{text}`"))
                        }
                        RawLexError::IntegerTooLarge => (
                            &codes::E0015,
                            format!(
                                "integer literal `{text}` does not fit in a 64-bit signed integer"
                            ),
                        ),
                        RawLexError::UnterminatedComment => (
                            &codes::E0013,
                            "unterminated block comment: `/*` is never closed by `*/`".to_string(),
                        ),
                    };
                    if error == RawLexError::UnterminatedComment {
                        // The comment runs to the end of input; report its opening.
                        self.error(code, start, start + 2, message);
                        self.out.comments.push(Comment {
                            kind: CommentKind::Block,
                            span: self.span(start, end),
                        });
                    } else if error == RawLexError::UnexpectedCharacter
                        && self.extend_unexpected(start, end)
                    {
                        // One run of unexpected characters is one mistake.
                    } else {
                        self.error(code, start, end, message);
                        self.push(Token::Error, start, end);
                    }
                }
            }
        }
        CodeStop::EndOfInput
    }

    /// Scans string contents from `offset`; `opening` says whether the
    /// opening quotes were just seen (rather than the end of an
    /// interpolation). Returns the offset where code lexing resumes.
    fn lex_string(&mut self, string: StringFrame, mut offset: usize, opening: bool) -> usize {
        let source = self.source;
        let bytes = source.as_bytes();
        if opening {
            self.push(
                Token::StrStart { multiline: string.multiline },
                string.open as usize,
                offset,
            );
            if string.multiline {
                // The opening quotes must end their line.
                let line_end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
                let rest = &source[offset..line_end];
                if !rest.trim().is_empty() {
                    self.error(
                        &codes::E0016,
                        offset,
                        line_end,
                        "text after `\"\"\"` on the same line: a multi-line string starts on the next line"
                            .to_string(),
                    );
                }
                offset = (line_end + 1).min(source.len());
            }
        }
        let text_start = offset;
        let mut i = offset;
        while i < bytes.len() {
            match bytes[i] {
                b'"' if !string.multiline => {
                    self.push_text(text_start, i);
                    self.push(Token::StrEnd, i, i + 1);
                    return i + 1;
                }
                b'"' if source[i..].starts_with("\"\"\"") => {
                    self.push_text(text_start, i);
                    self.push(Token::StrEnd, i, i + 3);
                    return i + 3;
                }
                b'\n' if !string.multiline => {
                    // A one-line string may not span lines: close it here so
                    // that the next line lexes as code again.
                    let end = if i > 0 && bytes[i - 1] == b'\r' { i - 1 } else { i };
                    self.push_text(text_start, end);
                    self.push(Token::StrEnd, end, end);
                    self.unterminated_string(string, end);
                    return i;
                }
                b'\\' => i = self.escape(i),
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    self.push_text(text_start, i);
                    self.push(Token::InterpStart, i, i + 2);
                    self.modes.push(Mode::Interpolation { depth: 0, string });
                    return i + 2;
                }
                _ => i += 1,
            }
        }
        self.push_text(text_start, bytes.len());
        self.push(Token::StrEnd, bytes.len(), bytes.len());
        self.unterminated_string(string, bytes.len());
        bytes.len()
    }

    fn push_text(&mut self, start: usize, end: usize) {
        if start < end {
            self.push(Token::StrText(&self.source[start..end]), start, end);
        }
    }

    /// Checks the escape sequence at `i` (a backslash) and returns the offset
    /// after it.
    fn escape(&mut self, i: usize) -> usize {
        let rest = &self.source[i + 1..];
        let Some(c) = rest.chars().next() else {
            return i + 1;
        };
        match c {
            'n' | 'r' | 't' | '\\' | '"' | '$' => i + 2,
            'u' => {
                let valid = rest
                    .strip_prefix("u{")
                    .and_then(|body| body.find('}').map(|close| &body[..close]))
                    .filter(|hex| (1..=6).contains(&hex.len()))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                match valid {
                    Some(_) => {
                        let close = rest.find('}').unwrap_or(0);
                        i + 1 + close + 1
                    }
                    None => {
                        let end = rest
                            .char_indices()
                            .take_while(|&(j, c)| {
                                j == 0 || c.is_ascii_hexdigit() || c == '{' || c == '}'
                            })
                            .map(|(j, c)| j + c.len_utf8())
                            .last()
                            .map_or(i + 2, |n| i + 1 + n);
                        self.error(
                            &codes::E0012,
                            i,
                            end,
                            "invalid unicode escape: write `\\u{` followed by 1 to 6 hex digits of a valid code point and `}`"
                                .to_string(),
                        );
                        end
                    }
                }
            }
            '\n' => i + 1,
            other => {
                let end = i + 1 + other.len_utf8();
                let message = format!("unknown escape `\\{}` in string", other.escape_debug());
                let span = self.span(i, end);
                self.out.diagnostics.push(
                    Diagnostic::new(&codes::E0012, span, message)
                        .with_help("valid escapes are \\n \\r \\t \\\\ \\\" \\$ and \\u{...}"),
                );
                end
            }
        }
    }
}

enum CodeStop {
    EndOfInput,
    /// Opening quotes at `start..end`.
    String {
        multiline: bool,
        start: usize,
        end: usize,
    },
    /// The `}` closing an interpolation of `string`, ending at `end`.
    InterpolationEnd {
        string: StringFrame,
        end: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Token<'_>> {
        lex(FileId(0), source).tokens.into_iter().map(|(token, _)| token).collect()
    }

    #[test]
    fn nested_interpolation() {
        let lexed = lex(FileId(0), r#""a ${"b ${c}"} d""#);
        assert!(lexed.diagnostics.is_empty(), "{:?}", lexed.diagnostics);
        assert_eq!(
            lexed.tokens.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
            vec![
                Token::StrStart { multiline: false },
                Token::StrText("a "),
                Token::InterpStart,
                Token::StrStart { multiline: false },
                Token::StrText("b "),
                Token::InterpStart,
                Token::Ident("c"),
                Token::InterpEnd,
                Token::StrEnd,
                Token::InterpEnd,
                Token::StrText(" d"),
                Token::StrEnd,
            ]
        );
    }

    #[test]
    fn braces_inside_interpolation() {
        assert_eq!(
            kinds(r#""${ {a = 1}.a }""#),
            vec![
                Token::StrStart { multiline: false },
                Token::InterpStart,
                Token::LBrace,
                Token::Ident("a"),
                Token::Eq,
                Token::Int(1),
                Token::RBrace,
                Token::Dot,
                Token::Ident("a"),
                Token::InterpEnd,
                Token::StrEnd,
            ]
        );
    }

    #[test]
    fn dollar_without_brace_is_text() {
        assert_eq!(
            kinds(r#""cost: $5 \${x}""#),
            vec![
                Token::StrStart { multiline: false },
                Token::StrText(r"cost: $5 \${x}"),
                Token::StrEnd
            ]
        );
    }

    #[test]
    fn unterminated_string_stops_at_line_end() {
        let lexed = lex(FileId(0), "x = \"abc\ny = 1");
        assert_eq!(lexed.diagnostics.len(), 1);
        assert_eq!(lexed.diagnostics[0].code.code, "E0011");
        assert!(lexed.tokens.iter().any(|(t, _)| *t == Token::Ident("y")));
    }

    #[test]
    fn comments_are_kept_aside() {
        let lexed = lex(FileId(0), "/// doc\n/* a /* nested */ b */ x // end");
        assert_eq!(lexed.tokens.len(), 1);
        let kinds: Vec<_> = lexed.comments.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![CommentKind::Doc, CommentKind::Block, CommentKind::Line]);
    }

    #[test]
    fn ranges_are_not_floats() {
        assert_eq!(kinds("0..3"), vec![Token::Int(0), Token::DotDot, Token::Int(3)]);
        assert_eq!(kinds("1.5 2e3"), vec![Token::Float(1.5), Token::Float(2000.0)]);
    }

    #[test]
    fn a_run_of_unexpected_characters_is_one_error() {
        let text = format!("let x = {}\nlet y = # $", "😀".repeat(4_000));
        let lexed = lex(FileId(0), &text);
        let spans: Vec<_> = lexed.diagnostics.iter().map(|d| d.primary.span.range()).collect();
        assert_eq!(spans, [8..8 + 16_000, 16_017..16_018, 16_019..16_020]);
        assert_eq!(lexed.diagnostics[0].message, "unexpected characters, starting with `😀`");
        assert_eq!(lexed.diagnostics[1].message, "unexpected character `#`");
    }

    #[test]
    fn errors_are_reported_with_spans() {
        let lexed = lex(FileId(0), "a # b \"x\\q\" 99999999999999999999 0xZ");
        let codes: Vec<_> = lexed.diagnostics.iter().map(|d| d.code.code).collect();
        assert_eq!(codes, vec!["E0010", "E0012", "E0015", "E0014"]);
        assert_eq!(lexed.diagnostics[0].primary.span.range(), 2..3);
    }
}
