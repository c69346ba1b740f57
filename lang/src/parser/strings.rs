//! String literal processing: escapes, and the indentation rules of
//! multi-line strings.
//!
//! A multi-line string (`"""`) starts on the line after its opening quotes.
//! The common leading indentation of its non-blank lines is removed, and so
//! is the final newline together with the whitespace before the closing
//! quotes. Indentation is measured on the source text, before escapes are
//! decoded, so `\t` is never stripped.

use crate::ast::{Expr, SmolStr, StrPart};
use crate::span::Span;

/// A piece of a string as the parser found it.
#[derive(Debug, Clone)]
pub(crate) enum RawPart<'s> {
    Text(&'s str, Span),
    Interpolation(Expr),
}

/// Decodes the escapes of `raw`. The lexer has already reported invalid
/// escapes; they are kept as written.
pub(crate) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, 'n')) => out.push('\n'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, 't')) => out.push('\t'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, '"')) => out.push('"'),
            Some((_, '$')) => out.push('$'),
            Some((j, 'u')) => {
                let rest = &raw[j + 1..];
                let decoded = rest
                    .strip_prefix('{')
                    .and_then(|body| body.find('}').map(|close| &body[..close]))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok().map(|v| (v, hex.len())))
                    .and_then(|(v, len)| char::from_u32(v).map(|c| (c, len)));
                match decoded {
                    Some((decoded, len)) => {
                        out.push(decoded);
                        // Skip `{`, the digits and `}`.
                        for _ in 0..len + 2 {
                            chars.next();
                        }
                    }
                    None => out.push_str(&raw[i..j + 1]),
                }
            }
            Some((_, other)) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A text part: `value` decoded from `raw`. Text without a backslash has
/// no escapes, so its value is the raw text itself and is stored once (a
/// `SmolStr` clone copies at most 24 bytes or bumps a reference count)
/// instead of being decoded into a fresh `String` and copied again.
fn text_part(raw: &str, span: Span) -> StrPart {
    let raw = SmolStr::new(raw);
    let value = if raw.contains('\\') { SmolStr::from(unescape(&raw)) } else { raw.clone() };
    StrPart::Text { value, raw, span }
}

/// Turns raw parts into string parts, removing multi-line indentation when
/// `multiline` is set.
pub(crate) fn process_string(multiline: bool, parts: Vec<RawPart<'_>>) -> Vec<StrPart> {
    if !multiline {
        return parts
            .into_iter()
            .map(|part| match part {
                RawPart::Text(raw, span) => text_part(raw, span),
                RawPart::Interpolation(expr) => StrPart::Interpolation(expr),
            })
            .collect();
    }
    let indent = common_indent(&parts);
    let mut out: Vec<StrPart> = Vec::with_capacity(parts.len());
    let last_text = parts.iter().rposition(|p| matches!(p, RawPart::Text(..)));
    let part_count = parts.len();
    let mut at_line_start = true;
    for (index, part) in parts.into_iter().enumerate() {
        match part {
            RawPart::Text(raw, span) => {
                let mut text = String::with_capacity(raw.len());
                for (line_index, line) in raw.split('\n').enumerate() {
                    // `\r\n` line ends are content-neutral: the value uses `\n`.
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    if line_index > 0 {
                        text.push('\n');
                        at_line_start = true;
                    }
                    if at_line_start {
                        text.push_str(strip_indent(line, indent));
                    } else {
                        text.push_str(line);
                    }
                    if !line.is_empty() {
                        at_line_start = false;
                    }
                }
                // The final newline and the closing quotes' indentation go:
                // the last line is dropped when it is only whitespace from
                // its start (after a newline, or at the start of the content).
                if Some(index) == last_text && index + 1 == part_count {
                    let last_line_start = match text.rfind('\n') {
                        Some(newline) => Some(newline + 1),
                        None if index == 0 => Some(0),
                        // The line began before an interpolation: content.
                        None => None,
                    };
                    if let Some(start) = last_line_start
                        && text[start..].chars().all(|c| c == ' ' || c == '\t')
                    {
                        // Drop the line and the newline before it.
                        text.truncate(start.saturating_sub(1));
                    }
                }
                if !text.is_empty() {
                    out.push(text_part(&text, span));
                }
            }
            RawPart::Interpolation(expr) => {
                at_line_start = false;
                out.push(StrPart::Interpolation(expr));
            }
        }
    }
    out
}

/// The smallest indentation (in bytes of spaces and tabs) over the lines
/// that have content; lines of only whitespace do not count.
fn common_indent(parts: &[RawPart<'_>]) -> usize {
    let mut min: Option<usize> = None;
    let mut current = 0usize;
    let mut at_line_start = true;
    for part in parts {
        match part {
            RawPart::Text(raw, _) => {
                for c in raw.chars() {
                    if c == '\r' {
                        continue;
                    }
                    if c == '\n' {
                        current = 0;
                        at_line_start = true;
                    } else if at_line_start && (c == ' ' || c == '\t') {
                        current += 1;
                    } else if at_line_start {
                        min = Some(min.map_or(current, |m| m.min(current)));
                        at_line_start = false;
                    }
                }
            }
            RawPart::Interpolation(_) => {
                if at_line_start {
                    min = Some(min.map_or(current, |m| m.min(current)));
                    at_line_start = false;
                }
            }
        }
    }
    min.unwrap_or(0)
}

/// Removes up to `indent` leading spaces and tabs.
fn strip_indent(line: &str, indent: usize) -> &str {
    let strip = line.bytes().take(indent).take_while(|&b| b == b' ' || b == b'\t').count();
    &line[strip..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    fn text(multiline: bool, raw: &str) -> String {
        let parts = vec![RawPart::Text(raw, Span::new(FileId(0), 0, 0))];
        process_string(multiline, parts)
            .into_iter()
            .map(|p| match p {
                StrPart::Text { value, .. } => value.to_string(),
                StrPart::Interpolation(_) => unreachable!("no interpolation in the input"),
            })
            .collect()
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\n\t\\\"\$\u{1F600}"#), "a\n\t\\\"$\u{1F600}");
        assert_eq!(unescape(r"bad \q"), r"bad \q");
    }

    #[test]
    fn multiline_indentation_is_removed() {
        assert_eq!(text(true, "    a\n      b\n\n    c\n    "), "a\n  b\n\nc");
        assert_eq!(text(true, "  x\n"), "x");
        assert_eq!(text(true, "  \\tx\n  "), "\tx");
        assert_eq!(text(true, "  "), "");
        assert_eq!(text(true, "  a\r\n  b\r\n  "), "a\nb");
        assert_eq!(text(true, "  a\r\n\r\n  b\r\n  "), "a\n\nb");
    }
}
