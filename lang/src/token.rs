//! Tokens. Most are recognised by the `logos` state machine in [`RawToken`];
//! string literals are split into parts by the driver in [`crate::lexer`],
//! which produces the string tokens of [`Token`].

use std::fmt;

use logos::Logos;

/// The unit of a duration literal such as `500ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationUnit {
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl DurationUnit {
    pub fn suffix(self) -> &'static str {
        match self {
            DurationUnit::Milliseconds => "ms",
            DurationUnit::Seconds => "s",
            DurationUnit::Minutes => "m",
            DurationUnit::Hours => "h",
            DurationUnit::Days => "d",
        }
    }

    /// How many milliseconds one unit is.
    pub fn millis(self) -> i64 {
        match self {
            DurationUnit::Milliseconds => 1,
            DurationUnit::Seconds => 1_000,
            DurationUnit::Minutes => 60_000,
            DurationUnit::Hours => 3_600_000,
            DurationUnit::Days => 86_400_000,
        }
    }
}

/// Why the `logos` state machine rejected some input.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RawLexError {
    /// A character that starts no token.
    #[default]
    UnexpectedCharacter,
    /// A number literal that is malformed, such as `0x` or `5min`.
    InvalidNumber,
    /// An integer literal that does not fit in 64 signed bits.
    IntegerTooLarge,
    /// A `/*` without its matching `*/`.
    UnterminatedComment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentKind {
    /// `// ...`
    Line,
    /// `/// ...`, attached to the declaration or field that follows.
    Doc,
    /// `/* ... */`, possibly nested.
    Block,
}

/// What the `logos` state machine recognises. Strings are only announced by
/// their opening quotes; [`crate::lexer`] scans their contents itself.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = RawLexError)]
#[logos(skip r"[ \t\r\n\f\u{FEFF}]+")]
pub(crate) enum RawToken<'src> {
    #[token("param")]
    KwParam,
    #[token("let")]
    KwLet,
    #[token("type")]
    KwType,
    #[token("resource")]
    KwResource,
    #[token("data")]
    KwData,
    #[token("output")]
    KwOutput,
    #[token("module")]
    KwModule,
    #[token("import")]
    KwImport,
    #[token("provider")]
    KwProvider,
    #[token("if")]
    KwIf,
    #[token("else")]
    KwElse,
    #[token("for")]
    KwFor,
    #[token("in")]
    KwIn,
    #[token("assert")]
    KwAssert,
    #[token("warn")]
    KwWarn,
    #[token("policy")]
    KwPolicy,
    #[token("true")]
    KwTrue,
    #[token("false")]
    KwFalse,
    #[token("none")]
    KwNone,

    #[regex("[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'src str),

    /// Any run of digits and letters that starts with a digit: decimal, hex,
    /// octal and binary integers, durations, and malformed numbers.
    #[regex("[0-9][0-9A-Za-z_]*", number)]
    Number(Number),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?", float, priority = 5)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*", float, priority = 5)]
    Float(f64),

    #[token("\"")]
    Quote,
    #[token("\"\"\"")]
    TripleQuote,

    #[regex("//[^\n]*", line_comment, allow_greedy = true)]
    LineComment(CommentKind),
    #[token("/*", block_comment)]
    BlockComment,

    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("?.")]
    QuestionDot,
    #[token("?")]
    Question,
    #[token("??")]
    QuestionQuestion,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    LtEq,
    #[token(">")]
    Gt,
    #[token(">=")]
    GtEq,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("!")]
    Bang,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("..")]
    DotDot,
    #[token("..=")]
    DotDotEq,
    #[token("=>")]
    FatArrow,
    #[token("@")]
    At,
    #[token("|")]
    Pipe,
}

/// A number token's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Duration(i64, DurationUnit),
}

fn number<'src>(lex: &mut logos::Lexer<'src, RawToken<'src>>) -> Result<Number, RawLexError> {
    parse_number(lex.slice())
}

/// Parses the text of a [`RawToken::Number`].
fn parse_number(text: &str) -> Result<Number, RawLexError> {
    let (radix, digits) = match text.get(..2) {
        Some("0x" | "0X") => (16, &text[2..]),
        Some("0o" | "0O") => (8, &text[2..]),
        Some("0b" | "0B") => (2, &text[2..]),
        _ => (10, text),
    };
    if radix != 10 {
        return parse_digits(digits, radix).map(Number::Int);
    }
    let digit_end = text.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digit_end);
    let unit = match suffix {
        "" => None,
        "ms" => Some(DurationUnit::Milliseconds),
        "s" => Some(DurationUnit::Seconds),
        "m" => Some(DurationUnit::Minutes),
        "h" => Some(DurationUnit::Hours),
        "d" => Some(DurationUnit::Days),
        _ => return Err(RawLexError::InvalidNumber),
    };
    let value = parse_digits(digits, 10)?;
    Ok(match unit {
        Some(unit) => Number::Duration(value, unit),
        None => Number::Int(value),
    })
}

