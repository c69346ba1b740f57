//! The parser: `chumsky` 0.12 over the token slice produced by
//! [`crate::lexer`].
//!
//! Parsing never fails. [`parse`] always returns a tree; broken declarations,
//! bodies and brackets become `Error` nodes, each with one diagnostic, and
//! parsing resumes at the next declaration so later mistakes are reported
//! too.

mod delimiters;
mod errors;
mod exprs;
mod items;
mod strings;
mod types;

use chumsky::input::{Input as _, MappedInput};
use chumsky::prelude::*;

use crate::ast::{self, SourceFile};
use crate::diagnostic::{Diagnostic, sort_diagnostics};
use crate::lexer::{Comment, lex};
use crate::post;
use crate::span::{FileId, Span};
use crate::token::Token;


/// The token slice as chumsky sees it.
pub(crate) type TokenInput<'t, 's> = MappedInput<'t, Token<'s>, Span, &'t [(Token<'s>, Span)]>;
/// Parser state: rich errors that keep what was found and expected.
pub(crate) type Extra<'t, 's> = extra::Err<Rich<'t, Token<'s>, Span>>;
/// A boxed grammar rule.
pub(crate) type Rule<'t, 's, O> = Boxed<'t, 't, TokenInput<'t, 's>, O, Extra<'t, 's>>;

impl chumsky::span::Span for Span {
    type Context = FileId;
    type Offset = u32;

    fn new(context: FileId, range: std::ops::Range<u32>) -> Span {
        // An empty match between two tokens spans from the start of the next
        // token back to the end of the previous one; place it at the latter.
        if range.start > range.end {
            return Span::new(context, range.end, range.end);
        }
        Span::new(context, range.start, range.end)
    }

    fn context(&self) -> FileId {
        self.file
    }

    fn start(&self) -> u32 {
        self.start
    }

    fn end(&self) -> u32 {
        self.end
    }
}

/// The result of parsing one file: always a tree, plus every lexical and
/// syntax diagnostic, sorted by position.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub file: SourceFile,
    pub comments: Vec<Comment>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Lexes and parses `source`, which belongs to `file`.
pub fn parse(file: FileId, source: &str) -> Parsed {
    let lexed = lex(file, source);
    let mut diagnostics = lexed.diagnostics;
    let eoi = Span::new(file, source.len() as u32, source.len() as u32);
    let tokens = lexed.tokens;

    let unclosed = delimiters::unclosed_delimiters(&tokens);
    let input = tokens.as_slice().split_token_span(eoi);
    let (output, errors) = items::source_file().parse(input).into_output_errors();

    let mut syntax = errors::to_diagnostics(errors, source, &tokens, eoi, &unclosed);
    diagnostics.append(&mut syntax);
    diagnostics.extend(unclosed.iter().map(delimiters::unclosed_diagnostic));

    let mut file_ast = output.unwrap_or(SourceFile { items: Vec::new(), span: Span::new(file, 0, eoi.end) });
    file_ast.span = Span::new(file, 0, eoi.end);
    post::attach_docs(&mut file_ast, source, &lexed.comments);
    post::number_exprs(&mut file_ast);
    sort_diagnostics(&mut diagnostics);
    Parsed { file: file_ast, comments: lexed.comments, diagnostics }
}

/// An expression node; ids are assigned after parsing by
/// [`post::number_exprs`].
pub(crate) fn mk_expr(kind: ast::ExprKind, span: Span) -> ast::Expr {
    ast::Expr { id: ast::ExprId(0), kind, span }
}

