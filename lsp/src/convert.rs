//! Byte offsets to protocol positions and back. The protocol counts
//! columns in UTF-16 code units; the compiler counts bytes. Every
//! conversion goes through a [`LineIndex`] and clamps: a position past the
//! end of a line or of the text means the end.

use orch_lang::{LineIndex, Span};
use tower_lsp_server::ls_types::{Position, Range};

/// A text and its line index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub(crate) source: &'a str,
    index: &'a LineIndex,
}

impl<'a> Text<'a> {
    /// `index` must be the line index of `source`.
    pub(crate) fn new(source: &'a str, index: &'a LineIndex) -> Text<'a> {
        Text { source, index }
    }

    /// The byte offset of a protocol position.
    pub(crate) fn offset(&self, position: Position) -> u32 {
        self.index.offset_of_utf16(self.source, position.line, position.character)
    }

    /// The protocol position of a byte offset.
    pub(crate) fn position(&self, offset: u32) -> Position {
        let (line, character) = self.index.line_utf16(self.source, offset);
        Position { line, character }
    }

    pub(crate) fn range(&self, span: Span) -> Range {
        Range { start: self.position(span.start), end: self.position(span.end.max(span.start)) }
    }

    /// The range of the whole text.
    pub(crate) fn full_range(&self) -> Range {
        Range {
            start: Position { line: 0, character: 0 },
            end: self.position(self.source.len() as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units() {
        // `é` is one UTF-16 unit and two bytes; `😀` is two units and four
        // bytes.
        let source = "let s = \"café 😀\" x\nnext";
        let index = LineIndex::new(source);
        let text = Text::new(source, &index);
        let x = text.source.find(" x").unwrap() as u32 + 1;
        assert_eq!(text.position(x), Position { line: 0, character: 18 });
        assert_eq!(text.offset(Position { line: 0, character: 18 }), x);
        assert_eq!(
            text.offset(Position { line: 0, character: 999 }),
            text.source.find('\n').unwrap() as u32
        );
        assert_eq!(text.offset(Position { line: 9, character: 0 }), text.source.len() as u32);
        assert_eq!(text.position(9999), Position { line: 1, character: 4 });
    }
}
