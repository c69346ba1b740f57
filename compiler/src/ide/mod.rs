//! Queries for editors, answered from an [`Analysis`](crate::Analysis):
//! what is under the cursor, its type and documentation, where a name is
//! declared, the symbols of a file, and completions.
//!
//! Positions are byte offsets into one file's source and results are plain
//! data (spans, strings, Markdown); the language server converts them to
//! the protocol. Like the rest of the compiler, nothing here does IO, and
//! every query accepts any offset, in range or not, on any text.

mod completion;
mod definition;
mod hover;
mod locate;
mod scope;
mod symbols;

#[cfg(test)]
mod tests;

pub use completion::{Completion, CompletionKind, completions};
pub use definition::definition;
pub use hover::{Hover, hover};
pub use symbols::{Symbol, SymbolKind, document_symbols};
