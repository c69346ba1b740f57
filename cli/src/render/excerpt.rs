//! The part of a file one human report shows: the lines from its first
//! place to its last, each line longer than [`MAX_LINE_CHARS`] cut to
//! windows of [`CONTEXT_CHARS`] characters around the places on it, the
//! cuts marked `…`. A diagnostic on a line of a megabyte prints a line of
//! a few hundred characters, and costs the lines it shows, not the file.
//!
//! Places are mapped to character offsets in the excerpt (ariadne counts in
//! characters here, so that the location header of every file in a report
//! is computed on the text it shows). The lines before the first one shown
//! are kept as empty lines, so that ariadne numbers the lines as the file
//! does.

use orch_lang::LineIndex;

/// Lines up to this many characters are shown whole.
pub(crate) const MAX_LINE_CHARS: usize = 200;

/// Characters kept on each side of a place on a cut line.
pub(crate) const CONTEXT_CHARS: usize = 60;

/// The mark of a cut.
const CUT: &str = "…";

/// A run of the file's bytes copied into the excerpt.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Byte range in the file.
    start: usize,
    end: usize,
    /// Character offset of `start` in the excerpt.
    at: usize,
}

/// The text shown for one file of a report.
#[derive(Debug)]
pub(crate) struct Excerpt {
    pub(crate) text: String,
    segments: Vec<Segment>,
    /// Whether a line was cut.
    pub(crate) cut: bool,
}

impl Excerpt {
    /// The excerpt of `text` that shows every byte offset in `places`
    /// (each on a character boundary).
    pub(crate) fn new(text: &str, index: &LineIndex, places: &[usize]) -> Excerpt {
        let lowest = places.iter().copied().min().unwrap_or(0).min(text.len());
        let highest = places.iter().copied().max().unwrap_or(0).min(text.len());
        let first_line = index.line_of(lowest as u32);
        let last_line = index.line_of(highest as u32);
        // ariadne numbers the lines it shows from the start of the text it
        // is given: the lines before the first shown are kept, empty.
        let mut excerpt =
            Excerpt { text: "\n".repeat(first_line), segments: Vec::new(), cut: false };
        let mut chars = first_line;
        for line in first_line..=last_line {
            let start = index.line_start(line).map_or(text.len(), |s| s as usize);
            let next = index.line_start(line + 1).map_or(text.len(), |s| s as usize);
            let content = &text[start..next];
            let end = start + content.trim_end_matches(['\n', '\r']).len();
            let windows = windows(text, start, end, places);
            for (i, &(from, to)) in windows.iter().enumerate() {
                let before = if i == 0 { from > start } else { true };
                if before {
                    excerpt.text.push_str(CUT);
                    chars += 1;
                    excerpt.cut = true;
                }
                excerpt.segments.push(Segment { start: from, end: to, at: chars });
                excerpt.text.push_str(&text[from..to]);
                chars += text[from..to].chars().count();
            }
            if windows.last().is_some_and(|&(_, to)| to < end) {
                excerpt.text.push_str(CUT);
                chars += 1;
                excerpt.cut = true;
            }
            // The line's end, so that a place there (a missing `}`) maps.
            excerpt.segments.push(Segment { start: end, end: next, at: chars });
            excerpt.text.push_str(&text[end..next]);
            chars += text[end..next].chars().count();
        }
        excerpt
    }

    /// The character offset in the excerpt of byte `offset` of the file; a
    /// place in a cut part maps to the nearest shown character.
    pub(crate) fn map(&self, text: &str, offset: usize) -> usize {
        let after = self.segments.partition_point(|s| s.start <= offset);
        let Some(segment) = after.checked_sub(1).map(|i| self.segments[i]) else {
            return 0;
        };
        let within = offset.min(segment.end);
        segment.at + text[segment.start..within].chars().count()
    }
}

/// The byte ranges of the line `start..end` to show: all of it when it is
/// short, else windows around the places on it (merged when they touch),
/// or its beginning when no place is on it.
fn windows(text: &str, start: usize, end: usize, places: &[usize]) -> Vec<(usize, usize)> {
    let line = &text[start..end];
    if line.len() <= MAX_LINE_CHARS || line.chars().count() <= MAX_LINE_CHARS {
        return vec![(start, end)];
    }
    let mut on_line: Vec<usize> =
        places.iter().copied().filter(|&p| p >= start && p <= end).collect();
    on_line.sort_unstable();
    if on_line.is_empty() {
        return vec![(start, forward(text, start, end, 2 * CONTEXT_CHARS))];
    }
    let mut windows: Vec<(usize, usize)> = Vec::new();
    for place in on_line {
        let from = backward(text, start, place, CONTEXT_CHARS);
        let to = forward(text, place, end, CONTEXT_CHARS);
        match windows.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => windows.push((from, to)),
        }
    }
    windows
}

/// The offset `count` characters after `from`, at most `limit`.
fn forward(text: &str, from: usize, limit: usize, count: usize) -> usize {
    text[from..limit].char_indices().nth(count).map_or(limit, |(i, _)| from + i)
}

/// The offset `count` characters before `from`, at least `limit`.
fn backward(text: &str, limit: usize, from: usize, count: usize) -> usize {
    text[limit..from]
        .char_indices()
        .rev()
        .nth(count.saturating_sub(1))
        .map_or(limit, |(i, _)| limit + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_shown_whole_and_long_ones_cut_around_the_place() {
        let text = format!("let a = 1\nlet x = \"{}\" + 1\nlet b = 2\n", "é".repeat(100_000));
        let index = LineIndex::new(&text);
        let place = text.find("+ 1").unwrap();
        let excerpt = Excerpt::new(&text, &index, &[place, place + 3]);
        assert!(excerpt.cut);
        assert!(excerpt.text.chars().count() < 2 * CONTEXT_CHARS + 10, "{}", excerpt.text);
        assert!(excerpt.text.starts_with("\n…éé") && excerpt.text.ends_with("\" + 1\n"));
        let at = excerpt.map(&text, place);
        assert_eq!(excerpt.text.chars().skip(at).take(3).collect::<String>(), "+ 1");

        let excerpt = Excerpt::new(&text, &index, &[0, 3]);
        assert_eq!((excerpt.text.as_str(), excerpt.cut), ("let a = 1\n", false));
        assert_eq!(excerpt.map(&text, 4), 4);
    }

    #[test]
    fn places_far_apart_on_one_line_get_a_window_each() {
        let text = format!("{}X{}Y{}", "a".repeat(5_000), "b".repeat(5_000), "c".repeat(5_000));
        let index = LineIndex::new(&text);
        let (x, y) = (text.find('X').unwrap(), text.find('Y').unwrap());
        let excerpt = Excerpt::new(&text, &index, &[x, y]);
        assert_eq!(excerpt.text.matches('…').count(), 3, "{}", excerpt.text);
        for (place, c) in [(x, 'X'), (y, 'Y')] {
            assert_eq!(excerpt.text.chars().nth(excerpt.map(&text, place)), Some(c));
        }
    }
}
