//! The Orch front end: source spans, diagnostics, the lexer, the syntax tree,
//! the parser and the formatter.
//!
//! **Architecture invariant:** this crate does no IO. It reads no files,
//! environment, clock or network and starts no processes; sources arrive as
//! strings and results leave as data. `clippy.toml` enforces it.
//!
//! **Architecture invariant:** parsing never fails. [`parse`] returns a tree
//! for any input, with `Error` nodes where the input is broken, and never
//! panics.

pub mod ast;
pub mod diagnostic;
pub mod dump;
pub mod fmt;
pub mod lexer;
mod parser;
mod post;
pub mod span;
pub mod token;
pub mod visit;

pub use diagnostic::{Diagnostic, Label, Severity, Suggestion};
pub use lexer::{Comment, Lexed, lex};
pub use parser::{Parsed, parse};
pub use span::{FileId, LineCol, LineIndex, Span};

/// The stack size for threads that parse and analyse sources: the tree of a
/// large file may be deep (up to [`parse`]'s nesting and chain limits), and
/// the passes over it recurse. Only touched pages are committed.
pub const ANALYSIS_STACK_SIZE: usize = 256 * 1024 * 1024;

/// The largest source file read from disk, in bytes (16 MiB): a bound on
/// the time and memory one file can cost. A larger file is refused with a
/// message, by `orchc` and by the language server alike.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;
