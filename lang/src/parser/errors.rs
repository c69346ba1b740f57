//! Turns chumsky's errors into Orch diagnostics: "expected X, found Y" at
//! the offending token, with the rule being parsed as a secondary label.

use chumsky::error::{Rich, RichPattern, RichReason};

use super::delimiters::Unclosed;
use crate::diagnostic::{Diagnostic, codes};
use crate::span::Span;
use crate::token::Token;

pub(crate) fn to_diagnostics<'t, 's>(
    errors: Vec<Rich<'t, Token<'s>, Span>>,
    source: &str,
    tokens: &[(Token<'s>, Span)],
    eoi: Span,
    unclosed: &[Unclosed],
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for error in errors {
        let span = *error.span();
        let at_end = error.found().is_none();
        // At the end of input, an unclosed bracket explains the error better;
        // its own diagnostic is reported instead.
        if at_end && !unclosed.is_empty() {
            continue;
        }
        // The lexer already reported invalid tokens.
        if matches!(error.found(), Some(Token::Error)) {
            continue;
        }
        let diagnostic = match error.reason() {
            RichReason::Custom(message) => Diagnostic::new(&codes::E0001, span, message.clone()),
            RichReason::ExpectedFound { .. } => {
                let found = match error.found() {
                    // Literals are shown as written (`0o644`, not `420`).
                    Some(Token::Int(_) | Token::Float(_) | Token::Duration(..)) => {
                        format!("`{}`", source.get(span.range()).unwrap_or_default())
                    }
                    Some(token) => token.to_string(),
                    None => "end of input".to_string(),
                };
                let expected = describe_expected(error.expected());
                let span = if at_end { last_token_end(tokens, eoi) } else { span };
                let message = match &expected {
                    Some(expected) => format!("expected {expected}, found {found}"),
                    None => format!("unexpected {found}"),
                };
                let mut diagnostic = Diagnostic::new(&codes::E0001, span, message)
                    .with_primary_message(match &expected {
                        Some(expected) => format!("expected {expected}"),
                        None => "unexpected here".to_string(),
                    });
                for (context, context_span) in error.contexts() {
                    if let RichPattern::Label(label) = context {
                        diagnostic = diagnostic
                            .with_label(*context_span, format!("while parsing this {label}"));
                    }
                }
                diagnostic
            }
        };
        // Recovery can report the same position twice; keep the first.
        if !out.iter().any(|d| d.primary.span == diagnostic.primary.span) {
            out.push(diagnostic);
        }
    }
    out
}

/// A zero-width span just after the last token, where something is missing.
fn last_token_end(tokens: &[(Token<'_>, Span)], eoi: Span) -> Span {
    tokens.last().map_or(eoi, |(_, span)| span.shrink_to_end())
}

/// Tokens that could continue an expression. When something else was also
/// possible (a `)`, a `,`), listing every operator only hides it.
fn is_operator(token: &Token<'_>) -> bool {
    matches!(
        token,
        Token::Dot
            | Token::QuestionDot
            | Token::LBracket
            | Token::LParen
            | Token::Star
            | Token::Slash
            | Token::Percent
            | Token::Plus
            | Token::Minus
            | Token::DotDot
            | Token::DotDotEq
            | Token::Lt
            | Token::LtEq
            | Token::Gt
            | Token::GtEq
            | Token::EqEq
            | Token::NotEq
            | Token::AndAnd
            | Token::OrOr
            | Token::QuestionQuestion
            | Token::Question
    )
}

fn describe_expected<'a, 's: 'a>(
    expected: impl Iterator<Item = &'a RichPattern<'a, Token<'s>>>,
) -> Option<String> {
    let mut items: Vec<String> = Vec::new();
    let mut operators = false;
    for pattern in expected {
        let text = match pattern {
            RichPattern::Token(token) if is_operator(token) => {
                operators = true;
                continue;
            }
            RichPattern::Label(label) if label == "arguments" || label == "operator" => {
                operators = true;
                continue;
            }
            RichPattern::Token(token) => token.to_string(),
            RichPattern::Label(label) => label.to_string(),
            RichPattern::Identifier(name) => format!("`{name}`"),
            RichPattern::Any => "something".to_string(),
            RichPattern::EndOfInput => "end of input".to_string(),
            _ => continue,
        };
        if !items.contains(&text) {
            items.push(text);
        }
    }
    // Between declarations, listing what may start one is noise.
    if items.iter().any(|item| item == "declaration") {
        return Some("a declaration".to_string());
    }
    if items.is_empty() && operators {
        items.push("an operator".to_string());
    }
    items.sort();
    match items.len() {
        0 => None,
        1 => Some(items.remove(0)),
        _ => {
            let last = items.pop().unwrap_or_default();
            Some(format!("{} or {last}", items.join(", ")))
        }
    }
}
