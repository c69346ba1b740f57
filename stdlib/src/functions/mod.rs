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
//!   a secret argument gives a secret. "Secret" and "unknown" count anywhere
//!   inside an argument (`Value::contains_secret`, `Value::is_known`),
//!   except for the functions that read only their argument's shape
//!   ([`ArgumentUse::Shape`]: `length`, `keys`), for which only the
//!   argument itself counts: the length of a list holding secrets or
//!   unknown values is neither. Implementations still reveal nested marks
//!   themselves, so a caller that strips only the outer mark gets correct
//!   results too.
//! - `eval` errors may quote argument values ("cannot convert \"abc\" to an
//!   int"): when an argument was secret, the caller must not show the
//!   message as it is.
//! - Errors carry no span; the caller attaches the call's span.
//!
//! [`Function::call`] applies these conventions to values, for callers that
//! would rather not repeat them.
//!
//! One file per family: `strings`, `collections`, `encoding`, `hashing`,
//! `files`, `network`, `conversion` (which also holds `reveal`).

mod collections;
mod conversion;
mod encoding;
mod files;
mod hashing;
mod network;
mod strings;
mod support;

use std::collections::BTreeMap;

pub use collections::RANGE_LIMIT;
pub use hashing::sha256_hex;

use crate::ty::Ty;
use crate::value::Value;

/// What a built-in may ask of its caller: reading a file relative to the
/// module that calls it (`file`, `template`).
pub trait Host {
    /// The text of the file at `path` (relative to the calling module, or
    /// absolute), or why it cannot be read, in a few words for a message
    /// such as "`file` cannot read \"x\": REASON".
    fn read_file(&self, path: &str) -> Result<String, String>;
}

/// A host that reads no files, for contexts where `file` and `template`
/// cannot run (every read fails with a message saying so).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl Host for NoFiles {
    fn read_file(&self, _: &str) -> Result<String, String> {
        Err("reading files is not available here".to_owned())
    }
}

/// A host whose files are kept in memory, keyed by path: for tests and for
/// callers that loaded the files already.
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    pub files: BTreeMap<String, String>,
}

impl MemoryHost {
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> MemoryHost {
        MemoryHost {
            files: files
                .into_iter()
                .map(|(path, text)| (path.to_owned(), text.to_owned()))
                .collect(),
        }
    }
}

impl Host for MemoryHost {
    fn read_file(&self, path: &str) -> Result<String, String> {
        self.files.get(path).cloned().ok_or_else(|| "no such file".to_owned())
    }
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

/// What of its arguments a function's result depends on, which decides
/// when the result is secret or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgumentUse {
    /// Everything inside them: a secret or unknown value anywhere in an
    /// argument makes the result secret or unknown.
    Contents,
    /// Only their shape — a string's or a collection's length, a map's or
    /// record's keys — never the elements or values: the result is secret
    /// (or unknown) only when an argument itself is, not when it merely
    /// holds secret (or unknown) elements.
    Shape,
}

impl Function {
    /// Whether this is `reveal`, the one function whose result is not
    /// secret when its argument is.
    pub fn is_reveal(&self) -> bool {
        self.name == "reveal"
    }

    /// What of its arguments the result depends on.
    pub fn argument_use(&self) -> ArgumentUse {
        match self.name {
            "length" | "keys" => ArgumentUse::Shape,
            _ => ArgumentUse::Contents,
        }
    }

    /// Whether an argument of this type makes the result secret.
    pub fn secret_argument(&self, ty: &Ty) -> bool {
        match self.argument_use() {
            ArgumentUse::Shape => ty.is_secret(),
            ArgumentUse::Contents => ty.contains_secret(),
        }
    }

    /// Evaluates a call with the conventions of this module applied:
    /// - an argument that is not known (anywhere inside, or itself for
    ///   [`ArgumentUse::Shape`]) makes the result `Unknown`;
    /// - an argument that contains a secret anywhere (or is one, for
    ///   [`ArgumentUse::Shape`]) makes the result secret (except for
    ///   `reveal`), and its error message is replaced by one that does not
    ///   quote the secret.
    pub fn call(&self, args: &[Value], host: &dyn Host) -> Result<Value, BuiltinError> {
        let (known, secret) = match self.argument_use() {
            ArgumentUse::Shape => (
                args.iter().all(|a| a.reveal().0 != &Value::Unknown),
                args.iter().any(Value::is_secret),
            ),
            ArgumentUse::Contents => {
                (args.iter().all(Value::is_known), args.iter().any(Value::contains_secret))
            }
        };
        if !known {
            return Ok(Value::Unknown);
        }
        if self.is_reveal() || !secret {
            return (self.eval)(args, host);
        }
        let revealed: Vec<Value> = args.iter().map(Value::reveal_all).collect();
        match (self.eval)(&revealed, host) {
            Ok(value) => Ok(Value::secret(value)),
            Err(_) => Err(BuiltinError::new(format!(
                "`{}` failed on a secret argument; the details are hidden so as not to reveal it",
                self.name
            ))),
        }
    }
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

/// Sorted by name; a test keeps it so.
static FUNCTIONS: &[Function] = &[
    encoding::BASE64_DECODE,
    encoding::BASE64_ENCODE,
    network::CIDR_HOST,
    network::CIDR_SUBNET,
    collections::CONCAT,
    collections::CONTAINS,
    collections::DISTINCT,
    strings::ENDS_WITH,
    files::FILE,
    collections::FLATTEN,
    conversion::FLOAT,
    strings::FORMAT,
    conversion::INT,
    strings::JOIN,
    encoding::JSON_DECODE,
    encoding::JSON_ENCODE,
    collections::KEYS,
    collections::LENGTH,
    collections::LOOKUP,
    strings::LOWER,
    collections::MAX,
    hashing::MD5,
    collections::MERGE,
    collections::MIN,
    collections::RANGE,
    strings::REGEX_MATCH,
    strings::REPLACE,
    conversion::REVEAL,
    collections::REVERSE,
    hashing::SHA1,
    hashing::SHA256,
    collections::SORT,
    strings::SPLIT,
    strings::STARTS_WITH,
    conversion::STRING,
    strings::SUBSTR,
    collections::SUM,
    files::TEMPLATE,
    strings::TRIM,
    strings::UPPER,
    collections::VALUES,
    encoding::YAML_ENCODE,
    collections::ZIPMAP,
];

#[cfg(test)]
pub(crate) mod tests;
