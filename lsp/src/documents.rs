//! The documents the editor has open, with their versions. Edits are
//! applied in the order they arrive, each change of a `didChange` against
//! the text the previous one produced.

use std::collections::HashMap;
use std::sync::Arc;

use orch_lang::LineIndex;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::convert::Text;

/// One open document.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) uri: Uri,
    pub(crate) version: i32,
    pub(crate) text: Arc<str>,
}

/// The open documents, by the path the compiler knows them by.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    by_path: HashMap<String, Document>,
}

impl Documents {
    pub(crate) fn open(&mut self, path: String, uri: Uri, version: i32, text: String) {
        self.by_path.insert(path, Document { uri, version, text: Arc::from(text) });
    }

    /// Applies `changes` in order and records `version`. Returns `false`
    /// for a document that is not open.
    pub(crate) fn change(
        &mut self,
        path: &str,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
    ) -> bool {
        let Some(document) = self.by_path.get_mut(path) else { return false };
        let mut text = document.text.to_string();
        for change in changes {
            text = apply_change(&text, change);
        }
        document.text = Arc::from(text);
        document.version = version;
        true
    }

    pub(crate) fn close(&mut self, path: &str) -> Option<Document> {
        self.by_path.remove(path)
    }

    pub(crate) fn get(&self, path: &str) -> Option<&Document> {
        self.by_path.get(path)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Document)> {
        self.by_path.iter()
    }
}

/// The text after one change: a replacement of a range, or of everything
/// when the change has no range. Positions out of range are clamped.
pub(crate) fn apply_change(text: &str, change: &TextDocumentContentChangeEvent) -> String {
    let Some(range) = change.range else { return change.text.clone() };
    let index = LineIndex::new(text);
    let lines = Text::new(text, &index);
    let start = lines.offset(range.start) as usize;
    let end = lines.offset(range.end) as usize;
    let (start, end) = (start.min(end), start.max(end));
    let mut out = String::with_capacity(text.len() + change.text.len());
    out.push_str(&text[..start]);
    out.push_str(&change.text);
    out.push_str(&text[end..]);
    out
}

#[cfg(test)]
mod tests {
    use tower_lsp_server::ls_types::{Position, Range};

    use super::*;

    fn edit(range: Option<((u32, u32), (u32, u32))>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((l1, c1), (l2, c2))| Range {
                start: Position { line: l1, character: c1 },
                end: Position { line: l2, character: c2 },
            }),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn changes_apply_in_order_in_utf16_columns() {
        let text = "let a = \"café\"\nlet b = 2\n";
        // After `"café"` (UTF-16 column 14), then on the second line.
        let text = apply_change(text, &edit(Some(((0, 14), (0, 14))), " + \"!\""));
        assert_eq!(text, "let a = \"café\" + \"!\"\nlet b = 2\n");
        let text = apply_change(&text, &edit(Some(((1, 8), (1, 9))), "3"));
        assert_eq!(text, "let a = \"café\" + \"!\"\nlet b = 3\n");
        let text = apply_change(&text, &edit(Some(((7, 0), (0, 3))), "X"));
        assert_eq!(text, "letX");
        assert_eq!(apply_change("abc", &edit(None, "new")), "new");
    }
}