/// Parses digits with `_` separators. A separator may not lead or trail, and
/// at least one digit is required.
fn parse_digits(digits: &str, radix: u32) -> Result<i64, RawLexError> {
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return Err(RawLexError::InvalidNumber);
    }
    let mut value: i64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let digit = c.to_digit(radix).ok_or(RawLexError::InvalidNumber)?;
        value = value
            .checked_mul(radix as i64)
            .and_then(|v| v.checked_add(digit as i64))
            .ok_or(RawLexError::IntegerTooLarge)?;
    }
    Ok(value)
}

fn float<'src>(lex: &mut logos::Lexer<'src, RawToken<'src>>) -> Result<f64, RawLexError> {
    let text: String = lex.slice().chars().filter(|&c| c != '_').collect();
    text.parse::<f64>().map_err(|_| RawLexError::InvalidNumber)
}

fn line_comment<'src>(lex: &mut logos::Lexer<'src, RawToken<'src>>) -> CommentKind {
    let text = lex.slice();
    if text.starts_with("///") && !text.starts_with("////") {
        CommentKind::Doc
    } else {
        CommentKind::Line
    }
}

/// Skips a block comment, which may nest.
fn block_comment<'src>(lex: &mut logos::Lexer<'src, RawToken<'src>>) -> Result<(), RawLexError> {
    let rest = lex.remainder().as_bytes();
    let mut depth = 1usize;
    let mut i = 0;
    while i < rest.len() {
        match (rest[i], rest.get(i + 1)) {
            (b'/', Some(b'*')) => {
                depth += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    lex.bump(i);
                    return Ok(());
                }
            }
            _ => i += 1,
        }
    }
    lex.bump(rest.len());
    Err(RawLexError::UnterminatedComment)
}

/// A token as the parser sees it. Comments are not tokens: the lexer keeps
/// them in a side list for the formatter and for documentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'src> {
    KwParam,
    KwLet,
    KwType,
    KwResource,
    KwData,
    KwOutput,
    KwModule,
    KwImport,
    KwProvider,
    KwIf,
    KwElse,
    KwFor,
    KwIn,
    KwAssert,
    KwWarn,
    KwPolicy,
    KwTrue,
    KwFalse,
    KwNone,
    Ident(&'src str),
    Int(i64),
    Float(f64),
    Duration(i64, DurationUnit),
    /// The opening `"` or `"""` of a string.
    StrStart {
        multiline: bool,
    },
    /// Literal text inside a string, exactly as written (escapes included).
    StrText(&'src str),
    /// `${` inside a string.
    InterpStart,
    /// The `}` that ends an interpolation.
    InterpEnd,
    /// The closing `"` or `"""` of a string.
    StrEnd,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Dot,
    QuestionDot,
    Question,
    QuestionQuestion,
    Eq,
    EqEq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    AndAnd,
    OrOr,
    DotDot,
    DotDotEq,
    FatArrow,
    At,
    Pipe,
    /// Input the lexer rejected; it has already reported a diagnostic.
    Error,
}

impl<'src> Token<'src> {
    /// The text of a keyword token, used where any keyword may serve as a
    /// field name (`{ type = "A" }`, `record.data`).
    pub fn keyword_text(&self) -> Option<&'static str> {
        Some(match self {
            Token::KwParam => "param",
            Token::KwLet => "let",
            Token::KwType => "type",
            Token::KwResource => "resource",
            Token::KwData => "data",
            Token::KwOutput => "output",
            Token::KwModule => "module",
            Token::KwImport => "import",
            Token::KwProvider => "provider",
            Token::KwIf => "if",
            Token::KwElse => "else",
            Token::KwFor => "for",
            Token::KwIn => "in",
            Token::KwAssert => "assert",
            Token::KwWarn => "warn",
            Token::KwPolicy => "policy",
            Token::KwTrue => "true",
            Token::KwFalse => "false",
            Token::KwNone => "none",
            _ => return None,
        })
    }

    fn punct_text(&self) -> Option<&'static str> {
        Some(match self {
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Colon => ":",
            Token::Dot => ".",
            Token::QuestionDot => "?.",
            Token::Question => "?",
            Token::QuestionQuestion => "??",
            Token::Eq => "=",
            Token::EqEq => "==",
            Token::NotEq => "!=",
            Token::Lt => "<",
            Token::LtEq => "<=",
            Token::Gt => ">",
            Token::GtEq => ">=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::Bang => "!",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::DotDot => "..",
            Token::DotDotEq => "..=",
            Token::FatArrow => "=>",
            Token::At => "@",
            Token::Pipe => "|",
            Token::InterpStart => "${",
            Token::InterpEnd => "}",
            _ => return None,
        })
    }
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(keyword) = self.keyword_text() {
            return write!(f, "keyword `{keyword}`");
        }
        if let Some(punct) = self.punct_text() {
            return write!(f, "`{punct}`");
        }
        match self {
            Token::Ident(name) => write!(f, "identifier `{name}`"),
            Token::Int(value) => write!(f, "integer `{value}`"),
            Token::Float(value) => write!(f, "number `{value}`"),
            Token::Duration(value, unit) => write!(f, "duration `{value}{}`", unit.suffix()),
            Token::StrStart { multiline: false } => write!(f, "string"),
            Token::StrStart { multiline: true } => write!(f, "multi-line string"),
            Token::StrText(_) => write!(f, "string text"),
            Token::StrEnd => write!(f, "end of string"),
            Token::Error => write!(f, "invalid input"),
            _ => write!(f, "{self:?}"),
        }
    }
}

