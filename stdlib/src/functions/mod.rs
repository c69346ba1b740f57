//! Built-in functions (LANGUAGE.md §7): signatures for the checker and hover,
//! documentation, and implementations.
//!
//! Conventions shared by every function, applied by the caller so that no
//! implementation repeats them:
//! - `check` receives argument types with secret marks removed; if any
//!   argument was secret, the caller marks the result secret (except for
//!   `reveal`, which exists to remove the mark).
//! - `eval` receives argument values with secret marks removed and never
//!   `Unknown` ones: a call with an unknown argument is unknown, a call with
//!   a secret argument gives a secret.
//! - Errors carry no span; the caller attaches the call's span.

use crate::ty::Ty;
use crate::value::Value;

/// What a built-in may ask of its caller: reading a file relative to the
/// module that calls it (`file`, `template`).
pub trait Host {
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// A built-in's failure, without a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinError {
    pub message: String,
}

impl BuiltinError {
    pub fn new(message: impl Into<String>) -> BuiltinError {
        BuiltinError { message: message.into() }
    }
}

pub type CheckFn = fn(&[Ty]) -> Result<Ty, String>;
pub type EvalFn = fn(&[Value], &dyn Host) -> Result<Value, BuiltinError>;

/// A built-in function.
pub struct Function {
    pub name: &'static str,
    /// The signature as shown in hovers and signature help, e.g.
    /// `length(value: string | list<T> | map<T>) -> int`.
    pub signature: &'static str,
    /// Markdown documentation: one summary sentence, then details.
    pub doc: &'static str,
    /// The result type for the given argument types, or why the call is
    /// wrong (in the user's terms).
    pub check: CheckFn,
    pub eval: EvalFn,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function").field("name", &self.name).finish()
    }
}

/// Every built-in function, sorted by name.
pub fn functions() -> &'static [Function] {
    FUNCTIONS
}

pub fn lookup_function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

static FUNCTIONS: &[Function] = &[];
