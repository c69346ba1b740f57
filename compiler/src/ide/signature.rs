//! Signature help: the built-in function whose argument list holds the
//! cursor, its signature and documentation, and which parameter the cursor
//! is in.
//!
//! Like completion, this reads the tokens before the cursor rather than the
//! syntax tree, since a call being typed (`length(`) does not parse yet.

use orch_lang::token::Token;
use orch_lang::{FileId, lex};
use orch_stdlib::lookup_function;

use crate::Analysis;

/// The signature of the function called around the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHelp {
    pub function: &'static str,
    /// `length(value: string | list<T> | map<T>) -> int`.
    pub signature: &'static str,
    /// Markdown.
    pub doc: &'static str,
    /// The byte range of each parameter in `signature`.
    pub parameters: Vec<(u32, u32)>,
    /// The parameter the cursor is in; `None` past the last one.
    pub active_parameter: Option<u32>,
}

/// Signature help at `offset` in `file`.
pub fn signature_help(analysis: &Analysis, file: FileId, offset: u32) -> Option<SignatureHelp> {
    if file.0 as usize >= analysis.files.len() {
        return None;
    }
    let source = &analysis.files.get(file).source;
    let lexed = lex(file, source);
    if lexed.comments.iter().any(|c| c.span.start < offset && offset <= c.span.end) {
        return None;
    }
    let before = lexed.tokens.iter().take_while(|(_, span)| span.end <= offset);
    let tokens: Vec<&Token<'_>> = before.map(|(token, _)| token).collect();
    let (name, commas) = enclosing_call(&tokens)?;
    let function = lookup_function(name)?;
    let parameters = parameters(function.signature);
    let variadic = parameters.last().is_some_and(|&(start, end)| {
        function.signature[start as usize..end as usize].ends_with("...")
    });
    let count = parameters.len() as u32;
    let active_parameter = match commas {
        _ if count == 0 => None,
        commas if commas < count => Some(commas),
        _ if variadic => Some(count - 1),
        _ => None,
    };
    Some(SignatureHelp {
        function: function.name,
        signature: function.signature,
        doc: function.doc,
        parameters,
        active_parameter,
    })
}

/// The name of the function whose unclosed `(` comes last in `tokens`, and
/// how many of its arguments are complete (the commas at its level).
fn enclosing_call<'a>(tokens: &[&Token<'a>]) -> Option<(&'a str, u32)> {
    let mut depth = 0u32;
    let mut commas = 0u32;
    for (index, token) in tokens.iter().enumerate().rev() {
        match token {
            Token::RParen | Token::RBracket | Token::RBrace | Token::InterpEnd => depth += 1,
            Token::LParen | Token::LBracket | Token::LBrace | Token::InterpStart => {
                if depth > 0 {
                    depth -= 1;
                    continue;
                }
                // The cursor is inside this bracket.
                let callee = index.checked_sub(1).map(|i| tokens[i]);
                let method = index.checked_sub(2).map(|i| tokens[i]);
                if let (Token::LParen, Some(Token::Ident(name))) = (token, callee)
                    && !matches!(method, Some(Token::Dot | Token::QuestionDot))
                {
                    return Some((name, commas));
                }
                // A list, object or interpolation inside the arguments of
                // an outer call is one argument of it.
                commas = 0;
            }
            Token::Comma if depth == 0 => commas += 1,
            // A call does not span declarations.
            Token::KwParam
            | Token::KwLet
            | Token::KwType
            | Token::KwResource
            | Token::KwData
            | Token::KwOutput
            | Token::KwModule
            | Token::KwImport
            | Token::KwProvider
            | Token::KwAssert
            | Token::KwWarn
            | Token::KwPolicy => return None,
            _ => {}
        }
    }
    None
}

/// The byte ranges of the parameters in a signature `name(a: T, b: U) -> R`.
fn parameters(signature: &str) -> Vec<(u32, u32)> {
    let Some(open) = signature.find('(') else { return Vec::new() };
    let mut out = Vec::new();
    let mut depth = 0u32;
    let mut start = open + 1;
    for (index, c) in signature.char_indices().skip_while(|&(i, _)| i <= open) {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ']' => depth = depth.saturating_sub(1),
            ')' if depth > 0 => depth -= 1,
            ',' | ')' if depth == 0 => {
                let piece = &signature[start..index];
                let trimmed = piece.trim_start();
                let from = start + (piece.len() - trimmed.len());
                let to = from + trimmed.trim_end().len();
                if to > from {
                    out.push((from as u32, to as u32));
                }
                if c == ')' {
                    break;
                }
                start = index + 1;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parameters;

    #[test]
    fn parameters_split_at_top_level_commas() {
        let signature = "lookup(map: map<T>, key: string, default: T) -> T";
        let names: Vec<&str> = parameters(signature)
            .into_iter()
            .map(|(start, end)| &signature[start as usize..end as usize])
            .collect();
        assert_eq!(names, ["map: map<T>", "key: string", "default: T"]);
        assert!(parameters("now() -> string").is_empty());
    }
}