impl<'src> RawToken<'src> {
    /// The parser token for a raw token that is neither a string delimiter
    /// nor a comment.
    pub(crate) fn into_token(self) -> Token<'src> {
        match self {
            RawToken::KwParam => Token::KwParam,
            RawToken::KwLet => Token::KwLet,
            RawToken::KwType => Token::KwType,
            RawToken::KwResource => Token::KwResource,
            RawToken::KwData => Token::KwData,
            RawToken::KwOutput => Token::KwOutput,
            RawToken::KwModule => Token::KwModule,
            RawToken::KwImport => Token::KwImport,
            RawToken::KwProvider => Token::KwProvider,
            RawToken::KwIf => Token::KwIf,
            RawToken::KwElse => Token::KwElse,
            RawToken::KwFor => Token::KwFor,
            RawToken::KwIn => Token::KwIn,
            RawToken::KwAssert => Token::KwAssert,
            RawToken::KwWarn => Token::KwWarn,
            RawToken::KwPolicy => Token::KwPolicy,
            RawToken::KwTrue => Token::KwTrue,
            RawToken::KwFalse => Token::KwFalse,
            RawToken::KwNone => Token::KwNone,
            RawToken::Ident(name) => Token::Ident(name),
            RawToken::Number(Number::Int(value)) => Token::Int(value),
            RawToken::Number(Number::Duration(value, unit)) => Token::Duration(value, unit),
            RawToken::Float(value) => Token::Float(value),
            RawToken::LBrace => Token::LBrace,
            RawToken::RBrace => Token::RBrace,
            RawToken::LParen => Token::LParen,
            RawToken::RParen => Token::RParen,
            RawToken::LBracket => Token::LBracket,
            RawToken::RBracket => Token::RBracket,
            RawToken::Comma => Token::Comma,
            RawToken::Colon => Token::Colon,
            RawToken::Dot => Token::Dot,
            RawToken::QuestionDot => Token::QuestionDot,
            RawToken::Question => Token::Question,
            RawToken::QuestionQuestion => Token::QuestionQuestion,
            RawToken::Eq => Token::Eq,
            RawToken::EqEq => Token::EqEq,
            RawToken::NotEq => Token::NotEq,
            RawToken::Lt => Token::Lt,
            RawToken::LtEq => Token::LtEq,
            RawToken::Gt => Token::Gt,
            RawToken::GtEq => Token::GtEq,
            RawToken::Plus => Token::Plus,
            RawToken::Minus => Token::Minus,
            RawToken::Star => Token::Star,
            RawToken::Slash => Token::Slash,
            RawToken::Percent => Token::Percent,
            RawToken::Bang => Token::Bang,
            RawToken::AndAnd => Token::AndAnd,
            RawToken::OrOr => Token::OrOr,
            RawToken::DotDot => Token::DotDot,
            RawToken::DotDotEq => Token::DotDotEq,
            RawToken::FatArrow => Token::FatArrow,
            RawToken::At => Token::At,
            RawToken::Pipe => Token::Pipe,
            RawToken::Quote
            | RawToken::TripleQuote
            | RawToken::LineComment(_)
            | RawToken::BlockComment => Token::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_every_base() {
        assert_eq!(parse_number("42"), Ok(Number::Int(42)));
        assert_eq!(parse_number("1_000"), Ok(Number::Int(1000)));
        assert_eq!(parse_number("0x1F"), Ok(Number::Int(31)));
        assert_eq!(parse_number("0o755"), Ok(Number::Int(0o755)));
        assert_eq!(parse_number("0b1010"), Ok(Number::Int(10)));
        assert_eq!(parse_number("500ms"), Ok(Number::Duration(500, DurationUnit::Milliseconds)));
        assert_eq!(parse_number("5m"), Ok(Number::Duration(5, DurationUnit::Minutes)));
        assert_eq!(parse_number("9223372036854775807"), Ok(Number::Int(i64::MAX)));
        assert_eq!(parse_number("9223372036854775808"), Err(RawLexError::IntegerTooLarge));
        assert_eq!(parse_number("0x"), Err(RawLexError::InvalidNumber));
        assert_eq!(parse_number("5min"), Err(RawLexError::InvalidNumber));
        assert_eq!(parse_number("0b102"), Err(RawLexError::InvalidNumber));
        assert_eq!(parse_number("1__"), Err(RawLexError::InvalidNumber));
    }
}
