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

use chumsky::error::{EmptyErr, LabelError};
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
/// A boxed grammar rule, generic over the error type: valid files are parsed
/// with [`EmptyErr`], which costs nothing, and only files with errors are
/// parsed again with [`Rich`] errors that say what was found and expected.
pub(crate) type Rule<'t, 's, O, E> = Boxed<'t, 't, TokenInput<'t, 's>, O, extra::Err<E>>;

/// Whether the grammar is built for the fast path, whose zero-sized error
/// type records nothing: labels and recovery only cost time there, since a
/// file with any error is parsed again with [`Rich`] errors.
fn is_fast_path<E>() -> bool {
    size_of::<E>() == 0
}

/// Labels and recovery that apply only when errors are reported.
pub(crate) trait RuleExt<'t, 's: 't, O, E: SyntaxError<'t, 's>>:
    Parser<'t, TokenInput<'t, 's>, O, extra::Err<E>> + Sized + 't
{
    /// Names the rule in "expected ..." messages.
    fn label(self, label: &'static str) -> Rule<'t, 's, O, E> {
        if is_fast_path::<E>() { self.boxed() } else { self.labelled(label).boxed() }
    }

    /// Recovers from an error in the rule with `strategy`.
    fn recover<S>(self, strategy: S) -> Rule<'t, 's, O, E>
    where
        S: chumsky::recovery::Strategy<'t, TokenInput<'t, 's>, O, extra::Err<E>> + 't,
    {
        if is_fast_path::<E>() { self.boxed() } else { self.recover_with(strategy).boxed() }
    }
}

impl<'t, 's: 't, O, E: SyntaxError<'t, 's>, P> RuleExt<'t, 's, O, E> for P where
    P: Parser<'t, TokenInput<'t, 's>, O, extra::Err<E>> + Sized + 't
{
}

/// What the grammar needs of an error type.
pub(crate) trait SyntaxError<'t, 's: 't>:
    chumsky::error::Error<'t, TokenInput<'t, 's>>
    + LabelError<'t, TokenInput<'t, 's>, &'static str>
    + 't
{
    /// An error with a message of its own.
    fn custom(span: Span, message: &'static str) -> Self;
}

impl<'t, 's: 't> SyntaxError<'t, 's> for Rich<'t, Token<'s>, Span> {
    fn custom(span: Span, message: &'static str) -> Self {
        Rich::custom(span, message)
    }
}

impl<'t, 's: 't> SyntaxError<'t, 's> for EmptyErr {
    fn custom(_span: Span, _message: &'static str) -> Self {
        EmptyErr::default()
    }
}

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
    let (tokens, mut too_deep) = delimiters::limit_nesting(lexed.tokens);
    diagnostics.append(&mut too_deep);

    let unclosed = delimiters::unclosed_delimiters(&tokens);
    // The fast path: a valid file needs no error details.
    let mut output = None;
    let mut errors = Vec::new();
    if diagnostics.is_empty() {
        let input = tokens.as_slice().split_token_span(eoi);
        let (fast, fast_errors) =
            items::source_file::<EmptyErr>().parse(input).into_output_errors();
        if fast_errors.is_empty() {
            output = fast;
        }
    }
    if output.is_none() {
        let input = tokens.as_slice().split_token_span(eoi);
        (output, errors) =
            items::source_file::<Rich<'_, Token<'_>, Span>>().parse(input).into_output_errors();
    }

    let mut syntax = errors::to_diagnostics(errors, source, &tokens, eoi, &unclosed);
    diagnostics.append(&mut syntax);
    diagnostics.extend(unclosed.iter().map(delimiters::unclosed_diagnostic));

    let mut file_ast =
        output.unwrap_or(SourceFile { items: Vec::new(), span: Span::new(file, 0, eoi.end) });
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
