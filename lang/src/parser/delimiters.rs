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
        } else if let Some(close) = closes(token)
            && let Some(position) = stack.iter().rposition(|u| u.close == close)
        {
            stack.truncate(position);
        }
    }
    stack
}

pub(crate) fn unclosed_diagnostic(unclosed: &Unclosed) -> Diagnostic {
    Diagnostic::new(&codes::E0002, unclosed.span, format!("unclosed `{}`", unclosed.open))
        .with_primary_message(format!("this `{}` is never closed", unclosed.open))
        .with_help(format!("add the matching `{}`", unclosed.close))
}

/// How deeply brackets, interpolations and prefix operators may nest, and
/// how many operators one chain of operands may have at one level. Real
/// configurations stay far below; the limits keep the tree shallow enough
/// for the recursive parser and the passes after it on hostile input.
pub(crate) const MAX_NESTING: usize = 128;
pub(crate) const MAX_CHAIN: usize = 512;

/// Operators that lengthen a chain of operands (and so deepen the tree).
fn chains(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::Plus
            | Token::Minus
            | Token::Star
            | Token::Slash
            | Token::Percent
            | Token::EqEq
            | Token::NotEq
            | Token::Lt
            | Token::LtEq
            | Token::Gt
            | Token::GtEq
            | Token::AndAnd
            | Token::OrOr
            | Token::QuestionQuestion
            | Token::DotDot
            | Token::DotDotEq
            | Token::Question
            | Token::Colon
            | Token::Dot
            | Token::QuestionDot
            | Token::Bang
    )
}

/// Tokens that end an expression.
fn ends_chain(token: &Token<'_>) -> bool {
    matches!(token, Token::Eq | Token::Comma | Token::FatArrow | Token::At)
        || token.keyword_text().is_some()
}

/// Whether no group nests too deeply and no chain is too long: the common
/// case, checked without copying the tokens.
fn within_limits(tokens: &[(Token<'_>, Span)]) -> bool {
    let mut chain_lengths: Vec<usize> = vec![0];
    let mut prefix_run = 0usize;
    for (token, _) in tokens {
        let depth = chain_lengths.len() - 1;
        let opens = pair(token).is_some();
        prefix_run = if matches!(token, Token::Minus | Token::Bang) { prefix_run + 1 } else { 0 };
        if chains(token) || opens {
            chain_lengths[depth] += 1;
        } else if ends_chain(token) {
            chain_lengths[depth] = 0;
        }
        if (opens && depth + 1 > MAX_NESTING)
            || prefix_run > MAX_NESTING
            || chain_lengths[depth] > MAX_CHAIN
        {
            return false;
        }
        if opens {
            chain_lengths.push(0);
        } else if closes(token).is_some() && chain_lengths.len() > 1 {
            chain_lengths.pop();
        }
    }
    true
}

/// Replaces every group nested deeper than [`MAX_NESTING`], and every
/// operator chain longer than [`MAX_CHAIN`], by one [`Token::Error`] with a
/// diagnostic.
pub(crate) fn limit_nesting<'s>(
    tokens: Vec<(Token<'s>, Span)>,
) -> (Vec<(Token<'s>, Span)>, Vec<Diagnostic>) {
    if within_limits(&tokens) {
        return (tokens, Vec::new());
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut diagnostics = Vec::new();
    // The operator count of the open chain at each bracket depth.
    let mut chain_lengths: Vec<usize> = vec![0];
    let mut prefix_run = 0usize;
    let mut iter = tokens.into_iter().peekable();
    while let Some((token, span)) = iter.next() {
        let depth = chain_lengths.len() - 1;
        let opens = pair(&token).is_some();
        prefix_run = if matches!(token, Token::Minus | Token::Bang) { prefix_run + 1 } else { 0 };
        if chains(&token) || opens {
            chain_lengths[depth] += 1;
        } else if ends_chain(&token) {
            chain_lengths[depth] = 0;
        }
        let too_deep = opens && depth + 1 > MAX_NESTING;
        let too_long = prefix_run > MAX_NESTING || chain_lengths[depth] > MAX_CHAIN;
        if too_deep || too_long {
            // Skip the group, or the rest of the chain at this depth.
            let mut end = span;
            let mut inner = usize::from(opens);
            while let Some((next, next_span)) = iter.peek() {
                if inner == 0 && (!too_long || ends_chain(next) || closes(next).is_some()) {
                    break;
                }
                if pair(next).is_some() {
                    inner += 1;
                } else if closes(next).is_some() {
                    inner -= 1;
                }
                end = *next_span;
                iter.next();
            }
            prefix_run = 0;
            chain_lengths[depth] = 0;
            let group = span.to(end);
            let message = if too_deep {
                format!("nested more than {MAX_NESTING} levels deep")
            } else {
                format!("expression has more than {MAX_CHAIN} operators in a row")
            };
            diagnostics.push(
                Diagnostic::new(&codes::E0018, group, message)
                    .with_help("split the expression with `let` declarations"),
            );
            out.push((Token::Error, group));
            continue;
        }
        if opens {
            chain_lengths.push(0);
        } else if closes(&token).is_some() && chain_lengths.len() > 1 {
            chain_lengths.pop();
        }
        out.push((token, span));
    }
    (out, diagnostics)
}
