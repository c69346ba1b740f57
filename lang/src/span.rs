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
    /// Every character longer than one byte, in order, with the counts
    /// before it: columns are computed by binary search, so converting a
    /// position costs O(log n) however long its line is.
    wide: Vec<WideChar>,
}

/// A character of more than one byte, and the totals of the wide
/// characters before it.
#[derive(Debug, Clone, Copy)]
struct WideChar {
    offset: u32,
    len: u8,
    /// Continuation bytes (`len - 1` per wide character) before this one.
    continuation_before: u32,
    /// Characters outside the Basic Multilingual Plane (two UTF-16 units)
    /// before this one.
    astral_before: u32,
}

impl LineIndex {
    pub fn new(source: &str) -> LineIndex {
        let mut line_starts = vec![0];
        let mut wide = Vec::new();
        let (mut continuation, mut astral) = (0u32, 0u32);
        for (i, byte) in source.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(i as u32 + 1);
            } else if byte >= 0xC0 {
                // The first byte of a multi-byte character.
                let len = if byte >= 0xF0 {
                    4
                } else if byte >= 0xE0 {
                    3
                } else {
                    2
                };
                wide.push(WideChar {
                    offset: i as u32,
                    len,
                    continuation_before: continuation,
                    astral_before: astral,
                });
                continuation += u32::from(len) - 1;
                astral += u32::from(len == 4);
            }
        }
        LineIndex { line_starts, wide }
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

    /// Characters that start before byte `offset`, and how many of them
    /// take two UTF-16 units.
    fn chars_before(&self, offset: u32) -> (u32, u32) {
        let k = self.wide.partition_point(|w| w.offset < offset);
        let Some(last) = k.checked_sub(1).map(|i| self.wide[i]) else { return (offset, 0) };
        // Every wide character before the last one ends before `offset`;
        // the last may be cut by it.
        let cut = (offset - last.offset - 1).min(u32::from(last.len) - 1);
        let continuation = last.continuation_before + cut;
        (offset - continuation, last.astral_before + u32::from(last.len == 4))
    }

    /// 1-based line and character column of `offset` in `source`. An offset
    /// inside a multi-byte character counts as that character.
    pub fn line_col(&self, source: &str, offset: u32) -> LineCol {
        let offset = offset.min(source.len() as u32);
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let column = self.chars_before(offset).0 - self.chars_before(start).0;
        LineCol { line: line as u32 + 1, column: column + 1 }
    }

    /// 0-based line and UTF-16 column of `offset`, as the Language Server
    /// Protocol counts them.
    pub fn line_utf16(&self, source: &str, offset: u32) -> (u32, u32) {
        let offset = offset.min(source.len() as u32);
        let line = self.line_of(offset);
        (line as u32, self.utf16_between(self.line_starts[line], offset))
    }

    /// UTF-16 units of the characters that start in `start..end`.
    fn utf16_between(&self, start: u32, end: u32) -> u32 {
        let (chars_end, astral_end) = self.chars_before(end);
        let (chars_start, astral_start) = self.chars_before(start);
        (chars_end - chars_start) + (astral_end - astral_start)
    }

    /// The byte offset of a 0-based line and UTF-16 column, clamped to the
    /// line's end. A column inside a surrogate pair gives the end of its
    /// character.
    pub fn offset_of_utf16(&self, source: &str, line: u32, column: u32) -> u32 {
        let Some(start) = self.line_start(line as usize) else { return source.len() as u32 };
        let end = match self.line_start(line as usize + 1) {
            Some(next) => next - 1, // the `\n`
            None => source.len() as u32,
        };
        // The smallest character boundary whose column reaches `column`:
        // columns only grow along the line.
        let boundary = |mut x: u32| {
            while !source.is_char_boundary(x as usize) {
                x -= 1;
            }
            x
        };
        let (mut low, mut high) = (start, end);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.utf16_between(start, boundary(middle)) >= column {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        // `low` may be the first byte after a boundary; its character's
        // end is the answer then.
        let mut offset = low;
        while !source.is_char_boundary(offset as usize) {
            offset += 1;
        }
        offset.min(end)
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

    /// The conversions by scanning, as they were before the index.
    fn naive_line_col(source: &str, offset: usize) -> (u32, u32, u32) {
        let offset = offset.min(source.len());
        let bytes = &source.as_bytes()[..offset];
        let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = bytes.iter().filter(|&&b| b == b'\n').count() as u32;
        let before = source[start..].char_indices().take_while(|&(i, _)| start + i < offset);
        let (chars, units) =
            before.fold((0, 0), |(n, u), (_, c)| (n + 1, u + c.len_utf16() as u32));
        (line, chars, units)
    }

    fn naive_offset_of_utf16(source: &str, start: usize, column: u32) -> u32 {
        let mut remaining = column as usize;
        let mut offset = start;
        for c in source[start..].chars() {
            if remaining == 0 || c == '\n' {
                break;
            }
            remaining = remaining.saturating_sub(c.len_utf16());
            offset += c.len_utf8();
        }
        offset as u32
    }

    proptest::proptest! {
        #[test]
        fn conversions_agree_with_scanning(
            source in "(a|é|€|😀|\n|x|\r){0,40}",
            extra in 0u32..6,
        ) {
            let index = LineIndex::new(&source);
            for offset in 0..=source.len() + 1 {
                let (line, chars, units) = naive_line_col(&source, offset);
                let found = index.line_col(&source, offset as u32);
                proptest::prop_assert_eq!((found.line, found.column), (line + 1, chars + 1));
                proptest::prop_assert_eq!(index.line_utf16(&source, offset as u32), (line, units));
            }
            for line in 0..index.line_count() {
                let start = index.line_start(line).unwrap() as usize;
                for column in 0..12 + extra {
                    proptest::prop_assert_eq!(
                        index.offset_of_utf16(&source, line as u32, column),
                        naive_offset_of_utf16(&source, start, column),
                        "line {} column {}", line, column
                    );
                }
            }
        }
    }

    #[test]
    fn a_long_line_of_wide_characters_converts_without_scanning() {
        let source = "😀".repeat(80_000);
        let index = LineIndex::new(&source);
        let last = (source.len() - 4) as u32;
        assert_eq!(index.line_utf16(&source, last), (0, 159_998));
        assert_eq!(index.line_col(&source, last), LineCol { line: 1, column: 80_000 });
        assert_eq!(index.offset_of_utf16(&source, 0, 159_998), last);
    }
}
