//! One file per request or notification. Each converts protocol positions
//! to byte offsets, asks `orch_compiler::ide` (on the analysis thread) and
//! converts the answer back.

pub(crate) mod completion;
pub(crate) mod definition;
pub(crate) mod did_change;
pub(crate) mod did_close;
pub(crate) mod did_open;
pub(crate) mod document_symbol;
pub(crate) mod formatting;
pub(crate) mod hover;
pub(crate) mod initialize;
