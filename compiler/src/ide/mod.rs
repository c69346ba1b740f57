//! Queries for editors, answered from an [`Analysis`](crate::Analysis):
//! what is under the cursor, its type and documentation, where a name is
//! declared and where it is used, renames, the symbols of a file and of
//! the workspace, completions, the signatures of calls, semantic tokens,
//! inlay hints and quick fixes.
//!
//! Positions are byte offsets into one file's source and results are plain
//! data (spans, strings, Markdown); the language server converts them to
//! the protocol. Like the rest of the compiler, nothing here does IO, and
//! every query accepts any offset, in range or not, on any text.

mod bindings;
mod code_actions;
mod completion;
mod definition;
mod hover;
mod inlay_hints;
mod locate;
mod references;
mod rename;
mod scope;
mod semantic_tokens;
mod signature;
mod symbols;
mod workspace_symbols;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_navigation;

pub use code_actions::{
    CodeAction, TextEdit, add_moved_block, code_actions, identity_conflict_fix,
    moved_block_for_rename,
};
pub use completion::{Completion, CompletionKind, completions, completions_in_text};
pub use definition::definition;
pub use hover::{Hover, hover};
pub use inlay_hints::{InlayHint, InlayHintKind, KNOWN_AFTER_APPLY, inlay_hints};
pub use references::references;
pub use rename::{prepare_rename, rename};
pub use semantic_tokens::{
    SemanticToken, TokenModifier, TokenType, semantic_tokens, semantic_tokens_in,
};
pub use signature::{SignatureHelp, signature_help};
pub use symbols::{Symbol, SymbolKind, document_symbols};
pub use workspace_symbols::{MAX_WORKSPACE_SYMBOLS, WorkspaceSymbol, workspace_symbols};
