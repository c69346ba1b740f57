//! Source locations: a file id and a byte range, small and `Copy`.
//!
//! Line and column numbers are computed only at the edges (the CLI renderer and
//! the language server), from a [`LineIndex`].

use std::ops::Range;

/// Identifies one source file within a compilation. The caller assigns ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range `start..end` in the file `file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: u32, end: u32) -> Span {
        debug_assert!(start <= end, "span start {start} after end {end}");
        Span { file, start, end }
    }

    /// Builds a span from a `usize` range. Sources are limited to 4 GiB by
    /// [`crate::lex`], so the conversion cannot truncate.
    pub fn from_range(file: FileId, range: Range<usize>) -> Span {
        Span::new(file, range.start as u32, range.end as u32)
    }

    /// The smallest span that covers both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// A zero-width span at the start of `self`.
    pub fn shrink_to_start(self) -> Span {
        Span { end: self.start, ..self }
    }

    /// A zero-width span at the end of `self`.
    pub fn shrink_to_end(self) -> Span {
        Span { start: self.end, ..self }
    }

    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn contains(self, offset: u32) -> bool {
        self.start <= offset && offset <= self.end
    }
}

/// A 1-based line and column; the column counts characters (Unicode scalar
/// values), which is what `orchc check --format json` promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

/// Maps byte offsets of one source to lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of every line; the first is always 0.
    line_starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(source: &str) -> LineIndex {
        let mut line_starts = vec![0];
        line_starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, byte)| byte == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex { line_starts }
    }

    /// The 0-based line that contains `offset`.
    pub fn line_of(&self, offset: u32) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Byte offset where the 0-based `line` starts, if the line exists.
    pub fn line_start(&self, line: usize) -> Option<u32> {
        self.line_starts.get(line).copied()
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and character column of `offset` in `source`. An offset
    /// inside a multi-byte character counts as that character.
    pub fn line_col(&self, source: &str, offset: u32) -> LineCol {
        let offset = (offset as usize).min(source.len());
        let line = self.line_of(offset as u32);
        let start = self.line_starts[line] as usize;
        let column =
            source.get(start..offset).map(|text| text.chars().count()).unwrap_or_else(|| {
                source[start..].char_indices().take_while(|&(i, _)| start + i < offset).count()
            });
        LineCol { line: line as u32 + 1, column: column as u32 + 1 }
    }

    /// 0-based line and UTF-16 column of `offset`, as the Language Server
    /// Protocol counts them.
    pub fn line_utf16(&self, source: &str, offset: u32) -> (u32, u32) {
        let offset = (offset as usize).min(source.len());
        let line = self.line_of(offset as u32);
        let start = self.line_starts[line] as usize;
        let column: usize = source[start..]
            .char_indices()
            .take_while(|&(i, _)| start + i < offset)
            .map(|(_, c)| c.len_utf16())
            .sum();
        (line as u32, column as u32)
    }

    /// The byte offset of a 0-based line and UTF-16 column, clamped to the
    /// line's end.
    pub fn offset_of_utf16(&self, source: &str, line: u32, column: u32) -> u32 {
        let Some(start) = self.line_start(line as usize) else { return source.len() as u32 };
        let mut remaining = column as usize;
        let mut offset = start as usize;
        for c in source[start as usize..].chars() {
            if remaining == 0 || c == '\n' {
                break;
            }
            remaining = remaining.saturating_sub(c.len_utf16());
            offset += c.len_utf8();
        }
        offset as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let src = "é = 1\nß😀x\n";
        let index = LineIndex::new(src);
        assert_eq!(index.line_col(src, 0), LineCol { line: 1, column: 1 });
        // `=` is after a two-byte `é` and a space.
        assert_eq!(index.line_col(src, 3), LineCol { line: 1, column: 3 });
        let x = src.find('x').unwrap() as u32;
        assert_eq!(index.line_col(src, x), LineCol { line: 2, column: 3 });
        assert_eq!(index.line_utf16(src, x), (1, 3));
        assert_eq!(index.offset_of_utf16(src, 1, 3), x);
    }
}
