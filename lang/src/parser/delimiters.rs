//! Finds brackets that are still open at the end of input, so that the
//! report points at the opening bracket ("this `{` is never closed") rather
//! than only at the end of the file.

use crate::diagnostic::{Diagnostic, codes};
use crate::span::Span;
use crate::token::Token;

/// An opening bracket with no matching closer before the end of input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unclosed {
    pub(crate) open: &'static str,
    pub(crate) close: &'static str,
    pub(crate) span: Span,
}

fn pair(token: &Token<'_>) -> Option<(&'static str, &'static str)> {
    Some(match token {
        Token::LBrace => ("{", "}"),
        Token::LParen => ("(", ")"),
        Token::LBracket => ("[", "]"),
        Token::InterpStart => ("${", "}"),
        _ => return None,
    })
}

fn closes(token: &Token<'_>) -> Option<&'static str> {
    Some(match token {
        Token::RBrace | Token::InterpEnd => "}",
        Token::RParen => ")",
        Token::RBracket => "]",
        _ => return None,
    })
}

/// Brackets open at the end of input, outermost first. A closer that does
/// not match the innermost opener is left for the parser to report; it
/// closes the nearest opener of its own kind, if any.
pub(crate) fn unclosed_delimiters(tokens: &[(Token<'_>, Span)]) -> Vec<Unclosed> {
    let mut stack: Vec<Unclosed> = Vec::new();
    for (token, span) in tokens {
        if let Some((open, close)) = pair(token) {
            stack.push(Unclosed { open, close, span: *span });
        } else if let Some(close) = closes(token) {
            if let Some(position) = stack.iter().rposition(|u| u.close == close) {
                stack.truncate(position);
            }
        }
    }
    stack
}

pub(crate) fn unclosed_diagnostic(unclosed: &Unclosed) -> Diagnostic {
    Diagnostic::new(&codes::E0002, unclosed.span, format!("unclosed `{}`", unclosed.open))
        .with_primary_message(format!("this `{}` is never closed", unclosed.open))
        .with_help(format!("add the matching `{}`", unclosed.close))
}
